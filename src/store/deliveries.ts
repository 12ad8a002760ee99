import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { UNFINISHED_STATES, appliesFrom, patchOf, type Delivery, type HoldReason } from '../domain/delivery.ts';
import type { StoredEvent } from '../domain/event.ts';
import { sqlStates, type ClaimRequest, type CompletionInput } from './rows/delivery.ts';
import { deliveryUpdate, toDelivery, toStoredEvent, type DeliveryRow, type EventRow } from './rows/mapping.ts';

export type { AttemptInput, ClaimRequest, CompletionInput, Transition } from './rows/delivery.ts';

interface PendingCompletion {
  input: CompletionInput;
  resolve: (result: { applied: boolean }) => void;
  reject: (err: unknown) => void;
}

const MAX_COMPLETION_BATCH = 500;

/** Unfinished deliveries block later ones of the same connector and order key under strict ordering. */
const BLOCKING = sqlStates(UNFINISHED_STATES);

/** The claim's SET (its values bound in the order of deliveryUpdate's columns) and the states it takes. */
const CLAIM_SET = Object.keys(deliveryUpdate(patchOf('claim', { owner: '', leaseUntil: 0 }, 0)))
  .map((column) => `${column} = ?`)
  .join(', ');
const CLAIMABLE = sqlStates(appliesFrom('claim'));

/**
 * Up to `limit` due deliveries of one connector, oldest first, put in flight under the owner's lease.
 * Under strict ordering only the first unfinished delivery of each order key can be claimed. On
 * PostgreSQL, rows another instance is claiming at the same moment are skipped, not waited for.
 *
 * "First" and "oldest" are by `seq`, the place the database gave each delivery when its push was
 * stored (migration 009), not by id: ids come from the clock of the instance that took the push, and
 * an instance whose clock is behind would put a later event before an earlier one. The predicate and
 * the order are served by deliveries_order_index and deliveries_claim_seq_index.
 */
function claimQuery(req: ClaimRequest, skipLocked: string): { sql: string; params: Array<string | number | null> } {
  const ordering = req.strictOrdering
    ? `and (d.order_key is null or not exists (
         select 1 from deliveries e
         where e.connector = d.connector and e.order_key = d.order_key and e.seq < d.seq
           and e.state in ${BLOCKING}))`
    : '';
  const claim = deliveryUpdate(patchOf('claim', { owner: req.owner, leaseUntil: req.leaseUntil }, req.now));
  const sql = `
    update deliveries set ${CLAIM_SET}
    where id in (
      select d.id from deliveries d
      where d.connector = ? and d.state in ${CLAIMABLE} and d.next_attempt_at <= ?
      ${ordering}
      order by d.next_attempt_at, d.seq
      limit ?
      ${skipLocked}
    )
    returning *`;
  return { sql, params: [...Object.values(claim), req.connector, req.now, req.limit] };
}

/** A claimed row: the delivery's columns and its place in its order, which stays in the store. */
type ClaimedRow = DeliveryRow & { seq: number | string };

/** Claimed deliveries in the order of their places (the order an update's `returning` gives is not defined). */
function claimed(rows: ClaimedRow[]): Delivery[] {
  return [...rows].sort((a, b) => Number(a.seq) - Number(b.seq)).map(toDelivery);
}

/**
 * Deliveries: claiming with a lease, completing an attempt (attempt + state + audit in one
 * transaction), holds, and the ordering queries.
 */
export class DeliveryRepository {
  readonly #knex: Knex;
  readonly #backend: Backend;
  #completions: PendingCompletion[] = [];
  #completing = false;

  constructor(backend: Backend) {
    this.#knex = backend.knex;
    this.#backend = backend;
  }

  /**
   * Claims up to `limit` due deliveries of one connector, oldest first, with the events they deliver.
   * Under strict ordering only the first unfinished delivery of each order key can be claimed. On
   * PostgreSQL, rows another instance is claiming at the same moment are skipped, not waited for;
   * on SQLite the claim and the read of its events are one request to the connection's thread.
   */
  async claimWithEvents(req: ClaimRequest): Promise<{ deliveries: Delivery[]; events: Map<string, StoredEvent> }> {
    if (req.limit <= 0) return { deliveries: [], events: new Map() };
    const { sql, params } = claimQuery(req, this.#backend.skipLocked);
    // Each backend gives the rows as its driver read them: they are mapped here, like every other query's.
    const result = await this.#backend.claim(sql, params);
    const events = (result.events as unknown as EventRow[]).map(toStoredEvent);
    return { deliveries: claimed(result.rows as unknown as ClaimedRow[]), events: new Map(events.map((e) => [e.id, e])) };
  }

  /** Keeps the lease of deliveries still being sent. */
  async renewLeases(ids: string[], owner: string, leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#knex('deliveries').whereIn('id', ids).andWhere({ lease_owner: owner, state: 'in_flight' }).update({ lease_expires_at: leaseUntil });
  }

  /**
   * A worker that died mid-request leaves deliveries in flight; once their lease has expired they are
   * due again (at-least-once: the target's idempotency key makes the resend a no-op there).
   */
  async reclaimExpired(now: number, sending?: { owner: string; ids: readonly string[] }): Promise<number> {
    const q = this.#knex('deliveries')
      .whereIn('state', appliesFrom('reclaim'))
      .andWhere('lease_expires_at', '<', now);
    // The caller's own deliveries still on their way: it is alive and sending them, only its lease
    // renewal was late (an event loop stalled on a busy machine). Taking them back would send each
    // a second time from the same instance; their next renewal extends the lease.
    if (sending && sending.ids.length > 0) q.whereNot((w) => w.where('lease_owner', sending.owner).whereIn('id', [...sending.ids]));
    return q.update(deliveryUpdate(patchOf('reclaim', {}, now)));
  }

  /** Gives a claimed delivery back without an attempt (event give_back: rate limit, open circuit found after claiming). */
  async release(id: string, owner: string, nextAttemptAt: number, now: number): Promise<void> {
    await this.#knex('deliveries')
      .where({ id, lease_owner: owner })
      .whereIn('state', appliesFrom('give_back'))
      .update(deliveryUpdate(patchOf('give_back', { owner, nextAttemptAt }, now)));
  }

  /**
   * Records one attempt and the delivery's new state and an audit record, in one transaction. The
   * state changes only while this worker still holds the lease; the attempt is recorded either way,
   * because it happened.
   *
   * Group commit: completions that arrive while a transaction is being written are gathered into the
   * next one (a handful of statements for the whole group instead of five per delivery), and each
   * caller's promise settles after that commit. If a group fails, its completions are written one by
   * one, so that one bad completion cannot make the others fail.
   */
  complete(input: CompletionInput): Promise<{ applied: boolean }> {
    return new Promise((resolve, reject) => {
      this.#completions.push({ input, resolve, reject });
      if (!this.#completing) void this.#drainCompletions();
    });
  }

  async #drainCompletions(): Promise<void> {
    this.#completing = true;
    try {
      while (this.#completions.length > 0) {
        const batch = this.#completions.splice(0, MAX_COMPLETION_BATCH);
        try {
          const applied = await this.#backend.complete(batch.map((p) => p.input));
          batch.forEach((p, i) => p.resolve({ applied: applied[i] ?? false }));
        } catch (err) {
          if (batch.length === 1) {
            batch[0]?.reject(err);
            continue;
          }
          for (const p of batch) {
            try {
              const [applied] = await this.#backend.complete([p.input]);
              p.resolve({ applied: applied ?? false });
            } catch (single) {
              p.reject(single);
            }
          }
        }
      }
    } finally {
      this.#completing = false;
    }
  }

  /** Puts due deliveries of the given connectors on hold (maintenance or open circuit); no attempt is spent. */
  async hold(connector: string, reason: Exclude<HoldReason, 'admin'>, now: number): Promise<number> {
    return this.#knex('deliveries')
      .where('connector', connector)
      .whereIn('state', appliesFrom('connector_hold'))
      .update(deliveryUpdate(patchOf('connector_hold', { reason }, now)));
  }

  /** Releases held deliveries of a connector; each keeps its place in its order (seq). */
  async releaseHold(connector: string, reason: Exclude<HoldReason, 'admin'> | null, now: number): Promise<number> {
    const q = this.#knex('deliveries').where({ connector }).whereIn('state', appliesFrom('connector_release'));
    if (reason) q.andWhere('hold_reason', reason);
    return q.update(deliveryUpdate(patchOf('connector_release', {}, now)));
  }

  async findEvents(ids: string[]): Promise<Map<string, StoredEvent>> {
    const rows = (await this.#knex('events').whereIn('id', ids)) as EventRow[];
    return new Map(rows.map((r) => [r.id, toStoredEvent(r)]));
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = (await this.#knex('deliveries').where({ id }).first()) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  /**
   * Order keys that cannot move: the first unfinished delivery of a (connector, order key) is not
   * deliverable now (parked, on hold, waiting for a retry or for its response) while later ones wait behind it. First
   * and later by seq, as the claim decides them.
   */
  async blockedKeys(connector?: string, limit = 100): Promise<Array<{ connector: string; orderKey: string; blockedBy: string; blockerState: string; waiting: number }>> {
    const params: Array<string | number> = [];
    let filter = '';
    if (connector) {
      filter = 'and h.connector = ?';
      params.push(connector);
    }
    params.push(limit);
    const sql = `
      select h.connector, h.order_key, h.id as blocked_by, h.state as blocker_state,
        (select count(*) from deliveries w where w.connector = h.connector and w.order_key = h.order_key
           and w.seq > h.seq and w.state in ${BLOCKING}) as waiting
      from deliveries h
      where h.state in ('parked', 'on_hold', 'retrying', 'in_flight', 'awaiting_response') and h.order_key is not null ${filter}
        and not exists (select 1 from deliveries e where e.connector = h.connector and e.order_key = h.order_key
           and e.seq < h.seq and e.state in ${BLOCKING})
        and exists (select 1 from deliveries w where w.connector = h.connector and w.order_key = h.order_key
           and w.seq > h.seq and w.state in ${BLOCKING})
      order by h.seq
      limit ?`;
    const rows = this.#backend.rowsOf<{ connector: string; order_key: string; blocked_by: string; blocker_state: string; waiting: number | string }>(
      await this.#knex.raw(sql, params),
    );
    return rows.map((r) => ({ connector: r.connector, orderKey: r.order_key, blockedBy: r.blocked_by, blockerState: r.blocker_state, waiting: Number(r.waiting) }));
  }
}
