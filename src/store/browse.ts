import type { Knex } from 'knex';
import { applyDeliveryFilter, likePattern, type DeliveryFilter } from './delivery-actions.ts';
import {
  toAttempt,
  toAuditRecord,
  toDelivery,
  toPush,
  toStoredEvent,
  type AttemptRow,
  type AuditRecordRow,
  type DeliveryRow,
  type EventRow,
  type PushRow,
} from './rows/mapping.ts';
import type { AuditRecord } from '../domain/audit.ts';
import { appliesFrom, type Attempt, type Delivery } from '../domain/delivery.ts';
import type { Push, StoredEvent } from '../domain/event.ts';

/**
 * Read-only queries for the operator surface (admin API, CLI): events, pushes, deliveries, attempts
 * and audit records, newest first, with keyset paging on the time-ordered ids (a page ends where the
 * next begins, however many rows arrive meanwhile). Values from users only ever go into bound
 * parameters.
 */

export interface PageRequest {
  limit: number;
  /** The last id of the previous page: the next page holds older rows. */
  cursor?: string | undefined;
}

export interface Page<T> {
  rows: T[];
  /** The cursor of the next page, or null on the last page. */
  next: string | null;
}

export interface EventCriteria {
  ids?: string[] | undefined;
  eventCodes?: string[] | undefined;
  sources?: string[] | undefined;
  statuses?: string[] | undefined;
  orderKey?: string | undefined;
  pushId?: string | undefined;
  /** received_at >= from, received_at < to (epoch ms). */
  from?: number | undefined;
  to?: number | undefined;
}

export interface AttemptCriteria {
  deliveryIds?: string[] | undefined;
  connectors?: string[] | undefined;
  outcomes?: string[] | undefined;
  /** Case-insensitive substring of error_message. */
  errorContains?: string | undefined;
  /** started_at >= from, started_at < to (epoch ms). */
  from?: number | undefined;
  to?: number | undefined;
}

export interface AuditCriteria {
  actions?: string[] | undefined;
  directions?: string[] | undefined;
  connectors?: string[] | undefined;
  eventId?: string | undefined;
  deliveryId?: string | undefined;
  actor?: string | undefined;
  results?: string[] | undefined;
  /** at >= from, at < to (epoch ms). */
  from?: number | undefined;
  to?: number | undefined;
}

export interface QueueStats {
  /** Deliveries due now (pending or retrying, next attempt time reached). */
  due: number;
  /** The earliest next attempt time among them, or null when none is due. */
  oldestDueAt: number | null;
}

export interface ConnectorCounts {
  connector: string;
  state: string;
  count: number;
}

export class BrowseRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async deliveries(criteria: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    const q = this.#knex('deliveries').select('*');
    applyDeliveryFilter(q, criteria);
    return this.#page(q, 'deliveries.id', page, toDelivery);
  }

  async delivery(id: string): Promise<Delivery | null> {
    const row = (await this.#knex('deliveries').where({ id }).first()) as DeliveryRow | undefined;
    return row ? toDelivery(row) : null;
  }

  /** Every delivery of these events, oldest first. */
  async deliveriesOfEvents(eventIds: string[]): Promise<Delivery[]> {
    if (eventIds.length === 0) return [];
    return ((await this.#knex('deliveries').whereIn('event_id', eventIds).orderBy('id', 'asc')) as DeliveryRow[]).map(toDelivery);
  }

  async events(criteria: EventCriteria, page: PageRequest): Promise<Page<StoredEvent>> {
    const q = this.#knex('events').select('*');
    if (criteria.ids !== undefined) q.whereIn('id', criteria.ids);
    if (criteria.eventCodes !== undefined) q.whereIn('event_code', criteria.eventCodes);
    if (criteria.sources !== undefined) q.whereIn('source', criteria.sources);
    if (criteria.statuses !== undefined) q.whereIn('status', criteria.statuses);
    if (criteria.orderKey !== undefined) q.where('order_key', criteria.orderKey);
    if (criteria.pushId !== undefined) q.where('push_id', criteria.pushId);
    if (criteria.from !== undefined) q.where('received_at', '>=', criteria.from);
    if (criteria.to !== undefined) q.where('received_at', '<', criteria.to);
    return this.#page(q, 'events.id', page, toStoredEvent);
  }

  async event(id: string): Promise<StoredEvent | null> {
    const row = (await this.#knex('events').where({ id }).first()) as EventRow | undefined;
    return row ? toStoredEvent(row) : null;
  }

  async push(id: string): Promise<Push | null> {
    const row = (await this.#knex('pushes').where({ id }).first()) as PushRow | undefined;
    return row ? toPush(row) : null;
  }

  async attempts(criteria: AttemptCriteria, page: PageRequest): Promise<Page<Attempt>> {
    const q = this.#knex('attempts').join('deliveries', 'deliveries.id', 'attempts.delivery_id').select('attempts.*', 'deliveries.connector');
    if (criteria.deliveryIds !== undefined) q.whereIn('attempts.delivery_id', criteria.deliveryIds);
    if (criteria.connectors !== undefined) q.whereIn('deliveries.connector', criteria.connectors);
    if (criteria.outcomes !== undefined) q.whereIn('attempts.outcome', criteria.outcomes);
    if (criteria.errorContains !== undefined) {
      q.whereRaw(`lower(coalesce(attempts.error_message, '')) like ? escape '\\'`, [likePattern(criteria.errorContains)]);
    }
    if (criteria.from !== undefined) q.where('attempts.started_at', '>=', criteria.from);
    if (criteria.to !== undefined) q.where('attempts.started_at', '<', criteria.to);
    return this.#page(q, 'attempts.id', page, toAttempt);
  }

  /** Every attempt of these deliveries, in the order they were made. */
  async attemptsOf(deliveryIds: string[]): Promise<Attempt[]> {
    if (deliveryIds.length === 0) return [];
    const rows = (await this.#knex('attempts')
      .join('deliveries', 'deliveries.id', 'attempts.delivery_id')
      .select('attempts.*', 'deliveries.connector')
      .whereIn('attempts.delivery_id', deliveryIds)
      .orderBy('attempts.id', 'asc')) as AttemptRow[];
    return rows.map(toAttempt);
  }

  async audit(criteria: AuditCriteria, page: PageRequest): Promise<Page<AuditRecord>> {
    const q = this.#knex('audit_records').select('*');
    if (criteria.actions !== undefined) q.whereIn('action', criteria.actions);
    if (criteria.directions !== undefined) q.whereIn('direction', criteria.directions);
    if (criteria.connectors !== undefined) q.whereIn('connector', criteria.connectors);
    if (criteria.results !== undefined) q.whereIn('result', criteria.results);
    if (criteria.eventId !== undefined) q.where('event_id', criteria.eventId);
    if (criteria.deliveryId !== undefined) q.where('delivery_id', criteria.deliveryId);
    if (criteria.actor !== undefined) q.where('actor', criteria.actor);
    if (criteria.from !== undefined) q.where('at', '>=', criteria.from);
    if (criteria.to !== undefined) q.where('at', '<', criteria.to);
    return this.#page(q, 'audit_records.id', page, toAuditRecord);
  }

  /** The audit records about an event or about any of some deliveries, oldest first. */
  async auditAbout(about: { eventId?: string; deliveryIds?: string[] }, limit = 500): Promise<AuditRecord[]> {
    const q = this.#knex('audit_records').select('*').orderBy('id', 'asc').limit(limit);
    q.where((w) => {
      if (about.eventId !== undefined) w.orWhere('event_id', about.eventId);
      if (about.deliveryIds !== undefined && about.deliveryIds.length > 0) w.orWhereIn('delivery_id', about.deliveryIds);
    });
    if (about.eventId === undefined && (about.deliveryIds === undefined || about.deliveryIds.length === 0)) return [];
    return ((await q) as AuditRecordRow[]).map(toAuditRecord);
  }

  /** Deliveries per connector and state. */
  async deliveryCounts(): Promise<ConnectorCounts[]> {
    const rows = (await this.#knex('deliveries').select('connector', 'state').count({ n: '*' }).groupBy('connector', 'state')) as Array<{
      connector: string;
      state: string;
      n: number | string;
    }>;
    return rows.map((r) => ({ connector: r.connector, state: r.state, count: Number(r.n) }));
  }

  /** Parked deliveries per connector and reason (the parking lot as /metrics shows it). */
  async parkedByReason(): Promise<Array<{ connector: string; reason: string; count: number }>> {
    const rows = (await this.#knex('deliveries')
      .select('connector', 'parked_reason')
      .count({ n: '*' })
      .where({ state: 'parked' })
      .groupBy('connector', 'parked_reason')) as Array<{ connector: string; parked_reason: string | null; n: number | string }>;
    return rows.map((r) => ({ connector: r.connector, reason: r.parked_reason ?? 'unknown', count: Number(r.n) }));
  }

  /**
   * Per connector with deliveries due now (in a state a claim takes, next attempt time reached): how
   * many, and the time the oldest has been waiting since. Read from the shared store, so every
   * instance reports the same values (the /metrics gauges, the connector overview).
   */
  async dueByConnector(now: number): Promise<Map<string, QueueStats>> {
    const rows = (await this.#knex('deliveries')
      .select('connector')
      .count({ n: '*' })
      .min({ oldest: 'next_attempt_at' })
      .whereIn('state', appliesFrom('claim'))
      .andWhere('next_attempt_at', '<=', now)
      .groupBy('connector')) as Array<{ connector: string; n: number | string; oldest: number | string | null }>;
    return new Map(rows.map((r) => [r.connector, { due: Number(r.n), oldestDueAt: r.oldest === null ? null : Number(r.oldest) }]));
  }

  async #page<R extends { id: string }, T>(q: Knex.QueryBuilder, idColumn: string, page: PageRequest, map: (row: R) => T): Promise<Page<T>> {
    if (page.cursor !== undefined) q.where(idColumn, '<', page.cursor);
    q.orderBy(idColumn, 'desc').limit(page.limit + 1);
    const rows = (await q) as R[];
    const more = rows.length > page.limit;
    const shown = more ? rows.slice(0, page.limit) : rows;
    return { rows: shown.map(map), next: more ? (shown[shown.length - 1]?.id ?? null) : null };
  }
}
