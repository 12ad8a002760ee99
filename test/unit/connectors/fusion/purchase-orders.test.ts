import { expect } from 'chai';
import { buildSchemas } from '../../../../src/config/schema.ts';
import { readPurchaseOrderPage, type PurchaseOrderPageRequest } from '../../../../src/connectors/fusion/purchase-orders.ts';
import type { OutboundRequest, SendResult } from '../../../../src/connectors/types.ts';

const schemas = buildSchemas({ env: {}, baseDir: '.' });

/** The URL readPurchaseOrderPage asks for through an oracle-fusion connector with these settings. */
async function urlFor(settings: Record<string, unknown>, req: PurchaseOrderPageRequest): Promise<URL> {
  const config = schemas.connector.parse({ name: 'fusion', protocol: 'rest', kind: 'oracle-fusion', ...settings });
  let sent: OutboundRequest | undefined;
  const unanswered = (request: OutboundRequest): SendResult => ({
    ok: false,
    status: null,
    headers: {},
    bodySnippet: null,
    durationMs: 0,
    errorClass: 'network',
    errorMessage: 'not sent',
    faultParty: null,
    retryAfterMs: null,
    request: { method: request.method, url: String(request.url), headers: {}, bodyBytes: 0 },
  });
  const page = await readPurchaseOrderPage(
    {
      config,
      rest: () => Promise.reject(new Error('a page is read with raw()')),
      raw: async (build) => {
        sent = build();
        return { result: unanswered(sent), body: null };
      },
    },
    req,
  );
  expect(page.ok).to.equal(false);
  if (sent === undefined) throw new Error('no request was built');
  return new URL(sent.url);
}

describe('Fusion purchaseOrders requests', () => {
  it('writes the instant as whole seconds in UTC with +00:00, rounded down', async () => {
    const q = async (since: number) => (await urlFor({ url: 'https://fa.example.com' }, { since, expand: '', limit: 1, offset: 0 })).searchParams.get('q');
    expect(await q(Date.parse('2026-12-01T10:00:00.999Z'))).to.equal("LastUpdateDate >= '2026-12-01T10:00:00+00:00'");
    expect(await q(Date.parse('2026-12-01T23:59:59.001-05:00'))).to.equal("LastUpdateDate >= '2026-12-02T04:59:59+00:00'");
  });

  it('asks for changes at or after the instant, oldest first with ties by POHeaderId, one page, only data', async () => {
    const url = await urlFor(
      { url: 'https://fa.example.com/', fusion: { restBase: '/fscmRestApi/resources/latest', restFrameworkVersion: '4' } },
      { since: Date.parse('2026-12-01T10:00:00.500Z'), filter: "StatusCode = 'OPEN'", expand: 'lines.schedules', limit: 100, offset: 200 },
    );
    expect(url.origin + url.pathname).to.equal('https://fa.example.com/fscmRestApi/resources/latest/purchaseOrders');
    expect(Object.fromEntries(url.searchParams)).to.deep.equal({
      q: "LastUpdateDate >= '2026-12-01T10:00:00+00:00' and StatusCode = 'OPEN'",
      orderBy: 'LastUpdateDate:asc,POHeaderId:asc',
      limit: '100',
      offset: '200',
      expand: 'lines.schedules',
      onlyData: 'true',
    });
    // Spaces, quotes and > are encoded in the query string.
    expect(url.search).to.not.match(/[ ']/);
  });

  it('uses the default REST base and leaves out an empty filter and expand', async () => {
    const url = await urlFor({ url: 'https://fa.example.com' }, { since: 0, filter: '  ', expand: '', limit: 25, offset: 0 });
    expect(url.pathname).to.equal('/fscmRestApi/resources/11.13.18.05/purchaseOrders');
    expect(url.searchParams.get('q')).to.equal("LastUpdateDate >= '1970-01-01T00:00:00+00:00'");
    expect(url.searchParams.has('expand')).to.equal(false);
  });
});
