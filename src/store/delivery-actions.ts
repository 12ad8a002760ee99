import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';
import { deliveryUpdate, toDelivery, type DeliveryRow } from './rows/mapping.ts';
import { patchOf, type Delivery, type DeliveryState, type OperatorAction } from '../domain/delivery.ts';

/**
 * The queries behind operator actions on deliveries (replay, discard, hold, release) and behind
 * browsing deliveries (the filter). What an action writes comes from the domain's DELIVERY_TRANSITIONS. Every value a user gives goes into a bound parameter, never into SQL text.
 */

/**
 * Which deliveries an operator action or a listing is about: every given criterion must hold (an
 * empty list matches nothing). The one shape the admin API, the CLI, the services and these queries share.
 */
export interface DeliveryFilter {
  /** Delivery ids. Choosing by id is what allows replaying a delivered delivery. */
  ids?: string[] | undefined;
  /** Event ids: all deliveries of those events (every connector). */
  eventIds?: string[] | undefined;
  connectors?: string[] | undefined;
  states?: DeliveryState[] | undefined;
  eventCodes?: string[] | undefined;
  orderKey?: string | undefined;
  /** Case-insensitive substring of the delivery's last error. */
  errorContains?: string | undefined;
  /** created_at >= from (epoch ms). */
  from?: number | undefined;
  /** created_at < to (epoch ms). */
  to?: number | undefined;
}

/** Escapes LIKE wildcards so that user text matches literally. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function applyDeliveryFilter(q: Knex.QueryBuilder, c: DeliveryFilter, table = 'deliveries'): Knex.QueryBuilder {
  const col = (name: string) => `${table}.${name}`;
  if (c.ids !== undefined) q.whereIn(col('id'), c.ids);
  if (c.eventIds !== undefined) q.whereIn(col('event_id'), c.eventIds);
  if (c.connectors !== undefined) q.whereIn(col('connector'), c.connectors);
  if (c.states !== undefined) q.whereIn(col('state'), c.states);
  if (c.eventCodes !== undefined) q.whereIn(col('event_code'), c.eventCodes);
  if (c.orderKey !== undefined) q.where(col('order_key'), c.orderKey);
  if (c.errorContains !== undefined) {
    q.whereRaw(`lower(coalesce(${col('last_error')}, '')) like ? escape '\\'`, [likePattern(c.errorContains)]);
  }
  if (c.from !== undefined) q.where(col('created_at'), '>=', c.from);
  if (c.to !== undefined) q.where(col('created_at'), '<', c.to);
  return q;
}

export interface ApplyBatchInput {
  action: OperatorAction;
  criteria: DeliveryFilter;
  /** Only deliveries in these states change (checked again at update time): appliesFrom(action). */
  states: DeliveryState[];
  /** Continue after this id (ids ascending). */
  afterId: string | null;
  limit: number;
  now: number;
  /** The operator's reason: stored as admin_reason by hold and discard (DELIVERY_TRANSITIONS). */
  reason: string | null;
  /** The audit record for one changed delivery (`before`: the delivery as it was). */
  audit: (before: Delivery) => AuditInput;
}

export interface ApplyBatchResult {
  /** The last id looked at (continue after it), or null when nothing was left. */
  lastId: string | null;
  /** The deliveries as they are after the change. */
  changed: Delivery[];
  /** The same deliveries as they were before it, in the same order. */
  before: Delivery[];
}

export class DeliveryActionsRepository {
  readonly #knex: Knex;
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#knex = backend.knex;
    this.#backend = backend;
  }

  /** How many deliveries match, per state. */
  async countByState(criteria: DeliveryFilter): Promise<Map<DeliveryState, number>> {
    const q = this.#knex('deliveries').select('state').count({ n: '*' }).groupBy('state');
    applyDeliveryFilter(q, criteria);
    const rows = (await q) as Array<{ state: DeliveryState; n: number | string }>;
    return new Map(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Matching deliveries in the given states, oldest first. */
  async inStates(criteria: DeliveryFilter, states: DeliveryState[], limit: number): Promise<Delivery[]> {
    const q = this.#knex('deliveries').select('*').whereIn('state', states).orderBy('id', 'asc').limit(limit);
    applyDeliveryFilter(q, criteria);
    return ((await q) as DeliveryRow[]).map(toDelivery);
  }

  /**
   * One batch of an action, in one transaction: picks up to `limit` matching deliveries in `states`
   * (oldest first, after `afterId`), changes those still in one of `states`, and writes one audit
   * record per changed delivery. On PostgreSQL the picked rows are locked first, so a worker that is
   * claiming one of them at the same moment either wins (and the row is skipped as in flight) or waits.
   */
  async applyBatch(input: ApplyBatchInput): Promise<ApplyBatchResult> {
    return this.#knex.transaction(async (trx) => {
      const q = trx('deliveries').select('*').whereIn('state', input.states).orderBy('id', 'asc').limit(input.limit);
      applyDeliveryFilter(q, input.criteria);
      if (input.afterId !== null) q.where('id', '>', input.afterId);
      // PostgreSQL: other instances' workers claim at the same time (SQLite has one writer).
      if (this.#backend.forUpdate !== '') q.forUpdate();
      const picked = ((await q) as DeliveryRow[]).map(toDelivery);
      if (picked.length === 0) return { lastId: null, changed: [], before: [] };
      const changed = (
        (await trx('deliveries')
          .whereIn(
            'id',
            picked.map((d) => d.id),
          )
          .whereIn('state', input.states)
          .update(deliveryUpdate(patchOf(input.action, { reason: input.reason }, input.now)))
          .returning('*')) as DeliveryRow[]
      ).map(toDelivery);
      changed.sort((a, b) => (a.id < b.id ? -1 : 1));
      const pickedById = new Map(picked.map((d) => [d.id, d]));
      const before = changed.map((d) => pickedById.get(d.id) ?? d);
      const audits = before.map((d) => auditRow(input.audit(d)));
      for (let i = 0; i < audits.length; i += 200) await trx('audit_records').insert(audits.slice(i, i + 200));
      // Replayed and released deliveries are due now: every instance's worker may take them at once.
      await this.#backend.announceDue(trx, changed.filter((d) => d.state === 'pending').map((d) => d.connector));
      return { lastId: picked[picked.length - 1]?.id ?? null, changed, before };
    });
  }
}
