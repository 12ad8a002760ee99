/**
 * A connector's delivery rules: `retry`, `rateLimit` and `breaker`. The defaults are the domain's
 * (DEFAULT_RETRY, DEFAULT_BREAKER), so the rules and the config cannot disagree on them.
 */
import { z } from 'zod';
import { DEFAULT_BREAKER } from '../../domain/breaker.ts';
import { DEFAULT_RETRY } from '../../domain/retry.ts';
import type { Leaves } from './leaves.ts';

/** What a failure must be for `retry.retryOn` to retry it: an error class, a status class, or a status. */
const retryOn = z.union([
  z.enum(['network', 'timeout', '4xx', '5xx']),
  z.number().int().min(100).max(599),
]);

/** The retry rules (src/domain/retry.ts). */
export function retrySchema({ num, duration }: Leaves) {
  return z
    .strictObject({
      schedule: z.array(duration()).min(1).default(() => [...DEFAULT_RETRY.schedule]),
      jitter: num(z.number().min(0).max(1)).default(DEFAULT_RETRY.jitter),
      maxAttempts: num(z.number().int().min(1).max(100)).default(DEFAULT_RETRY.maxAttempts),
      retryOn: z.array(retryOn).default(() => [...DEFAULT_RETRY.retryOn]),
      maxRetryAfter: duration().default(DEFAULT_RETRY.maxRetryAfter),
    })
    .prefault({});
}

/** The shared rate limit (src/domain/rate.ts); none by default. Without `margin`, RATE_MARGIN_MS. */
export function rateLimitSchema({ num, duration }: Leaves) {
  return z
    .strictObject({ requests: num(z.number().int().min(1)), per: duration(), margin: duration().optional() })
    .optional();
}

/** The circuit breaker (src/domain/breaker.ts). */
export function breakerSchema({ num, duration }: Leaves) {
  return z
    .strictObject({
      consecutiveFailures: num(z.number().int().min(1)).default(DEFAULT_BREAKER.consecutiveFailures),
      failureRatio: num(z.number().gt(0).max(1)).default(DEFAULT_BREAKER.failureRatio),
      minimumRequests: num(z.number().int().min(1)).default(DEFAULT_BREAKER.minimumRequests),
      window: duration().default(DEFAULT_BREAKER.windowMs),
      coolDown: duration().default(DEFAULT_BREAKER.coolDownMs),
    })
    .prefault({});
}
