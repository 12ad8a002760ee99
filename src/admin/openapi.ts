import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';

/**
 * The OpenAPI 3.1 description of the admin API (src/admin/api.ts), served at
 * GET /admin/api/openapi.json. Written as data; test/integration/admin/api.test.ts checks that every
 * registered route is described here and every path here is registered.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
const nullable = (type: string, description?: string, extra: Schema = {}): Schema => ({
  type: [type, 'null'],
  ...(description ? { description } : {}),
  ...extra,
});
const int = (description?: string, extra: Schema = {}): Schema => ({ type: 'integer', ...(description ? { description } : {}), ...extra });
const time = (description?: string): Schema => str(description, { format: 'date-time' });
const nullableTime = (description?: string): Schema => nullable('string', description, { format: 'date-time' });
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  required,
  ...extra,
});
const arrayOf = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
const ulid: Schema = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'a ULID (time-ordered id)' };
const pageOf = (item: string): Schema =>
  obj({ items: arrayOf(ref(item)), nextCursor: nullable('string', 'pass as `cursor` for the next (older) page; null on the last page') });

const json = (schema: Schema): Schema => ({ content: { 'application/json': { schema } } });
const error = (description: string): Schema => ({ description, ...json(ref('Error')) });

const ERRORS = {
  400: error('bad input (query, path or body): the message names each problem'),
  401: error('no bearer token, or a wrong one'),
  404: error('not found, or the admin API is off (no admin.token configured)'),
  409: error('the delivery is in flight, or the action does not apply to its state'),
  413: error('the body is over admin.maxBodySize'),
  415: error('the body is not application/json'),
};

function op(summary: string, okSchema: Schema, opts: { params?: Schema[]; body?: Schema; errors?: Array<keyof typeof ERRORS>; tag: string; description?: string }): Schema {
  const errors = opts.errors ?? [];
  const responses: Record<string, Schema> = { '200': { description: 'OK', ...json(okSchema) }, '401': ERRORS[401] };
  for (const code of [400, 404, ...errors] as Array<keyof typeof ERRORS>) responses[String(code)] = ERRORS[code];
  if (opts.body) {
    responses['413'] = ERRORS[413];
    responses['415'] = ERRORS[415];
  }
  return {
    summary,
    tags: [opts.tag],
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.params ? { parameters: opts.params } : {}),
    ...(opts.body ? { requestBody: { required: false, ...json(opts.body) } } : {}),
    responses,
  };
}

const q = (name: string, description: string, schema: Schema = { type: 'string' }): Schema => ({ name, in: 'query', required: false, description, schema });
const list = (name: string, description: string, item: Schema = { type: 'string' }): Schema =>
  q(name, `${description} (repeat the parameter or separate values with commas)`, arrayOf(item));
const pathParam = (name: string, schema: Schema, description: string): Schema => ({ name, in: 'path', required: true, description, schema });

const LIMIT = q('limit', 'page size, 1 to 500 (default 50)', int(undefined, { minimum: 1, maximum: 500, default: 50 }));
const CURSOR = q('cursor', '`nextCursor` of the previous page', ulid);
const FROM = (what: string): Schema => q('from', `${what} at or after this time (ISO 8601 or epoch milliseconds)`);
const TO = (what: string): Schema => q('to', `${what} before this time (ISO 8601 or epoch milliseconds)`);
const ID = pathParam('id', ulid, 'the id');
const NAME = pathParam('name', { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' }, 'the connector name');
const STATE: Schema = { type: 'string', enum: [...DELIVERY_STATES] };

const operationDescription = (action: string): string =>
  ({
    replay:
      'Back to pending, due now, with a fresh retry cycle (attempts_in_cycle 0); attempt history kept; parked_reason and last_error cleared. Applies to parked, on_hold, discarded and retrying deliveries, and to delivered ones chosen by `ids` or `eventIds`. Ordering per order key is kept (ids do not change). In-flight deliveries are never touched.',
    discard: 'To `discarded` for good, with a `reason` (required). Applies to pending, retrying, on_hold and parked deliveries. A discarded delivery no longer blocks its order key.',
    hold: 'Pending and retrying deliveries to `on_hold` (hold reason `admin`) until released.',
    release: 'Held deliveries (any hold reason) back to pending, due now.',
  })[action] ?? '';

const operations = (action: string): Record<string, Schema> => ({
  [`/admin/api/deliveries/${action}`]: {
    post: op(`${action} the deliveries a selection matches`, ref('OperationResult'), {
      tag: 'deliveries',
      body: ref('OperationRequest'),
      description: `${operationDescription(action)} One audit record per changed delivery (actor admin-api). \`dryRun\` counts and samples without changing anything.`,
    }),
  },
  [`/admin/api/deliveries/{id}/${action}`]: {
    post: op(`${action} one delivery`, ref('OperationResult'), {
      tag: 'deliveries',
      params: [ID],
      body: ref('SingleOperationRequest'),
      errors: [409],
      description: operationDescription(action),
    }),
  },
});

const schemas: Record<string, Schema> = {
  Error: obj({ code: str('stable error code, e.g. BAD_REQUEST, AUTH_FAILED, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT'), message: str('what went wrong, for a person') }),
  DeliverySummary: obj({
    id: ulid,
    eventId: ulid,
    connector: str(),
    triggerPoint: nullable('string'),
    orderKey: nullable('string'),
    eventCode: str(),
    state: STATE,
    attemptCount: int('attempts ever made'),
    attemptsInCycle: int('attempts since the last replay (the retry schedule counts these)'),
    nextAttemptAt: time(),
    lastError: nullable('string'),
    parkedReason: nullable('string'),
    holdReason: nullable('string', 'offline, circuit_open or admin'),
    adminReason: nullable('string', "the operator's reason for a discard or hold"),
    createdAt: time(),
    updatedAt: time(),
    deliveredAt: nullableTime(),
  }),
  EventSummary: obj({
    id: ulid,
    pushId: nullable('string'),
    source: str('oracle-om, shipbob or fusion-po'),
    eventCode: str(),
    orderKey: nullable('string'),
    sourceSystem: nullable('string'),
    receivedAt: time(),
    status: str('routed, unrouted or duplicate'),
    duplicateOf: nullable('string'),
    connectorScope: nullable('string'),
    position: int(),
  }),
  AttemptView: obj({
    id: ulid,
    deliveryId: ulid,
    connector: str(),
    number: int(),
    startedAt: time(),
    durationMs: int(),
    request: { description: 'method, URL and headers as sent, credentials replaced by ***' },
    responseStatus: nullable('integer'),
    responseHeaders: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    responseSnippet: nullable('string'),
    errorClass: nullable('string'),
    errorMessage: nullable('string'),
    outcome: str('delivered, retry or parked'),
  }),
  AuditView: obj({
    id: ulid,
    at: time(),
    direction: str('in, out or admin'),
    action: str(),
    sourceSystem: nullable('string'),
    connector: nullable('string'),
    eventId: nullable('string'),
    deliveryId: nullable('string'),
    result: str(),
    detail: { description: 'action-specific JSON' },
    requestId: nullable('string'),
    actor: nullable('string'),
  }),
  PushView: obj({
    id: ulid,
    receivedAt: time(),
    path: str(),
    connectorScope: nullable('string'),
    soapVersion: str(),
    contentType: nullable('string'),
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'credentials are never stored' },
    rawSize: int(),
    eventCount: int(),
    authMethod: nullable('string'),
    authUser: nullable('string'),
    remoteAddr: nullable('string'),
    requestId: nullable('string'),
    raw: str('the SOAP envelope as received, every wsse:Password replaced by ***'),
  }),
  DeliveryDetail: obj({
    delivery: {
      allOf: [ref('DeliverySummary'), obj({ idempotencyKey: nullable('string'), leaseOwner: nullable('string'), leaseExpiresAt: nullableTime() })],
    },
    event: { oneOf: [ref('EventSummary'), { type: 'null' }] },
    attempts: arrayOf(ref('AttemptView')),
    audit: arrayOf(ref('AuditView')),
  }),
  EventDetail: obj({
    event: { allOf: [ref('EventSummary'), obj({ payload: { description: 'the parsed event' }, raw: nullable('string') })] },
    push: { oneOf: [ref('PushView'), { type: 'null' }] },
    deliveries: arrayOf(ref('DeliverySummary')),
    attempts: arrayOf(ref('AttemptView')),
    audit: arrayOf(ref('AuditView')),
  }),
  EventPage: pageOf('EventSummary'),
  DeliveryPage: pageOf('DeliverySummary'),
  AttemptPage: pageOf('AttemptView'),
  AuditPage: pageOf('AuditView'),
  OperationRequest: obj(
    {
      ids: arrayOf(ulid, { maxItems: 1000, description: 'delivery ids' }),
      eventIds: arrayOf(ulid, { maxItems: 1000, description: 'event ids: all deliveries of these events' }),
      connectors: arrayOf(str()),
      states: arrayOf(STATE),
      eventCodes: arrayOf(str()),
      orderKey: str(),
      errorContains: str('case-insensitive substring of the last error'),
      from: { type: ['string', 'integer'], description: 'created at or after (ISO 8601 or epoch ms)' },
      to: { type: ['string', 'integer'], description: 'created before (ISO 8601 or epoch ms)' },
      dryRun: { type: 'boolean', default: false },
      reason: str('why (required for discard)', { maxLength: 1000 }),
      limit: int('change at most this many, oldest first', { minimum: 1, maximum: 100000 }),
    },
    [],
    { additionalProperties: false, description: 'Every given criterion must hold; at least one is required.' },
  ),
  SingleOperationRequest: obj({ dryRun: { type: 'boolean', default: false }, reason: str(undefined, { maxLength: 1000 }) }, [], { additionalProperties: false }),
  OperationResult: obj({
    action: { type: 'string', enum: ['replay', 'discard', 'hold', 'release'] },
    dryRun: { type: 'boolean' },
    matched: int('deliveries the selection matches, any state'),
    eligible: int('of those, in a state the action applies to'),
    changed: int('changed (dry run: would be changed), at most limit'),
    skipped: { type: 'object', additionalProperties: { type: 'integer' }, description: 'matched but left alone, by state' },
    sample: arrayOf(ref('DeliverySummary'), { maxItems: 10 }),
  }),
  ConnectorState: obj({ reason: str(undefined, { maxLength: 1000 }) }, [], { additionalProperties: false }),
  ConnectorOverview: obj({
    name: str(),
    description: nullable('string'),
    targetSystem: nullable('string'),
    protocol: { type: 'string', enum: ['rest', 'soap'] },
    kind: str(),
    url: str(),
    auth: str(),
    ordering: { type: 'string', enum: ['strict', 'none'] },
    concurrency: int(),
    rateLimit: { oneOf: [obj({ requests: int(), perMs: int() }), { type: 'null' }] },
    adminState: { type: 'string', enum: ['online', 'offline'] },
    circuit: { type: 'string', enum: ['closed', 'open', 'half_open'] },
    circuitUntil: nullableTime(),
    stateUpdatedAt: nullableTime(),
    stateUpdatedBy: nullable('string'),
    queueDepth: int('pending + retrying'),
    oldestDueAt: nullableTime(),
    counts: obj({ pending: int(), retrying: int(), inFlight: int(), onHold: int(), parked: int(), delivered: int(), discarded: int() }),
    blockedKeys: arrayOf(obj({ orderKey: str(), blockedBy: ulid, blockerState: str(), waiting: int() }), { maxItems: 20 }),
  }),
  ConnectorList: obj({ items: arrayOf(ref('ConnectorOverview')) }),
  ProbeReport: obj({
    connector: str(),
    ok: { type: 'boolean' },
    url: str('the probe URL, credentials redacted'),
    durationMs: int(),
    steps: arrayOf(
      obj({ name: { type: 'string', enum: ['credentials', 'token', 'probe'] }, ok: { type: 'boolean' }, durationMs: int(), detail: str('what happened, or why it failed') }),
    ),
  }),
  RecoveryRun: obj({
    id: ulid,
    trigger: { type: 'string', enum: ['schedule', 'manual'] },
    slot: str(),
    scheduledFor: time(),
    startedAt: time(),
    finishedAt: nullableTime(),
    state: { type: 'string', enum: ['running', 'finished', 'interrupted'] },
    filters: obj({ connectors: arrayOf(str()), eventCodes: arrayOf(str()), maxAge: nullable('string') }),
    batchCap: int(),
    selected: int(),
    replayed: int(),
    skipped: int(),
    stillFailing: int(),
    delivered: int(),
    resumes: int(),
    error: nullable('string'),
    actor: nullable('string'),
  }),
  RecoveryRunRequest: obj(
    {
      connectors: arrayOf(str()),
      eventCodes: arrayOf(str()),
      maxAge: str('only deliveries created within this age, e.g. 7d'),
      limit: int('at most this many (default: the configured batchCap)', { minimum: 1, maximum: 100000 }),
    },
    [],
    { additionalProperties: false },
  ),
  RecoveryOutcome: obj(
    {
      status: { type: 'string', enum: ['ran', 'skipped'] },
      reason: str('when skipped'),
      run: { oneOf: [ref('RecoveryRun'), { type: 'null' }] },
      resumed: arrayOf(ref('RecoveryRun')),
    },
    ['status', 'run', 'resumed'],
  ),
  RecoveryRunList: obj({ items: arrayOf(ref('RecoveryRun')) }),
  PollSummary: obj({
    since: time('the first page asked for changes at or after this instant'),
    pages: int(),
    read: int('purchase orders read'),
    routed: int('new events routed to at least one connector'),
    unrouted: int('new events no trigger point selected'),
    duplicates: int('changes stored before (an overlapping poll)'),
    skipped: int('items without POHeaderId or a readable LastUpdateDate'),
    caughtUp: { type: 'boolean', description: 'false when the run stopped at maxPages with more to read' },
  }),
  PollRun: obj({
    id: ulid,
    trigger: { type: 'string', enum: ['schedule', 'manual'] },
    slot: nullableTime('the scheduled slot of a scheduled run'),
    state: { type: 'string', enum: ['running', 'ok', 'failed', 'interrupted'] },
    startedAt: time(),
    finishedAt: nullableTime(),
    cursorBefore: nullable('string'),
    cursorAfter: nullable('string'),
    summary: { oneOf: [ref('PollSummary'), { type: 'null' }] },
    error: nullable('string'),
  }),
  PollerStatus: obj({
    poller: str('fusion-po'),
    enabled: { type: 'boolean', description: 'schedules.poller.enabled' },
    connector: nullable('string', 'the oracle-fusion connector it reads through'),
    cursor: nullable('string', 'the newest LastUpdateDate stored, as Fusion wrote it'),
    cursorAt: nullableTime(),
    caughtUp: { type: 'boolean' },
    runs: arrayOf(ref('PollRun')),
  }),
  PollOutcome: obj(
    {
      status: { type: 'string', enum: ['ran', 'skipped'] },
      reason: { type: 'string', enum: ['disabled', 'already_ran', 'busy'], description: 'when skipped' },
      runId: ulid,
      state: { type: 'string', enum: ['ok', 'failed'] },
      summary: ref('PollSummary'),
      cursorBefore: nullable('string'),
      cursorAfter: nullable('string'),
      error: nullable('string', 'why the run failed (Fusion refused or did not answer, a page was not JSON, the store failed)'),
    },
    ['status'],
  ),
  BillingRecord: obj(
    {
      eventId: ulid,
      topic: str('billing.charge.created, billing.refund.created or billing.credit.created'),
      status: str(),
      duplicateOf: nullable('string'),
      receivedAt: time(),
      amount: nullable('string', 'exactly as ShipBob wrote it'),
      currency: nullable('string'),
      reference: nullable('string'),
      referenceType: nullable('string'),
      transactionId: nullable('string'),
      transactionType: nullable('string'),
      invoiceId: nullable('string'),
      invoiceType: nullable('string'),
      occurredAt: nullable('string'),
      raw: nullable('string', 'the webhook body as received'),
    },
    ['eventId', 'topic', 'status', 'receivedAt'],
  ),
  BillingPage: obj({ items: arrayOf(ref('BillingRecord')), nextCursor: nullable('string', 'pass as `cursor` for the next (newer) page') }),
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'OM Connector Gateway admin API',
    version: '1',
    description:
      'Operate the gateway: browse events, deliveries, attempts and the audit trail; replay, discard, hold and release deliveries; connectors; recovery runs; the purchase-order poller; ShipBob billing records. Every route needs `Authorization: Bearer <admin.token>`. Lists are newest first with cursor paging. Errors are `{code, message}`.',
  },
  security: [{ bearer: [] }],
  tags: ['events', 'deliveries', 'attempts', 'audit', 'connectors', 'recovery', 'poller', 'billing', 'meta'].map((name) => ({ name })),
  paths: {
    '/admin/api/openapi.json': { get: op('this document', { type: 'object' }, { tag: 'meta' }) },
    '/admin/api/events': {
      get: op('list events, newest first', ref('EventPage'), {
        tag: 'events',
        params: [
          list('id', 'event ids', ulid),
          list('eventCode', 'event codes'),
          list('source', 'sources: oracle-om, shipbob, fusion-po'),
          list('status', 'statuses: routed, unrouted, duplicate'),
          q('orderKey', 'order key (exact)'),
          q('pushId', 'the push the events came in', ulid),
          FROM('received'),
          TO('received'),
          LIMIT,
          CURSOR,
        ],
      }),
    },
    '/admin/api/events/{id}': {
      get: op('one event: parsed form, raw XML of its push (passwords redacted), its deliveries, attempts and audit records', ref('EventDetail'), {
        tag: 'events',
        params: [ID],
      }),
    },
    '/admin/api/deliveries': {
      get: op('list deliveries, newest first', ref('DeliveryPage'), {
        tag: 'deliveries',
        params: [
          list('id', 'delivery ids', ulid),
          list('eventId', 'event ids', ulid),
          list('connector', 'connectors'),
          list('state', 'states', STATE),
          list('eventCode', 'event codes'),
          q('orderKey', 'order key (exact)'),
          q('error', 'case-insensitive substring of the last error'),
          FROM('created'),
          TO('created'),
          LIMIT,
          CURSOR,
        ],
      }),
    },
    '/admin/api/deliveries/{id}': {
      get: op('one delivery with its event, attempts and audit records', ref('DeliveryDetail'), { tag: 'deliveries', params: [ID] }),
    },
    ...operations('replay'),
    ...operations('discard'),
    ...operations('hold'),
    ...operations('release'),
    '/admin/api/attempts': {
      get: op('list attempts, newest first', ref('AttemptPage'), {
        tag: 'attempts',
        params: [
          list('deliveryId', 'delivery ids', ulid),
          list('connector', 'connectors'),
          list('outcome', 'outcomes', { type: 'string', enum: [...ATTEMPT_OUTCOMES] }),
          q('error', 'case-insensitive substring of the error message'),
          FROM('started'),
          TO('started'),
          LIMIT,
          CURSOR,
        ],
      }),
    },
    '/admin/api/audit': {
      get: op('list audit records, newest first', ref('AuditPage'), {
        tag: 'audit',
        params: [
          list('action', 'actions, e.g. event.received, delivery.attempt, delivery.replayed'),
          list('direction', 'directions', { type: 'string', enum: ['in', 'out', 'admin'] }),
          list('connector', 'connectors'),
          list('result', 'results'),
          q('eventId', 'event id', ulid),
          q('deliveryId', 'delivery id', ulid),
          q('actor', 'actor (exact), e.g. admin-api, recovery-run'),
          FROM('recorded'),
          TO('recorded'),
          LIMIT,
          CURSOR,
        ],
      }),
    },
    '/admin/api/connectors': {
      get: op('connectors with admin state, circuit, rate limit, queue depth, counts and blocked order keys', ref('ConnectorList'), { tag: 'connectors' }),
    },
    '/admin/api/connectors/{name}': { get: op('one connector', ref('ConnectorOverview'), { tag: 'connectors', params: [NAME] }) },
    '/admin/api/connectors/{name}/online': {
      post: op('take the connector out of maintenance (held deliveries are released in order)', ref('ConnectorOverview'), {
        tag: 'connectors',
        params: [NAME],
        body: ref('ConnectorState'),
      }),
    },
    '/admin/api/connectors/{name}/offline': {
      post: op('put the connector in maintenance (its due deliveries wait on hold)', ref('ConnectorOverview'), {
        tag: 'connectors',
        params: [NAME],
        body: ref('ConnectorState'),
      }),
    },
    '/admin/api/connectors/{name}/test': {
      post: op('test the connector for real: credentials, token (OAuth2), one harmless read call', ref('ProbeReport'), {
        tag: 'connectors',
        params: [NAME],
        body: { type: 'object', additionalProperties: false },
        description: 'Answers 200 whether the test passed or not: see `ok` and each step.',
      }),
    },
    '/admin/api/recovery/runs': {
      get: op('recovery run history, newest first', ref('RecoveryRunList'), {
        tag: 'recovery',
        params: [q('limit', 'how many runs, 1 to 500 (default 20)', int(undefined, { minimum: 1, maximum: 500, default: 20 }))],
      }),
      post: op('run the recovery run now (replays the parking lot)', ref('RecoveryOutcome'), { tag: 'recovery', body: ref('RecoveryRunRequest') }),
    },
    '/admin/api/poller': {
      get: op("the purchase-order poller: its cursor and latest runs, newest first", ref('PollerStatus'), {
        tag: 'poller',
        params: [q('limit', 'how many runs, 1 to 500 (default 20)', int(undefined, { minimum: 1, maximum: 500, default: 20 }))],
      }),
    },
    '/admin/api/poller/runs': {
      post: op('poll Fusion for changed purchase orders now', ref('PollOutcome'), {
        tag: 'poller',
        body: { type: 'object', additionalProperties: false },
        description: 'Answers 200 whether the run succeeded or not: see `state` and `error`. 400 when no connector is configured (schedules.poller.connector).',
      }),
    },
    '/admin/api/billing': {
      get: op('ShipBob billing webhooks (charges, refunds, credits), oldest first', ref('BillingPage'), {
        tag: 'billing',
        params: [
          list('topic', 'billing topics'),
          FROM('received'),
          TO('received'),
          q('includeDuplicates', 'include replays of a webhook-id', { type: 'string', enum: ['true', 'false'] }),
          q('limit', 'page size, 1 to 1000 (default 100)', int(undefined, { minimum: 1, maximum: 1000, default: 100 })),
          CURSOR,
        ],
      }),
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the admin.token of gateway.yaml' } },
    schemas,
  },
} as const;
