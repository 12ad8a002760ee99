import { expect } from 'chai';
import type { ConnectorConfig } from '../../../src/config/schema.ts';
import {
  DEFAULT_RETRY,
  decideRetry,
  failureFromError,
  failureFromSendResult,
  retryAfterFromHeaders,
  type FailureInfo,
  type RetryPolicy,
} from '../../../src/domain/retry.ts';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
/** random() = 0.5 → no jitter; 0 → -jitter; just under 1 → almost +jitter. */
const mid = (): number => 0.5;
const low = (): number => 0;
const high = (): number => 0.999999;

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY, ...overrides };
}

function failure(overrides: Partial<FailureInfo> = {}): FailureInfo {
  return { errorClass: 'http', status: 503, faultParty: null, retryAfterMs: null, message: 'Service Unavailable', ...overrides };
}

/** The rule: after a 429 the next attempt waits at least this long. */
const MIN_DELAY_AFTER_429 = 60_000;

/**
 * The scheduled delay after the attempt numbered `attempt` failed, as decideRetry gives it for a
 * failure that retries (a 503 without a hint) while attempts remain.
 */
function scheduleDelay(p: RetryPolicy, attempt: number, random: () => number): number {
  const decision = decideRetry({ ...p, maxAttempts: Number.MAX_SAFE_INTEGER }, attempt, failure(), NOW, random);
  if (decision.action !== 'retry') throw new Error(`expected a retry, got ${JSON.stringify(decision)}`);
  return decision.delayMs;
}

/** Whether decideRetry retries this failure on the first attempt (attempts play no part then). */
function isRetryable(p: RetryPolicy, f: FailureInfo): boolean {
  return decideRetry({ ...p, maxAttempts: Number.MAX_SAFE_INTEGER }, 1, f, NOW, mid).action === 'retry';
}

/** A Retry-After header value as the sender reads it (retryAfterFromHeaders) on the fixed clock. */
function parseRetryAfter(value: string | undefined | null, now: number): number | null {
  return retryAfterFromHeaders(value === undefined || value === null ? {} : { 'Retry-After': value }, now);
}

// The connector config's retry block must be usable as a RetryPolicy without conversion.
const _configFits: (c: ConnectorConfig['retry']) => RetryPolicy = (c) => c;
void _configFits;

describe('domain/retry', () => {
  describe('the scheduled delay (decideRetry on a failure that retries)', () => {
    const p = policy({ schedule: [1_000, 5_000, 20_000], jitter: 0.2 });

    it('uses schedule[attempt - 1] without jitter when random() is 0.5', () => {
      expect(scheduleDelay(p, 1, mid)).to.equal(1_000);
      expect(scheduleDelay(p, 2, mid)).to.equal(5_000);
      expect(scheduleDelay(p, 3, mid)).to.equal(20_000);
    });

    it('repeats the last entry past the end of the schedule', () => {
      expect(scheduleDelay(p, 4, mid)).to.equal(20_000);
      expect(scheduleDelay(p, 50, mid)).to.equal(20_000);
    });

    it('spreads the delay uniformly within ±jitter', () => {
      expect(scheduleDelay(p, 2, low)).to.equal(4_000);
      expect(scheduleDelay(p, 2, high)).to.be.within(5_999, 6_000);
      expect(scheduleDelay(p, 2, () => 0.25)).to.equal(4_500);
      expect(scheduleDelay(p, 2, () => 0.75)).to.equal(5_500);
    });

    it('never goes below 0, even with jitter above 1', () => {
      expect(scheduleDelay(policy({ schedule: [1_000], jitter: 1.5 }), 1, low)).to.equal(0);
      expect(scheduleDelay(policy({ schedule: [0], jitter: 0.2 }), 1, low)).to.equal(0);
    });

    it('treats an attempt below 1 as the first', () => {
      expect(scheduleDelay(p, 0, mid)).to.equal(1_000);
    });

    it('follows the default schedule (5 s, 30 s, 2 min, ...)', () => {
      expect([1, 2, 3, 8, 9].map((a) => scheduleDelay(DEFAULT_RETRY, a, mid))).to.deep.equal([
        5_000, 30_000, 120_000, 14_400_000, 14_400_000,
      ]);
    });
  });

  describe('which failures retry (decideRetry on the first attempt)', () => {
    it('retries network errors and timeouts only when listed', () => {
      expect(isRetryable(policy(), failure({ errorClass: 'network', status: null }))).to.equal(true);
      expect(isRetryable(policy(), failure({ errorClass: 'timeout', status: null }))).to.equal(true);
      expect(isRetryable(policy({ retryOn: ['5xx'] }), failure({ errorClass: 'network', status: null }))).to.equal(false);
      expect(isRetryable(policy({ retryOn: ['network'] }), failure({ errorClass: 'timeout', status: null }))).to.equal(false);
    });

    it('retries the default statuses 408, 425, 429 and any 5xx', () => {
      for (const status of [408, 425, 429, 500, 502, 503, 504, 599]) {
        expect(isRetryable(policy(), failure({ status })), String(status)).to.equal(true);
      }
    });

    it('does not retry other 4xx by default', () => {
      for (const status of [400, 401, 403, 404, 409, 422]) {
        expect(isRetryable(policy(), failure({ status })), String(status)).to.equal(false);
      }
    });

    it('matches statuses by exact code or by class', () => {
      expect(isRetryable(policy({ retryOn: ['4xx'] }), failure({ status: 404 }))).to.equal(true);
      expect(isRetryable(policy({ retryOn: ['4xx'] }), failure({ status: 503 }))).to.equal(false);
      expect(isRetryable(policy({ retryOn: [503] }), failure({ status: 503 }))).to.equal(true);
      expect(isRetryable(policy({ retryOn: [503] }), failure({ status: 502 }))).to.equal(false);
    });

    it('does not retry an http failure without a status', () => {
      expect(isRetryable(policy(), failure({ status: null }))).to.equal(false);
    });

    it('retries SOAP Server faults like a 5xx and never Client faults', () => {
      expect(isRetryable(policy(), failure({ errorClass: 'soap_fault', status: 500, faultParty: 'Server' }))).to.equal(true);
      expect(
        isRetryable(policy({ retryOn: ['network'] }), failure({ errorClass: 'soap_fault', status: 500, faultParty: 'Server' })),
      ).to.equal(false);
      expect(isRetryable(policy(), failure({ errorClass: 'soap_fault', status: 500, faultParty: 'Client' }))).to.equal(false);
      expect(
        isRetryable(policy({ retryOn: ['4xx', '5xx'] }), failure({ errorClass: 'soap_fault', status: 500, faultParty: 'Client' })),
      ).to.equal(false);
    });

    it('judges auth errors by their HTTP status', () => {
      expect(isRetryable(policy(), failure({ errorClass: 'auth', status: 503 }))).to.equal(true);
      expect(isRetryable(policy(), failure({ errorClass: 'auth', status: 401 }))).to.equal(false);
      expect(isRetryable(policy(), failure({ errorClass: 'auth', status: null }))).to.equal(false);
    });

    it('retries a transient auth failure without a status like a network error', () => {
      expect(isRetryable(policy(), failure({ errorClass: 'auth', status: null, transient: true }))).to.equal(true);
      expect(isRetryable(policy({ retryOn: ['5xx'] }), failure({ errorClass: 'auth', status: null, transient: true }))).to.equal(false);
      // A status is judged as such, transient or not.
      expect(isRetryable(policy(), failure({ errorClass: 'auth', status: 401, transient: true }))).to.equal(false);
    });

    it('never retries transform and config errors', () => {
      const all = policy({ retryOn: ['network', 'timeout', '4xx', '5xx'] });
      expect(isRetryable(all, failure({ errorClass: 'transform', status: null }))).to.equal(false);
      expect(isRetryable(all, failure({ errorClass: 'config', status: null }))).to.equal(false);
    });
  });

  describe('decideRetry', () => {
    it('retries after the scheduled delay, at = now + delay', () => {
      expect(decideRetry(policy(), 1, failure(), NOW, mid)).to.deep.equal({ action: 'retry', at: NOW + 5_000, delayMs: 5_000 });
      expect(decideRetry(policy(), 3, failure(), NOW, low)).to.deep.equal({ action: 'retry', at: NOW + 96_000, delayMs: 96_000 });
    });

    it('retries up to attempt maxAttempts - 1 and parks at maxAttempts', () => {
      const p = policy({ maxAttempts: 3 });
      expect(decideRetry(p, 2, failure(), NOW, mid).action).to.equal('retry');
      const parked = decideRetry(p, 3, failure(), NOW, mid);
      expect(parked).to.include({ action: 'park', reason: 'attempts_exhausted' });
      if (parked.action !== 'park') throw new Error('expected park');
      expect(parked.message).to.contain('3 attempts').and.contain('HTTP 503').and.contain('Service Unavailable');
      expect(decideRetry(p, 7, failure(), NOW, mid)).to.include({ action: 'park', reason: 'attempts_exhausted' });
    });

    it('parks after the only attempt when maxAttempts is 1', () => {
      const parked = decideRetry(policy({ maxAttempts: 1 }), 1, failure({ errorClass: 'timeout', status: null, message: 'after 30000 ms' }), NOW, mid);
      expect(parked).to.deep.equal({
        action: 'park',
        reason: 'attempts_exhausted',
        message: 'gave up after 1 attempt; last error: timeout error: after 30000 ms',
      });
    });

    it('parks permanent errors at once, before attempts run out', () => {
      expect(decideRetry(policy(), 1, failure({ status: 400, message: 'bad field' }), NOW, mid)).to.deep.equal({
        action: 'park',
        reason: 'permanent_error',
        message: 'HTTP 400: bad field',
      });
      expect(decideRetry(policy(), 1, failure({ errorClass: 'soap_fault', status: 500, faultParty: 'Client' }), NOW, mid)).to.include({
        action: 'park',
        reason: 'permanent_error',
      });
    });

    it('reports the permanent reason rather than exhaustion on the last attempt', () => {
      expect(decideRetry(policy({ maxAttempts: 2 }), 2, failure({ status: 422 }), NOW, mid)).to.include({ reason: 'permanent_error' });
    });

    it('parks transform errors as transform_error and config errors as config_error', () => {
      expect(decideRetry(policy(), 1, failure({ errorClass: 'transform', status: null, message: 'no lines' }), NOW, mid)).to.deep.equal({
        action: 'park',
        reason: 'transform_error',
        message: 'transform error: no lines',
      });
      expect(decideRetry(policy(), 1, failure({ errorClass: 'config', status: null }), NOW, mid)).to.include({ reason: 'config_error' });
    });

    it('parks a change the target refused as change_refused, whatever its status and retryOn say', () => {
      const refused = failure({ errorClass: 'refused', status: 200, message: 'ShipBob order 1 already shipped: arrange a return' });
      for (const p of [policy(), policy({ retryOn: ['network', 'timeout', '4xx', '5xx', 200] })]) {
        expect(decideRetry(p, 1, refused, NOW, mid)).to.deep.equal({
          action: 'park',
          reason: 'change_refused',
          message: 'refused: ShipBob order 1 already shipped: arrange a return',
        });
      }
    });

    it('parks auth errors that a status does not make retryable as config_error', () => {
      expect(decideRetry(policy(), 1, failure({ errorClass: 'auth', status: 401 }), NOW, mid)).to.include({ reason: 'config_error' });
      expect(decideRetry(policy(), 1, failure({ errorClass: 'auth', status: null }), NOW, mid)).to.include({ reason: 'config_error' });
      expect(decideRetry(policy(), 1, failure({ errorClass: 'auth', status: 502 }), NOW, mid).action).to.equal('retry');
    });

    it('waits for Retry-After when it is longer than the schedule', () => {
      const d = decideRetry(policy(), 1, failure({ retryAfterMs: 20_000 }), NOW, mid);
      expect(d).to.deep.equal({ action: 'retry', at: NOW + 20_000, delayMs: 20_000 });
    });

    it('keeps the scheduled delay when Retry-After is shorter', () => {
      expect(decideRetry(policy(), 2, failure({ retryAfterMs: 1_000 }), NOW, mid)).to.include({ delayMs: 30_000 });
    });

    it('caps Retry-After at maxRetryAfter', () => {
      const p = policy({ maxRetryAfter: 600_000 });
      expect(decideRetry(p, 1, failure({ retryAfterMs: 86_400_000 }), NOW, mid)).to.include({ delayMs: 600_000 });
    });

    it('does not shorten the schedule to maxRetryAfter', () => {
      const p = policy({ maxRetryAfter: 10_000 });
      expect(decideRetry(p, 3, failure({ retryAfterMs: 86_400_000 }), NOW, mid)).to.include({ delayMs: 120_000 });
    });

    it('waits at least 60 s after a 429', () => {
      expect(decideRetry(policy(), 1, failure({ status: 429 }), NOW, mid)).to.deep.equal({ action: 'retry', at: NOW + 60_000, delayMs: 60_000 });
      expect(decideRetry(policy(), 1, failure({ status: 429, retryAfterMs: 2_000 }), NOW, mid)).to.include({ delayMs: 60_000 });
      expect(decideRetry(policy(), 1, failure({ status: 429, retryAfterMs: 90_000 }), NOW, mid)).to.include({ delayMs: 90_000 });
      expect(decideRetry(policy(), 4, failure({ status: 429 }), NOW, mid)).to.include({ delayMs: 600_000 });
    });

    it('does not apply the 429 floor to other statuses', () => {
      expect(decideRetry(policy(), 1, failure({ status: 503 }), NOW, mid)).to.include({ delayMs: 5_000 });
    });

    it('ignores Retry-After on a failure that parks', () => {
      expect(decideRetry(policy(), 1, failure({ status: 404, retryAfterMs: 5_000 }), NOW, mid).action).to.equal('park');
    });
  });

  describe('failureFromSendResult', () => {
    it('copies the retry-relevant fields', () => {
      expect(
        failureFromSendResult({ status: 503, errorClass: 'http', errorMessage: 'down', faultParty: null, retryAfterMs: 7_000 }),
      ).to.deep.equal({ errorClass: 'http', status: 503, faultParty: null, retryAfterMs: 7_000, message: 'down' });
    });

    it('classes a result without an error class by its status, and names the status when there is no message', () => {
      expect(failureFromSendResult({ status: 500, errorClass: null, errorMessage: null, faultParty: null, retryAfterMs: null }))
        .to.include({ errorClass: 'http', message: 'HTTP 500' });
    });

    it('reads a result with neither error class nor status as a network failure without a message', () => {
      expect(failureFromSendResult({ status: null, errorClass: null, errorMessage: null, faultParty: null, retryAfterMs: null }))
        .to.include({ errorClass: 'network', status: null, message: '' });
    });
  });

  describe('failureFromError', () => {
    it('is the failure of an attempt that threw: no status, no fault party, no retry hint', () => {
      expect(failureFromError('transform', 'no mapping')).to.deep.equal({
        errorClass: 'transform',
        status: null,
        faultParty: null,
        retryAfterMs: null,
        message: 'no mapping',
      });
    });
  });

  describe('reading Retry-After (retryAfterFromHeaders)', () => {
    it('reads delay-seconds as milliseconds', () => {
      expect(parseRetryAfter('120', NOW)).to.equal(120_000);
      expect(parseRetryAfter(' 0 ', NOW)).to.equal(0);
      expect(parseRetryAfter('1.5', NOW)).to.equal(1_500);
    });

    it('reads a signed number as no hint (null): "-5" and "+5" are not delay-seconds', () => {
      expect(parseRetryAfter('-5', NOW)).to.equal(null);
      expect(parseRetryAfter('+5', NOW)).to.equal(null);
      expect(parseRetryAfter('-0', NOW)).to.equal(null);
    });

    it('reads an IMF-fixdate relative to now', () => {
      expect(parseRetryAfter('Wed, 15 Jan 2025 12:02:00 GMT', NOW)).to.equal(120_000);
    });

    it('reads the obsolete RFC 850 and asctime forms as GMT', () => {
      expect(parseRetryAfter('Wednesday, 15-Jan-25 12:00:30 GMT', NOW)).to.equal(30_000);
      expect(parseRetryAfter('Wed Jan 15 12:01:00 2025', NOW)).to.equal(60_000);
      expect(parseRetryAfter('Sat Feb  1 12:00:00 2025', NOW)).to.equal(17 * 86_400_000);
    });

    it('gives 0 for a date in the past', () => {
      expect(parseRetryAfter('Tue, 14 Jan 2025 12:00:00 GMT', NOW)).to.equal(0);
    });

    it('gives null when absent or unreadable', () => {
      for (const value of [undefined, null, '', '   ', 'soon', '12abc', 'Wed, 31 Feb 2025 12:00:00 GMT', 'Wed, 15 Foo 2025 12:00:00 GMT', '2025-01-15']) {
        expect(parseRetryAfter(value, NOW), String(value)).to.equal(null);
      }
    });
  });

  describe('retryAfterFromHeaders', () => {
    it('reads Retry-After, then X-Retry-After, by names in any letter case', () => {
      expect(retryAfterFromHeaders({ 'Retry-After': '7' }, NOW)).to.equal(7_000);
      expect(retryAfterFromHeaders({ 'x-retry-after': '3' }, NOW)).to.equal(3_000);
      expect(retryAfterFromHeaders({ 'retry-after': '7', 'x-retry-after': '3' }, NOW)).to.equal(7_000);
    });

    it('passes over an unreadable Retry-After to X-Retry-After, and gives null when neither reads', () => {
      expect(retryAfterFromHeaders({ 'retry-after': '-5', 'x-retry-after': '3' }, NOW)).to.equal(3_000);
      expect(retryAfterFromHeaders({ 'retry-after': 'soon' }, NOW)).to.equal(null);
      expect(retryAfterFromHeaders({}, NOW)).to.equal(null);
    });
  });

  describe('the retry decision from a response, on a fixed clock', () => {
    /** A 503 answered with these headers at NOW, as the sender and the worker turn it into a decision. */
    function decide(headers: Record<string, string>, attempt = 1, status = 503) {
      const failure = failureFromSendResult({
        status,
        errorClass: 'http',
        errorMessage: `HTTP ${status}`,
        faultParty: null,
        retryAfterMs: retryAfterFromHeaders(headers, NOW),
      });
      return decideRetry(policy(), attempt, failure, NOW, mid);
    }

    it('delay-seconds longer than the schedule push the attempt out; shorter ones leave the schedule', () => {
      expect(decide({ 'retry-after': '120' })).to.deep.equal({ action: 'retry', at: NOW + 120_000, delayMs: 120_000 });
      expect(decide({ 'retry-after': '1' })).to.deep.equal({ action: 'retry', at: NOW + 5_000, delayMs: 5_000 });
      expect(decide({ 'retry-after': '1.0001' }, 1)).to.include({ delayMs: 5_000 });
      expect(decide({ 'retry-after': '30.0001' }, 1)).to.include({ delayMs: 30_001 });
    });

    it('each HTTP-date form is read against the injected clock, not the wall clock', () => {
      expect(decide({ 'retry-after': 'Wed, 15 Jan 2025 12:10:00 GMT' })).to.include({ at: NOW + 600_000 });
      expect(decide({ 'retry-after': 'Wednesday, 15-Jan-25 12:10:00 GMT' })).to.include({ at: NOW + 600_000 });
      expect(decide({ 'retry-after': 'Wed Jan 15 12:10:00 2025' })).to.include({ at: NOW + 600_000 });
    });

    it('a date in the past, a negative number and garbage all leave the schedule alone', () => {
      for (const value of ['Tue, 14 Jan 2025 12:00:00 GMT', '-5', '-3600', '+120', 'soon', '12abc', '2025-01-15T13:00:00Z', 'Wed, 15 Jan 2025 13:00:00 +0000']) {
        expect(decide({ 'retry-after': value }), value).to.deep.equal({ action: 'retry', at: NOW + 5_000, delayMs: 5_000 });
      }
    });

    it('a hint beyond maxRetryAfter is capped at it', () => {
      expect(decide({ 'retry-after': '86400' })).to.include({ delayMs: DEFAULT_RETRY.maxRetryAfter });
      expect(decide({ 'retry-after': 'Thu, 15 Jan 2026 12:00:00 GMT' })).to.include({ delayMs: DEFAULT_RETRY.maxRetryAfter });
    });

    it('after a 429 a garbage or negative hint still waits at least MIN_DELAY_AFTER_429', () => {
      expect(decide({ 'retry-after': '-5' }, 1, 429)).to.include({ delayMs: MIN_DELAY_AFTER_429 });
      expect(decide({ 'retry-after': 'soon' }, 1, 429)).to.include({ delayMs: MIN_DELAY_AFTER_429 });
    });

    it('the last attempt parks whatever the hint says', () => {
      expect(decide({ 'retry-after': '1' }, DEFAULT_RETRY.maxAttempts)).to.include({ action: 'park', reason: 'attempts_exhausted' });
    });
  });
});

describe('domain/retry: an accepted request never answered (async connectors)', () => {
  const noResponse = failureFromError('no_response', 'no response by the deadline');

  it('is sent again as a timeout would be, on the schedule', () => {
    expect(decideRetry(DEFAULT_RETRY, 1, noResponse, NOW, mid)).to.deep.equal({ action: 'retry', at: NOW + 5_000, delayMs: 5_000 });
  });

  it("parks as no_response when 'timeout' does not retry, and when the attempts are used up", () => {
    const noTimeout = { ...DEFAULT_RETRY, retryOn: DEFAULT_RETRY.retryOn.filter((r) => r !== 'timeout') };
    expect(decideRetry(noTimeout, 1, noResponse, NOW, mid)).to.deep.equal({ action: 'park', reason: 'no_response', message: 'no response: no response by the deadline' });
    const last = decideRetry(DEFAULT_RETRY, DEFAULT_RETRY.maxAttempts, noResponse, NOW, mid);
    expect(last).to.deep.equal({ action: 'park', reason: 'no_response', message: 'gave up after 9 attempts; last error: no response: no response by the deadline' });
    // Other failures still give up as attempts_exhausted.
    expect(decideRetry(DEFAULT_RETRY, DEFAULT_RETRY.maxAttempts, failureFromError('timeout', 'slow'), NOW, mid)).to.include({ reason: 'attempts_exhausted' });
  });
});
