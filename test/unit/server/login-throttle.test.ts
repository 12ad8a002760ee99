import { expect } from 'chai';
import { LoginThrottle } from '../../../src/server/login-throttle.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

/** Starts a failed() and reports whether it has resolved yet, without waiting in real time. */
function track(p: Promise<number>): { done: () => boolean; value: Promise<number> } {
  let settled = false;
  const value = p.then((v) => {
    settled = true;
    return v;
  });
  return { done: () => settled, value };
}

const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LoginThrottle: a growing delay after repeated failed logins, per source', () => {
  it('lets 10 failures through at once, then delays each further one 250 ms, doubling up to 10 s', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    for (let i = 0; i < 10; i++) expect(await throttle.failed('10.0.0.1')).to.equal(0);
    const expected = [250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000];
    for (const ms of expected) {
      const started = clock.now();
      const pending = track(throttle.failed('10.0.0.1'));
      await clock.sleeping((d) => d === ms);
      await flushMicrotasks();
      expect(pending.done(), `answered before ${ms} ms had passed`).to.equal(false);
      clock.advance(ms - 1);
      await flushMicrotasks();
      expect(pending.done()).to.equal(false);
      clock.advance(1);
      expect(await pending.value).to.equal(ms);
      expect(clock.now() - started).to.equal(ms);
    }
  });

  it('forgets a source after a success from it, and after 15 minutes without a failure', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    for (let i = 0; i < 10; i++) await throttle.failed('a');
    throttle.succeeded('a');
    for (let i = 0; i < 10; i++) expect(await throttle.failed('a')).to.equal(0);
    clock.advance(15 * 60_000);
    for (let i = 0; i < 10; i++) expect(await throttle.failed('a')).to.equal(0);
    expect(throttle.delayAfter(11)).to.equal(250);
  });

  it('keeps sources apart (another address is not slowed), and tracks a bounded number of them', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, { maxSources: 3 });
    for (let i = 0; i < 10; i++) await throttle.failed('a');
    expect(await throttle.failed('b')).to.equal(0);
    for (const s of ['c', 'd', 'e']) await throttle.failed(s);
    expect(throttle.size).to.equal(3);
    // 'a' was the least recently failing source and was dropped: it starts over.
    expect(await throttle.failed('a')).to.equal(0);
  });

  it('ends the delays waited when closed (the gateway is stopping)', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, { freeFailures: 0 });
    const pending = throttle.failed('a');
    await clock.sleeping((d) => d === 250);
    throttle.close();
    expect(await pending).to.equal(250);
  });
});
