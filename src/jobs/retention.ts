import { EventEmitter } from 'node:events';
import type { ScheduledRunDeps } from './run-deps.ts';

/**
 * The retention job: removes history the gateway no longer needs, in batches.
 *
 * - events older than `deliveredAfter` whose deliveries are all delivered or discarded (and did not
 *   change since the cut-off), with those deliveries and their attempts; unrouted and duplicate
 *   events by age alone. A parked or unfinished delivery keeps its event, however old;
 * - pushes older than `deliveredAfter` that have no events left;
 * - audit records (and recovery, retention and poller run records) older than `auditAfter`, kept longer on purpose;
 * - expired WS-Security nonces, and dedupe keys older than the longest dedupe window (SOAP, webhooks, poller).
 *
 * A scheduled run claims its slot in `retention_runs`, so several instances run it once per slot.
 * Each run records what it removed there, in an audit record (`retention.run`) and in the log.
 */

export type RetentionDeps = ScheduledRunDeps;

export interface RetentionRemoved {
  events: number;
  deliveries: number;
  attempts: number;
  pushes: number;
  auditRecords: number;
  jobRuns: number;
  nonces: number;
  dedupeKeys: number;
}

export type RetentionOutcome =
  | { status: 'ran'; runId: string; removed: RetentionRemoved; cutoffs: { delivered: string; audit: string; dedupe: string }; error: string | null }
  | { status: 'skipped'; reason: 'already_ran' | 'disabled' };

/** Emits 'run' (RetentionRemoved) after each run. */
export class RetentionJob extends EventEmitter {
  readonly #deps: RetentionDeps;

  constructor(deps: RetentionDeps) {
    super();
    this.#deps = deps;
  }

  /** The scheduled job for one slot: runs only on the instance that claims the slot. */
  async runScheduled(slot: number): Promise<RetentionOutcome> {
    if (!this.#deps.config().gateway.schedules.retention.enabled) return { status: 'skipped', reason: 'disabled' };
    return this.#run(`schedule:${new Date(slot).toISOString()}`);
  }

  /** A run now (tests, operators). */
  async runNow(): Promise<RetentionOutcome> {
    return this.#run(null);
  }

  async #run(slotKey: string | null): Promise<RetentionOutcome> {
    const { store, clock, logger, config } = this.#deps;
    const runId = this.#deps.newId();
    const startedAt = clock.now();
    const claimed = await store.retention.claimSlot({ id: runId, slotKey: slotKey ?? `manual:${runId}`, owner: this.#deps.instanceId, now: startedAt });
    if (!claimed) {
      logger.info({ slot: slotKey }, 'retention run skipped: another instance has this slot');
      return { status: 'skipped', reason: 'already_ran' };
    }
    const gateway = config().gateway;
    const settings = gateway.schedules.retention;
    const batch = settings.batchSize;
    const cutoffs = {
      delivered: startedAt - settings.deliveredAfter,
      audit: startedAt - settings.auditAfter,
      // Dedupe keys of every inbound path share one table: keep them for the longest window.
      dedupe: startedAt - Math.max(gateway.inbound.soap.dedupeWindow, gateway.inbound.webhooks.shipbob?.dedupeWindow ?? 0, gateway.schedules.poller.dedupeWindow),
    };
    const removed: RetentionRemoved = { events: 0, deliveries: 0, attempts: 0, pushes: 0, auditRecords: 0, jobRuns: 0, nonces: 0, dedupeKeys: 0 };
    let error: string | null = null;
    try {
      for (;;) {
        const r = await store.retention.removeFinishedEvents(cutoffs.delivered, batch);
        removed.events += r.events;
        removed.deliveries += r.deliveries;
        removed.attempts += r.attempts;
        // A short batch means nothing is left; a batch that removed nothing (all changed meanwhile) stops too.
        if (r.scanned < batch || r.events === 0) break;
      }
      removed.pushes = await drain((n) => store.retention.removeEmptyPushes(cutoffs.delivered, n), batch);
      removed.auditRecords = await drain((n) => store.retention.removeAuditRecords(cutoffs.audit, n), batch);
      removed.jobRuns = await drain((n) => store.retention.removeJobRuns(cutoffs.audit, n), batch);
      removed.nonces = await drain((n) => store.retention.removeExpiredNonces(startedAt, n), batch);
      removed.dedupeKeys = await drain((n) => store.retention.removeDedupeKeys(cutoffs.dedupe, n), batch);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      logger.error({ err, removed }, 'retention run failed; what was removed so far stays removed, the next run goes on');
    }
    const now = clock.now();
    const iso = (ms: number): string => new Date(ms).toISOString();
    await store.retention.finishRun(runId, now, { ...removed }, error, {
      id: this.#deps.newId(),
      at: now,
      direction: 'admin',
      action: 'retention.run',
      result: error === null ? 'ok' : 'failed',
      actor: 'retention',
      detail: { runId, slot: slotKey, removed, cutoffs: { delivered: iso(cutoffs.delivered), audit: iso(cutoffs.audit), dedupe: iso(cutoffs.dedupe) }, error },
    });
    logger.info({ runId, slot: slotKey, removed, durationMs: now - startedAt, error }, 'retention run ended');
    this.emit('run', removed);
    return { status: 'ran', runId, removed, cutoffs: { delivered: iso(cutoffs.delivered), audit: iso(cutoffs.audit), dedupe: iso(cutoffs.dedupe) }, error };
  }
}

/** Calls a batch delete until a batch comes back short. */
async function drain(batchDelete: (batchSize: number) => Promise<number>, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batchDelete(batchSize);
    total += n;
    if (n < batchSize) return total;
  }
}
