import { expect } from 'chai';
import { createRateGate, type TokenBuckets } from '../../../src/delivery/rate-gate.ts';
import { fullBucket, refill, take, type Bucket, type RateLimit } from '../../../src/domain/rate.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

/** The store's takeTokens, in memory: the same bucket arithmetic, one bucket per connector. */
class MemoryBuckets implements TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  calls = 0;
  async takeTokens(connector: string, limit: RateLimit, want: number, now: number): Promise<{ granted: number; retryAt: number }> {
    this.calls++;
    const bucket = refill(limit, this.#buckets.get(connector) ?? fullBucket(limit, now), now);
    const n = Math.min(want, Math.floor(bucket.tokens));
    const taken = take(limit, bucket, now, Math.max(n, 1));
    this.#buckets.set(connector, n > 0 ? taken.bucket : bucket);
    return n > 0 ? { granted: n, retryAt: now } : { granted: 0, retryAt: taken.retryAt };
  }
}

describe('createRateGate', () => {
  const limit: RateLimit = { requests: 2, per: 60_000 };

  it('grants at once while the bucket has tokens', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(new MemoryBuckets(), clock);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
  });

  it('waits on the clock for the next token and grants it then, not before', async () => {
    const clock = new ManualClock();
    const buckets = new MemoryBuckets();
    const gate = createRateGate(buckets, clock);
    await gate('shipbob', limit, 60_000);
    await gate('shipbob', limit, 60_000);
    let settled = false;
    const third = gate('shipbob', limit, 60_000).then((r) => {
      settled = true;
      return r;
    });
    // One token per 30 s: the gate sleeps for exactly that.
    await clock.sleeping((ms) => ms === 30_000);
    clock.advance(29_999);
    await Promise.resolve();
    expect(settled).to.equal(false);
    clock.advance(1);
    expect(await third).to.deep.equal({ granted: true });
  });

  it('refuses with the time of the next token when it would come after maxWaitMs, without waiting', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(new MemoryBuckets(), clock);
    await gate('shipbob', limit, 5_000);
    await gate('shipbob', limit, 5_000);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: false, retryAt: clock.now() + 30_000 });
  });

  it('keeps one bucket per connector', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(new MemoryBuckets(), clock);
    await gate('shipbob', limit, 0);
    await gate('shipbob', limit, 0);
    expect(await gate('fusion', limit, 0)).to.deep.equal({ granted: true });
  });
});
