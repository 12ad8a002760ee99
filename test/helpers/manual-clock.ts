import type { Clock } from '../../src/domain/clock.ts';

/** A clock that moves only when the test says so; sleepers wake when their time has come. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Array<{ at: number; ms: number; resolve: () => void }> = [];
  #watchers: Array<{ match: (ms: number) => boolean; resolve: () => void }> = [];

  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const entry = { at: this.#now + Math.max(0, ms), ms, resolve: () => resolve() };
      this.#sleepers.push(entry);
      for (const w of this.#watchers.filter((x) => x.match(ms))) {
        this.#watchers = this.#watchers.filter((x) => x !== w);
        w.resolve();
      }
      signal?.addEventListener(
        'abort',
        () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== entry);
          resolve();
        },
        { once: true },
      );
    });
  }

  /**
   * Resolves once something is asleep on this clock for a duration that `match` accepts (already, or
   * from now on): the moment a test may move time and know that the sleeper sees it.
   */
  sleeping(match: (ms: number) => boolean): Promise<void> {
    if (this.#sleepers.some((s) => match(s.ms))) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ match, resolve }));
  }

  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.at <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.at > this.#now);
    for (const s of due) s.resolve();
  }

  set(at: number): void {
    this.advance(Math.max(0, at - this.#now));
  }
}
