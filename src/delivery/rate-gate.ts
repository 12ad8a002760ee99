import type { Clock } from '../domain/clock.ts';
import { isStalePlace, RATE_MARGIN_MS, type RateLimit, type RateTake } from '../domain/rate.ts';

/** The shared rate windows (ConnectorStateRepository): in the database, so every instance counts in one. */
export interface RateWindows {
  takeTokens(connector: string, limit: RateLimit, want: number, now: () => number): Promise<RateTake>;
  retakeToken(connector: string, limit: RateLimit, grantedAt: number, now: () => number): Promise<RateTake>;
}

export type RateGateResult = { granted: true } | { granted: false; retryAt: number };

/**
 * Waits for a place in a rate-limited connector's window for one request that is about to be
 * written, for at most `maxWaitMs`. The worker takes a place for each delivery before it sends (a
 * delivery over the rate goes back unsent) and passes its grant time as `held`; without it (the
 * further requests of a delivery that makes several, kind: shipbob, already under way) the request
 * waits for its turn.
 *
 * A place is used only while fresh (domain `isStalePlace`): one that has aged (a slow transform or
 * token fetch, a busy process, the database's own round trip) is taken again at the current time,
 * so that the time recorded stays close to when the request leaves, which is what the target counts.
 * After MAX_RETAKES in a row the request goes anyway: a process stalled that often cannot do better,
 * and the margin is what covers it.
 */
export type RateGate = (connector: string, limit: RateLimit, maxWaitMs: number, held?: number) => Promise<RateGateResult>;

const MAX_RETAKES = 3;

export function createRateGate(windows: RateWindows, clock: Clock): RateGate {
  return async (connector, limit, maxWaitMs, held) => {
    const margin = limit.margin ?? RATE_MARGIN_MS;
    const deadline = clock.now() + maxWaitMs;
    const now = () => clock.now();
    let place = held;
    let retakes = 0;
    for (;;) {
      if (place !== undefined && (!isStalePlace(place, clock.now(), margin) || retakes >= MAX_RETAKES)) return { granted: true };
      if (place !== undefined) retakes++;
      const take = place === undefined ? await windows.takeTokens(connector, limit, 1, now) : await windows.retakeToken(connector, limit, place, now);
      if (take.granted > 0) {
        place = take.at;
        continue;
      }
      place = undefined;
      // Another instance or delivery may take the place that frees at retryAt first: then this asks again.
      if (take.retryAt > deadline) return { granted: false, retryAt: take.retryAt };
      await clock.sleep(take.retryAt - clock.now());
    }
  };
}
