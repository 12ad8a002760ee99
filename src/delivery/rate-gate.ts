import type { Clock } from '../domain/clock.ts';
import type { RateLimit } from '../domain/rate.ts';

/** The shared rate windows (ConnectorStateRepository.takeTokens): in the database, so every instance counts in one. */
export interface RateWindows {
  takeTokens(connector: string, limit: RateLimit, want: number, now: () => number): Promise<{ granted: number; retryAt: number }>;
}

export type RateGateResult = { granted: true } | { granted: false; retryAt: number };

/**
 * Waits for a place in a rate-limited connector's window for one request, for at most `maxWaitMs`.
 * The worker takes a place for each delivery before it sends (a delivery over the rate goes back
 * unsent); this gate is for the further requests of a delivery that makes several (kind: shipbob),
 * which is already under way and so waits for its turn instead.
 */
export type RateGate = (connector: string, limit: RateLimit, maxWaitMs: number) => Promise<RateGateResult>;

export function createRateGate(windows: RateWindows, clock: Clock): RateGate {
  return async (connector, limit, maxWaitMs) => {
    const deadline = clock.now() + maxWaitMs;
    for (;;) {
      const { granted, retryAt } = await windows.takeTokens(connector, limit, 1, () => clock.now());
      if (granted > 0) return { granted: true };
      // Another instance or delivery may take the place that frees at retryAt first: then this asks again.
      if (retryAt > deadline) return { granted: false, retryAt };
      await clock.sleep(retryAt - clock.now());
    }
  };
}
