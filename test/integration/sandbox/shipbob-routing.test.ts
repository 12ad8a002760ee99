import { expect } from 'chai';
import { startShipBobSandboxServer, type RunningShipBobSandbox } from '../../../src/sandbox/shipbob/index.ts';

const TOKEN = 'sandbox-pat-routing';
const CHANNEL = 515151;
const SECRET = `whsec_${Buffer.from('omgw-shipbob-routing-secret').toString('base64')}`;
const W = '/2026-01';

const ORDER = {
  reference_id: 'ROUTE-1',
  shipping_method: 'Standard',
  type: 'DTC',
  recipient: {
    name: 'John Doe',
    address: { address1: '100 N Racine Ave', city: 'Chicago', state: 'IL', country: 'US', zip_code: '60607' },
    email: 'johndoe@domain.com',
  },
  products: [{ reference_id: 'LIGHT-ROAST', name: 'Light Roast Coffee', quantity: 1 }],
};

/**
 * How the emulated ShipBob routes a request: which paths exist, 405 for a known path with another
 * method, 404 otherwise, and which checks come first. Each case states what ShipBob's routing
 * table says, so a change of router underneath shows here first.
 */
describe('ShipBob sandbox: routing', function () {
  let running: RunningShipBobSandbox;
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);
  let orderId = 0;
  let shipmentId = 0;

  const call = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const headers: Record<string, string> = { shipbob_channel_id: String(CHANNEL) };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, remaining: res.headers.get('x-remaining-calls'), text };
  };

  before(async function () {
    running = await startShipBobSandboxServer({ token: TOKEN, channelId: CHANNEL, webhookSecret: SECRET, rateLimitPerMinute: 1000, now: () => now });
    const created = await call('POST', `${W}/order`, { body: ORDER });
    expect(created.status).to.equal(201);
    const order = JSON.parse(created.text) as { id: number; shipments: Array<{ id: number }> };
    orderId = order.id;
    shipmentId = order.shipments[0]?.id ?? 0;
  });

  after(async function () {
    await running?.close();
  });

  it('serves each resource path, matched exactly (case and trailing slash count)', async function () {
    for (const path of [
      `${W}/order`,
      `${W}/order/${orderId}`,
      `${W}/order/${orderId}/shipment`,
      `${W}/order/${orderId}/shipment/${shipmentId}`,
      `${W}/shipment/${shipmentId}`,
      `${W}/channel`,
      `${W}/product`,
      `${W}/location`,
      `${W}/fulfillment-center`,
      `${W}/webhook`,
    ]) {
      expect((await call('GET', path)).status, path).to.equal(200);
    }
    for (const path of [`${W}/order/`, `${W}/Order`, `${W}/orders`, `${W}`, `${W}/`, '/2025-07/order', '/']) {
      expect((await call('GET', path)).status, path).to.equal(404);
    }
  });

  it('answers 405 for a known path with another method, HEAD included, and 404 for an unknown one', async function () {
    expect((await call('PUT', `${W}/order`)).status).to.equal(405);
    expect((await call('DELETE', `${W}/order/${orderId}`)).status).to.equal(405);
    expect((await call('HEAD', `${W}/channel`)).status).to.equal(405);
    expect((await call('GET', `${W}/webhook/1`)).status).to.equal(405);
    expect((await call('HEAD', `${W}/nothing`)).status).to.equal(404);
    expect((await call('PUT', `${W}/nothing`)).status).to.equal(404);
  });

  it('reads `:cancel` as the action on an order, never as part of an order id', async function () {
    expect((await call('GET', `${W}/order/${orderId}:cancel`)).status).to.equal(405);
    expect((await call('GET', `${W}/order/${orderId}:other`)).status).to.equal(404);
    expect((await call('POST', `${W}/order/1:2:cancel`)).status).to.equal(404);
    expect((await call('GET', `${W}/shipment/1:2`)).status).to.equal(404);
    expect((await call('GET', `${W}/order/abc`)).text).to.equal(`{"orderId":["The value 'abc' is not valid."]}`);
  });

  it('reads the shipment actions (`:cancel`, `:getLineItems`, `:updateLineItems`, `:updateAddress`, `:batchCancel`) the same way', async function () {
    expect((await call('GET', `${W}/shipment/${shipmentId}:getLineItems`)).status).to.equal(200);
    expect((await call('GET', `${W}/shipment/${shipmentId}`)).status).to.equal(200);
    for (const [method, path] of [
      ['GET', `${W}/shipment/${shipmentId}:cancel`],
      ['GET', `${W}/order/${orderId}/shipment/${shipmentId}:cancel`],
      ['POST', `${W}/shipment/${shipmentId}:getLineItems`],
      ['PUT', `${W}/shipment/${shipmentId}:updateLineItems`],
      ['POST', `${W}/shipment/${shipmentId}:updateAddress`],
      ['GET', `${W}/shipment:batchCancel`],
    ] as const) {
      expect((await call(method, path)).status, `${method} ${path}`).to.equal(405);
    }
    expect((await call('GET', `${W}/shipment/${shipmentId}:getlineitems`)).status).to.equal(404);
    expect((await call('POST', `${W}/shipment/1:2:cancel`)).status).to.equal(404);
    expect((await call('GET', `${W}/shipment:getLineItems`)).status).to.equal(404);
    // The reads left the shipment as it was.
    expect(JSON.parse((await call('GET', `${W}/shipment/${shipmentId}`)).text)).to.have.property('status', 'Processing');
  });

  it('decodes the path once before routing', async function () {
    expect((await call('GET', `${W}/order%2F${orderId}`)).status).to.equal(200);
    expect((await call('GET', `${W}/%6Frder/${orderId}`)).status).to.equal(200);
    expect((await call('GET', `${W}/order/%2541`)).text).to.equal(`{"orderId":["The value '%41' is not valid."]}`);
    expect((await call('GET', `${W}/order/1%20`)).text).to.equal(`{"orderId":["The value '1 ' is not valid."]}`);
  });

  it('checks the token first, then the rate limit (which unknown paths spend too), then the version; /_sandbox/ skips the limit', async function () {
    expect((await call('GET', '/nothing', { token: null })).status).to.equal(401);
    expect((await call('GET', '/_sandbox/webhook-attempts', { token: 'wrong' })).status).to.equal(401);
    const before = Number((await call('GET', `${W}/channel`)).remaining);
    expect((await call('GET', '/nothing')).remaining).to.equal(String(before - 1));
    expect((await call('GET', `${W}/nothing`)).remaining).to.equal(String(before - 2));
    const control = await call('GET', '/_sandbox/webhook-attempts');
    expect(control.status).to.equal(200);
    expect(control.remaining).to.equal(null);
    expect((await call('POST', '/_sandbox/webhook-attempts')).status).to.equal(404);
    expect((await call('HEAD', '/_sandbox/webhook-attempts')).status).to.equal(404);
    expect((await call('GET', '/_sandbox/other')).status).to.equal(404);
  });

  it('records every request below the prefix, refusals included, without its Authorization', async function () {
    const seen = running.sandbox.requests().length;
    await call('GET', `${W}/order/${orderId}?x=1`, { token: 'wrong' });
    const last = running.sandbox.requests().at(-1);
    expect(running.sandbox.requests().length).to.equal(seen + 1);
    expect(last).to.include({ method: 'GET', path: `${W}/order/${orderId}?x=1`, status: 401 });
    expect(last?.headers).to.not.have.property('authorization');
  });
});
