import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';

/** Delivery states after which a delivery is finished for good (nothing will send it again by itself). */
const FINISHED = ['delivered', 'discarded'];
const CHUNK = 500;

export interface RetentionRunRow {
  id: string;
  slot_key: string;
  started_at: number;
  finished_at: number | null;
  owner: string | null;
  removed: string | null;
  error: string | null;
}

/**
 * The retention job's queries. Every delete takes a bounded batch, so a large backlog is removed in
 * many short transactions that let ingest and delivery go on in between.
 *
 * What may be removed:
 * - an event older than the cut-off whose deliveries are all delivered or discarded and did not
 *   change since the cut-off (with its deliveries, their attempts, recovery-run items and the
 *   correlation ids they were sent with); unrouted and duplicate events (no deliveries) by age
 *   alone. Parked and unfinished deliveries keep their event, always;
 * - a push older than the cut-off whose events are all gone;
 * - audit records older than their own (longer) cut-off, and recovery/retention runs likewise;
 * - expired WS-Security nonces, and dedupe keys older than the dedupe window.
 */
export class RetentionRepository {
  readonly #knex: Knex;
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#knex = backend.knex;
    this.#backend = backend;
  }

  /** Claims a retention slot: true for exactly one caller per slot key across instances. */
  async claimSlot(run: { id: string; slotKey: string; owner: string; now: number }): Promise<boolean> {
    const inserted = (await this.#knex('retention_runs')
      .insert({ id: run.id, slot_key: run.slotKey, started_at: run.now, owner: run.owner })
      .onConflict('slot_key')
      .ignore()
      .returning('id')) as Array<{ id: string }>;
    return inserted.length === 1;
  }

  /** Records what a run removed (or why it stopped) and its audit record, in one transaction. */
  async finishRun(id: string, now: number, removed: Record<string, number>, error: string | null, audit: AuditInput): Promise<void> {
    await this.#knex.transaction(async (trx) => {
      await trx('retention_runs').where({ id }).update({ finished_at: now, removed: JSON.stringify(removed), error });
      await trx('audit_records').insert(auditRow(audit));
    });
  }

  async runs(limit: number): Promise<RetentionRunRow[]> {
    return (await this.#knex('retention_runs').orderBy('started_at', 'desc').limit(limit)) as RetentionRunRow[];
  }

  /**
   * Removes one batch of finished events received before `cutoff` whose deliveries all finished
   * before it, with their deliveries, attempts, recovery-run items and correlation ids. Returns
   * what it removed.
   */
  async removeFinishedEvents(cutoff: number, batchSize: number): Promise<{ scanned: number; events: number; deliveries: number; attempts: number }> {
    const k = this.#knex;
    const candidates = ((await k('events as e')
      .select('e.id')
      .where('e.received_at', '<', cutoff)
      .whereNotExists(
        k('deliveries as d')
          .select(k.raw('1'))
          .whereRaw('d.event_id = e.id')
          .andWhere((w) => w.whereNotIn('d.state', FINISHED).orWhere('d.updated_at', '>=', cutoff)),
      )
      .orderBy('e.received_at')
      .limit(batchSize)) as Array<{ id: string }>).map((r) => r.id);
    if (candidates.length === 0) return { scanned: 0, events: 0, deliveries: 0, attempts: 0 };

    return k.transaction(async (trx) => {
      // Lock the candidates' deliveries, then check again: a replay may have moved one since.
      const deliveries: Array<{ id: string; event_id: string; state: string; updated_at: number | string }> = [];
      for (let i = 0; i < candidates.length; i += CHUNK) {
        const chunk = candidates.slice(i, i + CHUNK);
        const sql = `select id, event_id, state, updated_at from deliveries where event_id in (${chunk.map(() => '?').join(', ')}) ${this.#backend.forUpdate}`;
        const result: unknown = await trx.raw(sql, chunk);
        deliveries.push(...this.#backend.rowsOf<(typeof deliveries)[number]>(result));
      }
      const blocked = new Set(deliveries.filter((d) => !FINISHED.includes(d.state) || Number(d.updated_at) >= cutoff).map((d) => d.event_id));
      const eventIds = candidates.filter((id) => !blocked.has(id));
      const deliveryIds = deliveries.filter((d) => !blocked.has(d.event_id)).map((d) => d.id);
      let attempts = 0;
      let removedDeliveries = 0;
      let events = 0;
      for (let i = 0; i < deliveryIds.length; i += CHUNK) {
        const chunk = deliveryIds.slice(i, i + CHUNK);
        attempts += await trx('attempts').whereIn('delivery_id', chunk).delete();
        await trx('recovery_run_items').whereIn('delivery_id', chunk).delete();
        await trx('delivery_correlations').whereIn('delivery_id', chunk).delete();
        removedDeliveries += await trx('deliveries').whereIn('id', chunk).delete();
      }
      for (let i = 0; i < eventIds.length; i += CHUNK) {
        events += await trx('events').whereIn('id', eventIds.slice(i, i + CHUNK)).delete();
      }
      return { scanned: candidates.length, events, deliveries: removedDeliveries, attempts };
    });
  }

  /** Removes one batch of pushes received before `cutoff` that have no events left. */
  async removeEmptyPushes(cutoff: number, batchSize: number): Promise<number> {
    const k = this.#knex;
    const ids = ((await k('pushes as p')
      .select('p.id')
      .where('p.received_at', '<', cutoff)
      .whereNotExists(k('events as e').select(k.raw('1')).whereRaw('e.push_id = p.id'))
      .orderBy('p.received_at')
      .limit(batchSize)) as Array<{ id: string }>).map((r) => r.id);
    if (ids.length === 0) return 0;
    // Checked again in the delete itself: an event cannot be added to an old push, but be exact.
    return k('pushes')
      .whereIn('id', ids)
      .whereNotExists(k('events').select(k.raw('1')).whereRaw('events.push_id = pushes.id'))
      .delete();
  }

  /** Removes one batch of audit records older than `cutoff`. */
  async removeAuditRecords(cutoff: number, batchSize: number): Promise<number> {
    return this.#deleteBatch('audit_records', 'id', (q) => q.where('at', '<', cutoff), batchSize);
  }

  /** Removes one batch of recovery runs (with their items) and retention runs that started before `cutoff`. */
  async removeJobRuns(cutoff: number, batchSize: number): Promise<number> {
    const k = this.#knex;
    const runIds = ((await k('recovery_runs')
      .select('id')
      .where('started_at', '<', cutoff)
      .whereNotIn('state', ['running', 'interrupted'])
      .orderBy('started_at')
      .limit(batchSize)) as Array<{ id: string }>).map((r) => r.id);
    let removed = 0;
    if (runIds.length > 0) {
      removed += await k.transaction(async (trx): Promise<number> => {
        await trx('recovery_run_items').whereIn('run_id', runIds).delete();
        return await trx('recovery_runs').whereIn('id', runIds).delete();
      });
    }
    removed += await this.#deleteBatch('retention_runs', 'id', (q) => q.where('started_at', '<', cutoff).whereNotNull('finished_at'), batchSize);
    removed += await this.#deleteBatch('poller_runs', 'id', (q) => q.where('started_at', '<', cutoff).whereNotNull('finished_at'), batchSize);
    return removed;
  }

  /** Removes one batch of WS-Security nonces that have expired (a replay of them is refused by their Created time anyway). */
  async removeExpiredNonces(now: number, batchSize: number): Promise<number> {
    return this.#deleteBatch('ws_nonces', 'nonce_key', (q) => q.where('expires_at', '<', now), batchSize);
  }

  /** Removes one batch of dedupe keys last seen before `cutoff` (the start of the dedupe window). */
  async removeDedupeKeys(cutoff: number, batchSize: number): Promise<number> {
    const k = this.#knex;
    const rows = (await k('dedupe_keys').select('scope', 'hash').where('seen_at', '<', cutoff).orderBy('seen_at').limit(batchSize)) as Array<{ scope: string; hash: string }>;
    if (rows.length === 0) return 0;
    let removed = 0;
    // Composite keys: delete per scope, re-checking the age in case the key was claimed again.
    const byScope = new Map<string, string[]>();
    for (const r of rows) byScope.set(r.scope, [...(byScope.get(r.scope) ?? []), r.hash]);
    for (const [scope, hashes] of byScope) {
      for (let i = 0; i < hashes.length; i += CHUNK) {
        removed += await k('dedupe_keys').where({ scope }).whereIn('hash', hashes.slice(i, i + CHUNK)).andWhere('seen_at', '<', cutoff).delete();
      }
    }
    return removed;
  }

  async #deleteBatch(table: string, key: string, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder, batchSize: number): Promise<number> {
    const k = this.#knex;
    const ids = ((await where(k(table).select(key)).orderBy(key).limit(batchSize)) as Array<Record<string, string>>).map((r) => r[key] as string);
    if (ids.length === 0) return 0;
    let removed = 0;
    for (let i = 0; i < ids.length; i += CHUNK) removed += await where(k(table).whereIn(key, ids.slice(i, i + CHUNK))).delete();
    return removed;
  }
}
