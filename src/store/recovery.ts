import type { Knex } from 'knex';
import { auditRow, type AuditInput } from './rows/audit.ts';
import { recoveryRunRow, toRecoveryRun, toRecoveryRunItem, type RecoveryItemRow, type RecoveryRunRow } from './rows/mapping.ts';
import type {
  RecoveryFilters,
  RecoveryItemState,
  RecoveryRun,
  RecoveryRunItem,
  RecoveryRunState,
  RecoveryRunWithOutcome,
  RecoveryTrigger,
} from '../domain/recovery.ts';
import { PARK_REASONS_FOR_A_PERSON } from '../domain/retry.ts';

export interface NewRecoveryRun {
  id: string;
  slotKey: string;
  trigger: RecoveryTrigger;
  scheduledFor: number;
  now: number;
  owner: string;
  leaseUntil: number;
  filters: RecoveryFilters;
  batchCap: number;
  actor: string | null;
}

const ACTIVE_RUN_STATES: RecoveryRunState[] = ['running', 'interrupted'];
const OPEN_ITEM_STATES: RecoveryItemState[] = ['selected', 'replaying'];
const CHUNK = 200;

/**
 * Recovery runs and the deliveries each one selected. A run row is created once per slot (unique
 * `slot_key`); its batch is chosen and recorded in the same transaction, so a run either exists with
 * its whole batch or not at all. Each item moves selected → replaying → replayed | skipped; the
 * owner holds a lease that a later run may take over when it has expired.
 */
export class RecoveryRunRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /**
   * Creates the run for a slot and records its batch: parked deliveries matching the filters, but
   * not those that wait for a person (PARK_REASONS_FOR_A_PERSON), longest parked first, at most
   * `batchCap`, leaving out deliveries that another unfinished run still has to replay. Returns null
   * when the slot already has a run (another instance, or an earlier attempt).
   */
  async create(run: NewRecoveryRun): Promise<{ run: RecoveryRun; selected: number } | null> {
    return this.#knex.transaction(async (trx) => {
      const created: RecoveryRun = {
        id: run.id,
        slotKey: run.slotKey,
        trigger: run.trigger,
        scheduledFor: run.scheduledFor,
        startedAt: run.now,
        finishedAt: null,
        state: 'running',
        owner: run.owner,
        leaseExpiresAt: run.leaseUntil,
        filters: JSON.stringify(run.filters),
        batchCap: run.batchCap,
        selected: 0,
        replayed: 0,
        skipped: 0,
        resumes: 0,
        error: null,
        actor: run.actor,
      };
      const inserted = (await trx('recovery_runs').insert(recoveryRunRow(created)).onConflict('slot_key').ignore().returning('id')) as Array<{ id: string }>;
      if (inserted.length === 0) return null;
      const q = trx('deliveries as d')
        .select('d.id')
        .where('d.state', 'parked')
        // A change the target refused waits for a person: replaying it would only be refused again.
        .where((w) => w.whereNull('d.parked_reason').orWhereNotIn('d.parked_reason', PARK_REASONS_FOR_A_PERSON))
        .whereNotExists(
          trx('recovery_run_items as i')
            .join('recovery_runs as r', 'r.id', 'i.run_id')
            .select(trx.raw('1'))
            .whereRaw('i.delivery_id = d.id')
            .whereIn('i.state', OPEN_ITEM_STATES)
            .whereIn('r.state', ACTIVE_RUN_STATES)
            .andWhereNot('r.id', run.id),
        )
        // Longest parked first: a delivery that failed again after a replay goes to the back.
        .orderBy('d.updated_at')
        .orderBy('d.id')
        .limit(run.batchCap);
      if (run.filters.connectors.length > 0) q.whereIn('d.connector', run.filters.connectors);
      if (run.filters.eventCodes.length > 0) q.whereIn('d.event_code', run.filters.eventCodes);
      if (run.filters.createdSince !== null) q.where('d.created_at', '>=', run.filters.createdSince);
      const ids = ((await q) as Array<{ id: string }>).map((r) => r.id);
      const items = ids.map((id, seq) => ({ run_id: run.id, delivery_id: id, seq, state: 'selected', marked_at: null }));
      for (let i = 0; i < items.length; i += CHUNK) await trx('recovery_run_items').insert(items.slice(i, i + CHUNK));
      await trx('recovery_runs').where({ id: run.id }).update({ selected: ids.length });
      return { run: { ...created, selected: ids.length }, selected: ids.length };
    });
  }

  async get(id: string): Promise<RecoveryRun | undefined> {
    const row = (await this.#knex('recovery_runs').where({ id }).first()) as RecoveryRunRow | undefined;
    return row && toRecoveryRun(row);
  }

  async getBySlot(slotKey: string): Promise<RecoveryRun | undefined> {
    const row = (await this.#knex('recovery_runs').where({ slot_key: slotKey }).first()) as RecoveryRunRow | undefined;
    return row && toRecoveryRun(row);
  }

  /** Runs that need someone to finish them: stopped on an error, or whose owner's lease has expired. */
  async abandoned(now: number): Promise<RecoveryRun[]> {
    const rows = (await this.#knex('recovery_runs')
      .where((w) => w.where('state', 'interrupted').orWhere((r) => r.where('state', 'running').andWhere('lease_expires_at', '<', now)))
      .orderBy('started_at')) as RecoveryRunRow[];
    return rows.map(toRecoveryRun);
  }

  /**
   * Takes over an abandoned run (compare-and-set on its state and lease), so that of several
   * instances exactly one continues it.
   */
  async takeOver(id: string, owner: string, now: number, leaseUntil: number): Promise<RecoveryRun | null> {
    const n = await this.#knex('recovery_runs')
      .where({ id })
      .andWhere((w) => w.where('state', 'interrupted').orWhere((r) => r.where('state', 'running').andWhere('lease_expires_at', '<', now)))
      .update({ state: 'running', owner, lease_expires_at: leaseUntil, error: null, resumes: this.#knex.raw('resumes + 1') });
    if (n !== 1) return null;
    return (await this.get(id)) ?? null;
  }

  /** The next items still to replay, in selection order ('replaying' ones first come from an interrupted chunk). */
  async openItems(runId: string, limit: number): Promise<RecoveryRunItem[]> {
    const rows = (await this.#knex('recovery_run_items')
      .where({ run_id: runId })
      .whereIn('state', OPEN_ITEM_STATES)
      .orderBy('seq')
      .limit(limit)) as RecoveryItemRow[];
    return rows.map(toRecoveryRunItem);
  }

  /**
   * Marks a chunk as being replayed, before the replay is sent, and renews the lease. Returns false
   * when this instance no longer owns the run.
   */
  async markReplaying(runId: string, owner: string, deliveryIds: string[], now: number, leaseUntil: number): Promise<boolean> {
    return this.#knex.transaction(async (trx) => {
      const owned = await trx('recovery_runs').where({ id: runId, owner, state: 'running' }).update({ lease_expires_at: leaseUntil });
      if (owned !== 1) return false;
      await trx('recovery_run_items').where({ run_id: runId, state: 'selected' }).whereIn('delivery_id', deliveryIds).update({ state: 'replaying', marked_at: now });
      return true;
    });
  }

  /**
   * Of the given deliveries, those this run has replayed: the replay writes one audit record per
   * delivery, naming the run, in the same transaction as the state change, so the record is the
   * proof (it survives a crash between the replay's commit and the item update).
   */
  async replayedByRun(runId: string, deliveryIds: string[], replayAction: string): Promise<Set<string>> {
    if (!/^[0-9A-Z]{26}$/.test(runId)) throw new Error(`not a run id: ${runId.slice(0, 40)}`);
    const found = new Set<string>();
    for (let i = 0; i < deliveryIds.length; i += CHUNK) {
      const rows = (await this.#knex('audit_records')
        .distinct('delivery_id')
        .whereIn('delivery_id', deliveryIds.slice(i, i + CHUNK))
        .andWhere('action', replayAction)
        // Run ids are ULIDs: no LIKE wildcards to escape.
        .andWhere('detail', 'like', `%"runId":"${runId}"%`)) as Array<{ delivery_id: string }>;
      for (const r of rows) found.add(r.delivery_id);
    }
    return found;
  }

  /** Records the outcome of a chunk: which were replayed and which were skipped (no longer parked). */
  async completeItems(runId: string, replayed: string[], skipped: string[]): Promise<void> {
    if (replayed.length === 0 && skipped.length === 0) return;
    await this.#knex.transaction(async (trx) => {
      if (replayed.length > 0) {
        await trx('recovery_run_items').where({ run_id: runId }).whereIn('delivery_id', replayed).whereIn('state', OPEN_ITEM_STATES).update({ state: 'replayed' });
      }
      if (skipped.length > 0) {
        await trx('recovery_run_items').where({ run_id: runId }).whereIn('delivery_id', skipped).whereIn('state', OPEN_ITEM_STATES).update({ state: 'skipped' });
      }
      const counts = (await trx('recovery_run_items')
        .select('state')
        .count({ n: '*' })
        .where({ run_id: runId })
        .groupBy('state')) as Array<{ state: RecoveryItemState; n: number | string }>;
      const of = (s: RecoveryItemState): number => Number(counts.find((c) => c.state === s)?.n ?? 0);
      await trx('recovery_runs').where({ id: runId }).update({ replayed: of('replayed'), skipped: of('skipped') });
    });
  }

  /** Ends a run (finished, or interrupted with the error) and writes its audit record in the same transaction. */
  async end(runId: string, owner: string, state: 'finished' | 'interrupted', now: number, error: string | null, audit: AuditInput | null): Promise<void> {
    await this.#knex.transaction(async (trx) => {
      await trx('recovery_runs')
        .where({ id: runId, owner })
        .update({
          state,
          finished_at: state === 'finished' ? now : null,
          lease_expires_at: state === 'finished' ? null : now,
          error,
        });
      if (audit) await trx('audit_records').insert(auditRow(audit));
    });
  }

  /** The latest runs, newest first, with how their replayed deliveries stand now. */
  async history(limit: number): Promise<RecoveryRunWithOutcome[]> {
    const rows = (await this.#knex('recovery_runs').orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit)) as RecoveryRunRow[];
    return this.#withOutcomes(rows.map(toRecoveryRun));
  }

  async withOutcome(run: RecoveryRun): Promise<RecoveryRunWithOutcome> {
    const [out] = await this.#withOutcomes([run]);
    return out as RecoveryRunWithOutcome;
  }

  async #withOutcomes(runs: RecoveryRun[]): Promise<RecoveryRunWithOutcome[]> {
    if (runs.length === 0) return [];
    const rows = (await this.#knex('recovery_run_items as i')
      .join('deliveries as d', 'd.id', 'i.delivery_id')
      .select('i.run_id', 'd.state')
      .count({ n: '*' })
      .whereIn(
        'i.run_id',
        runs.map((r) => r.id),
      )
      .andWhere('i.state', 'replayed')
      .whereIn('d.state', ['parked', 'delivered'])
      .groupBy('i.run_id', 'd.state')) as Array<{ run_id: string; state: string; n: number | string }>;
    const count = (runId: string, state: string): number => Number(rows.find((r) => r.run_id === runId && r.state === state)?.n ?? 0);
    return runs.map((r) => ({ ...r, stillFailing: count(r.id, 'parked'), delivered: count(r.id, 'delivered') }));
  }
}
