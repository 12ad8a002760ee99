import { z } from 'zod';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';
import { SHIPBOB_BILLING_TOPICS } from '../domain/shipbob-webhook.ts';
import {
  ADMIN_ERROR_CODES,
  AUDIT_DIRECTIONS,
  ERROR_CLASSES,
  EVENT_SOURCES,
  EVENT_STATUSES,
  HOLD_REASONS,
  OPERATOR_ACTIONS,
  PARK_REASONS,
  POLL_RUN_STATES,
  POLL_SKIP_REASONS,
  POLL_STATES,
  RECOVERY_RUN_STATES,
  RECOVERY_SKIP_REASONS,
  RUN_TRIGGERS,
} from './enums.ts';
import { component, components, count, id, nullableString, pageOf, time } from './response-parts.ts';

export { components };
export { connectorList, connectorOverview, instanceList, probeReport, requestPreview } from './connector-responses.ts';

export const errorBody = component(
  'Error',
  z.strictObject({
    code: z.enum(ADMIN_ERROR_CODES).describe('stable error code'),
    message: z.string().describe('what went wrong, for a person'),
  }),
);

const deliverySummary = component(
  'DeliverySummary',
  z.strictObject({
    id,
    eventId: id,
    connector: z.string(),
    triggerPoint: nullableString,
    orderKey: nullableString,
    eventCode: z.string(),
    state: z.enum(DELIVERY_STATES),
    attemptCount: count.describe('attempts ever made'),
    attemptsInCycle: count.describe('attempts since the last replay (the retry schedule counts these)'),
    nextAttemptAt: time.describe('when it is (or was last) due'),
    lastError: nullableString,
    parkedReason: z.enum(PARK_REASONS).nullable(),
    holdReason: z.enum(HOLD_REASONS).nullable(),
    adminReason: nullableString.describe("the operator's reason for a discard or hold"),
    createdAt: time,
    updatedAt: time,
    deliveredAt: time.nullable(),
    correlationId: nullableString.describe('async connectors: the id the target calls back with, of the latest request (a generated one is kept across re-sends; one read from the answer may change with each, and a callback with an earlier one still finds the delivery)'),
    responseDueAt: time.nullable().describe("async connectors: when the target's response is due, while awaiting it"),
    respondedAt: time.nullable().describe('async connectors: when a callback completed the delivery'),
  }),
);

const deliveryStanding = component(
  'DeliveryStanding',
  z
    .strictObject({
      state: z.enum(DELIVERY_STATES),
      lastError: nullableString,
      parkedReason: z.enum(PARK_REASONS).nullable(),
      holdReason: z.enum(HOLD_REASONS).nullable(),
      adminReason: nullableString.describe("the operator's reason for a discard or hold"),
      attemptsInCycle: count,
      updatedAt: time,
    })
    .describe('where a delivery stood before the action (on a dry run: where it stands now), with its reasons'),
);

const operationSample = component(
  'OperationSample',
  deliverySummary.extend({ before: deliveryStanding }).describe('a delivery as it is (on a dry run: would be) after the action, and `before` it'),
);

const eventSummary = component(
  'EventSummary',
  z.strictObject({
    id,
    pushId: id.nullable(),
    source: z.enum(EVENT_SOURCES),
    eventCode: z.string(),
    orderKey: nullableString,
    sourceSystem: nullableString,
    receivedAt: time,
    status: z.enum(EVENT_STATUSES),
    duplicateOf: id.nullable(),
    connectorScope: nullableString,
    position: count.describe('index of the event within its push'),
  }),
);

const requestSummary = z
  .strictObject({
    method: z.string(),
    url: z.string().describe('without query parameters that carry credentials'),
    headers: z.record(z.string(), z.string()).describe('credentials replaced by ***'),
    bodyBytes: count,
  })
  .nullable()
  .describe('the request as sent; null when nothing was sent');

const attemptView = component(
  'AttemptView',
  z.strictObject({
    id,
    deliveryId: id,
    connector: z.string(),
    number: z.number().int().min(1),
    startedAt: time,
    durationMs: count,
    request: requestSummary,
    responseStatus: z.number().int().nullable(),
    responseHeaders: z.record(z.string(), z.string()).nullable(),
    responseSnippet: nullableString,
    errorClass: z.enum(ERROR_CLASSES).nullable(),
    errorMessage: nullableString,
    outcome: z.enum(ATTEMPT_OUTCOMES),
  }),
);

const auditView = component(
  'AuditView',
  z.strictObject({
    id,
    at: time,
    direction: z.enum(AUDIT_DIRECTIONS),
    action: z.string().describe('e.g. event.received, delivery.attempt, delivery.replayed'),
    sourceSystem: nullableString,
    connector: nullableString,
    eventId: id.nullable(),
    deliveryId: id.nullable(),
    result: z.string(),
    detail: z.unknown().describe('action-specific JSON'),
    requestId: nullableString,
    actor: nullableString.describe('admin-api, cli:<user>, recovery-run...'),
  }),
);

const pushView = component(
  'PushView',
  z.strictObject({
    id,
    receivedAt: time,
    path: z.string(),
    connectorScope: nullableString,
    soapVersion: z.string(),
    contentType: nullableString,
    headers: z.record(z.string(), z.string()).describe('credentials are never stored'),
    rawSize: count,
    eventCount: count,
    authMethod: nullableString,
    authUser: nullableString,
    remoteAddr: nullableString,
    requestId: nullableString,
    raw: z.string().describe('the SOAP envelope as received, every wsse:Password replaced by ***'),
  }),
);

export const deliveryDetail = component(
  'DeliveryDetail',
  z.strictObject({
    delivery: deliverySummary.extend({ idempotencyKey: nullableString, leaseOwner: nullableString, leaseExpiresAt: time.nullable() }),
    event: eventSummary.nullable(),
    attempts: z.array(attemptView),
    audit: z.array(auditView),
  }),
);

export const eventDetail = component(
  'EventDetail',
  z.strictObject({
    event: eventSummary.extend({ payload: z.unknown().describe('the parsed event'), raw: nullableString }),
    push: pushView.nullable(),
    deliveries: z.array(deliverySummary),
    attempts: z.array(attemptView),
    audit: z.array(auditView),
  }),
);

export const eventPage = component('EventPage', pageOf(eventSummary));
export const deliveryPage = component('DeliveryPage', pageOf(deliverySummary));
export const attemptPage = component('AttemptPage', pageOf(attemptView));
export const auditPage = component('AuditPage', pageOf(auditView));

export const operationResult = component(
  'OperationResult',
  z.strictObject({
    action: z.enum(OPERATOR_ACTIONS),
    dryRun: z.boolean(),
    matched: count.describe('deliveries the selection matches, any state'),
    eligible: count.describe('of those, in a state the action applies to'),
    changed: count.describe('changed (dry run: would be changed), at most limit'),
    skipped: z.partialRecord(z.enum(DELIVERY_STATES), count).describe('matched but left alone, by state'),
    sample: z
      .array(operationSample)
      .max(10)
      .describe('up to 10 of the deliveries changed (dry run: that would be), oldest first, as they are (would be) after, each with where it stood `before`'),
  }),
);

const recoveryRun = component(
  'RecoveryRun',
  z.strictObject({
    id,
    trigger: z.enum(RUN_TRIGGERS),
    slot: z.string(),
    scheduledFor: time,
    startedAt: time,
    finishedAt: time.nullable(),
    state: z.enum(RECOVERY_RUN_STATES),
    filters: z.strictObject({ connectors: z.array(z.string()), eventCodes: z.array(z.string()), maxAge: nullableString }),
    batchCap: count,
    selected: count.describe('parked deliveries the run took (at most batchCap)'),
    replayed: count,
    skipped: count.describe('no longer parked when their turn came'),
    stillFailing: count.describe('replayed by this run and parked again since'),
    delivered: count.describe('replayed by this run and delivered since'),
    resumes: count.describe('times the run was taken over after a crash or an error'),
    error: nullableString,
    actor: nullableString,
  }),
);

export const recoveryRunList = component('RecoveryRunList', z.strictObject({ items: z.array(recoveryRun) }));

export const recoveryOutcome = component(
  'RecoveryOutcome',
  z.discriminatedUnion('status', [
    z.strictObject({ status: z.literal('ran'), run: recoveryRun, resumed: z.array(recoveryRun) }),
    z.strictObject({ status: z.literal('skipped'), reason: z.enum(RECOVERY_SKIP_REASONS), run: recoveryRun.nullable(), resumed: z.array(recoveryRun) }),
  ]),
);

const pollSummary = component(
  'PollSummary',
  z.strictObject({
    since: time.describe('the first page asked for changes at or after this instant'),
    pages: count,
    read: count.describe('purchase orders read'),
    routed: count.describe('new events routed to at least one connector'),
    unrouted: count.describe('new events no trigger point selected'),
    duplicates: count.describe('changes stored before (an overlapping poll)'),
    skipped: count.describe('items without POHeaderId or a readable LastUpdateDate'),
    caughtUp: z.boolean().describe('false when the run stopped at maxPages with more to read, or failed'),
  }),
);

const pollRun = component(
  'PollRun',
  z.strictObject({
    id,
    trigger: z.enum(RUN_TRIGGERS),
    slot: time.nullable().describe('the scheduled slot of a scheduled run'),
    state: z.enum(POLL_RUN_STATES),
    startedAt: time,
    finishedAt: time.nullable(),
    cursorBefore: nullableString,
    cursorAfter: nullableString,
    summary: pollSummary.nullable(),
    error: nullableString,
  }),
);

export const pollerStatus = component(
  'PollerStatus',
  z.strictObject({
    poller: z.string(),
    enabled: z.boolean().describe('schedules.poller.enabled'),
    connector: nullableString.describe('the oracle-fusion connector it reads through'),
    cursor: nullableString.describe('the newest LastUpdateDate stored, as Fusion wrote it'),
    cursorAt: time.nullable(),
    caughtUp: z.boolean(),
    runs: z.array(pollRun).describe('the latest runs, newest first'),
  }),
);

export const pollOutcome = component(
  'PollOutcome',
  z.discriminatedUnion('status', [
    z.strictObject({
      status: z.literal('ran'),
      runId: id,
      state: z.enum(POLL_STATES),
      summary: pollSummary,
      cursorBefore: nullableString,
      cursorAfter: nullableString,
      error: nullableString.describe('why the run failed (Fusion refused or did not answer, a page was not JSON, the store failed)'),
    }),
    z.strictObject({ status: z.literal('skipped'), reason: z.enum(POLL_SKIP_REASONS) }),
  ]),
);

const billingRecord = component(
  'BillingRecord',
  z.strictObject({
    eventId: id,
    topic: z.enum(SHIPBOB_BILLING_TOPICS),
    status: z.enum(EVENT_STATUSES),
    duplicateOf: id.nullable(),
    receivedAt: time,
    amount: nullableString.describe('exactly as ShipBob wrote it'),
    currency: nullableString,
    reference: nullableString,
    referenceType: nullableString,
    transactionId: nullableString,
    transactionType: nullableString,
    invoiceId: nullableString,
    invoiceType: nullableString,
    occurredAt: nullableString.describe('as written in the payload'),
    raw: nullableString.describe('the webhook body as received'),
  }),
);

export const billingPage = component('BillingPage', pageOf(billingRecord, false));

/** GET /openapi.json: the document itself (its own shape is OpenAPI's, not described again here). */
export const openApiObject = component(
  'OpenApiDocument',
  z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
);
