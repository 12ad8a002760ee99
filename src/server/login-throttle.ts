import type { Clock } from '../domain/clock.ts';

/**
 * Slows down guessing of credentials, per source address, without locking anyone out: Oracle OM's
 * pods share outbound addresses, so a lockout triggered by an attacker behind the same address would
 * stop the real pushes. After `freeFailures` failed logins from one source, each further failure is
 * answered only after a delay that doubles (from `baseDelayMs` up to `maxDelayMs`). A success from
 * that source clears it, and so do `quietMs` without a failure (a quiet period rather than a fixed
 * window, so a steady flood never starts over at no delay).
 *
 * Memory is bounded: at most `maxSources` sources are tracked, the least recently failing dropped
 * first. The delay is waited on the injected clock, so tests move time instead of waiting.
 */
export interface LoginThrottleOptions {
  freeFailures: number;
  quietMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxSources: number;
}

const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  freeFailures: 10,
  quietMs: 15 * 60_000,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxSources: 10_000,
};

/** What the SOAP endpoint and the admin API call around a credential check. */
export interface LoginGuard {
  /** Counts a failed login from `source` and resolves once its delay has passed (the ms waited). */
  failed(source: string | null): Promise<number>;
  /** A successful login from `source`: its failures are forgotten. */
  succeeded(source: string | null): void;
}

interface Failures {
  count: number;
  lastAt: number;
}

export class LoginThrottle implements LoginGuard {
  readonly #clock: Clock;
  readonly #options: LoginThrottleOptions;
  /** In order of the latest failure (a Map keeps insertion order): the first entry is dropped first. */
  readonly #sources = new Map<string, Failures>();
  /** Aborted at stop: delayed answers go out at once instead of holding the shutdown. */
  readonly #closing = new AbortController();

  constructor(clock: Clock, options: Partial<LoginThrottleOptions> = {}) {
    this.#clock = clock;
    this.#options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  async failed(source: string | null): Promise<number> {
    const key = source ?? 'unknown';
    const now = this.#clock.now();
    const before = this.#sources.get(key);
    const count = before && now - before.lastAt < this.#options.quietMs ? before.count + 1 : 1;
    this.#sources.delete(key);
    this.#sources.set(key, { count, lastAt: now });
    while (this.#sources.size > this.#options.maxSources) {
      const oldest = this.#sources.keys().next();
      if (oldest.done) break;
      this.#sources.delete(oldest.value);
    }
    const delay = this.delayAfter(count);
    if (delay > 0) await this.#clock.sleep(delay, this.#closing.signal);
    return delay;
  }

  succeeded(source: string | null): void {
    this.#sources.delete(source ?? 'unknown');
  }

  /** The delay of the `count`-th failure in a row: none for the free ones, then doubling to the cap. */
  delayAfter(count: number): number {
    const over = count - this.#options.freeFailures;
    if (over <= 0) return 0;
    // 2 ** 30 is far past any cap; the exponent is bounded so the number stays finite.
    return Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** Math.min(over - 1, 30));
  }

  /** Ends every delay now waited (the gateway is stopping). */
  close(): void {
    this.#closing.abort();
  }

  /** Sources tracked now (for tests and the bound). */
  get size(): number {
    return this.#sources.size;
  }
}
