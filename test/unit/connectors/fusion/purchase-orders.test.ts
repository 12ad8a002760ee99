import { expect } from 'chai';
import { fusionInstant, purchaseOrdersUrl } from '../../../../src/connectors/fusion/purchase-orders.ts';

describe('Fusion purchaseOrders requests', () => {
  it('writes instants as whole seconds in UTC with +00:00, rounded down', () => {
    expect(fusionInstant(Date.parse('2026-12-01T10:00:00.999Z'))).to.equal('2026-12-01T10:00:00+00:00');
    expect(fusionInstant(Date.parse('2026-12-01T23:59:59.001-05:00'))).to.equal('2026-12-02T04:59:59+00:00');
  });

  it('asks for changes at or after the instant, oldest first with ties by POHeaderId, one page, only data', () => {
    const url = purchaseOrdersUrl(
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

  it('uses the default REST base and leaves out an empty filter and expand', () => {
    const url = purchaseOrdersUrl({ url: 'https://fa.example.com', fusion: undefined }, { since: 0, filter: '  ', expand: '', limit: 25, offset: 0 });
    expect(url.pathname).to.equal('/fscmRestApi/resources/11.13.18.05/purchaseOrders');
    expect(url.searchParams.get('q')).to.equal("LastUpdateDate >= '1970-01-01T00:00:00+00:00'");
    expect(url.searchParams.has('expand')).to.equal(false);
  });
});
