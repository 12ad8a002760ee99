import type { AuditRecord } from './audit.ts';
import type { Attempt, Delivery } from './delivery.ts';
import type { StoredEvent } from './event.ts';
import { ordersInSummaries, statusValues, webhookOrder, type JourneyShipBobOrder, type ShipBobStage, type StatusValue } from './journey-links.ts';
import type { ShipBobOrderRecord } from './shipbob-change.ts';

/**
 * An order's journey: everything the gateway holds about one order (OM events, polled purchase-order
 * events, deliveries and their attempts, the ShipBob orders made, ShipBob's webhooks about them, the
 * write-backs to Fusion, operator actions), linked and put in time order, with where it stands now.
 * Pure rules: src/services/journey.ts reads the pieces (src/store/journey.ts) and hands them here.
 *
 * How the pieces link: an OM event's order key is `<SourceOrderSystem>:<SourceOrderNumber>` (some
 * events name the order by its number alone), a polled purchase order's is its PO number; a ShipBob
 * order the gateway made has the reference id `<prefix><order key>:<FulfillLineId or LineLocationId>`
 * and is kept with that order key (`shipbob_orders`), or named in its delivery's summary; a ShipBob
 * webhook's order key is `shipbob:<ShipBob order id>` (`shipbob-ref:<reference id>` without one).
 */

/** How a key given by a person was found. */
export const JOURNEY_FOUND_BY = ['order_key', 'source_order_number', 'purchase_order_number', 'shipbob_order_id', 'shipbob_reference_id'] as const;
export type JourneyFoundBy = (typeof JOURNEY_FOUND_BY)[number];

/** callback: an async connector's target answering one of the order's deliveries. */
export const JOURNEY_EVENT_ROLES = ['om_event', 'purchase_order', 'shipbob_webhook', 'callback', 'other'] as const;
export type JourneyEventRole = (typeof JOURNEY_EVENT_ROLES)[number];

export interface JourneyAttempt {
  number: number;
  at: number;
  outcome: string;
  responseStatus: number | null;
  durationMs: number;
  /** The start of the target's answer (scrubbed when stored). */
  snippet: string | null;
  errorClass: string | null;
  errorMessage: string | null;
}

export const DELIVERY_ROLES = ['to_shipbob', 'write_back', 'delivery'] as const;
export type DeliveryRole = (typeof DELIVERY_ROLES)[number];

export type JourneyEntry =
  | {
      kind: 'event';
      at: number;
      role: JourneyEventRole;
      eventId: string;
      source: string;
      eventCode: string;
      orderKey: string | null;
      status: string;
      statusValues: StatusValue[];
      /** A ShipBob webhook's order: ShipBob's id and the gateway's reference id, as the payload names them. */
      shipbobOrderId: string | null;
      referenceId: string | null;
    }
  | {
      kind: 'delivery';
      at: number;
      role: DeliveryRole;
      deliveryId: string;
      eventId: string;
      connector: string;
      eventCode: string;
      state: string;
      parkedReason: string | null;
      holdReason: string | null;
      lastError: string | null;
      attempts: JourneyAttempt[];
    }
  | ({ kind: 'shipbob_order'; at: number } & JourneyShipBobOrder)
  | { kind: 'operator_action'; at: number; action: string; actor: string | null; result: string; deliveryId: string | null; connector: string | null; reason: string | null };

export interface JourneyStanding {
  /** One line for a person: what happened last, what needs a person, what it waits for. */
  summary: string;
  /** What the order waits for next (ShipBob's next step, unfinished deliveries). */
  waitingFor: string[];
  /** What needs a person: parked and held deliveries. */
  attention: string[];
}

export interface JourneyInput {
  events: StoredEvent[];
  deliveries: Delivery[];
  attempts: Attempt[];
  shipbobOrders: ShipBobOrderRecord[];
  operatorActions: AuditRecord[];
  /** Connectors of kind shipbob: their deliveries make ShipBob orders. */
  shipbobConnectors: ReadonlySet<string>;
}

export interface JourneyAssembly {
  timeline: JourneyEntry[];
  shipbobOrders: JourneyShipBobOrder[];
  standing: JourneyStanding;
}

/** The answer snippet kept per attempt in a journey. */
const SNIPPET_CHARS = 500;

/** The role of an event in an order's journey, from its source. */
function eventRole(source: string): JourneyEventRole {
  if (source === 'oracle-om') return 'om_event';
  if (source === 'fusion-po') return 'purchase_order';
  if (source === 'shipbob') return 'shipbob_webhook';
  if (source === 'callback') return 'callback';
  return 'other';
}

const STAGE_OF_TOPIC: Readonly<Record<string, ShipBobStage>> = {
  'order.shipped': 'shipped',
  order_shipped: 'shipped',
  'order.delivered': 'delivered',
  'order.shipment.delivered': 'delivered',
  shipment_delivered: 'delivered',
  'order.shipment.cancelled': 'cancelled',
  shipment_cancelled: 'cancelled',
  'order.shipment.on_hold': 'on_hold',
  shipment_onhold: 'on_hold',
  'order.shipment.exception': 'exception',
  shipment_exception: 'exception',
};

/** The webhook topics that tell of a ShipBob order reaching one of these stages (the funnel's shipped webhooks). */
export function topicsOfStages(stages: readonly ShipBobStage[]): string[] {
  return Object.entries(STAGE_OF_TOPIC)
    .filter(([, stage]) => stages.includes(stage))
    .map(([topic]) => topic);
}

/** Stages an order does not leave, whatever webhook comes later (a late duplicate `order.shipped`). */
const FINAL_STAGES: ReadonlySet<ShipBobStage> = new Set(['delivered', 'cancelled']);

/** What comes next for a ShipBob order at each stage. */
const NEXT_STEP: Readonly<Record<ShipBobStage, string | null>> = {
  created: 'shipped',
  on_hold: 'the hold at ShipBob to be lifted',
  exception: 'the shipment exception at ShipBob to be resolved',
  shipped: 'delivered',
  delivered: null,
  cancelled: null,
};

/** Puts the pieces in time order (ties: events, then deliveries, orders, actions) and says where the order stands. */
export function assembleJourney(input: JourneyInput): JourneyAssembly {
  const roles = new Map(input.events.map((e) => [e.id, eventRole(e.source)]));
  const orders = shipbobOrdersOf(input);
  const timeline: JourneyEntry[] = [];
  for (const e of input.events) {
    const named = webhookOrder(e);
    timeline.push({
      kind: 'event',
      at: e.receivedAt,
      role: eventRole(e.source),
      eventId: e.id,
      source: e.source,
      eventCode: e.eventCode,
      orderKey: e.orderKey,
      status: e.status,
      statusValues: statusValues(e.source, e.payload),
      shipbobOrderId: named?.shipbobOrderId ?? null,
      referenceId: named?.referenceId ?? null,
    });
  }
  const attemptsOf = new Map<string, JourneyAttempt[]>();
  for (const a of [...input.attempts].sort((x, y) => x.number - y.number)) {
    const list = attemptsOf.get(a.deliveryId) ?? [];
    list.push({
      number: a.number,
      at: a.startedAt,
      outcome: a.outcome,
      responseStatus: a.responseStatus,
      durationMs: a.durationMs,
      snippet: a.responseSnippet === null ? null : a.responseSnippet.slice(0, SNIPPET_CHARS),
      errorClass: a.errorClass,
      errorMessage: a.errorMessage,
    });
    attemptsOf.set(a.deliveryId, list);
  }
  for (const d of input.deliveries) {
    timeline.push({
      kind: 'delivery',
      at: d.createdAt,
      role: deliveryRole(d, roles.get(d.eventId), input.shipbobConnectors),
      deliveryId: d.id,
      eventId: d.eventId,
      connector: d.connector,
      eventCode: d.eventCode,
      state: d.state,
      parkedReason: d.parkedReason,
      holdReason: d.holdReason,
      lastError: d.lastError,
      attempts: attemptsOf.get(d.id) ?? [],
    });
  }
  for (const o of orders) timeline.push({ kind: 'shipbob_order', at: o.createdAt, ...o });
  for (const r of input.operatorActions) {
    timeline.push({ kind: 'operator_action', at: r.at, action: r.action, actor: r.actor, result: r.result, deliveryId: r.deliveryId, connector: r.connector, reason: reasonOf(r.detail) });
  }
  const rank: Record<JourneyEntry['kind'], number> = { event: 0, delivery: 1, shipbob_order: 2, operator_action: 3 };
  timeline.sort((a, b) => a.at - b.at || rank[a.kind] - rank[b.kind]);
  return { timeline, shipbobOrders: orders, standing: standingOf(timeline, orders) };
}

function deliveryRole(d: Delivery, eventRoleOf: JourneyEventRole | undefined, shipbob: ReadonlySet<string>): DeliveryRole {
  if (eventRoleOf === 'shipbob_webhook') return 'write_back';
  return shipbob.has(d.connector) ? 'to_shipbob' : 'delivery';
}

/** The ShipBob orders: the gateway's records first, then those only delivery summaries name; each at its stage. */
function shipbobOrdersOf(input: JourneyInput): JourneyShipBobOrder[] {
  const byRef = new Map<string, JourneyShipBobOrder>();
  for (const r of input.shipbobOrders) {
    byRef.set(r.referenceId, {
      connector: r.connector,
      referenceId: r.referenceId,
      shipbobOrderId: r.shipbobOrderId,
      shipmentId: r.shipmentId,
      lineKey: r.lineKey,
      knownFrom: 'record',
      stage: r.cancelled ? 'cancelled' : 'created',
      cancelRequestedAt: r.cancelRequestedAt,
      createdAt: r.createdAt,
    });
  }
  const shipbobAttempts = input.attempts.filter((a) => input.shipbobConnectors.has(a.connector));
  for (const o of ordersInSummaries(shipbobAttempts)) if (!byRef.has(o.referenceId)) byRef.set(o.referenceId, o);
  const orders = [...byRef.values()].sort((a, b) => a.createdAt - b.createdAt || a.referenceId.localeCompare(b.referenceId));
  const webhooks = input.events.filter((e) => e.source === 'shipbob').sort((a, b) => a.receivedAt - b.receivedAt || a.id.localeCompare(b.id));
  for (const e of webhooks) {
    const stage = STAGE_OF_TOPIC[e.eventCode];
    if (stage === undefined || e.status === 'duplicate') continue;
    const order = orderOfWebhook(orders, webhookOrder(e));
    if (order && !FINAL_STAGES.has(order.stage)) order.stage = stage;
  }
  return orders;
}

function orderOfWebhook(orders: JourneyShipBobOrder[], named: { shipbobOrderId: string | null; referenceId: string | null } | null): JourneyShipBobOrder | undefined {
  if (named === null) return undefined;
  return orders.find((o) => (named.shipbobOrderId !== null && o.shipbobOrderId === named.shipbobOrderId) || (named.referenceId !== null && o.referenceId === named.referenceId));
}

/**
 * Where the order stands: parked and held deliveries first (they need a person), then each ShipBob
 * order's stage with what was written back for it, then what it waits for.
 */
function standingOf(timeline: readonly JourneyEntry[], orders: readonly JourneyShipBobOrder[]): JourneyStanding {
  const attention: string[] = [];
  const waitingFor: string[] = [];
  const progress: string[] = [];
  const deliveries = timeline.filter((e): e is Extract<JourneyEntry, { kind: 'delivery' }> => e.kind === 'delivery');
  const events = new Map(timeline.flatMap((e) => (e.kind === 'event' ? [[e.eventId, e] as const] : [])));
  for (const d of deliveries) {
    if (d.state === 'parked') attention.push(`delivery to ${d.connector} parked (${d.parkedReason ?? 'unknown'})${d.lastError ? `: ${d.lastError}` : ''}`);
    else if (d.state === 'on_hold') attention.push(`delivery to ${d.connector} on hold (${d.holdReason ?? 'unknown'})`);
    else if (d.state === 'retrying') waitingFor.push(`delivery to ${d.connector} (retrying${d.lastError ? `: ${d.lastError}` : ''})`);
    else if (d.state === 'pending' || d.state === 'in_flight') waitingFor.push(`delivery to ${d.connector}`);
  }
  for (const o of orders) {
    const writeBacks = deliveries.filter((d) => {
      if (d.role !== 'write_back') return false;
      const e = events.get(d.eventId);
      return e !== undefined && ((o.shipbobOrderId !== null && e.shipbobOrderId === o.shipbobOrderId) || e.referenceId === o.referenceId);
    });
    const written = [...new Set(writeBacks.filter((d) => d.state === 'delivered').map((d) => d.connector))];
    const name = o.shipbobOrderId === null ? `ShipBob order ${o.referenceId}` : `ShipBob order ${o.shipbobOrderId}`;
    progress.push(`${name} ${stageWords(o)}${written.length > 0 ? `, notice written to ${written.join(', ')}` : ''}`);
    const next = NEXT_STEP[o.stage];
    if (next !== null && !waitingFor.includes(next)) waitingFor.push(next);
  }
  if (orders.length === 0) {
    const delivered = [...new Set(deliveries.filter((d) => d.state === 'delivered').map((d) => d.connector))];
    if (delivered.length > 0) progress.push(`delivered to ${delivered.join(', ')}`);
    else if (deliveries.length === 0) progress.push(timeline.some((e) => e.kind === 'event') ? 'no connector took its events' : 'nothing received');
    if (deliveries.some((d) => d.role === 'to_shipbob' && d.state !== 'delivered' && d.state !== 'discarded')) waitingFor.push('a ShipBob order');
  }
  const parts = [...attention, ...progress];
  const head = parts.length > 0 ? parts.join('; ') : 'nothing sent yet';
  return { summary: waitingFor.length > 0 ? `${head}; waiting for: ${waitingFor.join(', ')}` : head, waitingFor, attention };
}

function stageWords(o: JourneyShipBobOrder): string {
  if (o.stage === 'created' && o.cancelRequestedAt !== null) return 'created, cancellation asked';
  return o.stage === 'on_hold' ? 'on hold' : o.stage === 'exception' ? 'in exception' : o.stage;
}

/** The operator's reason an audit record's detail carries. */
function reasonOf(detail: string | null): string | null {
  if (detail === null) return null;
  try {
    const parsed: unknown = JSON.parse(detail);
    if (typeof parsed === 'object' && parsed !== null && 'reason' in parsed && typeof parsed.reason === 'string') return parsed.reason;
  } catch {
    // a detail that is not JSON carries no reason
  }
  return null;
}
