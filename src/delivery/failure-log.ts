import type { Logger } from '../log.ts';

/** How often a cycle that keeps failing is logged again. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * Logs the delivery cycle failing: the first failure, then at most one line a minute with how many
 * failed since, and one line when a cycle works again. While the store is down the worker retries
 * every poll interval (100 ms by default), which would otherwise write ten error lines a second.
 */
export class FailureLog {
  readonly #logger: Logger;
  #failures = 0;
  #since = 0;
  #loggedAt = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  failed(err: unknown, now: number): void {
    this.#failures++;
    if (this.#failures === 1) {
      this.#since = now;
      this.#loggedAt = now;
      this.#logger.error({ err }, 'delivery cycle failed; retrying after the poll interval');
    } else if (now - this.#loggedAt >= FAILURE_LOG_INTERVAL_MS) {
      this.#loggedAt = now;
      this.#logger.error({ err, failures: this.#failures, failingSince: new Date(this.#since).toISOString() }, 'delivery cycle still failing');
    }
  }

  succeeded(now: number): void {
    if (this.#failures === 0) return;
    this.#logger.info({ failures: this.#failures, failedForMs: now - this.#since }, 'delivery cycles work again');
    this.#failures = 0;
  }
}
