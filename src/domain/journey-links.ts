import type { Attempt } from './delivery.ts';
import { parseStoredPayload, type StoredEvent, type XmlRecord, type XmlValue } from './event.ts';
import { shipbobOrderNamed } from './shipbob-webhook.ts';

/**
 * How the pieces of an order's journey (src/domain/journey.ts) name each other: the order number an
 * OM order key carries, the order keys of ShipBob's webhooks about a ShipBob order, the ShipBob order
 * a webhook or a delivery's summary names, the status values an event carries. Pure rules.
 */

/** A status an event carries, old and new (a fulfilment line's StatusCode, the header's Status, a PO's StatusCode). */
export interface StatusValue {
  /** The fulfilment line it is about (FulfillmentOrderLineId), null for the header. */
  line: string | null;
  field: string;
  old: string | null;
  new: string | null;
}

export const SHIPBOB_STAGES = ['created', 'on_hold', 'exception', 'shipped', 'delivered', 'cancelled'] as const;
export type ShipBobStage = (typeof SHIPBOB_STAGES)[number];

export interface JourneyShipBobOrder {
  /** The connector that made it (null when only a delivery summary of an unknown connector names it). */
  connector: string | null;
  referenceId: string;
  shipbobOrderId: string | null;
  shipmentId: string | null;
  lineKey: string | null;
  /** Where the gateway knows it from: its record of the order, or only a delivery's summary. */
  knownFrom: 'record' | 'delivery_summary';
  /** How far it has come, from ShipBob's webhooks (and a cancellation ShipBob confirmed). */
  stage: ShipBobStage;
  cancelRequestedAt: number | null;
  createdAt: number;
}

/**
 * The order number an OM order key carries after its source system (`LEG:SO-1` → `SO-1`): some OM
 * events (FlineClosed) name the order by that number alone, so they belong to the same journey.
 */
export function bareOrderNumber(orderKey: string, sourceSystem: string | null): string | null {
  if (sourceSystem === null || !orderKey.startsWith(`${sourceSystem}:`)) return null;
  const rest = orderKey.slice(sourceSystem.length + 1);
  return rest === '' ? null : rest;
}

/** The order keys ShipBob's webhooks about these orders have, billing webhooks charging their shipments included. */
export function webhookOrderKeys(orders: ReadonlyArray<Pick<JourneyShipBobOrder, 'referenceId' | 'shipbobOrderId'> & { shipmentId?: string | null }>): string[] {
  const keys = new Set<string>();
  for (const o of orders) {
    if (o.shipbobOrderId !== null) keys.add(`shipbob:${o.shipbobOrderId}`);
    keys.add(`shipbob-ref:${o.referenceId}`);
    if (o.shipmentId !== undefined && o.shipmentId !== null) keys.add(`shipbob-shipment:${o.shipmentId}`);
  }
  return [...keys];
}

/** A key as a person may write a ShipBob webhook's order key: `shipbob:<id>` → the id, `shipbob-ref:<ref>` → the reference. */
export function shipbobKeyParts(key: string): { shipbobOrderId: string | null; referenceId: string | null } {
  if (key.startsWith('shipbob:')) return { shipbobOrderId: key.slice('shipbob:'.length) || null, referenceId: null };
  if (key.startsWith('shipbob-ref:')) return { shipbobOrderId: null, referenceId: key.slice('shipbob-ref:'.length) || null };
  return { shipbobOrderId: null, referenceId: null };
}

/** The ShipBob order a webhook event names (null for an event that is not a ShipBob order webhook). */
export function webhookOrder(event: Pick<StoredEvent, 'source' | 'eventCode' | 'payload'>): { shipbobOrderId: string | null; referenceId: string | null } | null {
  if (event.source !== 'shipbob') return null;
  const named = shipbobOrderNamed(event.eventCode, parseStoredPayload(event.payload));
  return named === null ? null : { shipbobOrderId: named.orderId, referenceId: named.referenceId };
}

/**
 * The ShipBob orders a delivery's attempts name in their summaries (`{"orders":[{reference_id, id}]}`,
 * src/connectors/shipbob/delivery.ts): the orders made or found, including those made before the
 * gateway kept records of them.
 */
export function ordersInSummaries(attempts: ReadonlyArray<Pick<Attempt, 'responseSnippet' | 'connector' | 'startedAt'>>): JourneyShipBobOrder[] {
  const found = new Map<string, JourneyShipBobOrder>();
  for (const a of attempts) {
    const orders = summaryOrders(a.responseSnippet);
    for (const o of orders) {
      if (found.has(o.referenceId)) {
        const known = found.get(o.referenceId);
        if (known && known.shipbobOrderId === null) known.shipbobOrderId = o.id;
        continue;
      }
      found.set(o.referenceId, {
        connector: a.connector,
        referenceId: o.referenceId,
        shipbobOrderId: o.id,
        shipmentId: null,
        lineKey: null,
        knownFrom: 'delivery_summary',
        stage: 'created',
        cancelRequestedAt: null,
        createdAt: a.startedAt,
      });
    }
  }
  return [...found.values()];
}

function summaryOrders(snippet: string | null): Array<{ referenceId: string; id: string | null }> {
  if (snippet === null || !snippet.startsWith('{"orders"')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(snippet);
  } catch {
    return []; // a clipped summary names nothing reliably
  }
  const orders = (parsed as { orders?: unknown }).orders;
  if (!Array.isArray(orders)) return [];
  return orders.flatMap((o: unknown) => {
    if (typeof o !== 'object' || o === null) return [];
    const { reference_id: ref, id } = o as { reference_id?: unknown; id?: unknown };
    if (typeof ref !== 'string' || ref === '') return [];
    // An order ShipBob never made (a cancellation of a line that never reached it) is no order.
    if (typeof id !== 'string' || id === '') return [];
    return [{ referenceId: ref, id }];
  });
}


/** The status values an event carries: OM's header and fulfilment-line statuses, a purchase order's StatusCode. */
export function statusValues(source: string, payloadText: string): StatusValue[] {
  const payload = parseStoredPayload(payloadText);
  const values: StatusValue[] = [];
  const pair = (record: XmlRecord, line: string | null, field: string, oldName: string, newName: string): void => {
    const o = text(record[oldName]);
    const n = text(record[newName]);
    if (o !== null || n !== null) values.push({ line, field, old: o, new: n });
  };
  if (source === 'fusion-po') {
    const code = text(payload.StatusCode);
    if (code !== null) values.push({ line: null, field: 'StatusCode', old: null, new: code });
    return values;
  }
  if (source !== 'oracle-om') return values;
  pair(payload, null, 'Status', 'StatusPriorValue', 'StatusNewValue');
  for (const line of records(payload.OrderLine)) {
    for (const fline of records(line.OrderFulfillmentLine)) {
      const id = text(fline.FulfillmentOrderLineId);
      pair(fline, id, 'StatusCode', 'StatusCodeOldValue', 'StatusCodeNewValue');
      pair(fline, id, 'CancelFlag', 'CancelFlagOldValue', 'CancelFlagNewValue');
    }
  }
  return values;
}


function records(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return [v];
  return [];
}

function text(v: XmlValue | undefined): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}
