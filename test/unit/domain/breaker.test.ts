import { expect } from 'chai';
import {
  DEFAULT_BREAKER,
  breakerOutcome,
  canSend,
  initialBreaker,
  recordResult,
  sharedBreaker,
  type BreakerPolicy,
  type BreakerState,
} from '../../../src/domain/breaker.ts';

const T0 = 1_700_000_000_000;

/** Records results one millisecond apart starting at `start`; returns the state and the last time. */
function feed(policy: BreakerPolicy, state: BreakerState, results: boolean[], start: number): BreakerState {
  let s = state;
  results.forEach((ok, i) => {
    s = recordResult(policy, s, ok, start + i);
  });
  return s;
}

const times = (n: number, ok: boolean): boolean[] => Array.from({ length: n }, () => ok);

/** An open circuit, opened at T0 by consecutive failures. */
function openAtT0(policy: BreakerPolicy = DEFAULT_BREAKER): BreakerState {
  const s = feed(policy, initialBreaker(), times(policy.consecutiveFailures - 1, false), T0 - policy.consecutiveFailures);
  const opened = recordResult(policy, s, false, T0);
  expect(opened.state).to.equal('open');
  return opened;
}

/** The breaker keeps at most this many results in its window. */
const MAX_WINDOW = 1_000;

describe('domain/breaker', () => {
  it('starts closed and lets requests through', () => {
    const s = initialBreaker();
    expect(s).to.deep.equal({ state: 'closed', openedAt: null, consecutiveFailures: 0, window: [], probeInFlight: false });
    expect(canSend(DEFAULT_BREAKER, s, T0)).to.deep.equal({ allowed: true, state: s, reopensAt: null });
  });

  it('does not change the state passed in', () => {
    const s = initialBreaker();
    recordResult(DEFAULT_BREAKER, s, false, T0);
    expect(s.window).to.have.length(0);
    expect(s.consecutiveFailures).to.equal(0);
  });

  describe('opening on consecutive failures', () => {
    it('stays closed one failure short of the limit', () => {
      const s = feed(DEFAULT_BREAKER, initialBreaker(), times(9, false), T0);
      expect(s.state).to.equal('closed');
      expect(s.consecutiveFailures).to.equal(9);
    });

    it('opens at the 10th failure in a row, with openedAt = now', () => {
      const s = feed(DEFAULT_BREAKER, initialBreaker(), times(10, false), T0);
      expect(s.state).to.equal('open');
      expect(s.openedAt).to.equal(T0 + 9);
    });

    it('a success resets the run of failures', () => {
      const s = feed(DEFAULT_BREAKER, initialBreaker(), [...times(9, false), true, ...times(9, false)], T0);
      expect(s.state).to.equal('closed');
      expect(s.consecutiveFailures).to.equal(9);
    });
  });

  describe('opening on the failure ratio', () => {
    const policy: BreakerPolicy = { ...DEFAULT_BREAKER, consecutiveFailures: 1_000 };
    const alternating = (n: number): boolean[] => Array.from({ length: n }, (_, i) => i % 2 === 0);

    it('stays closed below minimumRequests even at a 50% failure ratio', () => {
      const s = feed(policy, initialBreaker(), alternating(19), T0);
      expect(s.state).to.equal('closed');
      expect(s.window).to.have.length(19);
    });

    it('opens once minimumRequests results hold a ratio >= failureRatio', () => {
      const s = feed(policy, initialBreaker(), alternating(20), T0);
      expect(s.state).to.equal('open');
      expect(s.openedAt).to.equal(T0 + 19);
    });

    it('stays closed below the ratio', () => {
      // 20 results, 9 failures: 45%.
      const results = [...times(11, true), ...times(9, false)];
      const s = feed(policy, initialBreaker(), results, T0);
      expect(s.state).to.equal('closed');
    });

    it('does not open on a success, even with a high ratio', () => {
      // 19 failures then a success (20 results, 95%): the ratio is checked when a failure is recorded.
      const s = feed({ ...policy, failureRatio: 0.9 }, initialBreaker(), times(19, false), T0);
      expect(s.state).to.equal('closed');
      const after = recordResult({ ...policy, failureRatio: 0.9 }, s, true, T0 + 100);
      expect(after.state).to.equal('closed');
      const fail = recordResult({ ...policy, failureRatio: 0.9 }, after, false, T0 + 101);
      expect(fail.state).to.equal('open');
    });

    it('forgets results older than windowMs', () => {
      // 15 failures long ago, then 10 results at now: only 10 within the window, below minimumRequests.
      const old = feed(policy, initialBreaker(), times(15, false), T0);
      const now = T0 + policy.windowMs + 100;
      const s = feed(policy, old, alternating(10), now);
      expect(s.state).to.equal('closed');
      expect(s.window).to.have.length(10);
      expect(s.window.every((e) => e.at >= now)).to.equal(true);
    });

    it('keeps the window to at most MAX_WINDOW results', () => {
      const busy: BreakerPolicy = { ...policy, windowMs: 10 * 60_000 };
      const s = feed(busy, initialBreaker(), times(MAX_WINDOW + 500, true), T0);
      expect(s.window).to.have.length(MAX_WINDOW);
      expect(s.window[0]?.at).to.equal(T0 + 500);
      expect(s.window.at(-1)?.at).to.equal(T0 + MAX_WINDOW + 499);
    });
  });

  describe('open and cool-down', () => {
    it('refuses until the cool-down is over and says when it reopens', () => {
      const s = openAtT0();
      const r = canSend(DEFAULT_BREAKER, s, T0 + 29_999);
      expect(r).to.deep.equal({ allowed: false, state: s, reopensAt: T0 + 30_000 });
    });

    it('ignores late results while open', () => {
      const s = openAtT0();
      expect(recordResult(DEFAULT_BREAKER, s, true, T0 + 10)).to.equal(s);
      expect(recordResult(DEFAULT_BREAKER, s, false, T0 + 10)).to.equal(s);
    });

    it('turns half_open after the cool-down and allows exactly one probe', () => {
      const s = openAtT0();
      const first = canSend(DEFAULT_BREAKER, s, T0 + 30_000);
      expect(first.allowed).to.equal(true);
      expect(first.state.state).to.equal('half_open');
      expect(first.state.probeInFlight).to.equal(true);
      const second = canSend(DEFAULT_BREAKER, first.state, T0 + 30_001);
      expect(second).to.deep.equal({ allowed: false, state: first.state, reopensAt: null });
      const later = canSend(DEFAULT_BREAKER, second.state, T0 + 10 * 60_000);
      expect(later.allowed).to.equal(false);
    });

    it('closes and resets when the probe succeeds', () => {
      const probe = canSend(DEFAULT_BREAKER, openAtT0(), T0 + 30_000).state;
      const s = recordResult(DEFAULT_BREAKER, probe, true, T0 + 30_500);
      expect(s).to.deep.equal(initialBreaker());
      expect(canSend(DEFAULT_BREAKER, s, T0 + 30_501).allowed).to.equal(true);
    });

    it('re-opens with a new cool-down when the probe fails', () => {
      const probe = canSend(DEFAULT_BREAKER, openAtT0(), T0 + 30_000).state;
      const s = recordResult(DEFAULT_BREAKER, probe, false, T0 + 31_000);
      expect(s.state).to.equal('open');
      expect(s.openedAt).to.equal(T0 + 31_000);
      expect(s.probeInFlight).to.equal(false);
      expect(canSend(DEFAULT_BREAKER, s, T0 + 60_999)).to.include({ allowed: false, reopensAt: T0 + 61_000 });
      expect(canSend(DEFAULT_BREAKER, s, T0 + 61_000).allowed).to.equal(true);
    });

    it('a closed circuit after a probe starts counting failures from zero', () => {
      const probe = canSend(DEFAULT_BREAKER, openAtT0(), T0 + 30_000).state;
      const closed = recordResult(DEFAULT_BREAKER, probe, true, T0 + 30_500);
      const s = feed(DEFAULT_BREAKER, closed, times(9, false), T0 + 31_000);
      expect(s.state).to.equal('closed');
    });
  });

  describe('breakerOutcome', () => {
    it('counts a success as ok', () => {
      expect(breakerOutcome(null)).to.equal(true);
    });

    it('counts network errors, timeouts, 5xx, 408 and 429 as target failures', () => {
      expect(breakerOutcome({ errorClass: 'network', status: null, faultParty: null })).to.equal(false);
      expect(breakerOutcome({ errorClass: 'timeout', status: null, faultParty: null })).to.equal(false);
      for (const status of [500, 503, 408, 429]) {
        expect(breakerOutcome({ errorClass: 'http', status, faultParty: null }), String(status)).to.equal(false);
      }
      expect(breakerOutcome({ errorClass: 'soap_fault', status: 500, faultParty: 'Server' })).to.equal(false);
    });

    it('counts other 4xx and SOAP Client faults as ok: the target is up', () => {
      for (const status of [400, 401, 404, 409, 422]) {
        expect(breakerOutcome({ errorClass: 'http', status, faultParty: null }), String(status)).to.equal(true);
      }
      expect(breakerOutcome({ errorClass: 'soap_fault', status: 500, faultParty: 'Client' })).to.equal(true);
      expect(breakerOutcome({ errorClass: 'auth', status: 401, faultParty: null })).to.equal(true);
      // A change the target refused for the state of the order: it answered.
      expect(breakerOutcome({ errorClass: 'refused', status: 200, faultParty: null })).to.equal(true);
    });

    it('does not record failures that never reached the target', () => {
      expect(breakerOutcome({ errorClass: 'transform', status: null, faultParty: null })).to.equal(null);
      expect(breakerOutcome({ errorClass: 'config', status: null, faultParty: null })).to.equal(null);
      expect(breakerOutcome({ errorClass: 'auth', status: null, faultParty: null })).to.equal(null);
    });
  });

  describe('sharedBreaker: the circuit every instance shares, with this instance\'s counts', () => {
    const P = DEFAULT_BREAKER;

    it('closed in the store is closed here, whatever this instance saw last', () => {
      const local = openAtT0();
      const view = sharedBreaker(P, { circuit: 'closed', until: null }, local);
      expect(view).to.include({ state: 'closed', openedAt: null, probeInFlight: false });
      expect(canSend(P, view, T0).allowed).to.equal(true);
    });

    it('open until T refuses until T (reopensAt T), then lets one probe through as half_open', () => {
      const until = T0 + 30_000;
      const view = sharedBreaker(P, { circuit: 'open', until }, initialBreaker());
      expect(canSend(P, view, until - 1)).to.include({ allowed: false, reopensAt: until });
      const probe = canSend(P, view, until);
      expect(probe.allowed).to.equal(true);
      expect(probe.state).to.include({ state: 'half_open', probeInFlight: true });
    });

    it('open until T keeps T even when the cool-down setting changed since', () => {
      const until = T0 + 30_000;
      const view = sharedBreaker({ ...P, coolDownMs: 5_000 }, { circuit: 'open', until }, initialBreaker());
      expect(canSend({ ...P, coolDownMs: 5_000 }, view, T0 + 10_000)).to.include({ allowed: false, reopensAt: until });
    });

    it('half_open: this instance probes once when it holds the probe; another instance\'s probe refuses', () => {
      const mine: BreakerState = { ...initialBreaker(), state: 'half_open', probeInFlight: false };
      const first = canSend(P, sharedBreaker(P, { circuit: 'half_open', until: null }, mine), T0);
      expect(first).to.include({ allowed: true, reopensAt: null });
      expect(canSend(P, sharedBreaker(P, { circuit: 'half_open', until: null }, first.state), T0).allowed).to.equal(false);
      const elsewhere = sharedBreaker(P, { circuit: 'half_open', until: null }, initialBreaker());
      expect(canSend(P, elsewhere, T0)).to.include({ allowed: false, reopensAt: null });
    });
  });
});
