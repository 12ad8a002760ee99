import { expect } from 'chai';
import {
  PACKED_DETAIL_ID,
  PICKED_DETAIL_ID,
  ShipBobSandboxError,
  startShipBobSandboxServer,
  TOPICS_2026_01,
  TOPICS_2026_07_EXTRA,
  type RunningShipBobSandbox,
  type ShipmentView,
} from '../../../src/sandbox/shipbob/index.ts';
import { loadShipBobSpec, SchemaChecker, shipbobSpecAvailable, skipWithoutShipBobSpec, validateRequest } from '../../helpers/shipbob-openapi.ts';
import { FakeTarget, type ReceivedRequest } from '../../helpers/target.ts';

const TOKEN = 'sandbox-pat-changes';
const CHANNEL = 515151;
const SECRET = `whsec_${Buffer.from('omgw-shipbob-change-test').toString('base64')}`;
const W = '/2026-01';

interface Call {
  status: number;
  text: string;
  json: unknown;
  sent: { method: string; path: string; headers: Record<string, string>; body: string | undefined };
}

/** Where a shipment is put before a test acts on it. */
type Stage = 'Processing' | 'OnHold' | 'Exception' | 'picked' | 'packed' | 'shipped' | 'cancelled';
const OPEN: readonly Stage[] = ['Processing', 'OnHold', 'Exception'];
const CLOSED: ReadonlyArray<{ stage: Stage; reason: RegExp }> = [
  { stage: 'picked', reason: /already been picked/ },
  { stage: 'packed', reason: /already been packed/ },
  { stage: 'shipped', reason: /already shipped/ },
  { stage: 'cancelled', reason: /cancelled/ },
];

/**
 * The operation's documented answer for the call's status: its JSON body conforms to the response
 * schema of the 2026-01 document (or is empty where the document gives none), and the request to
 * the operation's parameters and body. Only where ../shared is present.
 */
function expectDocumented(template: string, res: Call): void {
  if (!shipbobSpecAvailable) return;
  const doc = loadShipBobSpec();
  const method = res.sent.method.toLowerCase();
  const op = doc.paths[`${W}${template}`]?.[method] as { responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> } | undefined;
  const documented = op?.responses?.[String(res.status)];
  expect(documented, `${res.status} is an answer the document gives ${method.toUpperCase()} ${template}`).to.not.equal(undefined);
  const schema = documented?.content?.['application/json']?.schema;
  if (schema) expect(new SchemaChecker(doc, { nullableRefs: true }).check(schema, res.json, `${res.status} body`)).to.deep.equal([]);
  else expect(res.text).to.equal('');
  if (res.status < 300) expect(validateRequest(res.sent.method, res.sent.path, res.sent.headers, res.sent.body)).to.deep.equal([]);
}

/** A webhook payload or a read conforms to the named schema (where ../shared is present). */
function expectSchema(name: string, value: unknown): void {
  if (!shipbobSpecAvailable) return;
  const doc = loadShipBobSpec();
  const schema = doc.components.schemas[name];
  expect(schema, name).to.not.equal(undefined);
  expect(new SchemaChecker(doc, { nullableRefs: true }).check(schema ?? {}, value, name)).to.deep.equal([]);
}

describe('ShipBob sandbox: cancellations, shipment changes and milestones', function () {
  let running: RunningShipBobSandbox;
  let receiver: FakeTarget;
  let refs = 0;

  const api = async (method: string, path: string, options: { body?: unknown; channel?: string } = {}): Promise<Call> => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    if (options.channel !== undefined) headers.shipbob_channel_id = options.channel;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${running.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, text, json, sent: { method, path, headers, body } };
  };

  /** A new order of two lines, its shipment put at `stage` the way ShipBob's staff would. */
  async function shipmentAt(stage: Stage = 'Processing'): Promise<{ orderId: number; shipmentId: number }> {
    const created = await api('POST', `${W}/order`, {
      channel: String(CHANNEL),
      body: {
        reference_id: `CHG-${++refs}`,
        shipping_method: 'Standard',
        type: 'DTC',
        recipient: { name: 'John Doe', address: { address1: '100 N Racine Ave', city: 'Chicago', state: 'IL', country: 'US', zip_code: '60607' } },
        products: [
          { reference_id: 'LIGHT-ROAST', quantity: 2 },
          { reference_id: 'DARK-ROAST', quantity: 1 },
        ],
      },
    });
    expect(created.status, created.text).to.equal(201);
    const order = created.json as { id: number; shipments: Array<{ id: number }> };
    const shipmentId = order.shipments[0]?.id ?? 0;
    const moves = { Processing: [], OnHold: ['hold'], Exception: ['exception'], picked: ['pick'], packed: ['pick', 'pack'], shipped: ['pick', 'pack', 'ship'], cancelled: ['cancel'] } as const;
    for (const move of moves[stage]) await running.sandbox.moveShipment(shipmentId, move);
    return { orderId: order.id, shipmentId };
  }

  const shipment = async (id: number) => (await api('GET', `${W}/shipment/${id}`)).json as ShipmentView;
  const messageCount = () => running.sandbox.state.messages.length;
  /** The webhooks of `topic` the receiver got about shipment (or order) `id`. */
  const webhooks = (topic: string, id: number): ReceivedRequest[] =>
    receiver.requests.filter((r) => r.headers['x-webhook-topic'] === topic && (JSON.parse(r.body) as { id?: number }).id === id);

  before(async function () {
    running = await startShipBobSandboxServer({
      token: TOKEN,
      channelId: CHANNEL,
      webhookSecret: SECRET,
      rateLimitPerMinute: 100_000,
      webhookRetrySchedule: [0],
      webhookTimeoutMs: 2_000,
    });
    receiver = await new FakeTarget().start();
    running.sandbox.subscribe(`${receiver.url}/hooks`, [...TOPICS_2026_01, ...TOPICS_2026_07_EXTRA]);
  });

  after(async function () {
    await running?.close();
    await receiver?.close();
  });

  it("the change request bodies conform to ShipBob's 2026-01 document", function () {
    skipWithoutShipBobSpec(this);
    const headers = { authorization: 'Bearer t', shipbob_channel_id: '1', 'content-type': 'application/json' };
    expect(validateRequest('POST', `${W}/shipment:batchCancel`, headers, { shipment_ids: [200000001] })).to.deep.equal([]);
    expect(validateRequest('POST', `${W}/shipment/200000001:updateLineItems`, headers, { items: [{ inventory_id: 3000001, quantity: 2 }] })).to.deep.equal([]);
    expect(validateRequest('PUT', `${W}/shipment/200000001:updateAddress`, headers, { street_address1: '1 Main St', city: 'Chicago' })).to.deep.equal([]);
    expect(validateRequest('PUT', `${W}/shipment/200000001:updateAddress`, headers, { city: 'Chicago' })).to.deep.equal(['body.street_address1: required']);
  });

  describe('cancelling one shipment', function () {
    it('cancels a Processing, OnHold or Exception shipment and sends order.shipment.cancelled with the whole shipment', async function () {
      for (const stage of OPEN) {
        const { orderId, shipmentId } = await shipmentAt(stage);
        const res = await api('POST', `${W}/shipment/${shipmentId}:cancel`);
        expect(res.status, `${stage}: ${res.text}`).to.equal(200);
        expectDocumented('/shipment/{shipmentId}:cancel', res);
        expect(res.json).to.include({ id: shipmentId, order_id: orderId, status: 'Cancelled' });
        expect(res.json).to.have.property('status_details').that.deep.equals([]);
        const [hook, ...more] = webhooks('order.shipment.cancelled', shipmentId);
        expect(more, stage).to.deep.equal([]);
        const payload = JSON.parse(hook?.body ?? '{}') as ShipmentView;
        expect(payload).to.deep.equal(res.json);
        expectSchema('Orders.ShipmentViewModel', payload);
        expect((await api('GET', `${W}/order/${orderId}`)).json).to.have.property('status', 'Cancelled');
      }
    });

    it('cancels by order and shipment id, and answers 404 when the shipment is not of that order', async function () {
      const a = await shipmentAt();
      const b = await shipmentAt();
      const wrong = await api('POST', `${W}/order/${a.orderId}/shipment/${b.shipmentId}:cancel`);
      expect(wrong.status).to.equal(404);
      expectDocumented('/order/{orderId}/shipment/{shipmentId}:cancel', wrong);
      expect((await shipment(b.shipmentId)).status).to.equal('Processing');
      const res = await api('POST', `${W}/order/${b.orderId}/shipment/${b.shipmentId}:cancel`);
      expect(res.status, res.text).to.equal(200);
      expectDocumented('/order/{orderId}/shipment/{shipmentId}:cancel', res);
      expect(res.json).to.include({ id: b.shipmentId, status: 'Cancelled' });
      expect(webhooks('order.shipment.cancelled', b.shipmentId)).to.have.length(1);
    });

    it('refuses a picked, packed, shipped or cancelled shipment with 422 and the reason, on both paths, and sends nothing', async function () {
      for (const { stage, reason } of CLOSED) {
        const { orderId, shipmentId } = await shipmentAt(stage);
        const before = await shipment(shipmentId);
        const sent = messageCount();
        const byId = await api('POST', `${W}/shipment/${shipmentId}:cancel`);
        expect(byId.status, stage).to.equal(422);
        expectDocumented('/shipment/{shipmentId}:cancel', byId);
        expect(byId.json).to.have.property('').that.has.length(1);
        expect((byId.json as Record<string, string[]>)['']?.[0]).to.match(reason).and.include(String(shipmentId));
        const byOrder = await api('POST', `${W}/order/${orderId}/shipment/${shipmentId}:cancel`);
        expect(byOrder.status, stage).to.equal(422);
        expectDocumented('/order/{orderId}/shipment/{shipmentId}:cancel', byOrder);
        expect(byOrder.json).to.deep.equal(byId.json);
        expect(await shipment(shipmentId), stage).to.deep.equal(before);
        expect(messageCount(), `${stage}: no webhook`).to.equal(sent);
      }
    });

    it('answers 400 for an id that is not an int32 and 404 for an unknown shipment', async function () {
      const bad = await api('POST', `${W}/shipment/99999999999:cancel`);
      expect(bad.status).to.equal(400);
      expectDocumented('/shipment/{shipmentId}:cancel', bad);
      expect(bad.json).to.have.key('shipmentId');
      const none = await api('POST', `${W}/shipment/1:cancel`);
      expect(none.status).to.equal(404);
      expect(none.text).to.equal('');
      expect((await api('GET', `${W}/shipment/1:cancel`)).status).to.equal(405);
    });
  });

  describe('cancelling a batch of shipments', function () {
    it('needs the shipbob_channel_id of the write channel', async function () {
      const { shipmentId } = await shipmentAt();
      const missing = await api('POST', `${W}/shipment:batchCancel`, { body: { shipment_ids: [shipmentId] } });
      expect(missing.status).to.equal(400);
      expect(missing.json).to.have.key('shipbob_channel_id');
      expect((await api('POST', `${W}/shipment:batchCancel`, { channel: String(CHANNEL + 1), body: { shipment_ids: [shipmentId] } })).status).to.equal(403);
      expect((await shipment(shipmentId)).status).to.equal('Processing');
    });

    it('cancels the shipments it may and gives every other one its reason', async function () {
      const open = await shipmentAt('OnHold');
      const picked = await shipmentAt('picked');
      const shipped = await shipmentAt('shipped');
      const ids = [open.shipmentId, picked.shipmentId, 7, shipped.shipmentId, open.shipmentId];
      const res = await api('POST', `${W}/shipment:batchCancel`, { channel: String(CHANNEL), body: { shipment_ids: ids } });
      expect(res.status, res.text).to.equal(200);
      expectDocumented('/shipment:batchCancel', res);
      const results = (res.json as { results: Array<{ shipment_id: number; action: string; is_success: boolean; reason: string | null }> }).results;
      expect(results.map((r) => [r.shipment_id, r.action, r.is_success])).to.deep.equal([
        [open.shipmentId, 'Cancel', true],
        [picked.shipmentId, 'Cancel', false],
        [7, 'Cancel', false],
        [shipped.shipmentId, 'Cancel', false],
      ]);
      expect(results.map((r) => r.reason)).to.satisfy((reasons: Array<string | null>) =>
        reasons[0] === null && /picked/.test(reasons[1] ?? '') && /not found/.test(reasons[2] ?? '') && /shipped/.test(reasons[3] ?? ''),
      );
      expect(webhooks('order.shipment.cancelled', open.shipmentId)).to.have.length(1);
      expect(webhooks('order.shipment.cancelled', picked.shipmentId)).to.have.length(0);
      expect((await shipment(picked.shipmentId)).status).to.equal('Processing');
    });

    it('answers a body it cannot read with a 422 ModelState (the document gives this operation no 400)', async function () {
      for (const body of [{}, { shipment_ids: [] }, { shipment_ids: ['x'] }, '{"shipment_ids":']) {
        const res = await api('POST', `${W}/shipment:batchCancel`, { channel: String(CHANNEL), body });
        expect(res.status, JSON.stringify(body)).to.equal(422);
        expectDocumented('/shipment:batchCancel', res);
      }
    });
  });

  describe('cancelling an order', function () {
    it('cancels its open shipment and sends order.shipment.cancelled', async function () {
      const { orderId, shipmentId } = await shipmentAt('Exception');
      const res = await api('POST', `${W}/order/${orderId}:cancel`);
      expect(res.status).to.equal(200);
      expectDocumented('/order/{orderId}:cancel', res);
      expect(res.json).to.deep.include({
        order_id: orderId,
        status: 'Success',
        canceled_shipment_results: [{ shipment_id: shipmentId, action: 'Cancel', is_success: true, reason: null }],
      });
      expect(res.json).to.have.nested.property('order.status', 'Cancelled');
      expect(res.json).to.have.nested.property('order.shipments[0].status', 'Cancelled');
      const [hook] = webhooks('order.shipment.cancelled', shipmentId);
      expect(JSON.parse(hook?.body ?? '{}')).to.include({ id: shipmentId, order_id: orderId, status: 'Cancelled' });
    });

    it('answers Failure with the reason when its shipment is picked, packed or shipped, and leaves the order as it was', async function () {
      for (const { stage, reason } of CLOSED.filter((c) => c.stage !== 'cancelled')) {
        const { orderId, shipmentId } = await shipmentAt(stage);
        const before = (await api('GET', `${W}/order/${orderId}`)).json as { status: string };
        const sent = messageCount();
        const res = await api('POST', `${W}/order/${orderId}:cancel`);
        expect(res.status, stage).to.equal(200);
        expectDocumented('/order/{orderId}:cancel', res);
        expect(res.json).to.include({ order_id: orderId, status: 'Failure' });
        const [result] = (res.json as { canceled_shipment_results: Array<{ shipment_id: number; is_success: boolean; reason: string }> }).canceled_shipment_results;
        expect(result).to.include({ shipment_id: shipmentId, is_success: false });
        expect(result?.reason).to.match(reason);
        expect((await api('GET', `${W}/order/${orderId}`)).json).to.deep.equal(before);
        expect(messageCount(), stage).to.equal(sent);
      }
    });
  });

  describe('line items', function () {
    it('lists the shipment line items (getLineItems)', async function () {
      const { shipmentId } = await shipmentAt();
      const res = await api('GET', `${W}/shipment/${shipmentId}:getLineItems`);
      expect(res.status).to.equal(200);
      expectDocumented('/shipment/{shipmentId}:getLineItems', res);
      expect(res.json).to.deep.equal([
        {
          committed_quantity: 2,
          inventory_id: 3_000_001,
          is_hazmat: false,
          is_lot: false,
          lot: { lot_date: null, lot_number: null, selection_method: 'ShipbobChooses' },
          product_variant: { id: 2_000_001, name: 'Light Roast Coffee', sku: 'LIGHT-ROAST' },
          quantity: 2,
          serial_numbers: [],
        },
        {
          committed_quantity: 1,
          inventory_id: 3_000_002,
          is_hazmat: false,
          is_lot: false,
          lot: { lot_date: null, lot_number: null, selection_method: 'ShipbobChooses' },
          product_variant: { id: 2_000_002, name: 'Dark Roast Coffee', sku: 'DARK-ROAST' },
          quantity: 1,
          serial_numbers: [],
        },
      ]);
      const none = await api('GET', `${W}/shipment/1:getLineItems`);
      expect(none.status).to.equal(404);
      expectDocumented('/shipment/{shipmentId}:getLineItems', none);
      expect(none.json).to.deep.equal({ code: 'NOT_FOUND', message: 'Shipment not found' });
    });

    it('replaces the line items with the complete list sent: quantities changed, lines added and removed; the order follows', async function () {
      const { orderId, shipmentId } = await shipmentAt('OnHold');
      const res = await api('POST', `${W}/shipment/${shipmentId}:updateLineItems`, {
        body: { items: [{ inventory_id: 3_000_001, quantity: 5 }, { inventory_id: 3_000_003, quantity: 1, lot_number: 'LOT-7', lot_date: '2027-06-01' }] },
      });
      expect(res.status, res.text).to.equal(200);
      expectDocumented('/shipment/{shipmentId}:updateLineItems', res);
      expect(res.json).to.deep.equal({
        id: shipmentId,
        is_success: true,
        shipment_line_items: [
          { action: 'UpdateLineItem', inventory_id: 3_000_001, previous_value: '2', new_value: '5' },
          { action: 'AddLineItem', inventory_id: 3_000_003, previous_value: null, new_value: '1' },
          { action: 'RemoveLineItem', inventory_id: 3_000_002, previous_value: '1', new_value: null },
        ],
      });
      const items = (await api('GET', `${W}/shipment/${shipmentId}:getLineItems`)).json as Array<Record<string, unknown>>;
      expect(items.map((i) => [i.inventory_id, i.quantity, i.committed_quantity])).to.deep.equal([
        [3_000_001, 5, 5],
        [3_000_003, 1, 1],
      ]);
      expect(items[1]).to.deep.include({ is_lot: true, lot: { lot_date: '2027-06-01T00:00:00.000Z', lot_number: 'LOT-7', selection_method: 'Specific' } });
      const order = (await api('GET', `${W}/order/${orderId}`)).json as { products: Array<{ reference_id: string; quantity: number }> };
      expect(order.products.map((p) => [p.reference_id, p.quantity])).to.deep.equal([
        ['LIGHT-ROAST', 5],
        ['TShirtBlueM', 1],
      ]);
      expectSchema('Orders.OrderViewModel', order);
      for (const topic of ['order.shipment.line_item.updated', 'order.shipment.line_item.added', 'order.shipment.line_item.removed']) {
        expect(webhooks(topic, shipmentId), topic).to.have.length(1);
      }
      const same = await api('POST', `${W}/shipment/${shipmentId}:updateLineItems`, { body: { items: [{ inventory_id: 3_000_001, quantity: 5 }, { inventory_id: 3_000_003, quantity: 1 }] } });
      expect(same.json).to.deep.equal({ id: shipmentId, is_success: true, shipment_line_items: [] });
    });

    it('answers a body ShipBob would refuse with 400 and an ErrorResponse', async function () {
      const { shipmentId } = await shipmentAt();
      const cases: Array<[unknown, string, RegExp]> = [
        [{ items: [] }, 'INVALID_PARAMETER', /items/],
        [{}, 'INVALID_PARAMETER', /items: The items field is required/],
        [{ items: [{ inventory_id: 3_000_001 }] }, 'INVALID_PARAMETER', /items\[0\]\.quantity/],
        [{ items: [{ inventory_id: 3_000_001, quantity: 0 }] }, 'INVALID_PARAMETER', /items\[0\]\.quantity/],
        [{ items: [{ inventory_id: 3_000_001, quantity: 1 }, { inventory_id: 3_000_001, quantity: 2 }] }, 'INVALID_PARAMETER', /more than once/],
        ['{"items":', 'INVALID_PARAMETER', /not valid JSON/],
        [{ items: [{ inventory_id: 999, quantity: 1 }] }, 'VALIDATION_ERROR', /Inventory 999/],
      ];
      for (const [body, code, message] of cases) {
        const res = await api('POST', `${W}/shipment/${shipmentId}:updateLineItems`, { body });
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expectDocumented('/shipment/{shipmentId}:updateLineItems', res);
        expect(res.json).to.have.property('code', code);
        expect((res.json as { message: string }).message).to.match(message);
      }
      const unknown = await api('POST', `${W}/shipment/1:updateLineItems`, { body: { items: [{ inventory_id: 3_000_001, quantity: 1 }] } });
      expect(unknown.status).to.equal(404);
      expectSchema('Orders.ErrorResponse', unknown.json);
      expect((await api('GET', `${W}/shipment/${shipmentId}:getLineItems`)).json).to.have.length(2);
    });

    it('changes them while the shipment is not picked, packed or shipped; otherwise 200 with is_success false and the reason', async function () {
      for (const stage of OPEN) {
        const { shipmentId } = await shipmentAt(stage);
        const res = await api('POST', `${W}/shipment/${shipmentId}:updateLineItems`, { body: { items: [{ inventory_id: 3_000_001, quantity: 3 }] } });
        expect(res.json, stage).to.include({ is_success: true });
      }
      for (const { stage, reason } of CLOSED) {
        const { shipmentId } = await shipmentAt(stage);
        const sent = messageCount();
        const res = await api('POST', `${W}/shipment/${shipmentId}:updateLineItems`, { body: { items: [{ inventory_id: 3_000_001, quantity: 3 }] } });
        expect(res.status, stage).to.equal(200);
        expectDocumented('/shipment/{shipmentId}:updateLineItems', res);
        expect(res.json).to.deep.include({ id: shipmentId, is_success: false, shipment_line_items: null });
        expect(res.json).to.have.nested.property('error.code', 'CONFLICT');
        expect((res.json as { error: { message: string } }).error.message).to.match(reason);
        expect(((await api('GET', `${W}/shipment/${shipmentId}:getLineItems`)).json as unknown[]).length, stage).to.equal(2);
        expect(messageCount(), stage).to.equal(sent);
      }
    });
  });

  describe('address', function () {
    it('replaces the shipment address (PUT) and sends order.shipment.address.updated', async function () {
      const { orderId, shipmentId } = await shipmentAt('Exception');
      const res = await api('PUT', `${W}/shipment/${shipmentId}:updateAddress`, {
        body: { street_address1: '100 Belmont Ave', city: 'Boston', state: 'MA', zip_code: '02108', recipient_name: 'Jane Roe', email: 'jane@example.com' },
      });
      expect(res.status, res.text).to.equal(200);
      expectDocumented('/shipment/{shipmentId}:updateAddress', res);
      expect(res.json).to.deep.equal({ id: shipmentId, is_success: true });
      const changed = await shipment(shipmentId);
      expect(changed.recipient).to.deep.equal({
        name: 'Jane Roe',
        full_name: 'Jane Roe',
        address: { address1: '100 Belmont Ave', address2: null, city: 'Boston', company_name: null, country: 'US', state: 'MA', zip_code: '02108' },
        email: 'jane@example.com',
        phone_number: null,
      });
      expect((await api('GET', `${W}/order/${orderId}`)).json).to.have.nested.property('recipient.address.city', 'Chicago');
      const [hook] = webhooks('order.shipment.address.updated', shipmentId);
      expect(JSON.parse(hook?.body ?? '{}')).to.have.nested.property('recipient.address.city', 'Boston');
    });

    it('answers 400 INVALID_PARAMETER without street_address1 or city', async function () {
      const { shipmentId } = await shipmentAt();
      const res = await api('PUT', `${W}/shipment/${shipmentId}:updateAddress`, { body: { street_address1: '', state: 'IL' } });
      expect(res.status).to.equal(400);
      expectDocumented('/shipment/{shipmentId}:updateAddress', res);
      expect(res.json).to.have.property('code', 'INVALID_PARAMETER');
      expect((res.json as { message: string }).message).to.include('street_address1').and.include('city');
      expect((await api('POST', `${W}/shipment/${shipmentId}:updateAddress`, { body: { street_address1: '1 Main St', city: 'X' } })).status).to.equal(405);
      expect((await shipment(shipmentId)).recipient.address.city).to.equal('Chicago');
    });

    it('refuses a picked, packed, shipped or cancelled shipment: 200 with is_success false and the reason', async function () {
      for (const { stage, reason } of CLOSED) {
        const { shipmentId } = await shipmentAt(stage);
        const res = await api('PUT', `${W}/shipment/${shipmentId}:updateAddress`, { body: { street_address1: '1 Main St', city: 'Boston' } });
        expect(res.status, stage).to.equal(200);
        expectDocumented('/shipment/{shipmentId}:updateAddress', res);
        expect(res.json).to.include({ id: shipmentId, is_success: false });
        expect(res.json).to.have.nested.property('error.code', 'CONFLICT');
        expect((res.json as { error: { message: string } }).error.message).to.match(reason);
        expect((await shipment(shipmentId)).recipient.address.city, stage).to.equal('Chicago');
      }
    });
  });

  describe('milestones driven from the control API', function () {
    const move = (shipmentId: number, action: string, body?: unknown) =>
      api('POST', `/_sandbox/shipments/${shipmentId}/${action}`, body === undefined ? {} : { body });
    type Moved = { shipment: ShipmentView; messages: Array<{ id: string; topic: string; subscription_ids: string[] }> };

    it('hold, exception and cancel send their topic with the shipment; pick and pack set the progress and send nothing', async function () {
      const { shipmentId } = await shipmentAt();
      const cases: Array<[string, unknown, string | null, (s: ShipmentView) => void]> = [
        ['hold', { description: 'Missing tariff code' }, 'order.shipment.on_hold', (s) => expect(s).to.have.nested.property('status_details[0].description', 'Missing tariff code')],
        ['exception', undefined, 'order.shipment.exception', (s) => expect(s.status).to.equal('Exception')],
        ['pick', undefined, null, (s) => expect([s.status, s.status_details.map((d) => [d.id, d.name])]).to.deep.equal(['Processing', [[PICKED_DETAIL_ID, 'Picked']]])],
        ['pack', undefined, null, (s) => expect([s.status, s.status_details.map((d) => [d.id, d.name])]).to.deep.equal(['Processing', [[PACKED_DETAIL_ID, 'Packed']]])],
        ['cancel', undefined, 'order.shipment.cancelled', (s) => expect(s.status).to.equal('Cancelled')],
      ];
      for (const [action, body, topic, check] of cases) {
        const res = await move(shipmentId, action, body);
        expect(res.status, `${action}: ${res.text}`).to.equal(200);
        const moved = res.json as Moved;
        check(moved.shipment);
        expect(moved.shipment).to.deep.equal(await shipment(shipmentId));
        expectSchema('Orders.ShipmentViewModel', moved.shipment);
        expect(moved.messages.map((m) => m.topic), action).to.deep.equal(topic ? [topic] : []);
        if (topic) {
          const hooks = webhooks(topic, shipmentId);
          expect(hooks.map((h) => h.headers['webhook-id']), action).to.deep.equal([moved.messages[0]?.id]);
          expect(JSON.parse(hooks[0]?.body ?? '{}')).to.deep.equal(moved.shipment);
        }
      }
    });

    it('ship and deliver send order.shipped and order.shipment.delivered', async function () {
      const { orderId, shipmentId } = await shipmentAt('packed');
      const shipped = await move(shipmentId, 'ship', { carrier: 'UPS', tracking: '1Z999AA10123456784' });
      expect(shipped.status, shipped.text).to.equal(200);
      expect((shipped.json as Moved).shipment).to.deep.include({ status: 'Completed', status_details: [] });
      expect((shipped.json as Moved).shipment).to.have.nested.property('tracking.tracking_number', '1Z999AA10123456784');
      expect(webhooks('order.shipped', orderId)).to.have.length(1);
      const delivered = await move(shipmentId, 'deliver', { deliveredAt: '2026-02-03T10:00:00Z' });
      expect(delivered.status, delivered.text).to.equal(200);
      expect((delivered.json as Moved).messages.map((m) => m.topic)).to.deep.equal(['order.shipment.delivered', 'order.delivered']);
      const [hook] = webhooks('order.shipment.delivered', shipmentId);
      expect(JSON.parse(hook?.body ?? '{}')).to.include({ id: shipmentId, delivery_date: '2026-02-03T10:00:00.000Z' });
    });

    it('refuses a move the shipment cannot make with 422 and the reason; 404 for an unknown shipment or move; 400 for a bad option', async function () {
      const { shipmentId } = await shipmentAt('packed');
      const cases: Array<[string, RegExp]> = [
        ['pick', /cannot be picked: it is packed/],
        ['deliver', /cannot be delivered/],
      ];
      for (const [action, reason] of cases) {
        const res = await move(shipmentId, action);
        expect(res.status, action).to.equal(422);
        expect((res.json as Record<string, string[]>)['']?.[0]).to.match(reason);
      }
      await move(shipmentId, 'ship');
      for (const action of ['hold', 'exception', 'pick', 'pack', 'cancel', 'ship']) {
        const res = await move(shipmentId, action);
        expect(res.status, action).to.equal(422);
        expect((res.json as Record<string, string[]>)['']?.[0], action).to.include(String(shipmentId));
      }
      expect((await move(1, 'pick')).status).to.equal(404);
      expect((await move(shipmentId, 'teleport')).status).to.equal(404);
      expect((await move(Number.NaN, 'pick')).status).to.equal(400);
      const badOption = await move(shipmentId, 'deliver', { deliveredAt: 'tomorrow' });
      expect(badOption.status).to.equal(400);
      expect(badOption.json).to.have.key('deliveredAt');
      expect((await shipment(shipmentId)).delivery_date).to.equal(null);
    });

    it('the in-process moveShipment() moves the same way and rejects with a ShipBobSandboxError', async function () {
      const { shipmentId } = await shipmentAt();
      const picked = await running.sandbox.moveShipment(shipmentId, 'pick');
      expect(picked.messages).to.deep.equal([]);
      expect(picked.shipment.status_details.map((d) => d.name)).to.deep.equal(['Picked']);
      expect((await api('POST', `${W}/shipment/${shipmentId}:cancel`)).status).to.equal(422);
      const err = await running.sandbox.moveShipment(shipmentId, 'deliver').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ShipBobSandboxError).and.include({ status: 422 });
      const cancelled = await running.sandbox.moveShipment(shipmentId, 'cancel');
      expect(cancelled.messages.map((m) => m.topic)).to.deep.equal(['order.shipment.cancelled']);
      expect(webhooks('order.shipment.cancelled', shipmentId)).to.have.length(1);
      const missing = await running.sandbox.moveShipment(1, 'hold').catch((e: unknown) => e);
      expect(missing).to.be.instanceOf(ShipBobSandboxError).and.include({ status: 404 });
    });
  });
});
