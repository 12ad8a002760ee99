/** A poller's position and runs (the purchase-order poller, src/inbound/poller/). */

/** Where a poller has read up to: LastUpdateDate as Fusion wrote it, and as epoch ms. */
export interface PollerCursor {
  cursor: string;
  cursorAt: number;
  /** False while the last run stopped at its page limit with more to read. */
  caughtUp: boolean;
  /** Then: how many changes within the cursor's second it read (the next run skips them). */
  resumeSkip: number;
  updatedAt: number;
}

export const POLLER_RUN_STATES = ['running', 'ok', 'failed', 'interrupted'] as const;
export type PollerRunState = (typeof POLLER_RUN_STATES)[number];

export interface PollerRun {
  id: string;
  poller: string;
  /** `schedule:<slot>` for a scheduled run, another key for a manual one. */
  slotKey: string;
  owner: string | null;
  startedAt: number;
  finishedAt: number | null;
  leaseUntil: number | null;
  state: PollerRunState;
  cursorBefore: string | null;
  cursorAfter: string | null;
  /** The run's counts, as JSON text. */
  summary: string | null;
  error: string | null;
}
