import { formatDuration } from '../config/units.ts';
import type { Clock } from '../domain/clock.ts';
import { asOf, byLongestWait, FUNNEL_STAGE_LABELS, FUNNEL_STAGES, funnelCounts, linePosition, type FunnelStage, type StageTimes } from '../domain/funnel.ts';
import { topicsOfStages } from '../domain/journey.ts';
import { shipbobKeyParts, statusValues } from '../domain/journey-links.ts';
import { billedShipmentId } from '../domain/shipbob-webhook.ts';
import type { Store } from '../store/index.ts';
import type { FunnelOmEvent, FunnelShipBobOrder } from '../store/funnel.ts';
import { resolveFunnelRange, type FunnelRange, type RangeEnd } from './funnel-range.ts';
import type { BillingEvent } from '../store/webhooks.ts';

/**
 * The flow funnel (how many fulfilment lines reached each stage, which wait too long), the billing
 * reconciliation (ShipBob's charges matched to the orders they charge) and the per-minute numbers of
 * the console's live charts. Read-only. A line's ShipBob order, shipped webhook and write-back are
 * linked as an order's journey links them (src/domain/journey-links.ts, src/store/funnel.ts), a
 * charge to its order by the shipment it names (`billedShipmentId`); the rules are src/domain/funnel.ts.
 *
 * The lines counted are those with activity in [since, until): OM said they await shipping, their
 * ShipBob order was made, or ShipBob's webhook said it shipped, in the range; each is followed to
 * where it stood at `until` (or now).
 */

/**
 * At most this many of each kind is read: enough for a day of a busy gateway; more sets `linesTruncated`.
 * Stuck lines: `stuck` by default, up to `stuckMax` when asked (the API's and the CLI's `limit`).
 */
export const FUNNEL_LIMITS = { omEvents: 20_000, shipbobOrders: 20_000, charges: 50_000, stuck: 100, stuckMax: 1000, reconciliation: 500 } as const;

const CHARGE_TOPIC = 'billing.charge.created';
/** Webhooks that say an order left the warehouse: shipped, or delivered (a shipment delivered was shipped). */
const SHIPPED_TOPICS = topicsOfStages(['shipped', 'delivered']);
const AWAIT_SHIPPING = 'AWAIT_SHIPPING';
const BILLING_PAGE = 1000;

export interface StuckLine {
  orderKey: string;
  /** The Fusion line: `fulfillment-line:<FulfillmentOrderLineId>` or `po-schedule:<LineLocationId>` (a reference id when unknown). */
  line: string;
  stage: FunnelStage;
  reachedAt: string;
  waitingFor: FunnelStage;
  waitingSeconds: number;
  /** The admin API path of the order's journey. */
  journey: string;
  referenceId: string | null;
  shipbobOrderId: string | null;
}

export interface FunnelReport {
  since: string;
  until: string;
  /** The threshold as written (2h), and in seconds. */
  stuckAfter: string;
  stuckAfterSeconds: number;
  stages: Array<{ stage: FunnelStage; label: string; count: number }>;
  /** Lines that entered at `shipbob_order`: purchase-order schedules (and ShipBob orders with no OM AWAIT_SHIPPING event). */
  enteredAtShipbobOrder: number;
  /** Lines counted. */
  lines: number;
  /** Some lines were left out: more events or ShipBob orders in the range than one answer reads. */
  linesTruncated: boolean;
  stuck: StuckLine[];
  stuckTruncated: boolean;
}

export interface Reconciliation {
  since: string;
  until: string;
  /** Charges received in the range for a shipment of a ShipBob order the gateway made. */
  matched: number;
  /** ShipBob orders that shipped in the range with no charge for their shipment (yet). */
  shippedNotBilled: Array<{ orderKey: string | null; shipbobOrderId: string; referenceId: string; shipmentId: string | null; shippedAt: string; journey: string }>;
  shippedNotBilledTruncated: boolean;
  /** Charges received in the range for a shipment the gateway made no order for (or naming none). */
  billedUnknown: Array<{ webhookId: string; receivedAt: string; reference: string | null; referenceType: string | null; amount: string | null; currency: string | null; transactionId: string | null }>;
  billedUnknownTruncated: boolean;
  /** Charges received in the range for something other than a shipment (a return, a receiving order...). */
  notForShipments: number;
}

export interface Throughput {
  bucketSeconds: number;
  from: string;
  to: string;
  buckets: Array<{ at: string; pushes: number; deliveries: number; failures: number }>;
  queueDepth: number;
}

export class FunnelService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  /** The range `since` and `until` name now, by the rules of src/services/funnel-range.ts (a FunnelRangeError when they break one). */
  range(ends: { since?: RangeEnd | undefined; until?: RangeEnd | undefined }): FunnelRange {
    return resolveFunnelRange(this.#clock.now(), ends);
  }

  async funnel(range: FunnelRange, stuckAfterMs: number, stuckLimit: number = FUNNEL_LIMITS.stuck): Promise<FunnelReport> {
    const { since, until } = range;
    const repo = this.#store.funnel;
    const now = Math.min(this.#clock.now(), until);
    let truncated = false;

    // OM lines that await shipping, and the ShipBob orders with activity in the range.
    const received = await repo.omEventsReceived(since, until, FUNNEL_LIMITS.omEvents);
    truncated ||= received.more;
    const awaiting = awaitingShipping(received.rows);
    const shippedKeys = await repo.webhookKeysReceived(SHIPPED_TOPICS, since, until, FUNNEL_LIMITS.shipbobOrders);
    truncated ||= shippedKeys.more;
    const named = shippedKeys.rows.map(shipbobKeyParts);
    const orders = await repo.shipbobOrders(
      {
        createdFrom: since,
        createdTo: until,
        orderKeys: [...new Set([...awaiting.values()].map((l) => l.orderKey))],
        shipbobOrderIds: named.flatMap((n) => (n.shipbobOrderId !== null ? [n.shipbobOrderId] : [])),
        referenceIds: named.flatMap((n) => (n.referenceId !== null ? [n.referenceId] : [])),
      },
      SHIPPED_TOPICS,
      FUNNEL_LIMITS.shipbobOrders,
    );
    truncated ||= orders.more;

    // A sales-order line whose ShipBob order is in the range but whose AWAIT_SHIPPING came before it.
    const earlierKeys = orders.rows.filter((o) => o.orderKey !== null && o.lineKey?.startsWith('fulfillment-line:') === true && !awaiting.has(lineKeyOf(o))).map((o) => o.orderKey as string);
    if (earlierKeys.length > 0) {
      const earlier = await repo.omEventsOfOrders(earlierKeys, until, FUNNEL_LIMITS.omEvents);
      truncated ||= earlier.more;
      for (const [key, line] of awaitingShipping(earlier.rows)) if (!awaiting.has(key)) awaiting.set(key, { ...line, onlyIfOrdered: true });
    }

    const charges = await this.#charges(since, FUNNEL_LIMITS.charges);
    truncated ||= charges.more;
    const billedAt = firstChargeByShipment(charges.rows);

    const lines = new Map<string, Line>();
    for (const o of orders.rows) {
      const key = lineKeyOf(o);
      const reached: StageTimes = {
        awaiting_shipping: awaiting.get(key)?.at ?? null,
        shipbob_order: o.createdAt,
        shipped: o.shippedAt,
        written_back: o.writtenBackAt,
        billed: o.shipmentId !== null ? (billedAt.get(o.shipmentId) ?? null) : null,
      };
      const known = lines.get(key);
      lines.set(key, known ? merge(known, o, reached) : { orderKey: o.orderKey ?? o.referenceId, line: o.lineKey ?? o.referenceId, referenceId: o.referenceId, shipbobOrderId: o.shipbobOrderId, reached, cancelled: o.cancelled });
    }
    for (const [key, l] of awaiting) {
      if (lines.has(key) || l.onlyIfOrdered) continue;
      lines.set(key, { orderKey: l.orderKey, line: `fulfillment-line:${l.line}`, referenceId: null, shipbobOrderId: null, reached: { ...NOTHING, awaiting_shipping: l.at }, cancelled: false });
    }

    const stuckAll: Array<StuckLine & { waitingMs: number }> = [];
    const positions = [];
    for (const l of lines.values()) {
      const p = linePosition({ reached: asOf(l.reached, until), cancelled: l.cancelled }, now, stuckAfterMs);
      if (p === null) continue;
      positions.push(p);
      if (p.stuck && p.waitingFor !== null) {
        stuckAll.push({
          orderKey: l.orderKey,
          line: l.line,
          stage: p.stage,
          reachedAt: iso(p.reachedAt),
          waitingFor: p.waitingFor,
          waitingSeconds: Math.floor(p.waitingMs / 1000),
          waitingMs: p.waitingMs,
          journey: journeyPath(l.orderKey),
          referenceId: l.referenceId,
          shipbobOrderId: l.shipbobOrderId,
        });
      }
    }
    const { counts, enteredAtShipbobOrder } = funnelCounts(positions);
    stuckAll.sort(byLongestWait);
    return {
      since: iso(since),
      until: iso(until),
      stuckAfter: formatDuration(stuckAfterMs),
      stuckAfterSeconds: Math.floor(stuckAfterMs / 1000),
      stages: FUNNEL_STAGES.map((stage) => ({ stage, label: FUNNEL_STAGE_LABELS[stage], count: counts[stage] })),
      enteredAtShipbobOrder,
      lines: positions.length,
      linesTruncated: truncated,
      stuck: stuckAll.slice(0, stuckLimit).map(({ waitingMs: _ms, ...s }) => s),
      stuckTruncated: stuckAll.length > stuckLimit,
    };
  }

  async reconciliation(range: FunnelRange): Promise<Reconciliation> {
    const { since, until } = range;
    const repo = this.#store.funnel;
    const limit = FUNNEL_LIMITS.reconciliation;
    const shippedKeys = await repo.webhookKeysReceived(SHIPPED_TOPICS, since, until, FUNNEL_LIMITS.shipbobOrders);
    const named = shippedKeys.rows.map(shipbobKeyParts);
    const orders = await repo.shipbobOrders(
      {
        shipbobOrderIds: named.flatMap((n) => (n.shipbobOrderId !== null ? [n.shipbobOrderId] : [])),
        referenceIds: named.flatMap((n) => (n.referenceId !== null ? [n.referenceId] : [])),
      },
      SHIPPED_TOPICS,
      FUNNEL_LIMITS.shipbobOrders,
    );
    const charges = (await this.#charges(since, FUNNEL_LIMITS.charges)).rows;
    const billedAt = firstChargeByShipment(charges);
    const unbilled = orders.rows
      .filter((o) => o.shippedAt !== null && o.shippedAt >= since && o.shippedAt < until)
      .filter((o) => o.shipmentId === null || !billedAt.has(o.shipmentId))
      .sort((a, b) => (a.shippedAt ?? 0) - (b.shippedAt ?? 0));

    const inRange = charges.filter((c) => c.receivedAt < until);
    const shipments = inRange.map((c) => ({ charge: c, shipment: billedShipmentId(c) }));
    const known = await repo.knownShipments(shipments.flatMap((s) => (s.shipment !== null ? [s.shipment] : [])));
    const notForShipments = shipments.filter((s) => s.shipment === null && s.charge.reference !== null).length;
    const unknown = shipments.filter((s) => (s.shipment === null && s.charge.reference === null) || (s.shipment !== null && !known.has(s.shipment)));
    return {
      since: iso(since),
      until: iso(until),
      matched: shipments.filter((s) => s.shipment !== null && known.has(s.shipment)).length,
      shippedNotBilled: unbilled.slice(0, limit).map((o) => ({
        orderKey: o.orderKey,
        shipbobOrderId: o.shipbobOrderId,
        referenceId: o.referenceId,
        shipmentId: o.shipmentId,
        shippedAt: iso(o.shippedAt ?? 0),
        journey: journeyPath(o.orderKey ?? o.shipbobOrderId),
      })),
      shippedNotBilledTruncated: unbilled.length > limit || shippedKeys.more || orders.more,
      billedUnknown: unknown.slice(0, limit).map(({ charge: c }) => ({
        webhookId: c.eventId,
        receivedAt: iso(c.receivedAt),
        reference: c.reference,
        referenceType: c.referenceType,
        amount: c.amount,
        currency: c.currency,
        transactionId: c.transactionId,
      })),
      billedUnknownTruncated: unknown.length > limit,
      notForShipments,
    };
  }

  /** Per-minute numbers of the last `minutes` minutes, every minute present (zeros where nothing happened). */
  async throughput(minutes: number): Promise<Throughput> {
    const bucketMs = 60_000;
    const to = (Math.floor(this.#clock.now() / bucketMs) + 1) * bucketMs;
    const from = to - minutes * bucketMs;
    const [found, queueDepth] = await Promise.all([this.#store.funnel.throughput(from, to, bucketMs), this.#store.funnel.queueDepth()]);
    const byStart = new Map(found.map((b) => [b.at, b]));
    const buckets = [];
    for (let at = from; at < to; at += bucketMs) {
      const b = byStart.get(at);
      buckets.push({ at: iso(at), pushes: b?.pushes ?? 0, deliveries: b?.deliveries ?? 0, failures: b?.failures ?? 0 });
    }
    return { bucketSeconds: bucketMs / 1000, from: iso(from), to: iso(to), buckets, queueDepth };
  }

  /** ShipBob's charges received since `from` (up to now: a line of the range may be billed later), page by page. */
  async #charges(from: number, limit: number): Promise<{ rows: BillingEvent[]; more: boolean }> {
    const rows: BillingEvent[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await this.#store.shipbobWebhooks.listBilling({ from, topics: [CHARGE_TOPIC], limit: BILLING_PAGE, ...(afterId !== undefined ? { afterId } : {}) });
      rows.push(...page);
      if (page.length < BILLING_PAGE) return { rows, more: false };
      if (rows.length >= limit) return { rows: rows.slice(0, limit), more: true };
      afterId = page[page.length - 1]?.eventId;
    }
  }
}

interface Line {
  orderKey: string;
  line: string;
  referenceId: string | null;
  shipbobOrderId: string | null;
  reached: StageTimes;
  cancelled: boolean;
}

interface AwaitingLine {
  orderKey: string;
  line: string;
  at: number;
  /** Read for a ShipBob order of the range: counted only with it. */
  onlyIfOrdered?: boolean;
}

const NOTHING: StageTimes = { awaiting_shipping: null, shipbob_order: null, shipped: null, written_back: null, billed: null };

/** The fulfilment lines OM said await shipping (StatusCode → AWAIT_SHIPPING), each at the first time it said so. */
function awaitingShipping(events: readonly FunnelOmEvent[]): Map<string, AwaitingLine> {
  const lines = new Map<string, AwaitingLine>();
  for (const e of events) {
    for (const v of statusValues('oracle-om', e.payload)) {
      if (v.field !== 'StatusCode' || v.new !== AWAIT_SHIPPING || v.line === null) continue;
      const key = `${e.orderKey}\u0000fulfillment-line:${v.line}`;
      const known = lines.get(key);
      if (!known || e.receivedAt < known.at) lines.set(key, { orderKey: e.orderKey, line: v.line, at: e.receivedAt });
    }
  }
  return lines;
}

/** A ShipBob order's line: its order key and Fusion line, or its reference id when the record lacks them. */
function lineKeyOf(o: Pick<FunnelShipBobOrder, 'orderKey' | 'lineKey' | 'referenceId'>): string {
  return o.orderKey !== null && o.lineKey !== null ? `${o.orderKey}\u0000${o.lineKey}` : `ref:${o.referenceId}`;
}

/** A line with two ShipBob orders (made again through another connector): the first time of each stage. */
function merge(line: Line, o: FunnelShipBobOrder, reached: StageTimes): Line {
  const first = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
  const merged = Object.fromEntries(FUNNEL_STAGES.map((s) => [s, first(line.reached[s], reached[s])])) as Record<FunnelStage, number | null>;
  return { ...line, shipbobOrderId: line.shipbobOrderId ?? o.shipbobOrderId, reached: merged, cancelled: line.cancelled && o.cancelled };
}

function firstChargeByShipment(charges: readonly BillingEvent[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const c of charges) {
    const shipment = billedShipmentId(c);
    if (shipment === null) continue;
    const known = first.get(shipment);
    if (known === undefined || c.receivedAt < known) first.set(shipment, c.receivedAt);
  }
  return first;
}

function journeyPath(orderKey: string): string {
  return `/admin/api/orders/${encodeURIComponent(orderKey)}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
