import { EventEmitter } from 'node:events';
import { formatDuration, parseDuration } from '../config/units.ts';
import { GatewayError } from '../domain/errors.ts';
import type { DeliveryActions } from '../services/delivery-actions.ts';
import type { RecoveryFilters, RecoveryRun, RecoveryRunWithOutcome, RecoveryTrigger } from '../domain/recovery.ts';
import type { ScheduledRunDeps } from './run-deps.ts';

/**
 * The recovery run: replays the parking lot on a schedule (and by hand), with a batch cap and
 * optional filters (connectors, event codes, max age).
 *
 * - Once per slot: the run row's slot key is unique (`schedule:<slot time>`), so of several
 *   instances firing for the same slot exactly one creates the run; the others skip.
 * - The batch is chosen once, when the run is created, and recorded item by item in the same
 *   transaction. It is replayed in chunks through DeliveryActions.replay (state change, attempt
 *   counters of the cycle reset, history kept, an audit record per delivery naming the run).
 * - A crash (or an error) mid-run leaves the remaining items open; the next run (or the same slot
 *   entered again) first takes over such runs and finishes them. A chunk that was being replayed when
 *   the run stopped is checked against the audit trail, so no delivery is replayed twice by one run.
 * - Each run ends with its summary in `recovery_runs` and an audit record (`recovery.run`, direction
 *   admin). "Still failing" is counted when read: deliveries the run replayed that are parked again.
 */

/** The audit action DeliveryActions writes for each replayed delivery. */
const REPLAY_AUDIT_ACTION = 'delivery.replayed';
const RECOVERY_ACTOR = 'recovery-run';

/** Replays the given parked deliveries for a run. The real one is DeliveryActions; tests wrap it. */
export interface Replayer {
  replay(deliveryIds: string[], run: { runId: string; reason: string }): Promise<void>;
}

export function operationsReplayer(operations: DeliveryActions): Replayer {
  return {
    async replay(deliveryIds, run) {
      await operations.replay({ ids: deliveryIds, states: ['parked'] }, { actor: RECOVERY_ACTOR, runId: run.runId, reason: run.reason });
    },
  };
}

export interface RecoveryDeps extends ScheduledRunDeps {
  replayer: Replayer;
  /** Deliveries per replay transaction (default 100). */
  chunkSize?: number;
  /** How long a run may go without progress before another instance may take it over (default 10 minutes). */
  leaseMs?: number;
}

/** What the admin API and the CLI show for a run. */
export interface RecoveryRunSummary {
  id: string;
  trigger: RecoveryTrigger;
  slot: string;
  scheduledFor: string;
  startedAt: string;
  finishedAt: string | null;
  state: 'running' | 'finished' | 'interrupted';
  filters: { connectors: string[]; eventCodes: string[]; maxAge: string | null };
  batchCap: number;
  /** Parked deliveries the run took (at most batchCap). */
  selected: number;
  /** Of those, replayed (back to pending). */
  replayed: number;
  /** Of those, no longer parked when their turn came (replayed or discarded by someone else meanwhile). */
  skipped: number;
  /** Replayed by this run and parked again since (as of now). */
  stillFailing: number;
  /** Replayed by this run and delivered since (as of now). */
  delivered: number;
  /** How many times the run was taken over after a crash or an error. */
  resumes: number;
  error: string | null;
  actor: string | null;
}

export type RecoveryOutcome =
  | { status: 'ran'; run: RecoveryRunSummary; resumed: RecoveryRunSummary[] }
  | { status: 'skipped'; reason: 'already_ran' | 'running_elsewhere' | 'disabled'; run: RecoveryRunSummary | null; resumed: RecoveryRunSummary[] };

/** A manual run's options; what is not given comes from gateway.yaml's schedules.recovery. */
export interface RecoverNowOptions {
  connectors?: string[];
  eventCodes?: string[];
  /** "7d", or milliseconds. */
  maxAge?: string | number;
  /** At most this many deliveries (default: the configured batchCap). */
  limit?: number;
  /** Who asked: `cli:<user>`, `admin-api`. */
  actor: string;
}

/** Emits 'run' (RecoveryRunSummary) whenever a run ends, finished or interrupted. */
export class RecoveryService extends EventEmitter {
  readonly #deps: RecoveryDeps;
  readonly #chunk: number;
  readonly #leaseMs: number;

  constructor(deps: RecoveryDeps) {
    super();
    this.#deps = deps;
    this.#chunk = deps.chunkSize ?? 100;
    this.#leaseMs = deps.leaseMs ?? 10 * 60_000;
  }

  /** The scheduled job: the run for one slot (the slot's time, the same on every instance). */
  async runScheduled(slot: number): Promise<RecoveryOutcome> {
    const settings = this.#deps.config().gateway.schedules.recovery;
    if (!settings.enabled) return { status: 'skipped', reason: 'disabled', run: null, resumed: [] };
    const now = this.#deps.clock.now();
    return this.#run({
      trigger: 'schedule',
      slotKey: `schedule:${new Date(slot).toISOString()}`,
      scheduledFor: slot,
      filters: {
        connectors: settings.connectors,
        eventCodes: settings.eventCodes,
        createdSince: settings.maxAge === undefined ? null : now - settings.maxAge,
        maxAgeMs: settings.maxAge ?? null,
      },
      batchCap: settings.batchCap,
      actor: RECOVERY_ACTOR,
    });
  }

  /** A run now, by hand (`omgw recover --now`, the admin API). Not limited to one per slot. */
  async runNow(options: RecoverNowOptions): Promise<RecoveryOutcome> {
    const config = this.#deps.config();
    const settings = config.gateway.schedules.recovery;
    const known = new Set(config.connectors.map((c) => c.name));
    const connectors = options.connectors ?? settings.connectors;
    const unknown = connectors.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new GatewayError('BAD_REQUEST', `no connector named ${unknown.map((c) => `"${c}"`).join(', ')} (connectors: ${[...known].join(', ') || 'none'})`);
    }
    const eventCodes = options.eventCodes ?? settings.eventCodes;
    if ([...connectors, ...eventCodes].some((v) => typeof v !== 'string' || v.length === 0 || v.length > 300)) {
      throw new GatewayError('BAD_REQUEST', 'connectors and event codes must be non-empty names');
    }
    const maxAge = options.maxAge === undefined ? (settings.maxAge ?? null) : toMs(options.maxAge);
    const limit = options.limit ?? settings.batchCap;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new GatewayError('BAD_REQUEST', 'limit must be a whole number from 1 to 100000');
    if (!options.actor) throw new GatewayError('BAD_REQUEST', 'an actor is required');
    const now = this.#deps.clock.now();
    const id = this.#deps.newId();
    return this.#run({
      id,
      trigger: 'manual',
      slotKey: `manual:${id}`,
      scheduledFor: now,
      filters: { connectors, eventCodes, createdSince: maxAge === null ? null : now - maxAge, maxAgeMs: maxAge },
      batchCap: limit,
      actor: options.actor,
    });
  }

  /** The latest runs, newest first. */
  async history(limit = 20): Promise<RecoveryRunSummary[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new GatewayError('BAD_REQUEST', 'limit must be a whole number from 1 to 500');
    return (await this.#deps.store.recoveryRuns.history(limit)).map(summarise);
  }

  async get(id: string): Promise<RecoveryRunSummary | null> {
    const row = await this.#deps.store.recoveryRuns.get(id);
    return row ? summarise(await this.#deps.store.recoveryRuns.withOutcome(row)) : null;
  }

  async #run(spec: {
    id?: string;
    trigger: RecoveryTrigger;
    slotKey: string;
    scheduledFor: number;
    filters: RecoveryFilters;
    batchCap: number;
    actor: string;
  }): Promise<RecoveryOutcome> {
    const { store, clock, instanceId, logger } = this.#deps;
    // First finish what earlier runs left (a crash, an error), this slot's own run included.
    const resumed = await this.#resumeAbandoned();
    const now = clock.now();
    const created = await store.recoveryRuns.create({
      id: spec.id ?? this.#deps.newId(),
      slotKey: spec.slotKey,
      trigger: spec.trigger,
      scheduledFor: spec.scheduledFor,
      now,
      owner: instanceId,
      leaseUntil: now + this.#leaseMs,
      filters: spec.filters,
      batchCap: spec.batchCap,
      actor: spec.actor,
    });
    if (!created) {
      const existing = await store.recoveryRuns.getBySlot(spec.slotKey);
      const own = resumed.find((r) => r.slot === spec.slotKey);
      if (own) return { status: 'ran', run: own, resumed: resumed.filter((r) => r !== own) };
      const run = existing ? summarise(await store.recoveryRuns.withOutcome(existing)) : null;
      const reason = existing?.state === 'finished' ? 'already_ran' : 'running_elsewhere';
      logger.info({ slot: spec.slotKey, reason, runId: existing?.id }, 'recovery run skipped: this slot has its run');
      return { status: 'skipped', reason, run, resumed };
    }
    logger.info(
      { runId: created.run.id, slot: spec.slotKey, trigger: spec.trigger, selected: created.selected, batchCap: spec.batchCap, filters: spec.filters },
      'recovery run started',
    );
    const run = await this.#process(created.run);
    return { status: 'ran', run, resumed };
  }

  /** Takes over and finishes runs whose owner stopped (error) or vanished (lease expired). */
  async #resumeAbandoned(): Promise<RecoveryRunSummary[]> {
    const { store, clock, instanceId, logger } = this.#deps;
    const out: RecoveryRunSummary[] = [];
    for (const candidate of await store.recoveryRuns.abandoned(clock.now())) {
      const now = clock.now();
      const run = await store.recoveryRuns.takeOver(candidate.id, instanceId, now, now + this.#leaseMs);
      if (!run) continue; // another instance took it
      logger.warn({ runId: run.id, slot: run.slotKey, previousOwner: candidate.owner, error: candidate.error }, 'recovery run resumed');
      out.push(await this.#process(run));
    }
    return out;
  }

  /** Replays a run's open items chunk by chunk, then ends the run. Never throws for a replay failure: the run is left interrupted. */
  async #process(run: RecoveryRun): Promise<RecoveryRunSummary> {
    const { store, clock, instanceId, logger, replayer } = this.#deps;
    const reason = `recovery run ${run.id} (${run.trigger === 'schedule' ? `slot ${new Date(run.scheduledFor).toISOString()}` : 'manual'})`;
    let error: string | null = null;
    let lost = false;
    try {
      for (;;) {
        const items = await store.recoveryRuns.openItems(run.id, this.#chunk);
        if (items.length === 0) break;
        const ids = items.map((i) => i.deliveryId);
        // Items still marked 'replaying' come from a chunk that stopped midway: the audit trail says which went through.
        const interrupted = items.filter((i) => i.state === 'replaying').map((i) => i.deliveryId);
        const already = await store.recoveryRuns.replayedByRun(run.id, interrupted, REPLAY_AUDIT_ACTION);
        const todo = ids.filter((id) => !already.has(id));
        const now = clock.now();
        if (!(await store.recoveryRuns.markReplaying(run.id, instanceId, ids, now, now + this.#leaseMs))) {
          lost = true;
          logger.warn({ runId: run.id }, 'recovery run taken over by another instance; stopping here');
          break;
        }
        if (todo.length > 0) await replayer.replay(todo, { runId: run.id, reason });
        const replayed = await store.recoveryRuns.replayedByRun(run.id, ids, REPLAY_AUDIT_ACTION);
        await store.recoveryRuns.completeItems(
          run.id,
          ids.filter((id) => replayed.has(id)),
          ids.filter((id) => !replayed.has(id)),
        );
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      logger.error({ err, runId: run.id }, 'recovery run interrupted; the next run finishes it');
    }
    const current = (await store.recoveryRuns.get(run.id)) ?? run;
    if (lost) return summarise(await store.recoveryRuns.withOutcome(current));
    const state = error === null ? 'finished' : 'interrupted';
    const now = clock.now();
    const ended: RecoveryRun = { ...current, state, finishedAt: state === 'finished' ? now : null, error };
    const summary = summarise(await store.recoveryRuns.withOutcome(ended));
    await store.recoveryRuns.end(run.id, instanceId, state, now, error, {
      id: this.#deps.newId(),
      at: now,
      direction: 'admin',
      action: 'recovery.run',
      result: state,
      actor: run.actor ?? RECOVERY_ACTOR,
      detail: {
        runId: run.id,
        trigger: run.trigger,
        slot: run.slotKey,
        selected: summary.selected,
        replayed: summary.replayed,
        skipped: summary.skipped,
        resumes: summary.resumes,
        filters: summary.filters,
        batchCap: summary.batchCap,
        error,
      },
    });
    logger.info(
      { runId: run.id, slot: run.slotKey, state, selected: summary.selected, replayed: summary.replayed, skipped: summary.skipped, error },
      'recovery run ended',
    );
    this.emit('run', summary);
    return summary;
  }
}

function toMs(value: string | number): number {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null || !Number.isFinite(ms) || ms <= 0) throw new GatewayError('BAD_REQUEST', `max age "${String(value).slice(0, 40)}" is not a duration (use e.g. 12h, 7d)`);
  return ms;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function summarise(r: RecoveryRunWithOutcome): RecoveryRunSummary {
  let filters: RecoveryFilters = { connectors: [], eventCodes: [], createdSince: null, maxAgeMs: null };
  try {
    filters = { ...filters, ...(JSON.parse(r.filters) as Partial<RecoveryFilters>) };
  } catch {
    // keep the empty filters
  }
  return {
    id: r.id,
    trigger: r.trigger,
    slot: r.slotKey,
    scheduledFor: new Date(r.scheduledFor).toISOString(),
    startedAt: new Date(r.startedAt).toISOString(),
    finishedAt: iso(r.finishedAt),
    state: r.state,
    filters: { connectors: filters.connectors, eventCodes: filters.eventCodes, maxAge: filters.maxAgeMs === null ? null : formatDuration(filters.maxAgeMs) },
    batchCap: r.batchCap,
    selected: r.selected,
    replayed: r.replayed,
    skipped: r.skipped,
    stillFailing: r.stillFailing,
    delivered: r.delivered,
    resumes: r.resumes,
    error: r.error,
    actor: r.actor,
  };
}
