/**
 * ShipBob's limit: "150 requests per-minute using a sliding window ... totalled per user, per
 * application across calls to any of the ShipBob APIs" (rate-limit page). A sliding log: the times of
 * the granted requests of the last window; a request is granted while fewer than `limit` lie in it.
 */
export class SlidingWindowLimiter {
  readonly limit: number;
  readonly windowMs: number;
  #granted: number[] = [];

  constructor(limit: number, windowMs = 60_000) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`rate limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /**
   * Counts one request at `now` (epoch ms). Granted: `remaining` calls are left in the window.
   * Refused: nothing is counted and `retryAfterSeconds` says when the oldest call leaves the window.
   */
  hit(now: number): { granted: boolean; remaining: number; retryAfterSeconds: number } {
    this.#prune(now);
    if (this.#granted.length < this.limit) {
      this.#granted.push(now);
      return { granted: true, remaining: this.limit - this.#granted.length, retryAfterSeconds: 0 };
    }
    const oldest = this.#granted[0] ?? now;
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
    return { granted: false, remaining: 0, retryAfterSeconds };
  }

  #prune(now: number): void {
    // A clock that went back keeps the entries; only those a full window old leave.
    let drop = 0;
    while (drop < this.#granted.length && (this.#granted[drop] ?? 0) <= now - this.windowMs) drop++;
    if (drop > 0) this.#granted.splice(0, drop);
  }
}
