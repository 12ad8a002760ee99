import { z } from 'zod';
import { formatDuration, parseDuration } from '../config/units.ts';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';
import { parseInstant } from '../domain/time.ts';
import { MAX_FUNNEL_SPAN_MS, parseRangeEnd, parseStuckAfter, STUCK_AFTER_RULE, type RangeEnd } from '../services/funnel-range.ts';
import { FUNNEL_LIMITS } from '../services/funnel.ts';
import { PREVIEW_EVENT_FIELDS } from '../services/preview.ts';
import { MAX_BILLING_PAGE } from '../store/webhooks.ts';
import { AUDIT_DIRECTIONS } from './enums.ts';

/**
 * What the admin API accepts, as zod schemas. Query strings: a list parameter may be repeated or
 * comma-separated; times are ISO 8601 or epoch milliseconds. Unknown parameters and keys are refused.
 */

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CONNECTOR_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_IDS = 1000;

const parseTime = parseInstant;

const ulid = z.string().regex(ULID, 'not an id (ids are 26-character ULIDs)');
const text = (max: number) => z.string().min(1).max(max);

/**
 * A list in a query string: repeated and/or comma-separated. Written as a preprocess step before an
 * array schema (not a transform after a string schema) so that the OpenAPI document, which shows
 * what a client sends, shows an array of the items with their pattern or enum.
 */
const list = <T extends z.ZodType<string, string>>(item: T, max = 100) =>
  z.preprocess(
    (v: unknown): unknown =>
      typeof v === 'string' || Array.isArray(v)
        ? (Array.isArray(v) ? (v as unknown[]) : [v])
            .flatMap((s): unknown[] => (typeof s === 'string' ? s.split(',') : [s]))
            .map((s): unknown => (typeof s === 'string' ? s.trim() : s))
            .filter((s) => s !== '')
        : v,
    z.array(item).min(1, 'give at least one value').max(max),
  );

/**
 * A whole number in a query string, documented (and checked) as an integer from 1 to `max`. The
 * fallback is a prefault (an input put in place of a missing one) rather than a default: zod keeps a
 * default out of an input schema when a transform comes before it, a prefault it shows. Every check
 * has its own message saying the bounds: a message given to z.number() itself would stand for the
 * min and max checks too, and `limit=1001` would read "must be a whole number".
 */
const queryInt = (max: number, fallback: number, description: string) => {
  const rule = `must be a whole number from 1 to ${max}`;
  return z
    .preprocess((v) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v), z.number({ error: rule }).int(rule).min(1, rule).max(max, rule))
    .prefault(fallback)
    .describe(description);
};

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

const pageLimit = queryInt(500, 50, 'page size');
const cursor = z.string().regex(ULID, 'not a cursor this API gave out').describe('`nextCursor` of the previous page');
const state = z.enum(DELIVERY_STATES);

export const deliveriesQuery = z.strictObject({
  id: list(ulid, MAX_IDS).describe('delivery ids').optional(),
  eventId: list(ulid, MAX_IDS).describe('event ids: all deliveries of these events').optional(),
  connector: list(text(63)).describe('connectors').optional(),
  state: list(state).describe('states').optional(),
  eventCode: list(text(100)).describe('event codes').optional(),
  orderKey: text(300).describe('order key (exact)').optional(),
  error: text(500).describe('case-insensitive substring of the last error').optional(),
  from: queryTime.describe('created at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: queryTime.describe('created before (ISO 8601 or epoch milliseconds)').optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const eventsQuery = z.strictObject({
  id: list(ulid, MAX_IDS).describe('event ids').optional(),
  eventCode: list(text(100)).describe('event codes').optional(),
  source: list(text(100)).describe('sources: oracle-om, shipbob, fusion-po').optional(),
  status: list(text(100)).describe('statuses: routed, unrouted, duplicate').optional(),
  orderKey: text(300).describe('order key (exact)').optional(),
  pushId: ulid.describe('the push the events came in').optional(),
  from: queryTime.describe('received at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: queryTime.describe('received before (ISO 8601 or epoch milliseconds)').optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const attemptsQuery = z.strictObject({
  deliveryId: list(ulid, MAX_IDS).describe('delivery ids').optional(),
  connector: list(text(63)).describe('connectors').optional(),
  outcome: list(z.enum(ATTEMPT_OUTCOMES)).describe('outcomes').optional(),
  error: text(500).describe('case-insensitive substring of the error message').optional(),
  from: queryTime.describe('started at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: queryTime.describe('started before (ISO 8601 or epoch milliseconds)').optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const auditQuery = z.strictObject({
  action: list(text(60)).describe('actions, e.g. event.received, delivery.attempt, delivery.replayed').optional(),
  direction: list(z.enum(AUDIT_DIRECTIONS)).describe('directions').optional(),
  connector: list(text(63)).describe('connectors').optional(),
  result: list(text(40)).describe('results').optional(),
  eventId: ulid.describe('event id').optional(),
  deliveryId: ulid.describe('delivery id').optional(),
  actor: text(200).describe('actor (exact), e.g. admin-api, recovery-run').optional(),
  from: queryTime.describe('recorded at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: queryTime.describe('recorded before (ISO 8601 or epoch milliseconds)').optional(),
  limit: pageLimit,
  cursor: cursor.optional(),
});

export const billingQuery = z.strictObject({
  topic: list(text(60)).describe('billing topics').optional(),
  from: queryTime.describe('received at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: queryTime.describe('received before (ISO 8601 or epoch milliseconds)').optional(),
  includeDuplicates: z.enum(['true', 'false']).transform((v) => v === 'true').describe('include replays of a webhook-id').optional(),
  limit: queryInt(MAX_BILLING_PAGE, 100, 'page size'),
  cursor: cursor.optional(),
});

/** GET /recovery/runs and GET /poller: how many runs to show. */
export const runHistoryQuery = z.strictObject({
  limit: queryInt(500, 20, 'how many runs'),
});

/** POST /deliveries/{replay,discard,hold,release}: which deliveries, and how. */
export const operationBody = z.strictObject({
  ids: z.array(ulid).max(MAX_IDS).describe('delivery ids').optional(),
  eventIds: z.array(ulid).max(MAX_IDS).describe('event ids: all deliveries of these events').optional(),
  connectors: z.array(text(63)).max(100).optional(),
  states: z.array(state).max(DELIVERY_STATES.length).optional(),
  eventCodes: z.array(text(100)).max(100).optional(),
  orderKey: text(300).optional(),
  errorContains: text(500).describe('case-insensitive substring of the last error').optional(),
  from: bodyTime.describe('created at or after (ISO 8601 or epoch milliseconds)').optional(),
  to: bodyTime.describe('created before (ISO 8601 or epoch milliseconds)').optional(),
  dryRun: z.boolean().default(false).describe('count and sample without changing anything'),
  reason: z.string().trim().min(1).max(1000).describe('why (required for discard)').optional(),
  limit: z.number().int().min(1).max(100_000).describe('change at most this many, oldest first').optional(),
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
  maxAge: z.string().refine((v) => parseDuration(v) !== null, 'not a duration (use e.g. 12h, 7d)').describe('only deliveries created within this age, e.g. 7d').optional(),
  limit: z.number().int().min(1).max(100_000).describe('at most this many (default: the configured batchCap)').optional(),
});

export const idParam = z.strictObject({ id: ulid.describe('the id') });
export const connectorParam = z.strictObject({ name: z.string().regex(CONNECTOR_NAME, 'not a connector name').describe('the connector name') });

/** GET /connectors/{name}/preview: the stored event to preview. */
export const previewQuery = z.strictObject({ event: ulid.describe('the stored event to preview') });

/** POST /connectors/{name}/preview: a hand-written event, as `omgw preview --file` reads it. */
export const previewEventBody = z.strictObject(PREVIEW_EVENT_FIELDS);

/** GET /orders/{orderKey}: an order key, a source order number, a PO number, a ShipBob order or reference id. */
export const orderKeyParam = z.strictObject({
  orderKey: z.string().trim().min(1).max(300).describe('LEG:SO-1234, SO-1234, a PO number, a ShipBob order id or reference id'),
});

/*
 * The flow funnel, billing reconciliation and per-minute numbers (src/services/funnel.ts). A `since`
 * or `until` is a duration back from now (24h) or a time; the service reads it against its clock by
 * the range rules (src/services/funnel-range.ts), which refuse a range out of bounds.
 */
const rangeEnd = (description: string) =>
  z
    .string()
    .max(40)
    .transform((v, ctx): RangeEnd => {
      const end = parseRangeEnd(v);
      if (end === null) {
        ctx.addIssue({ code: 'custom', message: 'use a duration back from now (24h, 7d), an ISO 8601 time (2026-11-23T12:00:00Z) or epoch milliseconds' });
        return z.NEVER;
      }
      return end;
    })
    .describe(description);

const spanRule = `the range spans at most ${formatDuration(MAX_FUNNEL_SPAN_MS)}`;
const funnelRange = {
  since: rangeEnd(`from: a duration back from now (24h) or a time (ISO 8601, epoch milliseconds); default 24h; ${spanRule}`).optional(),
  until: rangeEnd('to (not included): a duration back from now or a time; default now').optional(),
};

export const funnelQuery = z.strictObject({
  ...funnelRange,
  stuckAfter: z
    .string()
    .max(20)
    .transform((v, ctx) => {
      const ms = parseStuckAfter(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `use ${STUCK_AFTER_RULE}` });
        return z.NEVER;
      }
      return ms;
    })
    .describe(`a line waiting longer than this for its next stage is stuck; default 2h; ${STUCK_AFTER_RULE}`)
    .optional(),
  limit: queryInt(FUNNEL_LIMITS.stuckMax, FUNNEL_LIMITS.stuck, 'how many stuck lines at most'),
});

export const reconciliationQuery = z.strictObject(funnelRange);

export const throughputQuery = z.strictObject({
  minutes: queryInt(4320, 180, 'how many minutes back from now (one bucket each)'),
});
