import { expect } from 'chai';
import type { PollOutcome } from '../../src/inbound/poller/purchase-orders.ts';
import type { OrderJourney } from '../../src/services/journey.ts';
import { orderJourney } from '../../src/admin/journey-response.ts';
import type { RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import { buildPush, sandboxOrderIds } from '../../src/sandbox/om-push.ts';
import type { RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, type TestGateway } from '../helpers/gateway.ts';
import { startOrderFlow, type OrderFlow } from '../helpers/order-flow.ts';
import { until } from '../helpers/until.ts';

/**
 * "Where is order SO-1234?": one order's whole journey, from every source the gateway has of it (an
 * OM push, the ShipBob order it made, ShipBob's shipped webhook, the write-back to Fusion, an
 * operator's replay) and a ShipBob order made from a polled purchase order, found by each kind of
 * key, through the admin API and `omgw order`.
 */

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

describe(`an order's journey (${backendName()})`, function () {
  this.timeout(60_000);
  let flow: OrderFlow;
  let shipbob: RunningShipBobSandbox;
  let fusion: RunningFusionSandbox;
  let gw: TestGateway;

  before(async () => {
    flow = await startOrderFlow();
    ({ shipbob, fusion, gw } = flow);
  });
  after(async () => {
    await flow?.close();
  });

  const attemptAt = (connector: string) => flow.attemptAt(connector);
  const journey = (key: string) => flow.admin<OrderJourney & { code?: string; message?: string }>(`/orders/${encodeURIComponent(key)}`);
  const cli = (...args: string[]) => flow.cli(...args);

  const order = { sourceOrderNumber: 'SO-J1', lines: 1, statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' };
  const line = sandboxOrderIds(order).lines[0]?.fulfillLineId ?? '?';
  const reference = `LEG:SO-J1:${line}`;
  let shipbobOrderId = '';
  let outbound = '';

  before(async () => {
    // OM: the line is awaiting shipping → the gateway makes the ShipBob order.
    const made = attemptAt('shipbob');
    expect((await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'FlineStatusUpdate', order }], { security }))).status).to.equal(202);
    expect((await made).outcome).to.equal('delivered');
    const sb = [...shipbob.sandbox.state.orders.values()].find((o) => o.reference_id === reference);
    if (!sb) throw new Error(`ShipBob has no order ${reference}`);
    shipbobOrderId = String(sb.id);
    outbound = (await made).deliveryId;

    // ShipBob ships it: the signed order.shipped webhook comes in, and the notice goes to Fusion.
    const written = attemptAt('fusion');
    await shipbob.sandbox.moveShipment(Number(sb.shipments[0]?.id), 'ship', { carrier: 'UPS', tracking: '1Z999AA10123456784' });
    expect((await written).outcome).to.equal('delivered');

    // An operator replays the ShipBob delivery (ShipBob holds the order already: nothing is sent).
    const replayed = attemptAt('shipbob');
    const replay = await cli('replay', '--id', outbound, '--reason', 'checking the order');
    expect(replay.code, replay.err).to.equal(0);
    gw.gateway.worker?.notify();
    expect((await replayed).outcome).to.equal('delivered');

    // A purchase order polled from Fusion → its ShipBob order.
    fusion.purchaseOrders.add({ orderNumber: 'PO-J1', lines: [{ item: 'OMGW-MUG-12OZ', quantity: 2 }] });
    const fromPo = attemptAt('shipbob');
    const polled = (await gw.gateway.jobs?.poller.runNow('test')) as PollOutcome;
    expect(polled.status === 'ran' && polled.state === 'ok', JSON.stringify(polled)).to.equal(true);
    expect((await fromPo).outcome).to.equal('delivered');
  });

  it('puts every source of a sales order in time order, with where it stands', async () => {
    const { status, json } = await journey('LEG:SO-J1');
    expect(status, JSON.stringify(json)).to.equal(200);
    const parsed = orderJourney.safeParse(json);
    expect(parsed.success, parsed.error?.message).to.equal(true);
    expect(json).to.deep.include({ key: 'LEG:SO-J1', foundBy: 'order_key', more: false, truncated: [] });
    expect(json.orderKeys).to.include('LEG:SO-J1');
    expect(json.shipbobKeys).to.deep.equal([`shipbob:${shipbobOrderId}`]);
    expect(json.standing).to.deep.equal({
      summary: `ShipBob order ${shipbobOrderId} shipped, notice written to fusion; waiting for: delivered`,
      waitingFor: ['delivered'],
      attention: [],
    });
    expect(json.shipbobOrders.map((o) => [o.shipbobOrderId, o.referenceId, o.connector, o.stage, o.knownFrom])).to.deep.equal([[shipbobOrderId, reference, 'shipbob', 'shipped', 'record']]);

    const times = json.timeline.map((e) => Date.parse(e.at));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    const steps = json.timeline.map((e) => {
      switch (e.kind) {
        case 'event':
          return `${e.role} ${e.eventCode}`;
        case 'delivery':
          return `${e.role} ${e.connector} ${e.state} ${e.attempts.map((a) => a.outcome).join(',')}`;
        case 'shipbob_order':
          return `shipbob_order ${e.shipbobOrderId}`;
        case 'operator_action':
          return `operator ${e.action} ${e.actor ?? ''} ${e.reason ?? ''}`;
      }
    });
    expect(steps.filter((s) => !s.startsWith('operator'))).to.deep.equal([
      'om_event FlineStatusUpdate',
      'to_shipbob shipbob delivered delivered,delivered',
      `shipbob_order ${shipbobOrderId}`,
      'shipbob_webhook order.shipped',
      'write_back fusion delivered delivered',
    ]);
    expect(steps.at(-1)).to.match(/^operator delivery\.replayed cli:\S+ checking the order$/);

    const om = json.timeline.find((e) => e.kind === 'event' && e.role === 'om_event');
    expect(om?.kind === 'event' && om.statusValues).to.deep.include({ line, field: 'StatusCode', old: 'SCHEDULED', new: 'AWAIT_SHIPPING' });
    const toShipBob = json.timeline.find((e) => e.kind === 'delivery' && e.role === 'to_shipbob');
    if (toShipBob?.kind !== 'delivery') throw new Error('no delivery to ShipBob');
    expect(JSON.parse(toShipBob.attempts[0]?.snippet ?? 'null')).to.deep.equal({ orders: [{ reference_id: reference, id: shipbobOrderId, existing: false, sent: ['create'] }] });
    // The replay found the order as it was sent: no request, so no HTTP status.
    expect(toShipBob.attempts.map((a) => [a.number, a.responseStatus !== null, a.durationMs >= 0])).to.deep.equal([
      [1, true, true],
      [2, false, true],
    ]);
    expect(JSON.parse(toShipBob.attempts[1]?.snippet ?? 'null').orders[0]).to.include({ nothing: 'unchanged' });
  });

  it('finds the same order by its source order number, its ShipBob order id and its reference id', async () => {
    const whole = await journey('LEG:SO-J1');
    for (const [key, foundBy] of [
      ['SO-J1', 'source_order_number'],
      [shipbobOrderId, 'shipbob_order_id'],
      [`shipbob:${shipbobOrderId}`, 'shipbob_order_id'],
      [reference, 'shipbob_reference_id'],
    ] as const) {
      const { status, json } = await journey(key);
      expect(status, key).to.equal(200);
      expect(json.foundBy, key).to.equal(foundBy);
      expect(json.orderKeys, key).to.include('LEG:SO-J1');
      expect(json.timeline, key).to.deep.equal(whole.json.timeline);
    }
  });

  it('follows a ShipBob order made from a polled purchase order, found by its PO number and its ShipBob order id', async () => {
    const { status, json } = await journey('PO-J1');
    expect(status, JSON.stringify(json)).to.equal(200);
    expect(json.foundBy).to.equal('purchase_order_number');
    expect(json.orderKeys).to.deep.equal(['PO-J1']);
    expect(json.timeline.map((e) => `${e.kind} ${e.kind === 'event' || e.kind === 'delivery' ? e.role : ''}`)).to.deep.equal([
      'event purchase_order',
      'delivery to_shipbob',
      'shipbob_order ',
    ]);
    const po = json.timeline[0];
    expect(po?.kind === 'event' && po.statusValues).to.deep.equal([{ line: null, field: 'StatusCode', old: null, new: 'OPEN' }]);
    const made = json.shipbobOrders[0];
    expect(made?.referenceId).to.match(/^PO-J1:\d+$/);
    expect(json.standing.summary).to.equal(`ShipBob order ${made?.shipbobOrderId} created; waiting for: shipped`);

    const byId = await journey(made?.shipbobOrderId ?? '?');
    expect(byId.json).to.deep.include({ foundBy: 'shipbob_order_id', orderKeys: ['PO-J1'] });
  });

  it('answers 404 {code, message} for a key no order has, and the CLI exits 1 saying so', async () => {
    const { status, json } = await journey('SO-NOWHERE');
    expect(status).to.equal(404);
    expect(json).to.deep.equal({ code: 'NOT_FOUND', message: 'no order with the key SO-NOWHERE' });
    const r = await cli('order', 'SO-NOWHERE');
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/^no order with the key SO-NOWHERE in /);
    expect(r.out).to.equal('');
  });

  it('omgw order prints where it stands and the journey as a table; --json gives the API answer', async () => {
    const r = await cli('order', 'SO-J1');
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.split('\n');
    expect(lines[0]).to.equal('order LEG:SO-J1, SO-J1 (found by source order number)');
    expect(lines[1]).to.equal(`where it stands: ShipBob order ${shipbobOrderId} shipped, notice written to fusion; waiting for: delivered`);
    expect(r.out).to.match(/^AT\s+WHAT\s+DETAIL\s+STATE$/m);
    expect(r.out).to.match(/OM event\s+FlineStatusUpdate LEG:SO-J1 \S+ StatusCode SCHEDULED→AWAIT_SHIPPING\s+routed/);
    expect(r.out).to.match(/to ShipBob\s+shipbob FlineStatusUpdate\s+delivered/);
    expect(r.out).to.match(/ShipBob webhook\s+order\.shipped shipbob:\d+\s+routed/);
    expect(r.out).to.match(/write-back\s+fusion order\.shipped\s+delivered/);
    expect(r.out).to.match(/operator\s+delivery\.replayed by cli:\S+: checking the order/);
    expect(lines.at(-1)).to.match(/^database /);

    const asJson = await cli('order', 'SO-J1', '--json');
    expect(asJson.code, asJson.err).to.equal(0);
    const { database, ...rest } = JSON.parse(asJson.out) as OrderJourney & { database: string };
    expect(database).to.be.a('string');
    expect(rest).to.deep.equal((await journey('SO-J1')).json);
    expect((await cli('order')).code).to.equal(2);
  });

  it('sees an unfinished delivery as what the order waits for', async () => {
    // ShipBob is offline: a new line of another order waits, and the journey says so.
    expect((await cli('connector', 'offline', 'shipbob')).code).to.equal(0);
    try {
      const other = { sourceOrderNumber: 'SO-J2', lines: 1, statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' };
      expect((await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'FlineStatusUpdate', order: other }], { security }))).status).to.equal(202);
      let held: OrderJourney | undefined;
      await until('the delivery of SO-J2 on hold', async () => {
        const j = (await journey('SO-J2')).json;
        held = j;
        return (j.standing?.attention.length ?? 0) > 0;
      });
      expect(held?.standing.summary).to.equal('delivery to shipbob on hold (offline); waiting for: a ShipBob order');
    } finally {
      expect((await cli('connector', 'online', 'shipbob')).code).to.equal(0);
    }
  });
});
