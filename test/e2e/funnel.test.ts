import { expect } from 'chai';
import { billingReconciliation, funnelReport, throughput } from '../../src/admin/funnel-response.ts';
import type { PollOutcome } from '../../src/inbound/poller/purchase-orders.ts';
import type { FunnelReport, Reconciliation, Throughput } from '../../src/services/funnel.ts';
import type { OrderJourney } from '../../src/services/journey.ts';
import { buildPush, sandboxOrderIds } from '../../src/sandbox/om-push.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER } from '../helpers/gateway.ts';
import { startOrderFlow, type OrderFlow } from '../helpers/order-flow.ts';
import { until } from '../helpers/until.ts';

/**
 * The flow funnel and billing reconciliation from every source of an order's history: an OM line
 * through every stage (ShipBob order, shipped webhook, write-back to Fusion, ShipBob's charge), a line
 * whose ShipBob order never ships (stuck, linking to its journey), a line shipped and never billed, a
 * ShipBob order made from a polled purchase order (entering at "ShipBob order created"), a charge for
 * a shipment the gateway never made; through the admin API and `omgw funnel`.
 */

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

describe(`the flow funnel and billing reconciliation (${backendName()})`, function () {
  this.timeout(90_000);
  let flow: OrderFlow;
  const shipments = new Map<string, string>();
  let started = 0;

  /** OM says the line of `number` awaits shipping; resolves once its ShipBob order is made, with ShipBob's order. */
  async function awaitShipping(number: string): Promise<{ orderId: number; shipmentId: number }> {
    const order = { sourceOrderNumber: number, lines: 1, statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' };
    const line = sandboxOrderIds(order).lines[0]?.fulfillLineId ?? '?';
    const made = flow.attemptAt('shipbob');
    expect((await postSoap(`${flow.gw.url}/soap/business-events`, buildPush([{ eventCode: 'FlineStatusUpdate', order }], { security }))).status).to.equal(202);
    expect((await made).outcome).to.equal('delivered');
    const sb = [...flow.shipbob.sandbox.state.orders.values()].find((o) => o.reference_id === `LEG:${number}:${line}`);
    if (!sb) throw new Error(`ShipBob has no order for ${number}`);
    return { orderId: Number(sb.id), shipmentId: Number(sb.shipments[0]?.id) };
  }

  async function ship(shipmentId: number): Promise<void> {
    const written = flow.attemptAt('fusion');
    await flow.shipbob.sandbox.moveShipment(shipmentId, 'ship', { carrier: 'UPS', tracking: `1Z${shipmentId}` });
    expect((await written).outcome).to.equal('delivered');
  }

  async function charge(shipmentId: string, amount: string): Promise<void> {
    const before = (await flow.admin<{ items: unknown[] }>('/billing')).json.items.length;
    await flow.shipbob.sandbox.sendEvent('billing.charge.created', {
      transaction_id: `tx-${shipmentId}`,
      amount: Number(amount),
      currency_code: 'USD',
      charge_date: '2026-01-15',
      invoice_type: 'Shipping',
      transaction_type: 'Charge',
      reference_id: shipmentId,
      reference_type: 'Shipment',
    });
    await until('the charge stored', async () => (await flow.admin<{ items: unknown[] }>('/billing')).json.items.length > before);
  }

  before(async () => {
    started = Date.now();
    flow = await startOrderFlow({ topics: ['order.shipped', 'billing.charge.created'] });
    // SO-F1: every stage, billed.
    const f1 = await awaitShipping('SO-F1');
    await ship(f1.shipmentId);
    await charge(String(f1.shipmentId), '7.25');
    shipments.set('SO-F1', String(f1.shipmentId));
    // SO-F2: its ShipBob order never ships.
    const f2 = await awaitShipping('SO-F2');
    shipments.set('SO-F2', String(f2.orderId));
    // SO-F3: shipped and written back, never billed.
    const f3 = await awaitShipping('SO-F3');
    await ship(f3.shipmentId);
    shipments.set('SO-F3', String(f3.orderId));
    // PO-F1: a polled purchase order's ShipBob order.
    flow.fusion.purchaseOrders.add({ orderNumber: 'PO-F1', lines: [{ item: 'OMGW-MUG-12OZ', quantity: 2 }] });
    const fromPo = flow.attemptAt('shipbob');
    const polled = (await flow.gw.gateway.jobs?.poller.runNow('test')) as PollOutcome;
    expect(polled.status === 'ran' && polled.state === 'ok', JSON.stringify(polled)).to.equal(true);
    expect((await fromPo).outcome).to.equal('delivered');
    // A charge for a shipment the gateway never made.
    await charge('424242', '3.10');
  });
  after(async () => {
    await flow?.close();
  });

  const since = () => new Date(started - 60_000).toISOString();

  it('counts the lines per stage, purchase orders entering at "ShipBob order created"', async () => {
    const { status, json } = await flow.admin<FunnelReport>(`/funnel?since=${encodeURIComponent(since())}&stuckAfter=1d`);
    expect(status, JSON.stringify(json)).to.equal(200);
    const parsed = funnelReport.safeParse(json);
    expect(parsed.success, parsed.error?.message).to.equal(true);
    expect(json.stages.map((s) => [s.stage, s.count])).to.deep.equal([
      ['awaiting_shipping', 3],
      ['shipbob_order', 4],
      ['shipped', 2],
      ['written_back', 2],
      ['billed', 1],
    ]);
    expect(json).to.deep.include({ enteredAtShipbobOrder: 1, lines: 4, linesTruncated: false, stuck: [], stuckTruncated: false, stuckAfter: '1d', stuckAfterSeconds: 86_400 });
    expect(json.stages[0]?.label).to.equal('OM AWAIT_SHIPPING received');

    // Before anything happened, nothing counts.
    const empty = (await flow.admin<FunnelReport>(`/funnel?since=${encodeURIComponent(new Date(started - 120_000).toISOString())}&until=${encodeURIComponent(since())}`)).json;
    expect(empty.stages.map((s) => s.count)).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it('lists the lines stuck between two stages, each linking to its journey', async () => {
    await until('every line older than 5 ms', () => Date.now() > started + 5);
    const { json } = await flow.admin<FunnelReport>(`/funnel?since=${encodeURIComponent(since())}&stuckAfter=1ms`);
    const stuck = json.stuck.map((s) => [s.orderKey, s.stage, s.waitingFor, s.journey]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(stuck).to.deep.equal([
      ['LEG:SO-F2', 'shipbob_order', 'shipped', '/admin/api/orders/LEG%3ASO-F2'],
      ['LEG:SO-F3', 'written_back', 'billed', '/admin/api/orders/LEG%3ASO-F3'],
      ['PO-F1', 'shipbob_order', 'shipped', '/admin/api/orders/PO-F1'],
    ]);
    const f2 = json.stuck.find((s) => s.orderKey === 'LEG:SO-F2');
    expect(f2?.line).to.match(/^fulfillment-line:\d+$/);
    expect(f2?.shipbobOrderId).to.equal(shipments.get('SO-F2'));
    expect(json.stuck.find((s) => s.orderKey === 'PO-F1')?.line).to.match(/^po-schedule:\d+$/);
    const journey = await flow.admin<OrderJourney>((f2?.journey ?? '').replace('/admin/api', ''));
    expect(journey.status).to.equal(200);
    expect(journey.json.standing.waitingFor).to.include('shipped');

    const one = (await flow.admin<FunnelReport>(`/funnel?since=${encodeURIComponent(since())}&stuckAfter=1ms&limit=1`)).json;
    expect(one.stuck).to.have.length(1);
    expect(one.stuckTruncated).to.equal(true);
  });

  it('reconciles billing: the charge of SO-F1 matched, SO-F3 shipped and not billed, the stranger billed and unknown', async () => {
    const { status, json } = await flow.admin<Reconciliation>(`/billing/reconciliation?since=${encodeURIComponent(since())}`);
    expect(status, JSON.stringify(json)).to.equal(200);
    const parsed = billingReconciliation.safeParse(json);
    expect(parsed.success, parsed.error?.message).to.equal(true);
    expect(json.matched).to.equal(1);
    expect(json.shippedNotBilled.map((o) => [o.orderKey, o.shipbobOrderId, o.journey])).to.deep.equal([['LEG:SO-F3', shipments.get('SO-F3'), '/admin/api/orders/LEG%3ASO-F3']]);
    expect(json.billedUnknown.map((b) => [b.reference, b.referenceType, b.amount, b.currency, b.transactionId])).to.deep.equal([['424242', 'Shipment', '3.1', 'USD', 'tx-424242']]);
    expect(json.notForShipments).to.equal(0);
  });

  it("shows ShipBob's charge in the journey of the order it bills, and in no other", async () => {
    const codes = async (key: string): Promise<string[]> => {
      const { status, json } = await flow.admin<OrderJourney>(`/orders/${encodeURIComponent(key)}`);
      expect(status, JSON.stringify(json)).to.equal(200);
      return json.timeline.flatMap((e) => (e.kind === 'event' ? [e.eventCode] : []));
    };
    expect(await codes('LEG:SO-F1')).to.include.members(['FlineStatusUpdate', 'order.shipped', 'billing.charge.created']);
    expect(await codes('LEG:SO-F3')).to.include('order.shipped').and.not.include('billing.charge.created');
  });

  it('answers per-minute numbers: pushes, deliveries, failures, the queue depth', async () => {
    const { status, json } = await flow.admin<Throughput>('/stats/throughput?minutes=30');
    expect(status).to.equal(200);
    const parsed = throughput.safeParse(json);
    expect(parsed.success, parsed.error?.message).to.equal(true);
    expect(json.buckets).to.have.length(30);
    const sum = (k: 'pushes' | 'deliveries' | 'failures') => json.buckets.reduce((n, b) => n + b[k], 0);
    expect(sum('pushes')).to.equal(3);
    // 4 ShipBob orders made, 2 notices written to Fusion.
    expect(sum('deliveries')).to.equal(6);
    expect(sum('failures')).to.equal(0);
    expect(json.queueDepth).to.equal(0);
    expect((await flow.admin<{ code: string }>('/stats/throughput?minutes=0')).status).to.equal(400);
    expect((await flow.admin<{ code: string }>('/funnel?since=yesterday')).status).to.equal(400);
  });

  it('omgw funnel prints the stages with their drops, the stuck lines and the reconciliation; --json the API answers', async () => {
    const r = await flow.cli('funnel', '--since', since(), '--stuck-after', '1ms');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^STAGE\s+LINES\s+DROP$/m);
    expect(r.out).to.match(/^OM AWAIT_SHIPPING received\s+3\s*$/m);
    expect(r.out).to.match(/^ShipBob order created\s+4\s+0$/m);
    expect(r.out).to.match(/^shipped \(ShipBob webhook\)\s+2\s+2$/m);
    expect(r.out).to.match(/^billed by ShipBob\s+1\s+1$/m);
    expect(r.out).to.match(/^ORDER KEY\s+LINE\s+STAGE\s+WAITING FOR\s+FOR$/m);
    expect(r.out).to.match(/^LEG:SO-F2\s+fulfillment-line:\d+\s+shipbob_order\s+shipped\s+\d+m$/m);
    expect(r.out).to.match(/^billing: 1 charge\(s\) matched, 1 shipped and not billed, 1 billed for an unknown order$/m);

    const asJson = await flow.cli('funnel', '--since', since(), '--json');
    expect(asJson.code, asJson.err).to.equal(0);
    const parsed = JSON.parse(asJson.out) as { funnel: FunnelReport; reconciliation: Reconciliation };
    expect(parsed.funnel.stages.map((s) => s.count)).to.deep.equal([3, 4, 2, 2, 1]);
    expect(parsed.reconciliation.matched).to.equal(1);

    const bads: Array<[string[], RegExp]> = [
      [['--since', 'yesterday'], /^--since "yesterday": give an ISO 8601 time/],
      [['--stuck-after', 'soon'], /^--stuck-after "soon": give a duration from 1ms to 366d/],
      [['--since', '1h', '--until', '2h'], /^--since "1h": must be before --until$/m],
      [['--since', '99999999999999999999d'], /^--since "99999999999999999999d": at most 366d back from now$/m],
      [['--until', '99999999999999999999d'], /^--until "99999999999999999999d": at most 366d back from now$/m],
      [['--since', '2020-01-01', '--until', '2026-01-01'], /^--since "2020-01-01": the range may span at most 366d$/m],
      [['--limit', '0'], /^--limit "0": give how many stuck lines to show, from 1 to 1000$/m],
      [['--limit', '99999'], /^--limit "99999": give how many stuck lines to show, from 1 to 1000$/m],
    ];
    for (const [bad, message] of bads) {
      const b = await flow.cli('funnel', ...bad);
      expect(b.code, bad.join(' ')).to.equal(2);
      expect(b.err, bad.join(' ')).to.match(message);
      expect(b.out).to.equal('');
    }

    // --limit as the API's limit: fewer stuck lines, and how to see more.
    const one = await flow.cli('funnel', '--since', since(), '--stuck-after', '1ms', '--limit', '1');
    expect(one.code, one.err).to.equal(0);
    expect(one.out.match(/^(LEG:SO-F\d|PO-F1)\s/gm)).to.have.length(1);
    expect(one.out).to.match(/^\(more stuck lines than the 1 shown: --limit N shows up to 1000, the longest waits first\)$/m);
  });
});
