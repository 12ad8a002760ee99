/**
 * A connector's rate limit (`rateLimit: { requests, per }`, per in ms) as an exact sliding-window
 * log, pure: the log is a value the caller keeps (in the store, so the limit holds across
 * instances) and time comes in as epoch milliseconds.
 *
 * The log holds the times of the latest sends. A take at `now` is granted iff fewer than
 * `requests` sends are recorded after now - window; a granted take records `now`. So any window of
 * that length holds at most `requests` recorded sends, whatever the order the takes came in: unlike a
 * token bucket (a burst of `requests` on top of the refill), nothing is saved up while idle.
 *
 * The window is `per` plus a margin, because the limit is counted where the requests arrive (the
 * target's clock), not where they were granted. Two things make an arrival differ from its recorded
 * time: the clock of the instance that recorded it (instances of one cluster may be tens of ms
 * apart; 50 ms is the figure we test), and the time between the grant and the arrival (sending
 * starts at once, but a busy event loop or a new connection delays some requests more than others).
 * If arrival - recorded time varies by at most d over all sends, `requests` + 1 arrivals within
 * `per` would need as many recorded times within per + d, which the log never holds when margin >= d. The
 * instance's clock is used rather than the database's: the caller waits on its own clock until the
 * retryAt it gets (so a database time would carry the same offset back), and an injected clock keeps
 * tests exact. A take also counts recorded sends later than its own now (a clock ahead of this
 * one): they hold a place in every window this take could fall in.
 */

export interface RateLimit {
  requests: number;
  /** ms */
  per: number;
  /** ms added to `per` (see below); RATE_MARGIN_MS when not configured. */
  margin?: number;
}

/**
 * The margin when the connector sets none: covers the clock offsets between instances (50 ms
 * tested) and the spread of the delay between a grant and the request's arrival (a new connection,
 * a busy event loop). Over ShipBob's minute it costs 0.4% of the throughput; a target far away
 * (a TLS handshake of several round trips on a new connection) may need more, and a limit per
 * second may prefer less and accept that spread.
 */
export const RATE_MARGIN_MS = 250;

/** The recorded send times, ascending; at most `requests` of them (older ones can never matter). */
export type SendLog = readonly number[];

export interface Admission {
  /** How many of the takes wanted were granted (0..want). */
  granted: number;
  /**
   * When one more take can be granted: `now` while the window has room after this take, else the
   * time the oldest send that fills it leaves the window.
   */
  retryAt: number;
  /** The log to store: the granted takes recorded at `now`, pruned to the newest `requests`. */
  log: number[];
}

/** What a take in the shared window decided: how many were granted, when one more can be, and the time they are recorded at. */
export interface RateTake {
  granted: number;
  retryAt: number;
  at: number;
}

/**
 * Takes up to `want` sends at `now`: grants as many as the window (`per` + `margin` ms; the store
 * passes the limit's margin, or RATE_MARGIN_MS) has room for. A refused take (granted 0) changes
 * nothing but still returns the pruned log. Throws a RangeError for a limit or a
 * `want` that is not a whole number in range (a caller's bug, not a runtime condition).
 */
export function admit(limit: Pick<RateLimit, 'requests' | 'per'>, log: SendLog, now: number, want: number, margin: number): Admission {
  if (!Number.isInteger(limit.requests) || limit.requests < 1) throw new RangeError(`a rate limit allows at least 1 request, not ${limit.requests}`);
  if (!Number.isFinite(limit.per) || limit.per <= 0) throw new RangeError(`a rate limit's window must be positive, not ${limit.per}`);
  if (!Number.isInteger(want) || want < 0) throw new RangeError(`cannot take ${want} sends`);
  if (!Number.isFinite(now) || !Number.isFinite(margin) || margin < 0) throw new RangeError('now and margin must be finite, margin not negative');
  const window = limit.per + margin;
  const sorted = [...log].sort((a, b) => a - b);
  const since = now - window;
  const counted = sorted.filter((t) => t > since).length;
  const granted = Math.max(0, Math.min(want, limit.requests - counted));
  const next = [...sorted, ...new Array<number>(granted).fill(now)].sort((a, b) => a - b).slice(-limit.requests);
  // Only the newest `requests` sends can decide a take, whatever its now: if they are all in its
  // window it is refused, and if one is not, no older one is either. So the log never holds more.
  const oldest = next.length === limit.requests ? (next[0] as number) : null;
  const retryAt = oldest !== null && oldest > since ? oldest + window : now;
  return { granted, retryAt, log: next };
}

/**
 * Moves a place granted at `grantedAt` whose request has not been written yet to `now`: the
 * recorded time must stay close to the request's arrival (see the margin above), and the time
 * between a grant and the write (a transform, a token fetch, a busy event loop) can be hundreds of
 * ms. The old place is given up whatever the answer, since nothing was sent at it: if the window at
 * `now` has no room without it, the caller waits for a place like any further request.
 */
export function readmit(limit: Pick<RateLimit, 'requests' | 'per'>, log: SendLog, grantedAt: number, now: number, margin: number): Admission {
  const at = log.indexOf(grantedAt);
  const rest = at < 0 ? [...log] : [...log.slice(0, at), ...log.slice(at + 1)];
  return admit(limit, rest, now, 1, margin);
}

/**
 * Whether a place granted at `grantedAt` is too old to write its request at `now` without taking it
 * again: older than a fifth of the margin, so that four fifths stay for the clock offsets between
 * instances and the connection's own delay. A request written at once keeps its place (no extra
 * round trips on the common path).
 */
export function isStalePlace(grantedAt: number, now: number, margin: number): boolean {
  return now - grantedAt > margin / 5;
}
