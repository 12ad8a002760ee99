import type { Knex } from 'knex';
import { toShipBobOrder, type ShipBobOrderRow } from './rows/shipbob-order.ts';
import type { AttemptOutcome } from '../domain/delivery.ts';
import type { ShipBobOrderRecord } from '../domain/shipbob-change.ts';

/**
 * The read model of the flow funnel, the billing reconciliation and the per-minute numbers
 * (src/services/funnel.ts). Every read is by index and bounded: a list cut at its limit says so.
 * A ShipBob order's shipped webhooks and write-backs are found as an order's journey finds them
 * (src/store/journey.ts): its webhooks by their order keys `shipbob:<ShipBob order id>` and
 * `shipbob-ref:<reference id>`, their write-backs as the deliveries of those webhook events; the
 * times are computed in SQL, one row per ShipBob order.
 */

export interface Capped<T> {
  rows: T[];
  /** More rows matched than the limit: the first `limit` are given. */
  more: boolean;
}

/** An OM event as the funnel reads it: its payload tells which fulfilment lines await shipping. */
export interface FunnelOmEvent {
  orderKey: string;
  receivedAt: number;
  payload: string;
}

/** A ShipBob order the gateway made, with when its webhooks said it shipped and when that was written back. */
export interface FunnelShipBobOrder extends ShipBobOrderRecord {
  shippedAt: number | null;
  writtenBackAt: number | null;
}

export interface ThroughputBucket {
  /** The bucket's start (epoch ms, a multiple of the bucket size). */
  at: number;
  /** SOAP requests from OM (one push may hold several events). */
  pushes: number;
  /** Deliveries that reached `delivered`. */
  deliveries: number;
  /** Attempts that failed (retry or park). */
  failures: number;
}

/** Attempts that failed: the delivery retries or is parked (`accepted`, an async request taken, is no failure). */
const FAILED_OUTCOMES: AttemptOutcome[] = ['retry', 'parked'];

/** How many keys one statement takes. */
const CHUNK = 500;

export class FunnelRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /** OM events received in [from, to), oldest first, the first `limit`. */
  async omEventsReceived(from: number, to: number, limit: number): Promise<Capped<FunnelOmEvent>> {
    const rows = (await this.#omEvents()
      .where('received_at', '>=', from)
      .where('received_at', '<', to)
      .orderBy('received_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit + 1)) as OmEventRow[];
    return capped(rows.map(toOmEvent), limit);
  }

  /** OM events of these order keys received before `to` (a line that entered before the range), the first `limit`. */
  async omEventsOfOrders(orderKeys: readonly string[], to: number, limit: number): Promise<Capped<FunnelOmEvent>> {
    const out: FunnelOmEvent[] = [];
    for (const keys of chunks(orderKeys)) {
      const rows = (await this.#omEvents().whereIn('order_key', keys).where('received_at', '<', to).orderBy('id', 'asc').limit(limit + 1 - out.length)) as OmEventRow[];
      out.push(...rows.map(toOmEvent));
      if (out.length > limit) break;
    }
    return capped(out, limit);
  }

  /** The order keys of ShipBob webhooks of these topics received in [from, to) (ShipBob orders that shipped then). */
  async webhookKeysReceived(topics: readonly string[], from: number, to: number, limit: number): Promise<Capped<string>> {
    const rows = (await this.#knex('events')
      .distinct('order_key')
      .where('source', 'shipbob')
      .whereIn('event_code', [...topics])
      .where('received_at', '>=', from)
      .where('received_at', '<', to)
      .whereNot('status', 'duplicate')
      .whereNotNull('order_key')
      .orderBy('order_key', 'asc')
      .limit(limit + 1)) as Array<{ order_key: string }>;
    return capped(
      rows.map((r) => r.order_key),
      limit,
    );
  }

  /**
   * The ShipBob orders made in [from, to), or of these order keys, ShipBob order ids or reference ids,
   * each with the first time a webhook of `shippedTopics` named it and the first time one of those
   * webhooks was delivered onwards (written back), both before `to`; the first `limit` by creation.
   */
  async shipbobOrders(
    by: { createdFrom?: number; createdTo?: number; orderKeys?: readonly string[]; shipbobOrderIds?: readonly string[]; referenceIds?: readonly string[] },
    shippedTopics: readonly string[],
    limit: number,
  ): Promise<Capped<FunnelShipBobOrder>> {
    const found = new Map<string, FunnelShipBobOrder>();
    const add = (rows: FunnelOrderRow[]): void => {
      for (const r of rows) found.set(`${r.connector}\u0000${r.reference_id}`, toFunnelOrder(r));
    };
    let more = false;
    const run = async (where: (q: Knex.QueryBuilder) => void): Promise<void> => {
      if (found.size > limit) return;
      const q = this.#ordersWithTimes(shippedTopics);
      where(q);
      const rows = (await q.orderBy('so.created_at', 'asc').limit(limit + 1)) as FunnelOrderRow[];
      if (rows.length > limit) more = true;
      add(rows);
    };
    if (by.createdFrom !== undefined && by.createdTo !== undefined) {
      const { createdFrom, createdTo } = by;
      await run((q) => q.where('so.created_at', '>=', createdFrom).where('so.created_at', '<', createdTo));
    }
    for (const keys of chunks(by.orderKeys ?? [])) await run((q) => q.whereIn('so.order_key', keys));
    for (const ids of chunks(by.shipbobOrderIds ?? [])) await run((q) => q.whereIn('so.shipbob_order_id', ids));
    for (const refs of chunks(by.referenceIds ?? [])) await run((q) => q.whereIn('so.reference_id', refs));
    const rows = [...found.values()].sort((a, b) => a.createdAt - b.createdAt || a.referenceId.localeCompare(b.referenceId));
    return { rows: rows.slice(0, limit), more: more || rows.length > limit };
  }

  /** Which of these shipment ids belong to a ShipBob order the gateway made. */
  async knownShipments(shipmentIds: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (const ids of chunks(shipmentIds)) {
      const rows = (await this.#knex('shipbob_orders').distinct('shipment_id').whereIn('shipment_id', ids)) as Array<{ shipment_id: string }>;
      for (const r of rows) known.add(r.shipment_id);
    }
    return known;
  }

  /**
   * Per bucket of `bucketMs` in [from, to): pushes received from OM (SOAP requests, each holding one
   * or more events; the `pushes` rows by their time), deliveries that reached `delivered` (by
   * `delivered_at`: a sync delivery when its target answered, an async one when its callback said it
   * was done, not when its request was accepted), attempts that failed (outcome retry or parked; an
   * async request accepted is no failure). Bucketed by integer division in SQL, the same on both
   * databases (bigint / integer truncates on PostgreSQL as integer / integer does on SQLite).
   * Only buckets with something in them are returned.
   */
  async throughput(from: number, to: number, bucketMs: number): Promise<ThroughputBucket[]> {
    const k = this.#knex;
    const size = Math.trunc(bucketMs);
    type Counted = Array<{ b: number | string; n: number | string }>;
    const perBucket = (table: string, column: string): Knex.QueryBuilder =>
      k(table)
        .select({ b: k.raw(`(?? / ${size})`, [column]) })
        .count({ n: '*' })
        .where(column, '>=', from)
        .where(column, '<', to)
        .groupByRaw(`(?? / ${size})`, [column]);
    const [pushes, delivered, failed] = await Promise.all([
      perBucket('pushes', 'received_at') as unknown as Promise<Counted>,
      // A delivery reaches `delivered` with an attempt of that outcome: a sync one when its target
      // answered, an async one when its callback said so (the callback's attempt row). Read by the
      // attempts' index on started_at: an index on deliveries.delivered_at would cost every delivery a
      // write for the sake of a chart.
      perBucket('attempts', 'started_at').where('outcome', 'delivered') as unknown as Promise<Counted>,
      perBucket('attempts', 'started_at').whereIn('outcome', FAILED_OUTCOMES) as unknown as Promise<Counted>,
    ]);
    const buckets = new Map<number, ThroughputBucket>();
    const at = (b: number | string): ThroughputBucket => {
      const start = Number(b) * bucketMs;
      let found = buckets.get(start);
      if (!found) {
        found = { at: start, pushes: 0, deliveries: 0, failures: 0 };
        buckets.set(start, found);
      }
      return found;
    };
    for (const r of pushes) at(r.b).pushes += Number(r.n);
    for (const r of delivered) at(r.b).deliveries += Number(r.n);
    for (const r of failed) at(r.b).failures += Number(r.n);
    return [...buckets.values()].sort((a, b) => a.at - b.at);
  }

  /** Deliveries not finished now: every state but delivered and discarded (whatever states there are). */
  async queueDepth(): Promise<number> {
    const row = (await this.#knex('deliveries').count({ n: '*' }).whereNotIn('state', ['delivered', 'discarded']).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  #omEvents(): Knex.QueryBuilder {
    return this.#knex('events').select('id', 'order_key', 'received_at', 'payload').where('source', 'oracle-om').whereNot('status', 'duplicate').whereNotNull('order_key');
  }

  #ordersWithTimes(shippedTopics: readonly string[]): Knex.QueryBuilder {
    const k = this.#knex;
    const topics = shippedTopics.length > 0 ? [...shippedTopics] : ['\u0000'];
    const marks = topics.map(() => '?').join(', ');
    // A webhook names the order by ShipBob's id, or by the gateway's reference id when it has none.
    const webhookOf = `e.source = 'shipbob' and e.order_key in ('shipbob:' || so.shipbob_order_id, 'shipbob-ref:' || so.reference_id) and e.event_code in (${marks}) and e.status <> 'duplicate'`;
    return k({ so: 'shipbob_orders' })
      .select('so.*')
      .select(k.raw(`(select min(e.received_at) from events e where ${webhookOf}) as shipped_at`, topics))
      .select(k.raw(`(select min(d.delivered_at) from events e join deliveries d on d.event_id = e.id where ${webhookOf}) as written_back_at`, topics));
  }
}

interface OmEventRow {
  id: string;
  order_key: string;
  received_at: number | string;
  payload: string;
}

interface FunnelOrderRow extends ShipBobOrderRow {
  shipped_at: number | string | null;
  written_back_at: number | string | null;
}

function toOmEvent(r: OmEventRow): FunnelOmEvent {
  return { orderKey: r.order_key, receivedAt: Number(r.received_at), payload: r.payload };
}

function toFunnelOrder(r: FunnelOrderRow): FunnelShipBobOrder {
  return { ...toShipBobOrder(r), shippedAt: r.shipped_at === null ? null : Number(r.shipped_at), writtenBackAt: r.written_back_at === null ? null : Number(r.written_back_at) };
}

function capped<T>(rows: T[], limit: number): Capped<T> {
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

function chunks(values: readonly string[]): string[][] {
  const unique = [...new Set(values)];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += CHUNK) out.push(unique.slice(i, i + CHUNK));
  return out;
}
