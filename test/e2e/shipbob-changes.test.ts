import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { AttemptReport } from '../../src/delivery/worker.ts';
import type { PollOutcome } from '../../src/inbound/poller/purchase-orders.ts';
import type { RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import { buildPush, sandboxOrderIds, type PushEventCode } from '../../src/sandbox/om-push.ts';
import type { RecordedRequest, RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, type TestGateway } from '../helpers/gateway.ts';
import { FUSION_PASSWORD, SHIPBOB_CHANNEL, SHIPBOB_TOKEN, startOrderFlow, startOrderFlowSandboxes, type OrderFlow, type OrderFlowSandboxes } from '../helpers/order-flow.ts';
import { everything } from '../helpers/pages.ts';
import { shipbobSpecAvailable, SHIPBOB_SPEC_SKIP_MESSAGE, validateRequest } from '../helpers/shipbob-openapi.ts';
import { until } from '../helpers/until.ts';

/**
 * Oracle changes its mind after the ShipBob order is made: a fulfilment line cancelled in OM, a
 * purchase order whose quantities, ship-to or status change between polls. The gateway sends ShipBob
 * the difference (and nothing for an event that changes nothing), and parks with what a person has
 * to do a change ShipBob can no longer make.
 */

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
const CONFIG = fileURLToPath(new URL('../../config', import.meta.url));
const HOLDS_PATH = '/sandbox/fusion/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub/action/applyHold';

/** The example config's own trigger point for ShipBob's holds, exceptions and cancellations (config/trigger-points.yaml). */
function exampleHoldsPoint(): Record<string, unknown> {
  const all = parseYaml(readFileSync(join(CONFIG, 'trigger-points.yaml'), 'utf8')) as { triggerPoints: Array<{ name: string }> };
  const point = all.triggerPoints.find((p) => p.name === 'shipment-holds-to-fusion');
  if (!point) throw new Error('config/trigger-points.yaml has no shipment-holds-to-fusion');
  return point;
}

describe(`Oracle's changes reach ShipBob (${backendName()})`, function () {
  this.timeout(60_000);
  let sandboxes: OrderFlowSandboxes;
  let shipbob: RunningShipBobSandbox;
  let fusion: RunningFusionSandbox;
  let flow: OrderFlow;
  let gw: TestGateway;
  let fusionNow = Date.now() - 3_600_000;

  before(async () => {
    sandboxes = await startOrderFlowSandboxes({ webhookRetrySchedule: [0], fusionNow: () => fusionNow });
    ({ shipbob, fusion } = sandboxes);
    flow = await startOrderFlow({
      sandboxes,
      // ShipBob's webhooks are subscribed to by the tests of them.
      topics: [],
      connectors: {
        // ShipBob's holds and cancellations back to Oracle, as the example config has them.
        'fusion-holds.yaml': readFileSync(join(CONFIG, 'connectors', 'fusion-holds.yaml'), 'utf8').replace('${server:url}/sandbox/fusion', fusion.url),
      },
      triggerPoints: `triggerPoints:
  - name: awaiting-shipping
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    when: [{ field: OrderLine.OrderFulfillmentLine.StatusCodeNewValue, in: [AWAIT_SHIPPING] }]
    connectors: [shipbob]
  - name: line-cancelled
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    when: [{ field: OrderLine.OrderFulfillmentLine.StatusCodeNewValue, in: [CANCELED] }]
    connectors: [shipbob]
  - name: line-closed-cancelled
    source: oracle-om
    eventCodes: [FlineClosed]
    when: [{ field: OrderLine.OrderFulfillmentLine.CancelFlagNewValue, in: ['Y'] }]
    connectors: [shipbob]
  - name: line-quantity-or-ship-to-changed
    source: oracle-om
    eventCodes: [OrderAttributeUpdate]
    when: [{ field: OrderLine.OrderFulfillmentLine.OrderedQtyNew, exists: true }]
    connectors: [shipbob]
  - name: line-ship-to-changed
    source: oracle-om
    eventCodes: [OrderAttributeUpdate]
    when: [{ field: OrderLine.OrderFulfillmentLine.ShipToSiteUseIdNew, exists: true }]
    connectors: [shipbob]
  - name: purchase-orders
    source: fusion-po
    eventCodes: [PurchaseOrderChanged]
    when: [{ field: StatusCode, in: [OPEN, CANCELED] }]
    connectors: [shipbob]
${stringifyYaml([exampleHoldsPoint()]).replace(/^/gm, '  ')}`,
      mappings: {
        'shipment-hold.jsonata': readFileSync(join(CONFIG, 'mappings', 'shipment-hold.jsonata'), 'utf8'),
        'shipbob-holds.yaml': readFileSync(join(CONFIG, 'mappings', 'shipbob-holds.yaml'), 'utf8'),
      },
      // the example's fusion-holds connector reads FUSION_PASSWORD.
      env: { FUSION_PASSWORD },
    });
    gw = flow.gw;
  });
  after(async () => {
    await flow?.close();
    await sandboxes?.close();
  });

  /** Resolves with the next `n` attempts at ShipBob. */
  const attempts = (n: number): Promise<AttemptReport[]> => flow.attemptsAt('shipbob', n);

  /** Pushes one OM event for a one-line sales order and waits for its ShipBob attempt. */
  async function push(eventCode: PushEventCode, order: string, statusTo?: string, edit: (xml: string) => string = (x) => x): Promise<AttemptReport> {
    const body = edit(buildPush([{ eventCode, order: { sourceOrderNumber: order, lines: 1, ...(statusTo ? { statusFrom: 'AWAIT_SHIPPING', statusTo } : {}) } }], { security }));
    const attempt = attempts(1);
    expect((await postSoap(`${gw.url}/soap/business-events`, body)).status).to.equal(202);
    return (await attempt)[0] as AttemptReport;
  }

  /** Polls Fusion's purchase orders and waits for `n` ShipBob attempts. */
  async function poll(n: number): Promise<AttemptReport[]> {
    const done = attempts(n);
    const outcome = (await gw.gateway.jobs?.poller.runNow('test')) as PollOutcome;
    if (outcome.status !== 'ran' || outcome.state !== 'ok') throw new Error(`the poll did not run well: ${JSON.stringify(outcome)}`);
    return done;
  }

  /** What the gateway asked ShipBob to do since `mark` (requests that change something), as `METHOD path`. */
  function writesSince(mark: number): string[] {
    return shipbob.sandbox
      .requests()
      .slice(mark)
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.path}`);
  }

  const mark = (): number => shipbob.sandbox.requests().length;
  const orderOf = (reference: string) => [...shipbob.sandbox.state.orders.values()].find((o) => o.reference_id === reference);
  const lineOf = (order: string): string => sandboxOrderIds({ sourceOrderNumber: order, lines: 1 }).lines[0]?.fulfillLineId ?? '?';
  const deliveryOf = async (orderKey: string, n = -1) => (await everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['shipbob'], orderKey }, page))).at(n);

  describe('a fulfilment line cancelled in OM', () => {
    it('before it shipped: ShipBob cancels the order, and the delivery is delivered', async () => {
      expect((await push('FlineStatusUpdate', 'SO-C1', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-C1:${lineOf('SO-C1')}`);
      expect(made?.status).to.equal('Processing');

      const since = mark();
      expect((await push('FlineStatusUpdate', 'SO-C1', 'CANCELED')).outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/order/${made?.id}:cancel`]);
      expect(orderOf(made?.reference_id ?? '?')?.status).to.equal('Cancelled');
      expect(orderOf(made?.reference_id ?? '?')?.shipments.map((s) => s.status)).to.deep.equal(['Cancelled']);
      const summary = JSON.parse((await gw.gateway.store.browse.attemptsOf([(await deliveryOf('LEG:SO-C1'))?.id ?? '?']))[0]?.responseSnippet ?? 'null');
      expect(summary).to.deep.equal({ orders: [{ reference_id: made?.reference_id, id: String(made?.id), existing: false, sent: ['cancel'] }] });
    });

    it('cancelled again by another event of OM (FlineClosed, which names the order without its source system): nothing more is sent', async () => {
      const since = mark();
      const closed = await push('FlineClosed', 'SO-C1', undefined, (xml) => xml.replace(/(CancelFlagNewValue>)N</, '$1Y<'));
      expect(closed.outcome).to.equal('delivered');
      expect(shipbob.sandbox.requests().slice(since)).to.deep.equal([]);
      const summary = JSON.parse((await gw.gateway.store.browse.attemptsOf([(await deliveryOf('SO-C1'))?.id ?? '?']))[0]?.responseSnippet ?? 'null');
      expect(summary.orders).to.deep.equal([{ reference_id: `LEG:SO-C1:${lineOf('SO-C1')}`, id: String(orderOf(`LEG:SO-C1:${lineOf('SO-C1')}`)?.id), existing: false, sent: [], nothing: 'already_cancelled' }]);
    });

    it('after it shipped: parked with what to do, the cancellation never sent, and neither a replay nor the recovery run sends it', async () => {
      expect((await push('FlineStatusUpdate', 'SO-C2', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-C2:${lineOf('SO-C2')}`);
      const shipped = await shipbob.sandbox.ship(Number(made?.id), { carrier: 'UPS', tracking: '1Z999AA10123456784' });

      const since = mark();
      const parked = await push('FlineClosed', 'SO-C2', undefined, (xml) => xml.replace(/(CancelFlagNewValue>)N</, '$1Y<'));
      expect(parked).to.include({ outcome: 'parked', errorClass: 'refused' });
      const delivery = await deliveryOf('SO-C2');
      expect(delivery).to.include({ state: 'parked', parkedReason: 'change_refused' });
      expect(delivery?.lastError).to.equal(`refused: ShipBob order ${made?.id} already shipped (tracking ${shipped.shipment.tracking?.tracking_number}): arrange a return`);
      expect(writesSince(since)).to.deep.equal([]);
      expect(orderOf(made?.reference_id ?? '?')?.status).to.equal('Fulfilled');

      // The parking lot and the metrics show it for what it is.
      gw.gateway.metrics?.invalidate();
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).to.match(/^omgw_parked_deliveries_by_reason\{connector="shipbob",reason="change_refused"\} 1$/m);

      // An operator's replay reads the order again and parks it again; nothing is sent.
      const again = attempts(1);
      const replay = await flow.cli('replay', '--id', delivery?.id ?? '?', '--reason', 'try again');
      expect(replay.code, `${replay.out}\n${replay.err}`).to.equal(0);
      gw.gateway.worker?.notify();
      expect((await again)[0]).to.include({ outcome: 'parked', errorClass: 'refused' });
      expect(writesSince(since)).to.deep.equal([]);

      // The nightly recovery run leaves a change ShipBob refused to a person.
      const run = await gw.gateway.jobs?.recovery.runNow({ connectors: ['shipbob'], actor: 'test' });
      expect(run?.status === 'ran' && run.run.selected).to.equal(0);
      expect(await deliveryOf('SO-C2')).to.include({ state: 'parked', parkedReason: 'change_refused' });
    });

    it('once packed: parked, saying so, and nothing sent', async () => {
      expect((await push('FlineStatusUpdate', 'SO-C3', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-C3:${lineOf('SO-C3')}`);
      await shipbob.sandbox.moveShipment(Number(made?.shipments[0]?.id), 'pick');
      await shipbob.sandbox.moveShipment(Number(made?.shipments[0]?.id), 'pack');
      const since = mark();
      expect((await push('FlineStatusUpdate', 'SO-C3', 'CANCELED')).outcome).to.equal('parked');
      expect((await deliveryOf('LEG:SO-C3'))?.lastError).to.equal(`refused: ShipBob order ${made?.id} is already packed: ask ShipBob to stop it, or arrange a return once it ships`);
      expect(writesSince(since)).to.deep.equal([]);
    });

    it('picked between the gateway reading the order and cancelling it: parked with ShipBob\'s own reason, sent once', async () => {
      expect((await push('FlineStatusUpdate', 'SO-C7', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-C7:${lineOf('SO-C7')}`);
      const shipment = Number(made?.shipments[0]?.id);
      // The fulfilment centre picks it the moment ShipBob has answered the gateway's look at the order.
      const pickAfterLook = (r: RecordedRequest): void => {
        if (r.method !== 'GET' || r.path !== `/2026-01/order/${made?.id}`) return;
        shipbob.sandbox.off('request', pickAfterLook);
        void shipbob.sandbox.moveShipment(shipment, 'pick');
      };
      shipbob.sandbox.on('request', pickAfterLook);
      const since = mark();
      expect(await push('FlineStatusUpdate', 'SO-C7', 'CANCELED')).to.include({ outcome: 'parked', errorClass: 'refused' });
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/order/${made?.id}:cancel`]);
      expect((await deliveryOf('LEG:SO-C7'))?.lastError).to.equal(`refused: ShipBob did not cancel order ${made?.id}: Shipment ${shipment} cannot be cancelled: it has already been picked.`);
    });

    describe("and ShipBob's webhook of the cancellation", () => {
      before(() => {
        shipbob.sandbox.subscribe(`${gw.url}/webhooks/shipbob`, ['order.shipment.cancelled']);
      });

      type Stored = { status: string; payload: string; deliveries: Array<{ connector: string; state: string }> };
      /** The stored order.shipment.cancelled event of ShipBob order `id`, with its deliveries once each is finished. */
      async function cancelledEvent(id: number | undefined): Promise<Stored> {
        let found: Stored | null = null;
        await until(`the order.shipment.cancelled webhook of order ${id} to be stored and its deliveries finished`, async () => {
          const [event] = (await gw.gateway.store.browse.events({ orderKey: `shipbob:${id}`, eventCodes: ['order.shipment.cancelled'] }, { limit: 10 })).rows;
          if (!event) return false;
          const deliveries = await gw.gateway.store.browse.deliveriesOfEvents([event.id]);
          found = { status: event.status, payload: event.payload, deliveries };
          return deliveries.every((d) => d.state === 'delivered' || d.state === 'parked');
        });
        if (!found) throw new Error('unreachable');
        return found;
      }
      const holdsFor = (line: string) => fusion.received().filter((r) => r.path === HOLDS_PATH && JSON.stringify(r.body).includes(line));

      it('Oracle asked for it: stored, and no hold goes back to the line Oracle cancelled', async () => {
        expect((await push('FlineStatusUpdate', 'SO-C8', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
        const made = orderOf(`LEG:SO-C8:${lineOf('SO-C8')}`);
        const webhooks = shipbob.sandbox.webhookAttempts().length;

        expect((await push('FlineStatusUpdate', 'SO-C8', 'CANCELED')).outcome).to.equal('delivered');
        // ShipBob sent its webhook before it answered the cancel request, and the gateway took it.
        expect(shipbob.sandbox.webhookAttempts().slice(webhooks).map((a) => [a.topic, a.status])).to.deep.equal([['order.shipment.cancelled', 204]]);
        const event = await cancelledEvent(made?.id);
        expect(event.status).to.equal('unrouted');
        expect(event.deliveries).to.deep.equal([]);
        // The gateway's fact routed it; ShipBob's payload is stored as ShipBob sent it.
        expect(JSON.parse(event.payload)).to.include({ reference_id: made?.reference_id }).and.not.have.property('gatewayOrderState');
        expect(holdsFor(lineOf('SO-C8'))).to.deep.equal([]);
        const record = await gw.gateway.store.shipbobOrders.get('shipbob', made?.reference_id ?? '?');
        expect(record).to.include({ cancelled: true });
        expect(record?.cancelRequestedAt).to.be.a('number');
      });

      it('ShipBob cancelled it on its own: the line gets the hold SHIPBOB_CANCELLED', async () => {
        expect((await push('FlineStatusUpdate', 'SO-C9', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
        const made = orderOf(`LEG:SO-C9:${lineOf('SO-C9')}`);
        await shipbob.sandbox.moveShipment(Number(made?.shipments[0]?.id), 'cancel');

        const event = await cancelledEvent(made?.id);
        expect(event.status).to.equal('routed');
        expect(event.deliveries.map((d) => [d.connector, d.state])).to.deep.equal([['fusion-holds', 'delivered']]);
        expect(holdsFor(lineOf('SO-C9')).map((r) => r.body)).to.deep.equal([
          {
            holdRequests: [
              {
                SourceTransactionSystem: 'LEG',
                SourceTransactionId: 'SO-C9',
                FulfillLineId: lineOf('SO-C9'),
                HoldCode: 'SHIPBOB_CANCELLED',
                HoldComments: `ShipBob shipment ${made?.shipments[0]?.id} of order ${made?.id} is Cancelled`,
              },
            ],
          },
        ]);
      });
    });

    it('that never reached ShipBob: nothing to cancel, delivered', async () => {
      const since = mark();
      expect((await push('FlineStatusUpdate', 'SO-C4', 'CANCELED')).outcome).to.equal('delivered');
      // One look at ShipBob for an order made before the gateway kept records; no change.
      expect(shipbob.sandbox.requests().slice(since).map((r) => `${r.method} ${r.path}`)).to.deep.equal([`GET /2026-01/order?ReferenceIds=${encodeURIComponent(`LEG:SO-C4:${lineOf('SO-C4')}`)}`]);
    });
  });

  describe('an attribute of a fulfilment line changed in OM', () => {
    // OM names the changed quantity; the sales order read from Fusion says what the line now is.
    const qtyChanged = (xml: string): string => xml.replace(/(<ns1:FulfillmentOrderLineId>\d+<\/ns1:FulfillmentOrderLineId>)/, '$1<ns1:OrderedQtyNew>1</ns1:OrderedQtyNew><ns1:OrderedQtyOld>2</ns1:OrderedQtyOld>');

    it('never creates an order for a line ShipBob has not got, and changes nothing that Fusion still describes the same', async () => {
      let since = mark();
      expect((await push('OrderAttributeUpdate', 'SO-Q5', undefined, qtyChanged)).outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([]);
      expect(orderOf(`LEG:SO-Q5:${lineOf('SO-Q5')}`)).to.equal(undefined);

      expect((await push('FlineStatusUpdate', 'SO-Q5', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      since = mark();
      expect((await push('OrderAttributeUpdate', 'SO-Q5', undefined, (xml) => qtyChanged(xml).replace('WB', 'WX'))).outcome).to.equal('delivered');
      expect(shipbob.sandbox.requests().slice(since)).to.deep.equal([]);
      const summary = JSON.parse((await gw.gateway.store.browse.attemptsOf([(await deliveryOf('LEG:SO-Q5'))?.id ?? '?']))[0]?.responseSnippet ?? 'null');
      expect(summary.orders.map((o: { nothing?: string }) => o.nothing)).to.deep.equal(['unchanged']);
    });
    it('a quantity the planner changed in Fusion: ShipBob ships the new quantity, and the same change pushed again sends nothing', async () => {
      expect((await push('FlineStatusUpdate', 'SO-Q7', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-Q7:${lineOf('SO-Q7')}`);
      const shipment = made?.shipments[0]?.id;
      expect(made?.shipments[0]?.products.flatMap((p) => p.inventory_items.map((i) => i.quantity))).to.deep.equal([1]);

      fusion.salesOrders.revise('LEG:SO-Q7', { quantities: { [lineOf('SO-Q7')]: 4 } });
      let since = mark();
      expect((await push('OrderAttributeUpdate', 'SO-Q7', undefined, qtyChanged)).outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/shipment/${shipment}:updateLineItems`]);
      expect(orderOf(made?.reference_id ?? '?')?.shipments[0]?.products.flatMap((p) => p.inventory_items.map((i) => i.quantity))).to.deep.equal([4]);

      // OM sends the change again (another event of the same change: the push differs, so it is stored).
      since = mark();
      expect((await push('OrderAttributeUpdate', 'SO-Q7', undefined, (xml) => qtyChanged(xml).replace('WB', 'WX'))).outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([]);
    });

    it('a ship-to the planner corrected in Fusion: ShipBob ships to the new address', async () => {
      expect((await push('FlineStatusUpdate', 'SO-A7', 'AWAIT_SHIPPING')).outcome).to.equal('delivered');
      const made = orderOf(`LEG:SO-A7:${lineOf('SO-A7')}`);
      const shipment = made?.shipments[0]?.id;

      fusion.salesOrders.revise('LEG:SO-A7', { shipTo: { Address1: '77 Pier Street', Address2: '', City: 'Alameda', PostalCode: '94501' } });
      const since = mark();
      const shipToChanged = (xml: string): string => xml.replace(/(<ns1:FulfillmentOrderLineId>\d+<\/ns1:FulfillmentOrderLineId>)/, '$1<ns1:ShipToSiteUseIdNew>300100071234567</ns1:ShipToSiteUseIdNew>');
      expect((await push('OrderAttributeUpdate', 'SO-A7', undefined, shipToChanged)).outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([`PUT /2026-01/shipment/${shipment}:updateAddress`]);
      expect(orderOf(made?.reference_id ?? '?')?.shipments[0]?.recipient.address).to.deep.include({ address1: '77 Pier Street', city: 'Alameda', zip_code: '94501' });
    });
  });

  describe('an order ShipBob got before the gateway kept records of what it sent', () => {
    it('is found by its reference id and brought to what Fusion now says: quantity and ship-to', async () => {
      // Made by an earlier version of the gateway: three T-shirts to an old address.
      const reference = `LEG:SO-Q6:${lineOf('SO-Q6')}`;
      const made = await fetch(`${shipbob.url}/2026-01/order`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SHIPBOB_TOKEN}`, 'content-type': 'application/json', shipbob_channel_id: String(SHIPBOB_CHANNEL) },
        body: JSON.stringify({
          reference_id: reference,
          shipping_method: 'Standard',
          type: 'DropShip',
          recipient: { name: 'Jamie Rivera', address: { address1: '1 Old Road', city: 'Oakland', state: 'CA', zip_code: '94607', country: 'US' } },
          products: [{ reference_id: 'TShirtBlueM', name: 'T-shirt', quantity: 3 }],
        }),
      });
      expect(made.status).to.equal(201);
      const order = (await made.json()) as { id: number; shipments: Array<{ id: number }> };
      const shipment = order.shipments[0]?.id;

      const since = mark();
      const changed = await push('OrderAttributeUpdate', 'SO-Q6', undefined, (xml) =>
        xml.replace(/(<ns1:FulfillmentOrderLineId>\d+<\/ns1:FulfillmentOrderLineId>)/, '$1<ns1:OrderedQtyNew>1</ns1:OrderedQtyNew><ns1:OrderedQtyOld>3</ns1:OrderedQtyOld>'),
      );
      expect(changed.outcome).to.equal('delivered');
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/shipment/${shipment}:updateLineItems`, `PUT /2026-01/shipment/${shipment}:updateAddress`]);
      const now = orderOf(reference);
      expect(now?.shipments[0]?.products.flatMap((p) => p.inventory_items.map((i) => i.quantity))).to.deep.equal([1]);
      expect(now?.shipments[0]?.recipient.address).to.deep.include({ address1: '1200 Harbor Way', address2: 'Suite 4', city: 'Oakland' });
      const summary = JSON.parse((await gw.gateway.store.browse.attemptsOf([(await deliveryOf('LEG:SO-Q6'))?.id ?? '?']))[0]?.responseSnippet ?? 'null');
      expect(summary.orders).to.deep.equal([{ reference_id: reference, id: String(order.id), existing: true, sent: ['updateLineItems', 'updateAddress'] }]);
    });
  });

  describe('a purchase order changed in Fusion', () => {
    it('with a quantity cut: ShipBob ships the new quantity; polled again unchanged, nothing is sent', async () => {
      fusionNow += 1_000;
      const po = fusion.purchaseOrders.add({ orderNumber: 'PO-Q1', lines: [{ item: 'OMGW-TSHIRT-M', quantity: 3 }] });
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      const reference = `PO-Q1:${po.lines[0]?.schedules[0]?.LineLocationId}`;
      const made = orderOf(reference);
      expect(made?.products.map((p) => [p.reference_id, p.quantity])).to.deep.equal([['TShirtBlueM', 3]]);

      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-Q1', { lines: [{ item: 'OMGW-TSHIRT-M', quantity: 2 }] });
      let since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      const shipment = made?.shipments[0]?.id;
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/shipment/${shipment}:updateLineItems`]);
      expect(orderOf(reference)?.shipments[0]?.products.flatMap((p) => p.inventory_items.map((i) => [p.reference_id, i.quantity]))).to.deep.equal([['TShirtBlueM', 2]]);
      expect(orderOf(reference)?.products.map((p) => [p.reference_id, p.quantity])).to.deep.equal([['TShirtBlueM', 2]]);

      // Changed again in Fusion (its LastUpdateDate moves) but to what ShipBob already has: one event, no request.
      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-Q1');
      since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      expect(shipbob.sandbox.requests().slice(since)).to.deep.equal([]);
    });

    it('with a corrected ship-to: ShipBob ships to the new address', async () => {
      fusionNow += 1_000;
      const po = fusion.purchaseOrders.add({ orderNumber: 'PO-A1', lines: [{ item: 'OMGW-MUG-12OZ', quantity: 1 }] });
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      const reference = `PO-A1:${po.lines[0]?.schedules[0]?.LineLocationId}`;
      expect(orderOf(reference)?.shipments[0]?.recipient.address.address1).to.equal('1200 Harbor Way');

      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-A1', { shipTo: { Address1: '77 Dock Street', Address2: '', City: 'Alameda', PostalCode: '94501' } });
      const since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      const shipment = orderOf(reference)?.shipments[0];
      expect(writesSince(since)).to.deep.equal([`PUT /2026-01/shipment/${shipment?.id}:updateAddress`]);
      expect(shipment?.recipient.address).to.deep.include({ address1: '77 Dock Street', address2: null, city: 'Alameda', zip_code: '94501', state: 'CA', country: 'US' });
      expect(shipment?.recipient.name).to.equal('Jamie Rivera');
    });

    it('modified three times across polls: ShipBob sees exactly the differences', async () => {
      fusionNow += 1_000;
      const po = fusion.purchaseOrders.add({
        orderNumber: 'PO-M1',
        lines: [
          { item: 'OMGW-TSHIRT-M', quantity: 1 },
          { item: 'OMGW-MUG-12OZ', quantity: 2 },
        ],
      });
      let since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      expect(writesSince(since)).to.deep.equal(['POST /2026-01/order', 'POST /2026-01/order']);
      const [tshirt, mug] = po.lines.map((l) => orderOf(`PO-M1:${l.schedules[0]?.LineLocationId}`));
      if (!tshirt || !mug) throw new Error('the orders of PO-M1 were not made');

      // 1. More T-shirts: one line-item change, on the T-shirt order only.
      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-M1', { lines: [{ item: 'OMGW-TSHIRT-M', quantity: 4 }, { item: 'OMGW-MUG-12OZ', quantity: 2 }] });
      since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      expect(writesSince(since)).to.deep.equal([`POST /2026-01/shipment/${tshirt.shipments[0]?.id}:updateLineItems`]);

      // 2. A new ship-to for the whole PO: one address change per order.
      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-M1', { shipTo: { PartyName: 'Harbor Outfitters Receiving', Address1: '9 Pier Road' } });
      since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      expect(writesSince(since).sort()).to.deep.equal([`PUT /2026-01/shipment/${mug.shipments[0]?.id}:updateAddress`, `PUT /2026-01/shipment/${tshirt.shipments[0]?.id}:updateAddress`].sort());

      // 3. Cancelled in Fusion: both orders cancelled.
      fusionNow += 1_000;
      fusion.purchaseOrders.touch('PO-M1', { statusCode: 'CANCELED' });
      since = mark();
      expect((await poll(1)).map((a) => a.outcome)).to.deep.equal(['delivered']);
      expect(writesSince(since).sort()).to.deep.equal([`POST /2026-01/order/${mug.id}:cancel`, `POST /2026-01/order/${tshirt.id}:cancel`].sort());

      expect(orderOf(tshirt.reference_id)).to.deep.include({ status: 'Cancelled' });
      expect(orderOf(tshirt.reference_id)?.shipments[0]?.recipient.address.address1).to.equal('9 Pier Road');
      expect(orderOf(tshirt.reference_id)?.products.map((p) => p.quantity)).to.deep.equal([4]);
      expect(orderOf(mug.reference_id)?.products.map((p) => p.quantity)).to.deep.equal([2]);
      expect(orderOf(mug.reference_id)?.status).to.equal('Cancelled');
      expect((await deliveryOf('PO-M1'))?.state).to.equal('delivered');
    });
  });

  // Last: mocha runs a suite's own tests before its nested suites.
  describe('the requests to ShipBob', () => {
    it('sent ShipBob only requests that validate against the published 2026-01 OpenAPI document', function () {
      if (!shipbobSpecAvailable) {
        console.log(`    (${SHIPBOB_SPEC_SKIP_MESSAGE})`);
        this.skip();
      }
      const requests = shipbob.sandbox.requests();
      const kinds = new Set(requests.map((r) => `${r.method} ${r.path.replace(/\d+/g, '{id}').replace(/\?.*$/, '')}`));
      for (const kind of ['POST /{id}-{id}/order/{id}:cancel', 'POST /{id}-{id}/shipment/{id}:updateLineItems', 'GET /{id}-{id}/shipment/{id}:getLineItems', 'PUT /{id}-{id}/shipment/{id}:updateAddress']) {
        expect(kinds, kind).to.include(kind);
      }
      for (const r of requests) {
        expect(r.status, `${r.method} ${r.path}`).to.be.lessThan(400);
        const headers = { ...r.headers, authorization: 'Bearer recorded-without-it' };
        const problems = validateRequest(r.method, r.path, headers, r.body === '' ? undefined : JSON.parse(r.body));
        expect(problems, `${r.method} ${r.path}`).to.deep.equal([]);
      }
    });
  });
});
