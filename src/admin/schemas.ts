import { z } from 'zod';
import { parseDuration } from '../config/units.ts';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';
import { parseInstant } from '../domain/time.ts';
import { MAX_BILLING_PAGE } from '../store/webhooks.ts';

/**
 * What the admin API accepts, as zod schemas. Query strings: a list parameter may be repeated or
 * comma-separated; times are ISO 8601 or epoch milliseconds. Unknown parameters and keys are refused.
 */

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const CONNECTOR_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const MAX_IDS = 1000;

export const parseTime = parseInstant;

const ulid = z.string().regex(ULID, 'not an id (ids are 26-character ULIDs)');
const text = (max: number) => z.string().min(1).max(max);

/** A list in a query string: repeated and/or comma-separated. */
const list = <T extends z.ZodType<string, string>>(item: T, max = 100) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .pipe(z.array(item).min(1, 'give at least one value').max(max));

const queryTime = z.string().transform((v, ctx) => {
  const ms = parseTime(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'use an ISO 8601 time (2026-11-23T12:00:00Z) or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const bodyTime = z.union([z.number().int().min(0), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseTime(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'use an ISO 8601 time or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const pageLimit = z
  .string()
  .regex(/^\d{1,4}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1).max(500))
  .default(50);
const cursor = z.string().regex(ULID, 'not a cursor this API gave out');
const state = z.enum(DELIVERY_STATES);

export const deliveriesQuery = z.strictObject({
  id: list(ulid, MAX_IDS).optional(),
  eventId: list(ulid, MAX_IDS).optional(),
  connector: list(text(63)).optional(),
  state: list(state).optional(),
  eventCode: list(text(100)).optional(),
  orderKey: text(300).optional(),
  error: text(500).optional(),
  from: queryTime.optional(),
  to: queryTime.optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const eventsQuery = z.strictObject({
  id: list(ulid, MAX_IDS).optional(),
  eventCode: list(text(100)).optional(),
  source: list(text(100)).optional(),
  status: list(text(100)).optional(),
  orderKey: text(300).optional(),
  pushId: ulid.optional(),
  from: queryTime.optional(),
  to: queryTime.optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const attemptsQuery = z.strictObject({
  deliveryId: list(ulid, MAX_IDS).optional(),
  connector: list(text(63)).optional(),
  outcome: list(z.enum(ATTEMPT_OUTCOMES)).optional(),
  error: text(500).optional(),
  from: queryTime.optional(),
  to: queryTime.optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const auditQuery = z.strictObject({
  action: list(text(60)).optional(),
  direction: list(z.enum(['in', 'out', 'admin'])).optional(),
  connector: list(text(63)).optional(),
  result: list(text(40)).optional(),
  eventId: ulid.optional(),
  deliveryId: ulid.optional(),
  actor: text(200).optional(),
  from: queryTime.optional(),
  to: queryTime.optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const billingQuery = z.strictObject({
  topic: list(text(60)).optional(),
  from: queryTime.optional(),
  to: queryTime.optional(),
  includeDuplicates: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_BILLING_PAGE))
    .default(100),
  cursor: cursor.optional(),
});

/** GET /recovery/runs and GET /poller: how many runs to show. */
export const runHistoryQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(500))
    .default(20),
});

/** POST /deliveries/{replay,discard,hold,release}: which deliveries, and how. */
export const operationBody = z.strictObject({
  ids: z.array(ulid).max(MAX_IDS).optional(),
  eventIds: z.array(ulid).max(MAX_IDS).optional(),
  connectors: z.array(text(63)).max(100).optional(),
  states: z.array(state).max(DELIVERY_STATES.length).optional(),
  eventCodes: z.array(text(100)).max(100).optional(),
  orderKey: text(300).optional(),
  errorContains: text(500).optional(),
  from: bodyTime.optional(),
  to: bodyTime.optional(),
  dryRun: z.boolean().default(false),
  reason: z.string().trim().min(1).max(1000).optional(),
  limit: z.number().int().min(1).max(100_000).optional(),
});

/** POST /deliveries/{id}/{action}. */
export const singleOperationBody = z.strictObject({
  dryRun: z.boolean().default(false),
  reason: z.string().trim().min(1).max(1000).optional(),
});

/** POST /connectors/{name}/online|offline. */
export const connectorStateBody = z.strictObject({
  reason: z.string().trim().min(1).max(1000).optional(),
});

/** Routes that take no body (an empty object is accepted). */
export const emptyBody = z.strictObject({});

/** POST /recovery/runs. */
export const recoveryRunBody = z.strictObject({
  connectors: z.array(text(63)).max(100).optional(),
  eventCodes: z.array(text(100)).max(100).optional(),
  maxAge: z
    .string()
    .refine((v) => parseDuration(v) !== null, 'not a duration (use e.g. 12h, 7d)')
    .optional(),
  limit: z.number().int().min(1).max(100_000).optional(),
});

export const idParam = z.strictObject({ id: ulid });
export const connectorParam = z.strictObject({ name: z.string().regex(CONNECTOR_NAME, 'not a connector name') });
