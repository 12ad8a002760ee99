/**
 * Token bucket arithmetic for a connector's rate limit (`rateLimit: { requests, per }`, per in ms),
 * pure: the bucket is a value the caller keeps (in the store, so the limit holds across instances)
 * and time comes in as epoch milliseconds.
 *
 * The bucket holds at most `requests` tokens and gains requests/per tokens each millisecond, so a
 * full bucket allows a burst of `requests` and then a steady `requests` per `per`.
 */

export interface RateLimit {
  requests: number;
  /** ms */
  per: number;
}

export interface Bucket {
  /** May be fractional. */
  tokens: number;
  updatedAt: number;
}

/**
 * Float slack when comparing token counts, so that a take at exactly the retryAt a refused take
 * returned is granted despite rounding (1e-9 of a token is far below one request).
 */
const EPSILON = 1e-9;

/** A full bucket: what a connector starts with. */
export function fullBucket(limit: RateLimit, now: number): Bucket {
  return { tokens: limit.requests, updatedAt: now };
}

/**
 * The bucket at `now`: tokens grow by elapsed × requests/per, up to a capacity of `requests`.
 * A `now` earlier than updatedAt (clocks of two instances disagree) adds nothing and keeps
 * updatedAt, so that stretch of time is never counted twice.
 */
export function refill(limit: RateLimit, bucket: Bucket, now: number): Bucket {
  const capacity = limit.requests;
  const elapsed = Math.max(0, now - bucket.updatedAt);
  const tokens = Math.min(capacity, bucket.tokens + (elapsed * limit.requests) / limit.per);
  return { tokens, updatedAt: Math.max(bucket.updatedAt, now) };
}

/**
 * Takes `n` tokens (default 1) at `now` if the bucket has them. Granted: the bucket with n fewer
 * tokens, retryAt = now. Refused: the refilled bucket (nothing taken) and retryAt = the first whole
 * millisecond at which n tokens will be there. n above the capacity can never be granted and
 * throws a RangeError, as does a negative or non-finite n.
 */
export function take(
  limit: RateLimit,
  bucket: Bucket,
  now: number,
  n = 1,
): { granted: boolean; bucket: Bucket; retryAt: number } {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`cannot take ${n} tokens`);
  if (n > limit.requests) {
    throw new RangeError(`cannot take ${n} tokens from a bucket that holds at most ${limit.requests}`);
  }
  const current = refill(limit, bucket, now);
  if (current.tokens + EPSILON >= n) {
    return { granted: true, bucket: { ...current, tokens: Math.max(0, current.tokens - n) }, retryAt: now };
  }
  // Within EPSILON counts as there (as above), which also keeps float noise such as
  // 100.00000000000001 ms from rounding up to a whole millisecond too late.
  const missing = n - current.tokens - EPSILON;
  const wait = Math.ceil((missing * limit.per) / limit.requests);
  // Counted from updatedAt, which is later than now when the clocks disagree.
  return { granted: false, bucket: current, retryAt: current.updatedAt + wait };
}
