import { createHmac, timingSafeEqual } from 'node:crypto';
import { expect } from 'chai';
import { startShipBobSandboxServer, type RunningShipBobSandbox } from '../../../src/sandbox/shipbob/index.ts';
import { FakeTarget, type ReceivedRequest } from '../../helpers/target.ts';
import { shipbobSpecAvailable, skipWithoutShipBobSpec, validateRequest } from '../../helpers/shipbob-openapi.ts';
import { gatewayYaml, startGateway, type TestGateway } from '../../helpers/gateway.ts';

const TOKEN = 'sandbox-pat-0123456789';
const CHANNEL = 424242;
/** whsec_ + base64 of 24 bytes (the spec's pattern). */
const SECRET = `whsec_${Buffer.from('omgw-shipbob-test-secret').toString('base64')}`;

/**
 * Standard Webhooks v1 signature, computed here independently of the sandbox (which signs with the
 * standardwebhooks package): base64(HMAC-SHA256(base64decode(secret without whsec_), "id.ts.body")).
 */
function sign(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function verifies(secret: string, req: ReceivedRequest): boolean {
  const id = String(req.headers['webhook-id']);
  const ts = String(req.headers['webhook-timestamp']);
  const expected = Buffer.from(sign(secret, id, ts, req.body));
  return String(req.headers['webhook-signature'])
    .split(' ')
    .some((s) => s.startsWith('v1,') && Buffer.from(s).length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}

interface Call {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  sent: { method: string; path: string; headers: Record<string, string>; body: string | undefined };
}

function client(base: () => string) {
  return async (
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null; channel?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Call> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.channel !== null && options.channel !== undefined) headers.shipbob_channel_id = options.channel;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${base()}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, text, json, sent: { method, path, headers, body } };
  };
}

function newOrder(referenceId: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reference_id: referenceId,
    order_number: `SO-${referenceId}`,
    shipping_method: 'Standard',
    type: 'DTC',
    recipient: {
      name: 'John Doe',
      address: { address1: '100 N Racine Ave', address2: 'Suite 100', company_name: null, city: 'Chicago', state: 'IL', country: 'US', zip_code: '60607' },
      email: 'johndoe@domain.com',
      phone_number: '555-555-5555',
    },
    products: [{ reference_id: 'LIGHT-ROAST', name: 'Light Roast Coffee', quantity: 2 }],
    tags: [{ name: 'oracle-order', value: referenceId }],
    ...patch,
  };
}

const W = '/2026-01';

describe('ShipBob sandbox (emulated API over HTTP)', function () {
  let running: RunningShipBobSandbox;
  let receiver: FakeTarget;
  const api = client(() => running.url);
  const createOrder = (ref: string, patch?: Record<string, unknown>) =>
    api('POST', `${W}/order`, { channel: String(CHANNEL), body: newOrder(ref, patch) });

  before(async function () {
    running = await startShipBobSandboxServer({
      token: TOKEN,
      channelId: CHANNEL,
      webhookSecret: SECRET,
      // This suite makes many calls; the rate limit has its own sandbox below.
      rateLimitPerMinute: 100_000,
      webhookRetrySchedule: [0, 20, 20],
      webhookTimeoutMs: 2_000,
      simulationMinuteMs: 5,
    });
    receiver = await new FakeTarget().start();
  });

  after(async function () {
    await running?.close();
    await receiver?.close();
  });

  describe('orders', function () {
    let created: Call;
    before(async function () {
      created = await createOrder('PO-1001');
    });

    it('creates an order (201, deterministic ids, ShipBob OrderViewModel)', async function () {
      expect(created.status, created.text).to.equal(201);
      const order = created.json as Record<string, unknown>;
      expect(order).to.include({ id: 100_000_001, reference_id: 'PO-1001', order_number: 'SO-PO-1001', status: 'Processing', type: 'DTC' });
      expect(order.channel).to.deep.equal({ id: CHANNEL, name: 'Privileged Access Token (sandbox)' });
      expect(order.products).to.deep.equal([
        {
          id: 2_000_001,
          reference_id: 'LIGHT-ROAST',
          sku: 'LIGHT-ROAST',
          quantity: 2,
          unit_price: null,
          external_line_id: null,
          gtin: null,
          upc: null,
          quantity_unit_of_measure_code: null,
        },
      ]);
      expect(order).to.have.nested.property('shipments[0].id', 200_000_001);
      expect(order).to.have.nested.property('shipments[0].status', 'Processing');
      expect(order).to.have.nested.property('shipments[0].location.name', 'Cicero (IL)');
      expect(order).to.have.nested.property('shipments[0].tracking', null);

      const again = await api('GET', `${W}/order/100000001`);
      expect(again.status).to.equal(200);
      expect(again.json).to.deep.equal(order);
      const shipments = await api('GET', `${W}/order/100000001/shipment`);
      expect(shipments.json).to.have.length(1);
      const shipment = await api('GET', `${W}/shipment/200000001`);
      expect(shipment.json).to.have.property('order_id', 100_000_001);
      expect((await api('GET', `${W}/order/100000001/shipment/200000001`)).status).to.equal(200);
      expect((await api('GET', `${W}/order/999`)).status).to.equal(404);
      expect((await api('GET', `${W}/order/abc`)).json).to.deep.equal({ orderId: ["The value 'abc' is not valid."] });
    });

    it("the create request conforms to ShipBob's OpenAPI", function () {
      skipWithoutShipBobSpec(this);
      const { method, path, headers, body } = created.sent;
      expect(validateRequest(method, path, headers, body)).to.deep.equal([]);
    });

    it('answers a request ShipBob would refuse with 400 and errors keyed by field', async function () {
      const res = await api('POST', `${W}/order`, {
        channel: String(CHANNEL),
        body: {
          reference_id: 42,
          type: 'Retail',
          recipient: { name: 'John Doe', address: { address1: '1 Main St', country: 'US' } },
          products: [{ reference_id: 'LIGHT-ROAST' }, { quantity: 1 }],
          purchase_date: 'yesterday',
        },
      });
      expect(res.status).to.equal(400);
      const errors = res.json as Record<string, string[]>;
      expect(Object.keys(errors)).to.have.members([
        'reference_id',
        'shipping_method',
        'type',
        'recipient.address.city',
        'products[0].quantity',
        'products[1].reference_id',
        'purchase_date',
      ]);
      for (const messages of Object.values(errors)) {
        expect(messages).to.be.an('array').that.is.not.empty;
        for (const m of messages) expect(m).to.be.a('string');
      }
      expect(errors.shipping_method).to.deep.equal(['The shipping_method field is required.']);

      const empty = await api('POST', `${W}/order`, { channel: String(CHANNEL), body: { products: [] } });
      expect(empty.status).to.equal(400);
      expect(empty.json).to.include.keys('reference_id', 'recipient', 'products');
      const notJson = await api('POST', `${W}/order`, { channel: String(CHANNEL), body: '{"reference_id":' });
      expect(notJson.status).to.equal(400);
      expect(notJson.json).to.have.key('');
      const wrongType = await api('POST', `${W}/order`, { channel: String(CHANNEL), body: newOrder('X'), headers: { 'content-type': 'text/plain' } });
      expect(wrongType.status).to.equal(415);
    });

    it('refuses a reference_id used before with 422, even after the order is cancelled', async function () {
      const dup = await createOrder('PO-1001');
      expect(dup.status).to.equal(422);
      expect(dup.json).to.deep.equal({ '': ['Cannot insert order with existing ReferenceId'] });

      const other = await createOrder('PO-CANCEL-ME');
      const id = (other.json as { id: number }).id;
      const cancel = await api('POST', `${W}/order/${id}:cancel`);
      expect(cancel.status).to.equal(200);
      expect(cancel.json).to.include({ order_id: id, status: 'Success' });
      expect(cancel.json).to.have.nested.property('order.status', 'Cancelled');
      expect((await createOrder('PO-CANCEL-ME')).status).to.equal(422);
    });

    it('looks orders up by ReferenceIds (comma separated, the way ShipBob wants it)', async function () {
      await createOrder('PO-2001');
      await createOrder('PO-2002');
      const res = await api('GET', `${W}/order?ReferenceIds=PO-2001,PO-2002,PO-NONE&SortOrder=Oldest`);
      expect(res.status).to.equal(200);
      expect((res.json as Array<{ reference_id: string }>).map((o) => o.reference_id)).to.deep.equal(['PO-2001', 'PO-2002']);
      expect(res.headers.get('total-count')).to.equal('2');
      expect(res.headers.get('page-number')).to.equal('1');
      const encoded = await api('GET', `${W}/order?ReferenceIds=PO-2001%2CPO-2002`);
      expect(encoded.json).to.have.length(2);
      const none = await api('GET', `${W}/order?ReferenceIds=PO-NONE`);
      expect(none.json).to.deep.equal([]);
      const otherChannel = await api('GET', `${W}/order?ReferenceIds=PO-2001`, { channel: String(CHANNEL + 1) });
      expect(otherChannel.json).to.deep.equal([]);
      expect((await api('GET', `${W}/order?Limit=500`)).status).to.equal(400);
      if (shipbobSpecAvailable) expect(validateRequest('GET', `${W}/order?ReferenceIds=PO-2001,PO-2002`, res.sent.headers)).to.deep.equal([]);
    });

    it('creates a product for an unknown reference_id with a name, and refuses one without', async function () {
      const nameless = await createOrder('PO-3001', { products: [{ reference_id: 'NEW-SKU', quantity: 1 }] });
      expect(nameless.status).to.equal(400);
      expect(nameless.json).to.have.key('products[0].name');
      const named = await createOrder('PO-3002', { products: [{ reference_id: 'NEW-SKU', name: 'New thing', quantity: 1 }] });
      expect(named.status).to.equal(201);
      const found = await api('GET', `${W}/product?SKU=NEW-SKU`);
      expect(found.json).to.have.nested.property('items[0].variants[0].sku', 'NEW-SKU');
      const byId = await createOrder('PO-3003', { products: [{ id: 2_000_002, quantity: 3 }] });
      expect(byId.status).to.equal(201);
      expect(byId.json).to.have.nested.property('products[0].reference_id', 'DARK-ROAST');
      const missingId = await createOrder('PO-3004', { products: [{ id: 999, quantity: 1 }] });
      expect(missingId.status).to.equal(422);
      expect(missingId.json).to.have.key('products[0].id');
    });
  });

  describe('auth and channel', function () {
    it('answers 401 without a valid bearer token', async function () {
      const none = await api('GET', `${W}/channel`, { token: null });
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('Bearer');
      expect(none.text).to.equal('');
      expect((await api('GET', `${W}/channel`, { token: 'wrong' })).status).to.equal(401);
      expect((await api('POST', `${W}/order`, { token: 'wrong', channel: String(CHANNEL), body: newOrder('PO-AUTH') })).status).to.equal(401);
    });

    it('needs shipbob_channel_id of the write channel to create an order', async function () {
      const missing = await api('POST', `${W}/order`, { body: newOrder('PO-CH-1') });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.deep.equal({ shipbob_channel_id: ['The shipbob_channel_id field is required.'] });
      const bad = await api('POST', `${W}/order`, { channel: 'abc', body: newOrder('PO-CH-2') });
      expect(bad.status).to.equal(400);
      expect(bad.json).to.have.key('shipbob_channel_id');
      expect((await api('POST', `${W}/order`, { channel: String(CHANNEL + 1), body: newOrder('PO-CH-3') })).status).to.equal(403);
      expect((await api('POST', `${W}/order`, { channel: '7', body: newOrder('PO-CH-4') })).status).to.equal(403);
      // None of these took the reference.
      expect((await createOrder('PO-CH-1')).status).to.equal(201);
    });

    it('lists the channels, catalogue and locations the gateway reads', async function () {
      const channels = await api('GET', `${W}/channel`);
      const items = (channels.json as { items: Array<{ id: number; application_name: string; scopes: string[] }> }).items;
      const write = items.find((c) => c.scopes.includes('orders_write'));
      expect(write).to.include({ id: CHANNEL, application_name: 'SMA' });
      const products = await api('GET', `${W}/product`);
      const skus = (products.json as { items: Array<{ variants: Array<{ sku: string }> }> }).items.map((p) => p.variants[0]?.sku);
      expect(skus).to.include.members(['LIGHT-ROAST', 'DARK-ROAST', 'TShirtBlueM', 'AS54888']);
      const locations = await api('GET', `${W}/location`);
      expect((locations.json as Array<{ id: number }>).map((l) => l.id)).to.deep.equal([156, 10, 188]);
      const fcs = await api('GET', `${W}/fulfillment-center`);
      expect(fcs.json).to.have.nested.property('[0].name', 'Cicero (IL)');
      expect((await api('GET', '/2025-07/order')).status).to.equal(404);
      expect((await api('PUT', `${W}/order`)).status).to.equal(405);
    });
  });

  describe('webhooks', function () {
    let subscriptionSecret: string;
    let hookPath: string;

    before(async function () {
      hookPath = '/webhooks/shipbob';
      const res = await api('POST', `${W}/webhook`, {
        body: { topics: ['order.shipped', 'order.shipment.delivered'], url: `${receiver.url}${hookPath}`, description: 'test receiver' },
      });
      expect(res.status, res.text).to.equal(201);
      const sub = res.json as { id: string; secret: string; topics: string[] };
      expect(sub.id).to.equal('1');
      expect(sub.secret).to.match(/^whsec_[a-zA-Z0-9+/]{32}$/);
      subscriptionSecret = sub.secret;
    });

    beforeEach(function () {
      receiver.answer = () => ({ status: 200, body: '{}' });
    });

    it('the independent signature function reproduces the Standard Webhooks test vector', function () {
      expect(sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', '1614265330', '{"test": 2432232314}')).to.equal(
        'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      );
    });

    it('manages subscriptions: list without secrets, refuse bad topics, delete', async function () {
      const list = await api('GET', `${W}/webhook`);
      expect(list.status).to.equal(200);
      const items = (list.json as { items: Array<Record<string, unknown>> }).items;
      expect(items[0]).to.include({ id: '1', enabled: true, url: `${receiver.url}${hookPath}` });
      expect(items[0]).to.not.have.property('secret');
      const bad = await api('POST', `${W}/webhook`, { body: { topics: ['order_shipped'], url: 'not a url' } });
      expect(bad.status).to.equal(422);
      expect(bad.json).to.include({ status_code: 422 });
      expect(bad.json).to.have.nested.property('value').that.has.keys('topics[0]', 'url');
      const temp = await api('POST', `${W}/webhook`, { body: { topics: ['billing.charge.created'], url: 'https://example.invalid/x', secret: SECRET } });
      expect(temp.json).to.have.property('secret', SECRET);
      const id = (temp.json as { id: string }).id;
      expect((await api('DELETE', `${W}/webhook/${id}`)).status).to.equal(200);
      expect((await api('DELETE', `${W}/webhook/${id}`)).status).to.equal(404);
    });

    it('ship() sends a signed order.shipped webhook with the shipment and its tracking', async function () {
      const order = (await createOrder('PO-SHIP-1')).json as { id: number };
      const before = receiver.requests.length;
      const result = await running.sandbox.ship(order.id, { carrier: 'UPS', tracking: '1Z999AA10123456784' });
      const [req] = (await receiver.waitForRequests(before + 1)).slice(before);
      if (!req) throw new Error('no webhook received');
      expect(req.path).to.equal(hookPath);
      expect(req.headers['x-webhook-topic']).to.equal('order.shipped');
      expect(req.headers['content-type']).to.equal('application/json');
      expect(req.headers['webhook-id']).to.equal(result.message.id).and.match(/^msg_sb\d{8}$/);
      expect(String(req.headers['webhook-timestamp'])).to.match(/^\d{10}$/);
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).to.be.below(60);
      expect(verifies(subscriptionSecret, req), 'signature verifies with the subscription secret').to.equal(true);
      expect(verifies(SECRET, req), 'not with another secret').to.equal(false);

      const payload = JSON.parse(req.body) as Record<string, unknown>;
      expect(payload).to.include({ id: order.id, reference_id: 'PO-SHIP-1', status: 'Fulfilled' });
      expect(payload).to.have.nested.property('shipments[0].status', 'Completed');
      expect(payload).to.have.nested.property('shipments[0].tracking.carrier', 'UPS');
      expect(payload).to.have.nested.property('shipments[0].tracking.tracking_number', '1Z999AA10123456784');
      expect(payload).to.have.nested.property('shipments[0].products[0].inventory_items[0].quantity', 2);
      expect(payload).to.have.nested.property('shipments[0].tracking.shipping_date').that.is.a('string');

      const attempt = running.sandbox.webhookAttempts().find((a) => a.messageId === result.message.id);
      expect(attempt).to.include({ attempt: 1, status: 200, outcome: 'delivered', nextAttemptInMs: null, topic: 'order.shipped' });
      const polled = await api('GET', `${W}/order/${order.id}`);
      expect(polled.json).to.have.nested.property('shipments[0].tracking.tracking_number', '1Z999AA10123456784');
      await expectShipError(() => running.sandbox.ship(order.id));
    });

    it('retries after a 500 on the injected schedule, with the same webhook-id and a fresh signature', async function () {
      const order = (await createOrder('PO-SHIP-2')).json as { id: number };
      const start = receiver.requests.length;
      receiver.answer = (_req, index) => (index < start + 2 ? { status: 500, body: 'boom' } : { status: 200, body: '{}' });
      const attemptsBefore = running.sandbox.webhookAttempts().length;
      const result = await running.sandbox.ship(order.id);
      const attempts = (await running.sandbox.waitForWebhookAttempts(attemptsBefore + 3)).slice(attemptsBefore);
      expect(attempts.map((a) => [a.messageId, a.attempt, a.status, a.outcome, a.nextAttemptInMs])).to.deep.equal([
        [result.message.id, 1, 500, 'failed', 20],
        [result.message.id, 2, 500, 'failed', 20],
        [result.message.id, 3, 200, 'delivered', null],
      ]);
      expect(attempts[0]?.responseSnippet).to.equal('boom');
      const received = (await receiver.waitForRequests(start + 3)).slice(start);
      expect(new Set(received.map((r) => r.headers['webhook-id']))).to.deep.equal(new Set([result.message.id]));
      for (const r of received) expect(verifies(subscriptionSecret, r)).to.equal(true);
      expect(received.map((r) => r.body)).to.satisfy((bodies: string[]) => bodies.every((b) => b === bodies[0]));
    });

    it('gives up after the last scheduled attempt, and a 410 disables the subscription', async function () {
      const order = (await createOrder('PO-SHIP-3')).json as { id: number };
      receiver.answer = () => ({ status: 503 });
      const n = running.sandbox.webhookAttempts().length;
      await running.sandbox.ship(order.id);
      const attempts = (await running.sandbox.waitForWebhookAttempts(n + 3)).slice(n);
      expect(attempts.map((a) => a.outcome)).to.deep.equal(['failed', 'failed', 'failed']);
      expect(attempts[2]?.nextAttemptInMs).to.equal(null);

      const gone = await api('POST', `${W}/webhook`, { body: { topics: ['order.shipment.on_hold'], url: `${receiver.url}/gone` } });
      const goneId = (gone.json as { id: string }).id;
      receiver.answer = (req) => (req.path === '/gone' ? { status: 410 } : { status: 200 });
      const held = (await createOrder('PO-HOLD-1')).json as { id: number };
      const m = running.sandbox.webhookAttempts().length;
      await running.sandbox.markShipment(held.id, 'OnHold', 'Address could not be validated');
      expect(running.sandbox.webhookAttempts().slice(m).map((a) => [a.subscriptionId, a.status, a.nextAttemptInMs])).to.deep.equal([[goneId, 410, null]]);
      expect(running.sandbox.state.subscriptions.get(goneId)?.enabled).to.equal(false);
      await running.sandbox.markShipment(held.id, 'OnHold');
      expect(running.sandbox.webhookAttempts().length).to.equal(m + 1);
    });

    it('runs ShipBob sandbox simulations (ShipOrder then DeliverOrder) over HTTP', async function () {
      const order = (await createOrder('PO-SIM-1')).json as { id: number; shipments: Array<{ id: number }> };
      const shipmentId = order.shipments[0]?.id;
      const start = receiver.requests.length;
      const sim = await api('POST', `${W}/simulate/shipment`, {
        body: { shipment_id: String(shipmentId), simulation: { action: 'ShipOrder', delay: 1, next: { action: 'DeliverOrder', delay: 1 } } },
      });
      expect(sim.status, sim.text).to.equal(200);
      const simulationId = (sim.json as { simulation_id: string }).simulation_id;
      const received = (await receiver.waitForRequests(start + 2)).slice(start);
      expect(received.map((r) => r.headers['x-webhook-topic'])).to.deep.equal(['order.shipped', 'order.shipment.delivered']);
      expect(JSON.parse(received[1]?.body ?? '{}')).to.include({ id: shipmentId, order_id: order.id });
      const status = await api('GET', `${W}/simulate/status/${simulationId}`);
      expect(status.json).to.have.nested.property('simulation.status', 'Completed');
      expect(status.json).to.have.nested.property('simulation.next.status', 'Completed');
    });

    it('sendEvent() sends any topic to its subscribers', async function () {
      const start = receiver.requests.length;
      const message = await running.sandbox.sendEvent('order.shipment.delivered', { id: 1, order_id: 2 });
      const [req] = (await receiver.waitForRequests(start + 1)).slice(start);
      expect(req?.headers['webhook-id']).to.equal(message.id);
      expect(req?.body).to.equal('{"id":1,"order_id":2}');
      const none = await running.sandbox.sendEvent('billing.charge.created', { amount: 1 });
      expect(none.subscriptionIds).to.deep.equal([]);
    });
  });

  describe('rate limit', function () {
    let limited: RunningShipBobSandbox;
    let now = Date.UTC(2026, 0, 15, 12, 0, 0);
    const call = client(() => limited.url);

    before(async function () {
      limited = await startShipBobSandboxServer({ token: TOKEN, channelId: CHANNEL, webhookSecret: SECRET, now: () => now });
    });
    after(async function () {
      await limited?.close();
    });

    it('allows 150 requests a minute (sliding window) and answers the 151st with 429', async function () {
      const start = now;
      for (let i = 1; i <= 150; i++) {
        if (i === 101) now = start + 30_000;
        const res = await call('GET', `${W}/channel`);
        expect(res.status).to.equal(200);
        expect(res.headers.get('x-remaining-calls')).to.equal(String(150 - i));
      }
      now = start + 40_000;
      const refused = await call('GET', `${W}/order`);
      expect(refused.status).to.equal(429);
      expect(refused.headers.get('x-retry-after')).to.equal('20');
      expect(refused.headers.get('x-remaining-calls')).to.equal('0');
      expect(refused.json).to.deep.equal({ statusCode: 429, message: 'Rate limit is exceeded. Try again in 20 seconds.' });
      // Unauthenticated calls are refused before they count.
      expect((await call('GET', `${W}/order`, { token: 'wrong' })).status).to.equal(401);

      now = start + 60_000; // the first 100 leave the window
      const again = await call('GET', `${W}/channel`);
      expect(again.status).to.equal(200);
      expect(again.headers.get('x-remaining-calls')).to.equal('99');
    });
  });
});

describe('ShipBob sandbox mounted on the gateway (sandbox.enabled)', function () {
  let gw: TestGateway;
  const api = client(() => `${gw.url}/sandbox/shipbob`);

  before(async function () {
    const extra = [
      '  webhooks:',
      '    shipbob:',
      "      secrets: ['${env:SB_SECRET}']",
      'sandbox:',
      '  enabled: true',
      '  shipbob:',
      '    token: ${env:SB_TOKEN}',
      '    webhookSecret: ${env:SB_SECRET}',
      '    channelId: 777',
      '',
    ].join('\n');
    gw = await startGateway(
      {
        gateway: gatewayYaml(extra),
        connectors: { 'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\n' },
        triggerPoints: 'triggerPoints:\n  - name: status\n    eventCodes: [FlineStatusUpdate]\n    connectors: [crm]\n',
      },
      { env: { SB_TOKEN: TOKEN, SB_SECRET: SECRET } },
    );
  });

  after(async function () {
    await gw?.stop();
  });

  it('serves the API under /sandbox/shipbob with the configured token and channel', async function () {
    expect((await api('GET', `${W}/channel`, { token: null })).status).to.equal(401);
    const channels = await api('GET', `${W}/channel`);
    expect(channels.json).to.have.nested.property('items[0].id', 777);
    const created = await api('POST', `${W}/order`, { channel: '777', body: newOrder('GW-1') });
    expect(created.status, created.text).to.equal(201);
  });

  it("subscribes the gateway's own /webhooks/shipbob, which accepts the signed webhooks", async function () {
    const subs = await api('GET', `${W}/webhook`);
    expect(subs.json).to.have.nested.property('items[0].url', `${gw.url}/webhooks/shipbob`);
    const order = (await api('GET', `${W}/order?ReferenceIds=GW-1`)).json as Array<Record<string, unknown>>;
    // The control endpoint answers after the first delivery attempt.
    const sent = await api('POST', '/_sandbox/events', { body: { topic: 'order.shipped', payload: order[0] } });
    expect(sent.status).to.equal(202);
    const attempts = (await api('GET', '/_sandbox/webhook-attempts')).json as Array<{ messageId: string; status: number; outcome: string }>;
    const attempt = attempts.find((a) => a.messageId === (sent.json as { id: string }).id);
    expect(attempt, JSON.stringify(attempts)).to.include({ outcome: 'delivered' });
  });
});

async function expectShipError(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    expect((err as Error).message).to.match(/no shipment left to ship/);
    return;
  }
  throw new Error('expected ship() to fail');
}
