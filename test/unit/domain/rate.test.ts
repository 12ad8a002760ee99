import { expect } from 'chai';
import fc from 'fast-check';
import { admit, isStalePlace, readmit, type RateLimit, type SendLog } from '../../../src/domain/rate.ts';
import { maxInWindow } from '../../helpers/windows.ts';

const T0 = 1_700_000_000_000;
/** ShipBob's limit: 150 requests per sliding minute. */
const SHIPBOB: RateLimit = { requests: 150, per: 60_000 };
const FIVE: RateLimit = { requests: 5, per: 1_000 };

/** Takes one at a time at each of `times`, in that order, on one log; the times granted. */
function grantsOf(limit: RateLimit, times: number[], margin: number): number[] {
  let log: SendLog = [];
  const granted: number[] = [];
  for (const now of times) {
    const a = admit(limit, log, now, 1, margin);
    log = a.log;
    if (a.granted === 1) granted.push(now);
  }
  return granted;
}

describe('domain/rate (sliding-window log)', () => {
  describe('admit', () => {
    it('grants `requests` in a window, then refuses until the oldest leaves it', () => {
      let log: SendLog = [];
      for (let i = 0; i < 5; i++) {
        const a = admit(FIVE, log, T0 + i * 100, 1, 0);
        expect(a.granted, `take ${i + 1}`).to.equal(1);
        log = a.log;
      }
      expect(log).to.deep.equal([T0, T0 + 100, T0 + 200, T0 + 300, T0 + 400]);
      const refused = admit(FIVE, log, T0 + 500, 1, 0);
      expect(refused).to.deep.equal({ granted: 0, retryAt: T0 + 1_000, log });
      expect(admit(FIVE, log, T0 + 999, 1, 0).granted, '1 ms early').to.equal(0);
      const next = admit(FIVE, log, T0 + 1_000, 1, 0);
      expect(next.granted).to.equal(1);
      expect(next.log).to.deep.equal([T0 + 100, T0 + 200, T0 + 300, T0 + 400, T0 + 1_000]);
      // Full again: the next place is when T0 + 100 leaves.
      expect(next.retryAt).to.equal(T0 + 1_100);
    });

    it('saves nothing up while idle: after an hour of nothing, still only `requests` per window', () => {
      const granted = grantsOf(FIVE, Array.from({ length: 40 }, (_, i) => T0 + 3_600_000 + i * 50), 0);
      expect(granted).to.have.length(10);
      expect(maxInWindow(granted, FIVE.per)).to.equal(5);
    });

    it('counts the window as per + margin', () => {
      const log = [T0, T0, T0, T0, T0];
      expect(admit(FIVE, log, T0 + 1_000, 1, 200).granted).to.equal(0);
      expect(admit(FIVE, log, T0 + 1_000, 1, 200).retryAt).to.equal(T0 + 1_200);
      expect(admit(FIVE, log, T0 + 1_199, 1, 200).granted).to.equal(0);
      expect(admit(FIVE, log, T0 + 1_200, 1, 200).granted).to.equal(1);
    });

    it('grants part of a larger want and says when the next place frees', () => {
      const a = admit(FIVE, [T0, T0 + 10], T0 + 20, 8, 0);
      expect(a).to.deep.equal({ granted: 3, retryAt: T0 + 1_000, log: [T0, T0 + 10, T0 + 20, T0 + 20, T0 + 20] });
      expect(admit(FIVE, [], T0, 3, 0)).to.deep.equal({ granted: 3, retryAt: T0, log: [T0, T0, T0] });
      expect(admit(FIVE, [], T0, 0, 0)).to.deep.equal({ granted: 0, retryAt: T0, log: [] });
    });

    it('counts sends recorded after its own now (an instance whose clock is ahead)', () => {
      const ahead = [T0 + 40, T0 + 40, T0 + 41, T0 + 42, T0 + 43];
      const a = admit(FIVE, ahead, T0, 1, 0);
      expect(a.granted).to.equal(0);
      expect(a.retryAt).to.equal(T0 + 1_040);
    });

    it('keeps only the newest `requests` sends, unsorted input included', () => {
      const a = admit(FIVE, [T0 - 5_000, T0 - 9_000, T0 - 1, T0 - 7_000, T0 - 2, T0 - 3], T0, 1, 0);
      expect(a.granted).to.equal(1);
      expect(a.log).to.deep.equal([T0 - 5_000, T0 - 3, T0 - 2, T0 - 1, T0]);
    });

    it('under a lowered limit, waits until fewer than the new limit are left in the window', () => {
      // Ten sends under a limit of 10, then the limit is 5: the sixth newest must leave first.
      const log = Array.from({ length: 10 }, (_, i) => T0 + i * 10);
      const a = admit(FIVE, log, T0 + 100, 1, 0);
      expect(a.granted).to.equal(0);
      expect(a.retryAt).to.equal(T0 + 50 + 1_000);
      expect(admit(FIVE, log, a.retryAt, 1, 0).granted).to.equal(1);
    });

    it('holds the rate over ten minutes of takes every 100 ms: 150 per minute, none saved', () => {
      const times = Array.from({ length: 6_000 }, (_, i) => T0 + i * 100);
      const granted = grantsOf(SHIPBOB, times, 0);
      expect(granted).to.have.length(1_500);
      expect(maxInWindow(granted, SHIPBOB.per)).to.equal(150);
    });

    it('rejects a want, limit or margin out of range', () => {
      expect(() => admit(FIVE, [], T0, -1, 0)).to.throw(RangeError);
      expect(() => admit(FIVE, [], T0, 1.5, 0)).to.throw(RangeError);
      expect(() => admit(FIVE, [], T0, Number.NaN, 0)).to.throw(RangeError);
      expect(() => admit({ requests: 0, per: 1_000 }, [], T0, 1, 0)).to.throw(RangeError);
      expect(() => admit({ requests: 5, per: 0 }, [], T0, 1, 0)).to.throw(RangeError);
      expect(() => admit(FIVE, [], T0, 1, -1)).to.throw(RangeError);
    });
  });

  describe('readmit (a place taken again when its request is written)', () => {
    it('moves the place to now when the window has room without it', () => {
      const log = admit(FIVE, [], T0, 5, 0).log;
      const a = readmit(FIVE, log, T0, T0 + 300, 0);
      expect(a.granted).to.equal(1);
      expect(a.log).to.deep.equal([T0, T0, T0, T0, T0 + 300]);
    });

    it('refuses when others filled the window once the old place had left it', () => {
      // Ours at T0 is out of the window at T0 + 1_000 (margin 0): five others take it then.
      const log = admit(FIVE, [T0], T0 + 1_000, 5, 0).log;
      const a = readmit(FIVE, log, T0, T0 + 1_100, 0);
      expect(a.granted).to.equal(0);
      expect(a.retryAt).to.equal(T0 + 2_000);
      expect(a.log).to.deep.equal(Array(5).fill(T0 + 1_000));
    });

    it('a grant time no longer in the log (pruned) leaves the log as it was before the new take', () => {
      const a = readmit(FIVE, [T0 + 10], T0, T0 + 20, 0);
      expect(a.log).to.deep.equal([T0 + 10, T0 + 20]);
    });

    it('calls a place stale once older than a fifth of the margin', () => {
      expect(isStalePlace(T0, T0 + 50, 250)).to.equal(false);
      expect(isStalePlace(T0, T0 + 51, 250)).to.equal(true);
      expect(isStalePlace(T0, T0 + 1, 0)).to.equal(true);
    });

    it('for any takes and any retakes, no window of per + margin holds more than `requests` of the recorded sends', () => {
      const ops = fc.array(fc.record({ at: fc.integer({ min: 0, max: 5_000 }), delay: fc.integer({ min: 0, max: 800 }) }), { maxLength: 150 });
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 300 }), ops, (requests, margin, takes) => {
          const limit = { requests, per: 1_000 };
          let log: SendLog = [];
          const sent: number[] = [];
          for (const t of [...takes].sort((x, y) => x.at - y.at)) {
            const taken = admit(limit, log, T0 + t.at, 1, margin);
            log = taken.log;
            if (taken.granted === 0) continue;
            // The request is written `delay` ms later: at its grant time, or retaken then.
            if (!isStalePlace(T0 + t.at, T0 + t.at + t.delay, margin)) {
              sent.push(T0 + t.at);
              continue;
            }
            const again = readmit(limit, log, T0 + t.at, T0 + t.at + t.delay, margin);
            log = again.log;
            if (again.granted === 1) sent.push(T0 + t.at + t.delay);
          }
          expect(maxInWindow(sent, limit.per + margin)).to.be.at.most(requests);
        }),
      );
    });
  });

  describe('properties', () => {
    const limit = fc.record({ requests: fc.integer({ min: 1, max: 8 }), per: fc.integer({ min: 1, max: 2_000 }) });
    const takes = fc.array(fc.record({ at: fc.integer({ min: 0, max: 10_000 }), want: fc.integer({ min: 0, max: 10 }) }), { maxLength: 200 });

    it('for any takes in any order, no window of per + margin holds more than `requests` grants', () => {
      fc.assert(
        fc.property(limit, takes, fc.integer({ min: 0, max: 300 }), (l, ts, margin) => {
          let log: SendLog = [];
          const granted: number[] = [];
          for (const t of ts) {
            const a = admit(l, log, T0 + t.at, t.want, margin);
            log = a.log;
            for (let i = 0; i < a.granted; i++) granted.push(T0 + t.at);
          }
          expect(maxInWindow(granted, l.per + margin)).to.be.at.most(l.requests);
        }),
      );
    });

    it('grants exactly what the full history allows: the pruned log decides as every send would', () => {
      fc.assert(
        fc.property(limit, takes, fc.integer({ min: 0, max: 300 }), (l, ts, margin) => {
          let log: SendLog = [];
          const history: number[] = [];
          for (const t of ts) {
            const now = T0 + t.at;
            const counted = history.filter((s) => s > now - l.per - margin).length;
            const a = admit(l, log, now, t.want, margin);
            expect(a.granted).to.equal(Math.max(0, Math.min(t.want, l.requests - counted)));
            expect(a.log.length).to.be.at.most(l.requests);
            if (a.granted < t.want) {
              // Refused from retryAt - 1 on, granted at retryAt.
              expect(a.retryAt).to.be.greaterThan(now);
              expect(admit(l, a.log, a.retryAt, 1, margin).granted).to.equal(1);
              expect(admit(l, a.log, a.retryAt - 1, 1, margin).granted).to.equal(0);
            }
            log = a.log;
            for (let i = 0; i < a.granted; i++) history.push(now);
          }
        }),
      );
    });

    it('instances whose clocks differ by up to S and sends that take 0..J ms to arrive: at most `requests` per `per` at the target with margin S + J', () => {
      const skew = 50;
      const jitter = 150;
      fc.assert(
        fc.property(
          fc.record({ requests: fc.integer({ min: 1, max: 4 }), per: fc.integer({ min: 1, max: 500 }) }),
          // The extremes (a clock S ahead, a send J late) are where a margin too small shows.
          fc.array(
            fc.record({
              // null: the taker comes back when its instance's clock reads the retryAt it was given.
              gap: fc.option(fc.integer({ min: 0, max: 300 }), { freq: 2 }),
              offset: fc.oneof(fc.constantFrom(0, skew), fc.integer({ min: 0, max: skew })),
              latency: fc.oneof(fc.constantFrom(0, jitter), fc.integer({ min: 0, max: jitter })),
            }),
            { maxLength: 200 },
          ),
          (l, ts) => {
            let log: SendLog = [];
            let real = T0;
            let retryAt = T0;
            const arrivals: number[] = [];
            for (const t of ts) {
              real = t.gap === null ? Math.max(real, retryAt - t.offset) : real + t.gap;
              // The instance's clock reads the real time plus its offset; the target sees the send later.
              const a = admit(l, log, real + t.offset, 1, skew + jitter);
              log = a.log;
              retryAt = a.retryAt;
              if (a.granted === 1) arrivals.push(real + t.latency);
            }
            expect(maxInWindow(arrivals, l.per)).to.be.at.most(l.requests);
          },
        ),
      );
    });
  });
});
