import { expect } from 'chai';
import { FUSION_REST_BASE, startFusionSandboxServer, type RunningFusionSandbox } from '../../../src/sandbox/fusion.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

const USERNAME = 'omgw.integration';
const PASSWORD = 'sandbox-fusion-password';
const AUTH = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0, 123);

interface Collection {
  items: Array<Record<string, unknown>>;
  count: number;
  hasMore: boolean;
  limit: number;
  offset: number;
  totalResults?: number;
  links: Array<{ rel: string; href: string }>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; auth?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.auth !== null) headers.authorization = init.auth ?? AUTH;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function orderNumbers(c: Collection): unknown[] {
  return c.items.map((i) => i.OrderNumber);
}

describe('sandbox Fusion purchaseOrders over HTTP', () => {
  let clock: ManualClock;
  let fusion: RunningFusionSandbox;
  let collection: string;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    fusion = await startFusionSandboxServer({ username: USERNAME, password: PASSWORD, now: () => clock.now() });
    collection = `${fusion.url}${FUSION_REST_BASE}/purchaseOrders`;
  });

  afterEach(async () => {
    await fusion.close();
  });

  const get = (query: string, headers: Record<string, string> = {}, auth?: string | null): Promise<Answer> =>
    call(`${collection}${query}`, { headers, ...(auth !== undefined ? { auth } : {}) });

  it('answers 401 with a Basic challenge without the right credentials', async () => {
    fusion.purchaseOrders.add();
    const none = await get('', {}, null);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Basic /);
    expect(none.text).to.not.include('PO-1001');
    const wrong = await get('', {}, `Basic ${Buffer.from(`${USERNAME}:nope`).toString('base64')}`);
    expect(wrong.status).to.equal(401);
    const create = await call(`${fusion.url}/purchase-orders`, { method: 'POST', body: {}, auth: null });
    expect(create.status).to.equal(401);
    const touch = await call(`${fusion.url}/purchase-orders/PO-1001/touch`, { method: 'POST', auth: null });
    expect(touch.status).to.equal(401);
    expect((await get('')).status).to.equal(200);
  });

  it('polls by LastUpdateDate across pages in LastUpdateDate, POHeaderId order', async () => {
    const po = fusion.purchaseOrders;
    po.add(); // PO-1001 at T0: before the window until it is touched
    clock.advance(1000);
    po.add(); // PO-1002 and PO-1003 share a LastUpdateDate
    po.add();
    clock.advance(1000);
    po.add(); // PO-1004
    clock.advance(1000);
    po.touch('PO-1001'); // now the latest

    const q = encodeURIComponent("LastUpdateDate >= '2026-12-01T10:00:01+00:00'");
    const version = { 'REST-Framework-Version': '4' };
    const first = await get(`?q=${q}&orderBy=LastUpdateDate:asc,POHeaderId:asc&limit=2&onlyData=true&totalResults=true`, version);
    expect(first.status, first.text).to.equal(200);
    expect(first.headers.get('content-type')).to.include('json');
    const page1 = first.json as Collection;
    expect(orderNumbers(page1)).to.deep.equal(['PO-1002', 'PO-1003']);
    expect(page1).to.include({ count: 2, hasMore: true, limit: 2, offset: 0, totalResults: 4 });
    expect(page1.items[0]).to.not.have.property('links');
    expect(page1.links.map((l) => l.rel)).to.deep.equal(['self', 'next']);
    const next = page1.links.find((l) => l.rel === 'next')?.href ?? '';
    expect(next.startsWith(collection)).to.equal(true);

    const second = await call(next, { headers: version });
    expect(second.status, second.text).to.equal(200);
    const page2 = second.json as Collection;
    expect(orderNumbers(page2)).to.deep.equal(['PO-1004', 'PO-1001']);
    expect(page2).to.include({ count: 2, hasMore: false, limit: 2, offset: 2 });
    expect(page2.links.map((l) => l.rel)).to.deep.equal(['self']);
    expect(page2.items[1]?.LastUpdateDate).to.equal('2026-12-01T10:00:03.123+00:00');

    // Without the version header q is query-by-example, which this expression is not.
    const v1 = await get(`?q=${q}`);
    expect(v1.status).to.equal(400);
  });

  it('expands lines and schedules with the drop-ship ship-to only when asked', async () => {
    fusion.purchaseOrders.add({ shipTo: { PartyName: 'Sam Lee', City: 'Reno', State: 'NV' } });
    const bare = (await get('')).json as Collection;
    expect(bare.items[0]).to.not.have.property('lines');
    expect(bare.items[0]).to.have.property('links');
    const lines = (await get('?expand=lines')).json as Collection;
    const line = (lines.items[0]?.lines as Array<Record<string, unknown>>)[0];
    expect(line).to.include({ LineNumber: 1, UOMCode: 'Ea', StatusCode: 'OPEN' });
    expect(line).to.not.have.property('schedules');

    const full = await get('?expand=lines.schedules&onlyData=true');
    expect(full.status).to.equal(200);
    const item = (full.json as Collection).items[0] as {
      lines: Array<{ schedules: Array<{ ShipToOrganizationCode: string; shipToCustomer: Array<Record<string, string>> }> }>;
    };
    expect(item.lines).to.have.length(2);
    for (const l of item.lines) {
      expect(l.schedules).to.have.length(1);
      expect(l.schedules[0]?.ShipToOrganizationCode).to.equal('M1');
      expect(l.schedules[0]?.shipToCustomer[0]).to.include({ PartyName: 'Sam Lee', City: 'Reno', State: 'NV', Address1: '1200 Harbor Way' });
    }
    expect((await get('?expand=distributions')).status).to.equal(400);
  });

  it('writes POHeaderId with all 17 digits into the body text', async () => {
    const po = fusion.purchaseOrders.add();
    expect(po.POHeaderId).to.match(/^\d{17}$/);
    const answer = await get(`?q=${encodeURIComponent(`POHeaderId = ${po.POHeaderId}`)}`, { 'REST-Framework-Version': '2' });
    expect(answer.status, answer.text).to.equal(200);
    expect(answer.text).to.include(`"POHeaderId":${po.POHeaderId},`);
    // The point of the exercise: a client that parses the body into numbers does not get the id back.
    const parsed = (answer.json as Collection).items[0]?.POHeaderId;
    expect(String(parsed)).to.not.equal(po.POHeaderId);
  });

  it("answers 400 in Fusion's error shape for a bad q, orderBy, limit or offset", async () => {
    fusion.purchaseOrders.add();
    const v4 = { 'REST-Framework-Version': '4' };
    for (const query of [
      `?q=${encodeURIComponent("LastUpdateDate >> '2026-12-01T10:00:00Z'")}`,
      `?q=${encodeURIComponent("Nope = 'x'")}`,
      `?q=${encodeURIComponent("LastUpdateDate > '2026-12-01'")}`,
      '?orderBy=Nope:asc',
      '?limit=501',
      '?limit=0',
      '?limit=ten',
      '?offset=-1',
    ]) {
      const answer = await get(query, v4);
      expect(answer.status, query).to.equal(400);
      const body = answer.json as Record<string, unknown>;
      expect(body, query).to.include({ title: 'Bad Request', status: 400 });
      expect(body.detail, query).to.be.a('string');
      expect(body['o:errorCode'], query).to.be.a('string');
    }
    expect((await get('?limit=500', v4)).status).to.equal(200);
  });

  it('the touch route bumps LastUpdateDate and moves the order to the end of a LastUpdateDate poll', async () => {
    fusion.purchaseOrders.add();
    fusion.purchaseOrders.add();
    fusion.purchaseOrders.add();
    const poll = async (): Promise<unknown[]> => orderNumbers((await get('?orderBy=LastUpdateDate:asc,POHeaderId:asc')).json as Collection);
    expect(await poll()).to.deep.equal(['PO-1001', 'PO-1002', 'PO-1003']);

    clock.advance(5000);
    const touched = await call(`${fusion.url}/purchase-orders/PO-1002/touch`, { method: 'POST', body: { statusCode: 'CLOSED' } });
    expect(touched.status, touched.text).to.equal(200);
    expect(touched.text).to.include('"POHeaderId":30010020000000102,');
    expect(touched.json).to.include({ OrderNumber: 'PO-1002', StatusCode: 'CLOSED', LastUpdateDate: '2026-12-01T10:00:05.123+00:00' });
    expect(await poll()).to.deep.equal(['PO-1001', 'PO-1003', 'PO-1002']);
    expect(fusion.purchaseOrders.get('PO-1002')?.StatusCode).to.equal('CLOSED');

    clock.advance(1000);
    const bodyless = await call(`${fusion.url}/purchase-orders/PO-1001/touch`, { method: 'POST' });
    expect(bodyless.status, bodyless.text).to.equal(200);
    expect(await poll()).to.deep.equal(['PO-1003', 'PO-1002', 'PO-1001']);
    // The clock stands still: PO-1003 ties with PO-1001 and POHeaderId decides.
    expect((await call(`${fusion.url}/purchase-orders/PO-1003/touch`, { method: 'POST' })).status).to.equal(200);
    expect(await poll()).to.deep.equal(['PO-1002', 'PO-1001', 'PO-1003']);

    expect((await call(`${fusion.url}/purchase-orders/PO-9999/touch`, { method: 'POST' })).status).to.equal(404);
    expect((await call(`${fusion.url}/purchase-orders/PO-1001/touch`, { method: 'POST', body: { statusCode: 'DONE' } })).status).to.equal(400);
  });

  it('the create route adds orders that the collection then serves', async () => {
    const created = await call(`${fusion.url}/purchase-orders`, {
      method: 'POST',
      body: { orderNumber: 'PO-7001', lines: [{ item: 'OMGW-CAP-BLK', quantity: 3 }], shipTo: { City: 'Austin' } },
    });
    expect(created.status, created.text).to.equal(201);
    expect(created.json).to.include({ OrderNumber: 'PO-7001', StatusCode: 'OPEN', CreationDate: '2026-12-01T10:00:00.123+00:00' });
    const defaults = await call(`${fusion.url}/purchase-orders`, { method: 'POST' });
    expect(defaults.status, defaults.text).to.equal(201);
    expect(defaults.json).to.include({ OrderNumber: 'PO-1001' });

    const listed = (await get('?q=OrderNumber%3DPO-7001&expand=all')).json as Collection;
    expect(orderNumbers(listed)).to.deep.equal(['PO-7001']);
    const lines = listed.items[0]?.lines as Array<{ Item: string; Quantity: number }>;
    expect(lines.map((l) => [l.Item, l.Quantity])).to.deep.equal([['OMGW-CAP-BLK', 3]]);

    expect((await call(`${fusion.url}/purchase-orders`, { method: 'POST', body: { orderNumber: 'PO-7001' } })).status).to.equal(409);
    expect((await call(`${fusion.url}/purchase-orders`, { method: 'POST', body: { lines: [{ item: 'X', quantity: -1 }] } })).status).to.equal(400);
    expect((await call(`${fusion.url}/purchase-orders`, { method: 'POST', body: { colour: 'red' } })).status).to.equal(400);
    expect((await call(`${fusion.url}/purchase-orders`, { method: 'POST', body: [1] })).status).to.equal(400);
  });

  it('serves no other methods or paths on the collection', async () => {
    expect((await call(collection, { method: 'POST', body: {} })).status).to.be.oneOf([404, 405]);
    expect((await call(`${collection}/describe`)).status).to.equal(404);
  });
});
