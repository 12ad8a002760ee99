import { expect } from 'chai';
import type { AuditRecord } from '../../../src/domain/audit.ts';
import type { Attempt, Delivery } from '../../../src/domain/delivery.ts';
import type { StoredEvent } from '../../../src/domain/event.ts';
import { assembleJourney, type JourneyInput } from '../../../src/domain/journey.ts';
import { bareOrderNumber, ordersInSummaries, shipbobKeyParts, webhookOrder, webhookOrderKeys } from '../../../src/domain/journey-links.ts';
import type { ShipBobOrderRecord } from '../../../src/domain/shipbob-change.ts';
import { shipbobOrderRecord } from '../../helpers/seed.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
let n = 0;
const nextId = (): string => `01J${String(++n).padStart(23, '0')}`;

function event(over: Partial<StoredEvent> & { payload?: string }): StoredEvent {
  return {
    id: nextId(),
    pushId: null,
    source: 'oracle-om',
    eventCode: 'FlineStatusUpdate',
    orderKey: 'LEG:SO-1',
    sourceSystem: 'LEG',
    receivedAt: T0,
    status: 'routed',
    duplicateOf: null,
    contentHash: 'h',
    connectorScope: null,
    position: 0,
    payload: '{}',
    raw: null,
    ...over,
  };
}

function delivery(e: StoredEvent, over: Partial<Delivery>): Delivery {
  return {
    id: nextId(),
    eventId: e.id,
    connector: 'shipbob',
    triggerPoint: null,
    orderKey: e.orderKey,
    eventCode: e.eventCode,
    state: 'delivered',
    attemptCount: 1,
    attemptsInCycle: 1,
    nextAttemptAt: e.receivedAt,
    leaseOwner: null,
    leaseExpiresAt: null,
    idempotencyKey: null,
    lastError: null,
    parkedReason: null,
    holdReason: null,
    adminReason: null,
    createdAt: e.receivedAt + 1,
    updatedAt: e.receivedAt + 1,
    deliveredAt: null,
    correlationId: null,
    responseDueAt: null,
    respondedAt: null,
    ...over,
  };
}

function attempt(d: Delivery, over: Partial<Attempt>): Attempt {
  return {
    id: nextId(),
    deliveryId: d.id,
    connector: d.connector,
    number: 1,
    startedAt: d.createdAt + 1,
    durationMs: 42,
    requestSummary: '{}',
    responseStatus: 201,
    responseHeaders: null,
    responseSnippet: null,
    errorClass: null,
    errorMessage: null,
    outcome: 'delivered',
    ...over,
  };
}

function record(over: Partial<ShipBobOrderRecord>): ShipBobOrderRecord {
  return shipbobOrderRecord(T0 + 3, { shipmentId: '200000001', addressHash: 'a', ...over });
}

const flineStatus = (from: string, to: string): string =>
  JSON.stringify({
    EventCode: 'FlineStatusUpdate',
    StatusCodeOldValue: 'OPEN',
    OrderLine: [{ OrderFulfillmentLine: [{ FulfillmentOrderLineId: '3001', StatusCodeOldValue: from, StatusCodeNewValue: to }] }],
  });

const summary = (orders: unknown[]): string => JSON.stringify({ orders });

function input(over: Partial<JourneyInput>): JourneyInput {
  return { events: [], deliveries: [], attempts: [], shipbobOrders: [], operatorActions: [], shipbobConnectors: new Set(['shipbob']), ...over };
}

describe("an order's journey", () => {
  describe('linking keys', () => {
    it('takes the order number after the source system, for OM events that name the order by number alone', () => {
      expect(bareOrderNumber('LEG:SO-1', 'LEG')).to.equal('SO-1');
      expect(bareOrderNumber('LEG:SO:1', 'LEG')).to.equal('SO:1');
      expect(bareOrderNumber('SO-1', null)).to.equal(null);
      expect(bareOrderNumber('OTHER:SO-1', 'LEG')).to.equal(null);
      expect(bareOrderNumber('LEG:', 'LEG')).to.equal(null);
    });

    it("gives the order keys of ShipBob's webhooks about an order: by its id, by its reference id, and its shipment's billing", () => {
      expect(
        webhookOrderKeys([
          { referenceId: 'LEG:SO-1:3001', shipbobOrderId: '100000001', shipmentId: '200000001' },
          { referenceId: 'PO-1:77', shipbobOrderId: null },
        ]),
      ).to.deep.equal(['shipbob:100000001', 'shipbob-ref:LEG:SO-1:3001', 'shipbob-shipment:200000001', 'shipbob-ref:PO-1:77']);
    });

    it("reads a webhook's order key as a person may paste it", () => {
      expect(shipbobKeyParts('shipbob:100000001')).to.deep.equal({ shipbobOrderId: '100000001', referenceId: null });
      expect(shipbobKeyParts('shipbob-ref:LEG:SO-1:3001')).to.deep.equal({ shipbobOrderId: null, referenceId: 'LEG:SO-1:3001' });
      expect(shipbobKeyParts('SO-1')).to.deep.equal({ shipbobOrderId: null, referenceId: null });
      expect(shipbobKeyParts('shipbob:')).to.deep.equal({ shipbobOrderId: null, referenceId: null });
    });

    it('names the ShipBob order of a webhook event, and none for other events', () => {
      const shipped = event({ source: 'shipbob', eventCode: 'order.shipped', payload: JSON.stringify({ id: '100000001', reference_id: 'LEG:SO-1:3001' }) });
      expect(webhookOrder(shipped)).to.deep.equal({ shipbobOrderId: '100000001', referenceId: 'LEG:SO-1:3001' });
      expect(webhookOrder(event({ source: 'shipbob', eventCode: 'billing.charge.created', payload: '{}' }))).to.equal(null);
      expect(webhookOrder(event({}))).to.equal(null);
    });

    it('reads the ShipBob orders delivery summaries name, leaving out lines ShipBob never had and clipped summaries', () => {
      const e = event({});
      const d = delivery(e, {});
      const found = ordersInSummaries([
        attempt(d, { responseSnippet: summary([{ reference_id: 'LEG:SO-1:3001', id: '100000001', existing: false, sent: ['create'] }, { reference_id: 'LEG:SO-1:3002', id: null, existing: false, sent: [], nothing: 'nothing_to_cancel' }]) }),
        attempt(d, { number: 2, startedAt: T0 + 50, responseSnippet: summary([{ reference_id: 'LEG:SO-1:3001', id: '100000001', existing: false, sent: [], nothing: 'unchanged' }]) }),
        attempt(d, { number: 3, responseSnippet: '{"orders":[{"reference_id":"LEG:SO-1:30' }),
        attempt(d, { number: 4, responseSnippet: '<html>bad gateway</html>' }),
      ]);
      expect(found.map((o) => [o.referenceId, o.shipbobOrderId, o.knownFrom, o.createdAt])).to.deep.equal([['LEG:SO-1:3001', '100000001', 'delivery_summary', T0 + 2]]);
    });
  });

  describe('the timeline', () => {
    it('puts events, deliveries with their attempts, ShipBob orders and operator actions in time order, with status values', () => {
      const om = event({ receivedAt: T0, payload: flineStatus('SCHEDULED', 'AWAIT_SHIPPING') });
      const toShipBob = delivery(om, { createdAt: T0 + 1 });
      const shipped = event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob:100000001', sourceSystem: null, receivedAt: T0 + 10, payload: JSON.stringify({ id: '100000001', reference_id: 'LEG:SO-1:3001' }) });
      const writeBack = delivery(shipped, { connector: 'fusion', createdAt: T0 + 11 });
      const replay: AuditRecord = { id: nextId(), at: T0 + 20, direction: 'admin', action: 'delivery.replayed', sourceSystem: null, connector: 'shipbob', eventId: om.id, deliveryId: toShipBob.id, result: 'pending', detail: JSON.stringify({ reason: 'check' }), requestId: null, actor: 'cli:ops' };
      const { timeline } = assembleJourney(
        input({
          // Given out of order: the journey sorts.
          events: [shipped, om],
          deliveries: [writeBack, toShipBob],
          attempts: [attempt(toShipBob, { number: 2, startedAt: T0 + 21, outcome: 'delivered' }), attempt(toShipBob, { responseSnippet: 'x'.repeat(2000) }), attempt(writeBack, {})],
          shipbobOrders: [record({})],
          operatorActions: [replay],
        }),
      );
      expect(timeline.map((e) => [e.kind, e.at])).to.deep.equal([
        ['event', T0],
        ['delivery', T0 + 1],
        ['shipbob_order', T0 + 3],
        ['event', T0 + 10],
        ['delivery', T0 + 11],
        ['operator_action', T0 + 20],
      ]);
      const [first, second, , webhook, fourth, last] = timeline;
      expect(first).to.deep.include({ role: 'om_event', statusValues: [{ line: '3001', field: 'StatusCode', old: 'SCHEDULED', new: 'AWAIT_SHIPPING' }] });
      expect(second?.kind === 'delivery' && second.attempts.map((a) => [a.number, a.snippet?.length ?? 0])).to.deep.equal([
        [1, 500],
        [2, 0],
      ]);
      expect(second).to.deep.include({ role: 'to_shipbob' });
      expect(webhook).to.deep.include({ role: 'shipbob_webhook', shipbobOrderId: '100000001', referenceId: 'LEG:SO-1:3001' });
      expect(fourth).to.deep.include({ role: 'write_back', connector: 'fusion' });
      expect(last).to.deep.include({ action: 'delivery.replayed', actor: 'cli:ops', reason: 'check' });
    });

    it("reads a purchase order's status and an order header's status change", () => {
      const po = event({ source: 'fusion-po', eventCode: 'PurchaseOrderChanged', orderKey: 'PO-1', payload: JSON.stringify({ StatusCode: 'OPEN' }) });
      const header = event({ eventCode: 'OrderHeaderStatusUpdate', payload: JSON.stringify({ StatusPriorValue: 'OPEN', StatusNewValue: 'CLOSED' }) });
      const { timeline } = assembleJourney(input({ events: [po, header] }));
      expect(timeline.map((e) => (e.kind === 'event' ? e.statusValues : null))).to.deep.equal([
        [{ line: null, field: 'StatusCode', old: null, new: 'OPEN' }],
        [{ line: null, field: 'Status', old: 'OPEN', new: 'CLOSED' }],
      ]);
    });
  });

  describe('where it stands', () => {
    const om = event({ payload: flineStatus('SCHEDULED', 'AWAIT_SHIPPING') });
    const webhook = (code: string, at: number, status = 'routed'): StoredEvent =>
      event({ source: 'shipbob', eventCode: code, orderKey: 'shipbob:100000001', sourceSystem: null, receivedAt: at, status, payload: JSON.stringify({ order_id: '100000001', id: '100000001' }) });

    it('shipped and written back: waits for delivered', () => {
      const shipped = webhook('order.shipped', T0 + 10);
      const { standing, shipbobOrders } = assembleJourney(
        input({ events: [om, shipped], deliveries: [delivery(om, {}), delivery(shipped, { connector: 'fusion' })], shipbobOrders: [record({})] }),
      );
      expect(shipbobOrders.map((o) => o.stage)).to.deep.equal(['shipped']);
      expect(standing).to.deep.equal({ summary: 'ShipBob order 100000001 shipped, notice written to fusion; waiting for: delivered', waitingFor: ['delivered'], attention: [] });
    });

    it('a write-back still retrying is waited for too', () => {
      const shipped = webhook('order.shipped', T0 + 10);
      const { standing } = assembleJourney(
        input({ events: [om, shipped], deliveries: [delivery(om, {}), delivery(shipped, { connector: 'fusion', state: 'retrying', lastError: 'HTTP 503' })], shipbobOrders: [record({})] }),
      );
      expect(standing.summary).to.equal('ShipBob order 100000001 shipped; waiting for: delivery to fusion (retrying: HTTP 503), delivered');
    });

    it('delivered is the end, whatever webhook comes after; a duplicate webhook moves nothing', () => {
      const events = [om, webhook('order.shipped', T0 + 10), webhook('order.shipment.delivered', T0 + 20), webhook('order.shipped', T0 + 30)];
      expect(assembleJourney(input({ events, shipbobOrders: [record({})] })).standing).to.deep.equal({ summary: 'ShipBob order 100000001 delivered', waitingFor: [], attention: [] });
      const onlyDuplicate = [om, webhook('order.shipped', T0 + 10, 'duplicate')];
      expect(assembleJourney(input({ events: onlyDuplicate, shipbobOrders: [record({})] })).standing.summary).to.equal('ShipBob order 100000001 created; waiting for: shipped');
    });

    it('a parked delivery comes first, with its reason and error: it needs a person', () => {
      const refused = delivery(om, { state: 'parked', parkedReason: 'change_refused', lastError: 'refused: ShipBob order 100000001 is already packed' });
      const { standing } = assembleJourney(input({ events: [om], deliveries: [refused], shipbobOrders: [record({})] }));
      expect(standing.attention).to.deep.equal(['delivery to shipbob parked (change_refused): refused: ShipBob order 100000001 is already packed']);
      expect(standing.summary).to.equal('delivery to shipbob parked (change_refused): refused: ShipBob order 100000001 is already packed; ShipBob order 100000001 created; waiting for: shipped');
    });

    it('cancelled (confirmed by ShipBob or by its webhook) waits for nothing; a cancellation asked is said', () => {
      expect(assembleJourney(input({ events: [om], shipbobOrders: [record({ cancelled: true })] })).standing.summary).to.equal('ShipBob order 100000001 cancelled');
      expect(assembleJourney(input({ events: [om, webhook('order.shipment.cancelled', T0 + 5)], shipbobOrders: [record({})] })).standing.summary).to.equal('ShipBob order 100000001 cancelled');
      expect(assembleJourney(input({ events: [om], shipbobOrders: [record({ cancelRequestedAt: T0 + 4 })] })).standing.summary).to.equal('ShipBob order 100000001 created, cancellation asked; waiting for: shipped');
    });

    it('no ShipBob order yet: what the delivery to ShipBob is doing, or that nothing took the events', () => {
      expect(assembleJourney(input({ events: [om], deliveries: [delivery(om, { state: 'on_hold', holdReason: 'offline' })] })).standing.summary).to.equal(
        'delivery to shipbob on hold (offline); waiting for: a ShipBob order',
      );
      expect(assembleJourney(input({ events: [om], deliveries: [delivery(om, { state: 'pending' })] })).standing.summary).to.equal('nothing sent yet; waiting for: delivery to shipbob, a ShipBob order');
      expect(assembleJourney(input({ events: [event({ status: 'unrouted' })] })).standing.summary).to.equal('no connector took its events');
      expect(assembleJourney(input({ events: [om], deliveries: [delivery(om, { connector: 'crm' })] })).standing.summary).to.equal('delivered to crm');
    });

    it('an order only a delivery summary names still gets its stage from the webhooks', () => {
      const d = delivery(om, {});
      const a = attempt(d, { responseSnippet: summary([{ reference_id: 'LEG:SO-1:3001', id: '100000001', existing: true, sent: [] }]) });
      const { shipbobOrders, standing } = assembleJourney(input({ events: [om, webhook('order.shipped', T0 + 10)], deliveries: [d], attempts: [a] }));
      expect(shipbobOrders.map((o) => [o.knownFrom, o.stage])).to.deep.equal([['delivery_summary', 'shipped']]);
      expect(standing.summary).to.equal('ShipBob order 100000001 shipped; waiting for: delivered');
    });
  });
});
