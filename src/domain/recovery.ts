/**
 * Recovery runs: the replays of the parking lot on a schedule or by hand (src/jobs/recovery.ts),
 * as the store keeps them. Pure types, no I/O.
 */

export type RecoveryRunState = 'running' | 'finished' | 'interrupted';
export type RecoveryTrigger = 'schedule' | 'manual';
export type RecoveryItemState = 'selected' | 'replaying' | 'replayed' | 'skipped';

/** Which parked deliveries a recovery run takes. Empty lists mean "all". */
export interface RecoveryFilters {
  connectors: string[];
  eventCodes: string[];
  /** Only deliveries created at or after this time (now minus `maxAge`). */
  createdSince: number | null;
  /** The `maxAge` it came from (kept for the run's summary). */
  maxAgeMs: number | null;
}

/** One run: its slot, its owner's lease and its counts. */
export interface RecoveryRun {
  id: string;
  /** Unique: `schedule:<slot time>` for a scheduled run, so one run per slot. */
  slotKey: string;
  trigger: RecoveryTrigger;
  scheduledFor: number;
  startedAt: number;
  finishedAt: number | null;
  state: RecoveryRunState;
  owner: string | null;
  leaseExpiresAt: number | null;
  /** The RecoveryFilters as JSON text. */
  filters: string;
  batchCap: number;
  selected: number;
  replayed: number;
  skipped: number;
  resumes: number;
  error: string | null;
  actor: string | null;
}

/** A delivery a run selected, and how far the run got with it. */
export interface RecoveryRunItem {
  runId: string;
  deliveryId: string;
  seq: number;
  state: RecoveryItemState;
  markedAt: number | null;
}

/** A run with the outcome of its replayed deliveries as they stand now. */
export interface RecoveryRunWithOutcome extends RecoveryRun {
  /** Replayed by the run and parked again since. */
  stillFailing: number;
  /** Replayed by the run and delivered since. */
  delivered: number;
}
