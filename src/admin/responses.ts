import { z } from 'zod';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';
import { SHIPBOB_BILLING_TOPICS } from '../domain/shipbob-webhook.ts';
import {
  ADMIN_ERROR_CODES,
  ADMIN_STATES,
  AUDIT_DIRECTIONS,
  CIRCUIT_STATES,
  ERROR_CLASSES,
  EVENT_SOURCES,
  EVENT_STATUSES,
  HOLD_REASONS,
  INSTANCE_STATES,
  OPERATOR_ACTIONS,
  ORDERINGS,
  PARK_REASONS,
  POLL_RUN_STATES,
  POLL_SKIP_REASONS,
  POLL_STATES,
  PROBE_STEPS,
  PROTOCOLS,
  RECOVERY_RUN_STATES,
  RECOVERY_SKIP_REASONS,
  RUN_TRIGGERS,
} from './enums.ts';
import { ULID } from './schemas.ts';

/**
 * What the admin API answers, as zod schemas: the OpenAPI document's response schemas are converted
 * from these (src/admin/openapi.ts), and the integration test parses every route's real answer with
 * them. Objects are strict, so a field a service adds or renames fails that test until it is
 * described here. Shared objects are registered in `components` with an id: the document then has
 * each of them once, under components.schemas, and refers to it by $ref.
 */

/** Schemas with an id: each becomes components.schemas[id] in the document. */
export const components = z.registry<{ id: string }>();

function component<S extends z.ZodType>(id: string, schema: S): S {
  components.add(schema, { id });
  return schema;
}

const id = z.string().regex(ULID).describe('a ULID (time-ordered id)');
const time = z.iso.datetime().describe('ISO 8601, UTC');
const count = z.number().int().min(0);
const nullableString = z.string().nullable();

const pageOf = <T extends z.ZodType>(item: T, older = true) =>
  z.strictObject({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe(`pass as \`cursor\` for the next (${older ? 'older' : 'newer'}) page; null on the last page`),
  });

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

export const connectorOverview = component(
  'ConnectorOverview',
  z.strictObject({
    name: z.string(),
    description: nullableString,
    targetSystem: nullableString,
    protocol: z.enum(PROTOCOLS),
    kind: z.string(),
    url: z.string().describe('credentials in it redacted'),
    auth: z.string(),
    ordering: z.enum(ORDERINGS),
    concurrency: z.number().int().min(1),
    rateLimit: z.strictObject({ requests: z.number().int().min(1), perMs: z.number().int().min(1) }).nullable(),
    adminState: z.enum(ADMIN_STATES).describe('offline: maintenance, its due deliveries wait on hold'),
    circuit: z.enum(CIRCUIT_STATES),
    circuitUntil: time.nullable(),
    stateUpdatedAt: time.nullable(),
    stateUpdatedBy: nullableString,
    queueDepth: count.describe('pending + retrying'),
    oldestDueAt: time.nullable(),
    counts: z.strictObject({ pending: count, retrying: count, inFlight: count, onHold: count, parked: count, delivered: count, discarded: count }),
    blockedKeys: z
      .array(z.strictObject({ orderKey: z.string(), blockedBy: id, blockerState: z.enum(DELIVERY_STATES), waiting: count }))
      .max(20)
      .describe('order keys that cannot move, each with the delivery that blocks it'),
  }),
);

export const connectorList = component('ConnectorList', z.strictObject({ items: z.array(connectorOverview) }));

export const probeReport = component(
  'ProbeReport',
  z.strictObject({
    connector: z.string(),
    ok: z.boolean(),
    url: z.string().describe('the probe URL, credentials redacted'),
    steps: z.array(z.strictObject({ name: z.enum(PROBE_STEPS), ok: z.boolean(), durationMs: count, detail: z.string().describe('what happened, or why it failed') })),
    durationMs: count,
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

const instance = component(
  'Instance',
  z.strictObject({
    id: z.string().describe('the owner of its leases; one per process run'),
    host: z.string(),
    pid: z.number().int().min(0),
    version: z.string().describe("the gateway's version (package.json)"),
    configVersion: z.string().describe('a digest of the config in force there; a reload that changes the config changes it'),
    state: z.enum(INSTANCE_STATES).describe('live: heartbeat within cluster.staleAfter; stale: it stopped beating without a clean stop; stopped: a clean stop'),
    startedAt: time,
    heartbeatAt: time.describe('its last heartbeat'),
    heartbeatAgeMs: count.describe('time since its last heartbeat, at this answer'),
    stoppedAt: time.nullable(),
    inFlight: count.describe('deliveries it holds a lease on'),
    oldestLeaseAgeMs: count.nullable().describe('how long the longest-held of them has been held; null when it holds none'),
    nextLeaseExpiresAt: time.nullable().describe('the earliest end of its leases (in the past: run out, to be reclaimed by another instance)'),
  }),
);

export const instanceList = component('InstanceList', z.strictObject({ items: z.array(instance).describe('live first, then stale, then stopped; each newest first') }));

export const requestPreview = component(
  'RequestPreview',
  z
    .strictObject({
      connector: z.string(),
      deliveryId: z.string().describe('the event\'s delivery to the connector (its id and idempotency key are in what is sent), or "preview" when it has none'),
      method: z.string(),
      url: z.string().describe('credentials in it redacted'),
      headers: z.record(z.string(), z.string()).describe('credentials replaced by *** (an OAuth2 bearer is shown as Bearer ***: no token is fetched)'),
      body: nullableString.describe('the body or SOAP envelope exactly as the delivery would send it (configured secrets in it replaced by ***)'),
    })
    .describe('the request a delivery would send now: nothing is sent or written'),
);

/** GET /openapi.json: the document itself (its own shape is OpenAPI's, not described again here). */
export const openApiObject = component(
  'OpenApiDocument',
  z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
);
