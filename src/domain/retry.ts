/**
 * Retry rules, as data plus pure functions: which failures retry, after how long, and when a
 * delivery parks. No I/O and no clock: time comes in as epoch milliseconds and randomness as a
 * function, so every decision is reproducible in a test.
 *
 * The policy has the shape of a connector's `retry` config (src/config/schema/connector-rules.ts), whose durations
 * are already milliseconds, so `connector.retry` can be passed as a RetryPolicy directly.
 */

/** Why an attempt failed, as the retry rules see it (the senders classify; see SendResult). */
export type ErrorClass = 'network' | 'timeout' | 'http' | 'soap_fault' | 'transform' | 'auth' | 'config' | 'refused' | 'no_response';

/**
 * A TLS handshake that failed for a reason no retry can fix, as the transport tells it
 * (src/connectors/tls-failure.ts). The senders class each of them 'config' (see classify):
 *
 * - refused: the server refused the handshake or closed it: it refused our client certificate, or
 *   asked for one the connector does not send;
 * - untrusted: the server's certificate is not trusted (unknown CA, self-signed, expired, issued
 *   for another name);
 * - client_key: the connector's own certificate or key cannot be used (a wrong passphrase, a key
 *   that does not match the certificate).
 *
 * A connection closed after the handshake was accepted is not one of these: it stays 'network'.
 */
export type TlsProblem = 'refused' | 'untrusted' | 'client_key';

export interface RetryPolicy {
  /** Delay after the 1st, 2nd, ... failed attempt (ms). Past its end the last entry repeats. */
  schedule: number[];
  /** Fraction of the delay added or removed at random: 0.2 means uniform in ±20%. */
  jitter: number;
  /** Attempts per cycle (a replay starts a new cycle); the attempt numbered maxAttempts is the last. */
  maxAttempts: number;
  /** Which failures retry: error classes, HTTP status classes, or exact HTTP statuses. */
  retryOn: Array<'network' | 'timeout' | '4xx' | '5xx' | number>;
  /** Upper bound (ms) on how long a target's Retry-After can push the next attempt out. */
  maxRetryAfter: number;
}

/** What the retry rules need to know about a failed attempt (see failureFromSendResult). */
export interface FailureInfo {
  errorClass: ErrorClass;
  status: number | null;
  faultParty: 'Client' | 'Server' | null;
  retryAfterMs: number | null;
  message: string;
  /**
   * The failure may pass on its own although it carries no status to judge it by (credentials that
   * could not be saved, a refresh token other instances kept rotating under us).
   */
  transient?: boolean;
}

/**
 * no_response: an async connector's target accepted the request and never answered by its deadline
 * (and the retry rules gave up); response_failed: its callback said the request failed.
 */
export const PARK_REASONS = ['attempts_exhausted', 'permanent_error', 'transform_error', 'config_error', 'change_refused', 'no_response', 'response_failed'] as const;
export type ParkReason = (typeof PARK_REASONS)[number];

/**
 * Parked deliveries that wait for a person, not for a fix to replay them with: the target can no
 * longer make the change (a ShipBob order already shipped). The recovery run leaves them alone, so
 * that the same refused change is not sent again every night; an operator may still replay one.
 */
export const PARK_REASONS_FOR_A_PERSON: readonly ParkReason[] = ['change_refused'];

export type RetryDecision =
  | { action: 'retry'; at: number; delayMs: number }
  | { action: 'park'; reason: ParkReason; message: string };

/** The defaults of a connector's `retry` block: src/config/schema/connector-rules.ts takes them from here. */
export const DEFAULT_RETRY: RetryPolicy = {
  schedule: [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
  jitter: 0.2,
  maxAttempts: 9,
  retryOn: ['network', 'timeout', 408, 425, 429, '5xx'],
  maxRetryAfter: 3_600_000,
};

/**
 * Rule: after a 429 (Too Many Requests) the next attempt waits at least this long, whatever the
 * schedule or Retry-After say, so a throttled target is not hit again within its usual window.
 */
const MIN_DELAY_AFTER_429 = 60_000;

type Classification = { retryable: true } | { retryable: false; reason: ParkReason };

/** True when the HTTP status is listed exactly or by its class ('4xx' / '5xx') in retryOn. */
function statusListed(policy: RetryPolicy, status: number): boolean {
  if (policy.retryOn.includes(status)) return true;
  if (status >= 400 && status <= 499) return policy.retryOn.includes('4xx');
  if (status >= 500 && status <= 599) return policy.retryOn.includes('5xx');
  return false;
}

/**
 * The retry rules, one per error class. Attempt counts play no part here (see decideRetry).
 */
function classify(policy: RetryPolicy, failure: FailureInfo): Classification {
  const permanent: Classification = { retryable: false, reason: 'permanent_error' };
  switch (failure.errorClass) {
    // Rule: connection errors (refused, reset, DNS, TLS) retry when 'network' is listed.
    case 'network':
      return policy.retryOn.includes('network') ? { retryable: true } : permanent;
    // Rule: a request that ran past the connector's timeout retries when 'timeout' is listed.
    case 'timeout':
      return policy.retryOn.includes('timeout') ? { retryable: true } : permanent;
    // Rule: an HTTP error status retries when its exact code or its class ('4xx'/'5xx') is listed;
    // every other status (by default: 4xx other than 408, 425, 429) parks at once as permanent.
    // A failure classed 'http' without a status cannot be matched and parks as permanent.
    case 'http':
      return failure.status !== null && statusListed(policy, failure.status) ? { retryable: true } : permanent;
    // Rule: a SOAP fault from the Server side (the target failed) retries like a 5xx, i.e. when
    // '5xx' (or the fault's exact HTTP status) is listed. A Client fault (our request is wrong)
    // parks as permanent: sending it again would fail the same way. A fault whose party is
    // unknown is judged by its HTTP status when there is one, otherwise it parks as permanent.
    case 'soap_fault':
      if (failure.faultParty === 'Client') return permanent;
      if (failure.faultParty === 'Server') {
        const listed =
          policy.retryOn.includes('5xx') || (failure.status !== null && policy.retryOn.includes(failure.status));
        return listed ? { retryable: true } : permanent;
      }
      return failure.status !== null && statusListed(policy, failure.status) ? { retryable: true } : permanent;
    // Rule: the connector's mapping could not build a payload for this event; it parks until the
    // mapping is fixed (a replay then runs the fixed transform on the stored raw event).
    case 'transform':
      return { retryable: false, reason: 'transform_error' };
    // Rule: an auth failure reaches the retry rules only once a credential refresh could not fix it
    // (the sender already retried a 401 once with a fresh OAuth2 token). With an HTTP status (from
    // the target or the token endpoint) it is judged like that status, so a 503 from a token
    // endpoint retries; a status that does not retry, or no status at all (no credentials can be
    // built), parks as config_error: somebody has to fix the connector's credentials.
    // A transient auth failure without a status retries like a network error.
    case 'auth':
      if (failure.status === null && failure.transient) return policy.retryOn.includes('network') ? { retryable: true } : { retryable: false, reason: 'config_error' };
      return failure.status !== null && statusListed(policy, failure.status)
        ? { retryable: true }
        : { retryable: false, reason: 'config_error' };
    // Rule: the connector's configuration is unusable (bad URL, missing secret, unknown transform,
    // or a TLS handshake that failed on a TlsProblem: our client certificate or key, or the
    // server's certificate); the delivery parks as config_error until the config (or the server's
    // certificate) is fixed and the delivery replayed.
    case 'config':
      return { retryable: false, reason: 'config_error' };
    // Rule: the target answered that it can no longer make the change (an order already picked,
    // packed or shipped, a cancelled order asked for again): sending it again would be refused the
    // same way, so the delivery parks as change_refused with the target's reason in words.
    case 'refused':
      return { retryable: false, reason: 'change_refused' };
    // Rule: an async connector's target accepted the request but sent no response by the deadline:
    // judged as a timeout would be (the request is sent again when 'timeout' is listed, with the same
    // idempotency key and correlation id); otherwise it parks as no_response.
    case 'no_response':
      return policy.retryOn.includes('timeout') ? { retryable: true } : { retryable: false, reason: 'no_response' };
  }
}

/**
 * The scheduled delay after the attempt numbered `attempt` (1-based) failed: schedule[attempt-1],
 * or the last entry once past the end of the schedule, moved by a uniform random amount within
 * ±jitter of itself, rounded to whole milliseconds and never below 0.
 */
function scheduleDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const { schedule } = policy;
  if (schedule.length === 0) return 0;
  const index = Math.min(Math.max(Math.floor(attempt), 1), schedule.length) - 1;
  const base = schedule[index] ?? 0;
  const jitter = Math.max(0, policy.jitter);
  // random() in [0, 1) → factor in [1 - jitter, 1 + jitter).
  const factor = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * factor));
}

/** A short description of a failure for park messages: "HTTP 503: Service Unavailable". */
function describeFailure(failure: FailureInfo): string {
  const parts: string[] = [];
  switch (failure.errorClass) {
    case 'http':
      parts.push(failure.status !== null ? `HTTP ${failure.status}` : 'HTTP error');
      break;
    case 'soap_fault':
      parts.push(`SOAP ${failure.faultParty ?? 'unknown'} fault${failure.status !== null ? ` (HTTP ${failure.status})` : ''}`);
      break;
    case 'auth':
      parts.push(`auth error${failure.status !== null ? ` (HTTP ${failure.status})` : ''}`);
      break;
    case 'refused':
      parts.push('refused');
      break;
    case 'no_response':
      parts.push('no response');
      break;
    default:
      parts.push(`${failure.errorClass} error`);
  }
  const text = failure.message.trim();
  return text === '' ? parts.join('') : `${parts.join('')}: ${text}`;
}

/**
 * What to do after the attempt numbered `attempt` (1-based, within the current cycle) failed.
 *
 * 1. A failure that may not retry (see classify) parks at once with its reason, whatever the count.
 * 2. Once `attempt >= maxAttempts` the delivery parks as attempts_exhausted (no_response when the
 *    last attempt was accepted and never answered).
 * 3. Otherwise it retries after scheduleDelay(...). When the target sent Retry-After, the delay is
 *    max(scheduled delay, Retry-After), where Retry-After is first capped at maxRetryAfter (a target
 *    asking for more than that gets maxRetryAfter; the schedule itself is never shortened).
 * 4. After a 429 the delay is at least MIN_DELAY_AFTER_429 (60 s).
 */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  failure: FailureInfo,
  now: number,
  random: () => number,
): RetryDecision {
  const verdict = classify(policy, failure);
  if (!verdict.retryable) {
    return { action: 'park', reason: verdict.reason, message: describeFailure(failure) };
  }
  if (attempt >= policy.maxAttempts) {
    const n = Math.max(attempt, 1);
    return {
      action: 'park',
      // A late response may still complete it: the reason says what it waits for.
      reason: failure.errorClass === 'no_response' ? 'no_response' : 'attempts_exhausted',
      message: `gave up after ${n} attempt${n === 1 ? '' : 's'}; last error: ${describeFailure(failure)}`,
    };
  }
  let delayMs = scheduleDelay(policy, attempt, random);
  if (failure.retryAfterMs !== null && Number.isFinite(failure.retryAfterMs)) {
    const asked = Math.min(Math.max(0, failure.retryAfterMs), Math.max(0, policy.maxRetryAfter));
    delayMs = Math.max(delayMs, Math.ceil(asked));
  }
  if (failure.status === 429) delayMs = Math.max(delayMs, MIN_DELAY_AFTER_429);
  return { action: 'retry', at: now + delayMs, delayMs };
}

/** The retry-relevant part of a sender's result (SendResult in src/connectors/types.ts). */
export interface SendOutcome {
  status: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  faultParty: 'Client' | 'Server' | null;
  retryAfterMs: number | null;
}

/**
 * The failure the retry rules and the breaker judge, from a sender's result that is not ok. The one
 * place a result becomes a failure:
 *
 * - error class: the sender's; a result without one is judged by its status ('http'), and one
 *   with neither (no answer, no class) as 'network'.
 * - message: the sender's error message; without one "HTTP <status>", or '' when there is no status.
 * - Retry-After: as the sender read it (retryAfterFromHeaders, on the injected clock).
 */
export function failureFromSendResult(result: SendOutcome): FailureInfo {
  const errorClass: ErrorClass = result.errorClass ?? (result.status !== null ? 'http' : 'network');
  return {
    errorClass,
    status: result.status,
    faultParty: result.faultParty,
    retryAfterMs: result.retryAfterMs,
    message: result.errorMessage ?? (result.status !== null ? `HTTP ${result.status}` : ''),
  };
}

/** The failure of an attempt that ended in a thrown error (no result): its class and message. */
export function failureFromError(
  errorClass: ErrorClass,
  message: string,
  details: { status?: number | null; transient?: boolean } = {},
): FailureInfo {
  const failure: FailureInfo = { errorClass, status: details.status ?? null, faultParty: null, retryAfterMs: null, message };
  if (details.transient) failure.transient = true;
  return failure;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | null {
  const mon = MONTHS.indexOf(month.toLowerCase());
  if (mon < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return null;
  const t = Date.UTC(year, mon, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; refuse dates that do not exist.
  return new Date(t).getUTCDate() === day ? t : null;
}

/**
 * An HTTP-date in one of the three forms RFC 9110 §5.6.7 requires recipients to accept, all in GMT:
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and
 * asctime "Sun Nov  6 08:49:37 1994". Parsed by hand: Date.parse reads asctime as local time.
 */
function parseHttpDate(text: string, now: number): number | null {
  let m = /^[a-z]{3}, (\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i.exec(text);
  if (m) return utc(Number(m[3]), m[2] ?? '', Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i.exec(text);
  if (m) {
    // Two-digit year: the most recent year with those digits that is not over 50 years ahead.
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utc(year, m[2] ?? '', Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = /^[a-z]{3} ([a-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i.exec(text);
  if (m) return utc(Number(m[6]), m[1] ?? '', Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

/**
 * A Retry-After header value as milliseconds from `now` (RFC 9110 §10.2.3), the one reading of it:
 *
 * - delay-seconds: digits ("120"), tolerated with a fraction ("1.5"), rounded up to whole
 *   milliseconds. Very large values are read as given; decideRetry caps them at maxRetryAfter.
 * - an HTTP-date in any of its three forms (see parseHttpDate); a date in the past gives 0.
 * - anything else is null, as if the header were absent: a sign ("-5", "+5") is not delay-seconds,
 *   and garbage ("soon", "12abc", "2025-01-15", a date that does not exist) is not a date. The
 *   schedule alone then decides the delay.
 *
 * `now` is the caller's clock (the gateway's injected one), never the wall clock.
 */
function parseRetryAfter(value: string | undefined | null, now: number): number | null {
  if (value === undefined || value === null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : null;
  }
  const at = parseHttpDate(text, now);
  if (at === null) return null;
  return Math.max(0, at - now);
}

/** The response headers that may carry a retry hint, in the order they are read. */
const RETRY_AFTER_HEADERS = ['retry-after', 'x-retry-after'] as const;

/**
 * The retry hint of a response: the first of Retry-After and X-Retry-After (names in any letter
 * case) that parseRetryAfter can read, as milliseconds from `now`; null when there is none.
 */
export function retryAfterFromHeaders(headers: Readonly<Record<string, string>>, now: number): number | null {
  for (const wanted of RETRY_AFTER_HEADERS) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
    const ms = key === undefined ? null : parseRetryAfter(headers[key], now);
    if (ms !== null) return ms;
  }
  return null;
}
