import type { Knex } from 'knex';
import type { AuditRecord } from '../domain/audit.ts';
import type { Attempt, Delivery } from '../domain/delivery.ts';
import type { StoredEvent } from '../domain/event.ts';
import type { ShipBobOrderRecord } from '../domain/shipbob-change.ts';
import { toAttempt, toAuditRecord, toDelivery, toStoredEvent, type AttemptRow, type AuditRecordRow, type DeliveryRow, type EventRow } from './rows/mapping.ts';
import { toShipBobOrder, type ShipBobOrderRow } from './rows/shipbob-order.ts';

/**
 * The read model of an order's journey (src/services/journey.ts): each read by an index (events by
 * order key and by id, deliveries by event, attempts and audit records by delivery, ShipBob orders
 * by order key, reference id and ShipBob order id) and bounded, a list cut at its limit saying so.
 */

export interface Capped<T> {
  rows: T[];
  /** More rows matched than the limit: the newest `limit` are given. */
  more: boolean;
}

/** How many order keys (or ids) one statement takes: more than any order has. */
const MAX_KEYS = 500;
/** How many source systems a source order number is tried with. */
const MAX_SOURCE_SYSTEMS = 50;

export class JourneyRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /**
   * The source systems OM events came from, by a loose scan of their index (one seek per system),
   * so that a source order number is tried as `<system>:<number>` without reading every event.
   */
  async sourceSystems(): Promise<string[]> {
    const systems: string[] = [];
    let after: string | null = null;
    while (systems.length < MAX_SOURCE_SYSTEMS) {
      const q = this.#knex('events').min({ s: 'source_system' }).whereNotNull('source_system');
      if (after !== null) q.where('source_system', '>', after);
      const row = (await q.first()) as { s: string | null } | undefined;
      const next = row?.s ?? null;
      if (next === null) break;
      systems.push(next);
      after = next;
    }
    return systems;
  }

  /** Which of these order keys events have, with their sources and source systems. */
  async keysWithEvents(orderKeys: string[]): Promise<Array<{ orderKey: string; source: string; sourceSystem: string | null }>> {
    const keys = unique(orderKeys);
    if (keys.length === 0) return [];
    const rows = (await this.#knex('events')
      .select('order_key', 'source', 'source_system')
      .whereIn('order_key', keys)
      .groupBy('order_key', 'source', 'source_system')
      .limit(MAX_KEYS)) as Array<{ order_key: string; source: string; source_system: string | null }>;
    return rows.map((r) => ({ orderKey: r.order_key, source: r.source, sourceSystem: r.source_system }));
  }

  /** The newest `limit` events of these order keys (and sources, when given), oldest first. */
  async events(orderKeys: string[], limit: number, sources?: readonly string[]): Promise<Capped<StoredEvent>> {
    const keys = unique(orderKeys);
    if (keys.length === 0) return { rows: [], more: false };
    const q = this.#knex('events').select('*').whereIn('order_key', keys);
    if (sources !== undefined) q.whereIn('source', [...sources]);
    return newest(q, 'id', limit, (r: EventRow) => toStoredEvent(r));
  }

  /** The newest `limit` deliveries of these events, oldest first. */
  async deliveries(eventIds: string[], limit: number): Promise<Capped<Delivery>> {
    const ids = unique(eventIds);
    if (ids.length === 0) return { rows: [], more: false };
    return newest(this.#knex('deliveries').select('*').whereIn('event_id', ids), 'id', limit, (r: DeliveryRow) => toDelivery(r));
  }

  /** The newest `limit` attempts of these deliveries, oldest first. */
  async attempts(deliveryIds: string[], limit: number): Promise<Capped<Attempt>> {
    const ids = unique(deliveryIds);
    if (ids.length === 0) return { rows: [], more: false };
    const q = this.#knex('attempts').join('deliveries', 'deliveries.id', 'attempts.delivery_id').select('attempts.*', 'deliveries.connector').whereIn('attempts.delivery_id', ids);
    return newest(q, 'attempts.id', limit, (r: AttemptRow) => toAttempt(r));
  }

  /** Operator actions on these deliveries (audit records of direction admin), the newest `limit`, oldest first. */
  async operatorActions(deliveryIds: string[], limit: number): Promise<Capped<AuditRecord>> {
    const ids = unique(deliveryIds);
    if (ids.length === 0) return { rows: [], more: false };
    const q = this.#knex('audit_records').select('*').whereIn('delivery_id', ids).where('direction', 'admin');
    return newest(q, 'id', limit, (r: AuditRecordRow) => toAuditRecord(r));
  }

  /** The ShipBob orders the gateway made for these order keys, or with these reference ids or ShipBob order ids. */
  async shipbobOrders(by: { orderKeys?: string[]; referenceIds?: string[]; shipbobOrderIds?: string[] }): Promise<ShipBobOrderRecord[]> {
    const orderKeys = unique(by.orderKeys ?? []);
    const references = unique(by.referenceIds ?? []);
    const orderIds = unique(by.shipbobOrderIds ?? []);
    if (orderKeys.length + references.length + orderIds.length === 0) return [];
    const rows = (await this.#knex('shipbob_orders')
      .select('*')
      .where((w) => {
        if (orderKeys.length > 0) w.orWhereIn('order_key', orderKeys);
        if (references.length > 0) w.orWhereIn('reference_id', references);
        if (orderIds.length > 0) w.orWhereIn('shipbob_order_id', orderIds);
      })
      .orderBy('created_at', 'asc')
      .limit(MAX_KEYS)) as ShipBobOrderRow[];
    return rows.map(toShipBobOrder);
  }
}

async function newest<R, T>(q: Knex.QueryBuilder, idColumn: string, limit: number, map: (row: R) => T): Promise<Capped<T>> {
  const rows = (await q.orderBy(idColumn, 'desc').limit(limit + 1)) as R[];
  const more = rows.length > limit;
  return { rows: (more ? rows.slice(0, limit) : rows).reverse().map(map), more };
}

function unique(values: string[]): string[] {
  return [...new Set(values)].slice(0, MAX_KEYS);
}
