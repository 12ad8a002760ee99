import type { Clock } from '../domain/clock.ts';
import { DELIVERY_STATES, DELIVERY_TRANSITIONS, appliesFrom, patchOf, type DeliveryState, type OperatorAction } from '../domain/delivery.ts';
import { GatewayError } from '../domain/errors.ts';
import type { AuditRecordRow } from '../store/audit.ts';
import type { AttemptRow, AttemptCriteria, AuditCriteria, EventCriteria, PushRow } from '../store/browse.ts';
import type { EventRow } from '../store/deliveries.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryCriteria, OpsDeliveryRow } from '../store/operations.ts';

/**
 * Operator actions on deliveries and the views behind them. The admin API, the CLI and the recovery
 * run all go through this one service, so an action means the same wherever it comes from.
 *
 * Which states each action (replay, discard, hold, release) applies to, the state it leads to and
 * what it writes are the domain's delivery state machine: DELIVERY_TRANSITIONS in
 * src/domain/delivery.ts (replay takes delivered deliveries only when they are chosen by delivery
 * id or event id). Each changed delivery gets one audit record, direction `admin`, written in the
 * same transaction as its state change; deliveries in flight are never touched.
 *
 * Replay keeps attempt_count and every earlier attempt row, clears parked_reason and last_error.
 * Ordering needs nothing special: deliveries keep their ids, and the worker claims per connector
 * and order key by id, so replayed deliveries go out in their original sequence; transforms run at
 * delivery time, so a mapping fixed since applies. A discarded delivery no longer blocks its order key.
 */

/** Which deliveries an action or a listing is about. Every given criterion must hold. */
export interface DeliveryFilter {
  /** Delivery ids. Choosing by id is what allows replaying a delivered delivery. */
  ids?: string[];
  /** Event ids: all deliveries of those events (every connector). */
  eventIds?: string[];
  connectors?: string[];
  states?: DeliveryState[];
  eventCodes?: string[];
  orderKey?: string;
  /** Case-insensitive substring of the delivery's last error. */
  errorContains?: string;
  /** created_at >= from (epoch ms). */
  from?: number;
  /** created_at < to (epoch ms). */
  to?: number;
}

/** An operator action: OPERATOR_ACTIONS of the domain. */
export type OperationKind = OperatorAction;

export interface OperationOptions {
  /** Count and sample only; change nothing. */
  dryRun?: boolean;
  /** Who asks: `admin-api`, `cli:<user>`, `recovery-run`. Written to each audit record. */
  actor: string;
  /** Change at most this many (oldest first). */
  limit?: number;
  /** Why: required for discard; stored on the delivery by discard and hold, and in every audit record. */
  reason?: string;
  /** The recovery run doing this replay (written to the audit records' detail). */
  runId?: string;
}

export interface OperationResult {
  action: OperationKind;
  dryRun: boolean;
  /** Deliveries the filter selects, in any state. */
  matched: number;
  /** Of those, the ones in a state the action applies to. */
  eligible: number;
  /** Changed (on a dry run: would be changed): eligible, capped by `limit`. */
  changed: number;
  /** Matched deliveries left alone, by state (in_flight is always here). */
  skipped: Partial<Record<DeliveryState, number>>;
  /** Up to 10 of the deliveries changed (or that would be), oldest first, as they are (would be) after. */
  sample: DeliverySummary[];
}

export interface DeliverySummary {
  id: string;
  eventId: string;
  connector: string;
  triggerPoint: string | null;
  orderKey: string | null;
  eventCode: string;
  state: DeliveryState;
  attemptCount: number;
  attemptsInCycle: number;
  /** When it is (or was last) due; ISO 8601. */
  nextAttemptAt: string;
  lastError: string | null;
  parkedReason: string | null;
  holdReason: string | null;
  /** The operator's reason for a discard or hold. */
  adminReason: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

export interface EventSummary {
  id: string;
  pushId: string | null;
  source: string;
  eventCode: string;
  orderKey: string | null;
  sourceSystem: string | null;
  receivedAt: string;
  status: string;
  duplicateOf: string | null;
  connectorScope: string | null;
  position: number;
}

export interface AttemptView {
  id: string;
  deliveryId: string;
  connector: string;
  number: number;
  startedAt: string;
  durationMs: number;
  /** Method, URL and headers as sent, credentials replaced by ***. */
  request: unknown;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  responseSnippet: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  outcome: string;
}

export interface AuditView {
  id: string;
  at: string;
  direction: string;
  action: string;
  sourceSystem: string | null;
  connector: string | null;
  eventId: string | null;
  deliveryId: string | null;
  result: string;
  detail: unknown;
  requestId: string | null;
  actor: string | null;
}

export interface PushView {
  id: string;
  receivedAt: string;
  path: string;
  connectorScope: string | null;
  soapVersion: string;
  contentType: string | null;
  /** Request headers as stored (Authorization and other credentials are never stored). */
  headers: Record<string, string>;
  rawSize: number;
  eventCount: number;
  authMethod: string | null;
  authUser: string | null;
  remoteAddr: string | null;
  requestId: string | null;
  /** The SOAP envelope as received, with every wsse:Password replaced by ***. */
  raw: string;
}

export interface DeliveryDetail {
  delivery: DeliverySummary & { idempotencyKey: string | null; leaseOwner: string | null; leaseExpiresAt: string | null };
  event: EventSummary | null;
  attempts: AttemptView[];
  audit: AuditView[];
}

export interface EventDetail {
  event: EventSummary & { payload: unknown; raw: string | null };
  push: PushView | null;
  deliveries: DeliverySummary[];
  attempts: AttemptView[];
  audit: AuditView[];
}

export interface PageRequest {
  /** 1 to 500. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

export interface EventFilter {
  ids?: string[];
  eventCodes?: string[];
  sources?: string[];
  statuses?: string[];
  orderKey?: string;
  pushId?: string;
  /** received_at range (epoch ms, from inclusive, to exclusive). */
  from?: number;
  to?: number;
}

export interface AttemptFilter {
  deliveryIds?: string[];
  connectors?: string[];
  outcomes?: string[];
  errorContains?: string;
  /** started_at range (epoch ms). */
  from?: number;
  to?: number;
}

export interface AuditFilter {
  actions?: string[];
  directions?: string[];
  connectors?: string[];
  results?: string[];
  eventId?: string;
  deliveryId?: string;
  actor?: string;
  /** at range (epoch ms). */
  from?: number;
  to?: number;
}

export interface DeliveryOperationsDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  /** Wakes the delivery worker (replayed and released deliveries are due now). */
  notify: () => void;
}

const AUDIT_ACTION: Record<OperationKind, string> = {
  replay: 'delivery.replayed',
  discard: 'delivery.discarded',
  hold: 'delivery.held',
  release: 'delivery.released',
};

const BATCH = 500;
const SAMPLE = 10;
export const MAX_PAGE = 500;
/** The most ids (or other values) one criterion may list. */
export const MAX_LIST = 10_000;
export const MAX_REASON = 1_000;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export class DeliveryOperations {
  readonly #deps: DeliveryOperationsDeps;

  constructor(deps: DeliveryOperationsDeps) {
    this.#deps = deps;
  }

  /** Back to pending, due now, with a fresh retry cycle. See the class comment for which states. */
  replay(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('replay', filter, opts);
  }

  /** To `discarded` for good, with a reason (required). */
  discard(filter: DeliveryFilter, opts: OperationOptions & { reason: string }): Promise<OperationResult> {
    return this.#operate('discard', filter, opts);
  }

  /** Pending and retrying deliveries to `on_hold` (hold_reason `admin`) until released. */
  hold(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('hold', filter, opts);
  }

  /** Held deliveries back to pending, due now. */
  release(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('release', filter, opts);
  }

  /** Deliveries matching the filter, newest first. */
  async list(filter: DeliveryFilter, page: PageRequest): Promise<PageResult<DeliverySummary>> {
    const criteria = checkFilter(filter);
    const result = await this.#deps.store.browse.deliveries(criteria, checkPage(page));
    return { items: result.rows.map(deliverySummary), nextCursor: result.next };
  }

  /** One delivery with its event, attempts and audit records; null when there is none. */
  async show(id: string): Promise<DeliveryDetail | null> {
    if (!ULID.test(id)) return null;
    const browse = this.#deps.store.browse;
    const row = await browse.delivery(id);
    if (!row) return null;
    const [event, attempts, audit] = await Promise.all([browse.event(row.event_id), browse.attemptsOf([id]), browse.auditAbout({ deliveryIds: [id] })]);
    return {
      delivery: {
        ...deliverySummary(row),
        idempotencyKey: row.idempotency_key,
        leaseOwner: row.lease_owner,
        leaseExpiresAt: iso(row.lease_expires_at),
      },
      event: event ? eventSummary(event) : null,
      attempts: attempts.map(attemptView),
      audit: audit.map(auditView),
    };
  }

  /** One event: parsed form, raw XML of its push (passwords redacted), its deliveries, attempts and audit. */
  async showEvent(id: string): Promise<EventDetail | null> {
    if (!ULID.test(id)) return null;
    const browse = this.#deps.store.browse;
    const event = await browse.event(id);
    if (!event) return null;
    const deliveries = await browse.deliveriesOfEvents([id]);
    const ids = deliveries.map((d) => d.id);
    const [push, attempts, audit] = await Promise.all([
      event.push_id ? browse.push(event.push_id) : Promise.resolve(null),
      browse.attemptsOf(ids),
      browse.auditAbout({ eventId: id, deliveryIds: ids }),
    ]);
    return {
      event: { ...eventSummary(event), payload: parseJson(event.payload), raw: event.raw },
      push: push ? pushView(push) : null,
      deliveries: deliveries.map(deliverySummary),
      attempts: attempts.map(attemptView),
      audit: audit.map(auditView),
    };
  }

  async listEvents(filter: EventFilter, page: PageRequest): Promise<PageResult<EventSummary>> {
    const criteria: EventCriteria = { ...filter };
    checkLists(criteria);
    const result = await this.#deps.store.browse.events(criteria, checkPage(page));
    return { items: result.rows.map(eventSummary), nextCursor: result.next };
  }

  async listAttempts(filter: AttemptFilter, page: PageRequest): Promise<PageResult<AttemptView>> {
    const criteria: AttemptCriteria = { ...filter };
    checkLists(criteria);
    const result = await this.#deps.store.browse.attempts(criteria, checkPage(page));
    return { items: result.rows.map(attemptView), nextCursor: result.next };
  }

  async listAudit(filter: AuditFilter, page: PageRequest): Promise<PageResult<AuditView>> {
    const criteria: AuditCriteria = { ...filter };
    checkLists(criteria);
    const result = await this.#deps.store.browse.audit(criteria, checkPage(page));
    return { items: result.rows.map(auditView), nextCursor: result.next };
  }

  async #operate(action: OperationKind, filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    const criteria = checkFilter(filter);
    if (!Object.values(criteria).some((v) => v !== undefined)) {
      throw new GatewayError('BAD_REQUEST', `${action} needs a selection: delivery ids, event ids or at least one filter`);
    }
    const reason = opts.reason?.trim() || null;
    if (action === 'discard' && reason === null) throw new GatewayError('BAD_REQUEST', 'discard needs a reason');
    if (reason !== null && reason.length > MAX_REASON) throw new GatewayError('BAD_REQUEST', `reason is longer than ${MAX_REASON} characters`);
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
      throw new GatewayError('BAD_REQUEST', 'limit must be a whole number of at least 1');
    }
    if (!opts.actor) throw new GatewayError('BAD_REQUEST', 'an actor is required');
    const chosen = criteria.ids !== undefined || criteria.eventIds !== undefined;
    const applies = new Set<DeliveryState>(appliesFrom(action, chosen));

    const { store, clock } = this.#deps;
    const counts = await store.operations.countByState(criteria);
    let matched = 0;
    let eligible = 0;
    const skipped: Partial<Record<DeliveryState, number>> = {};
    for (const [state, n] of counts) {
      matched += n;
      if (applies.has(state)) eligible += n;
      else skipped[state] = n;
    }
    const states = [...applies];
    const cap = opts.limit ?? Number.POSITIVE_INFINITY;
    const dryRun = opts.dryRun ?? false;

    if (dryRun) {
      const changed = Math.min(eligible, cap);
      const now = clock.now();
      const rows = await store.operations.inStates(criteria, states, Math.min(SAMPLE, changed));
      const patch = patchOf(action, { reason }, now);
      const after = (row: OpsDeliveryRow): OpsDeliveryRow => ({ ...row, ...patch }) as OpsDeliveryRow;
      return { action, dryRun, matched, eligible, changed, skipped, sample: rows.map((r) => deliverySummary(after(r))) };
    }

    let changed = 0;
    let afterId: string | null = null;
    const sample: DeliverySummary[] = [];
    while (changed < cap) {
      const now = clock.now();
      const batch = await store.operations.applyBatch({
        action,
        criteria,
        states,
        afterId,
        limit: Math.min(BATCH, cap - changed),
        now,
        reason,
        audit: (before) => ({
          id: this.#deps.newId(),
          at: now,
          direction: 'admin',
          action: AUDIT_ACTION[action],
          connector: before.connector,
          eventId: before.event_id,
          deliveryId: before.id,
          result: DELIVERY_TRANSITIONS[action].to,
          actor: opts.actor,
          detail: {
            from: before.state,
            reason,
            attemptCount: before.attempt_count,
            ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
          },
        }),
      });
      if (batch.lastId === null) break;
      afterId = batch.lastId;
      changed += batch.changed.length;
      for (const row of batch.changed) if (sample.length < SAMPLE) sample.push(deliverySummary(row));
    }
    // A delivery eligible when counted may have moved on before its batch (claimed, delivered):
    // `changed` counts what was really changed.
    if (changed > 0 && (action === 'replay' || action === 'release')) this.#deps.notify();
    return { action, dryRun, matched, eligible, changed, skipped, sample };
  }
}

/** Validates a filter and drops keys given as undefined. */
function checkFilter(filter: DeliveryFilter): DeliveryCriteria {
  const criteria: DeliveryCriteria = {};
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FILTER_KEYS.has(key)) throw new GatewayError('BAD_REQUEST', `unknown filter "${key}"`);
  }
  if (filter.ids !== undefined) criteria.ids = filter.ids;
  if (filter.eventIds !== undefined) criteria.eventIds = filter.eventIds;
  if (filter.connectors !== undefined) criteria.connectors = filter.connectors;
  if (filter.states !== undefined) {
    for (const s of filter.states) {
      if (!(DELIVERY_STATES as readonly string[]).includes(s)) {
        throw new GatewayError('BAD_REQUEST', `unknown state "${String(s).slice(0, 40)}" (states: ${DELIVERY_STATES.join(', ')})`);
      }
    }
    criteria.states = filter.states;
  }
  if (filter.eventCodes !== undefined) criteria.eventCodes = filter.eventCodes;
  if (filter.orderKey !== undefined) criteria.orderKey = filter.orderKey;
  if (filter.errorContains !== undefined) criteria.errorContains = filter.errorContains;
  for (const key of ['from', 'to'] as const) {
    const v = filter[key];
    if (v === undefined) continue;
    if (!Number.isFinite(v)) throw new GatewayError('BAD_REQUEST', `${key} must be a time (epoch milliseconds)`);
    criteria[key] = v;
  }
  checkLists(criteria);
  return criteria;
}

const FILTER_KEYS = new Set(['ids', 'eventIds', 'connectors', 'states', 'eventCodes', 'orderKey', 'errorContains', 'from', 'to']);

function checkLists(criteria: object): void {
  // SQLite ends a bound string at a NUL and PostgreSQL refuses it: a filter "\u0000x" would match like "".
  const nul = (v: unknown): boolean => typeof v === 'string' && v.includes('\u0000');
  for (const [key, value] of Object.entries(criteria)) {
    if (Array.isArray(value)) {
      if (value.length > MAX_LIST) throw new GatewayError('BAD_REQUEST', `${key} lists more than ${MAX_LIST} values`);
      if (value.some((v) => typeof v !== 'string')) throw new GatewayError('BAD_REQUEST', `${key} must list strings`);
      if (value.some(nul)) throw new GatewayError('BAD_REQUEST', `${key} must not contain NUL characters`);
    } else if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') {
      throw new GatewayError('BAD_REQUEST', `${key} has the wrong type`);
    } else if (nul(value)) {
      throw new GatewayError('BAD_REQUEST', `${key} must not contain NUL characters`);
    }
  }
}

function checkPage(page: PageRequest): { limit: number; cursor?: string } {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new GatewayError('BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_PAGE}`);
  }
  if (page.cursor === undefined) return { limit: page.limit };
  if (!ULID.test(page.cursor)) throw new GatewayError('BAD_REQUEST', 'cursor is not one this API gave out');
  return { limit: page.limit, cursor: page.cursor };
}

export function isUlid(text: string): boolean {
  return ULID.test(text);
}

function iso(ms: number | string | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(Number(ms)).toISOString();
}

function isoRequired(ms: number | string): string {
  return new Date(Number(ms)).toISOString();
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function deliverySummary(row: OpsDeliveryRow): DeliverySummary {
  return {
    id: row.id,
    eventId: row.event_id,
    connector: row.connector,
    triggerPoint: row.trigger_point,
    orderKey: row.order_key,
    eventCode: row.event_code,
    state: row.state,
    attemptCount: Number(row.attempt_count),
    attemptsInCycle: Number(row.attempts_in_cycle),
    nextAttemptAt: isoRequired(row.next_attempt_at),
    lastError: row.last_error,
    parkedReason: row.parked_reason,
    holdReason: row.hold_reason,
    adminReason: row.admin_reason ?? null,
    createdAt: isoRequired(row.created_at),
    updatedAt: isoRequired(row.updated_at),
    deliveredAt: iso(row.delivered_at),
  };
}

function eventSummary(row: EventRow): EventSummary {
  return {
    id: row.id,
    pushId: row.push_id,
    source: row.source,
    eventCode: row.event_code,
    orderKey: row.order_key,
    sourceSystem: row.source_system,
    receivedAt: isoRequired(row.received_at),
    status: row.status,
    duplicateOf: row.duplicate_of,
    connectorScope: row.connector_scope,
    position: Number(row.position),
  };
}

function attemptView(row: AttemptRow): AttemptView {
  const headers = parseJson(row.response_headers);
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    connector: row.connector,
    number: Number(row.number),
    startedAt: isoRequired(row.started_at),
    durationMs: Number(row.duration_ms),
    request: parseJson(row.request_summary),
    responseStatus: row.response_status === null ? null : Number(row.response_status),
    responseHeaders: typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : null,
    responseSnippet: row.response_snippet,
    errorClass: row.error_class,
    errorMessage: row.error_message,
    outcome: row.outcome,
  };
}

function auditView(row: AuditRecordRow): AuditView {
  return {
    id: row.id,
    at: isoRequired(row.at),
    direction: row.direction,
    action: row.action,
    sourceSystem: row.source_system,
    connector: row.connector,
    eventId: row.event_id,
    deliveryId: row.delivery_id,
    result: row.result,
    detail: parseJson(row.detail),
    requestId: row.request_id,
    actor: row.actor,
  };
}

function pushView(row: PushRow): PushView {
  const headers = parseJson(row.headers);
  return {
    id: row.id,
    receivedAt: isoRequired(row.received_at),
    path: row.path,
    connectorScope: row.connector_scope,
    soapVersion: row.soap_version,
    contentType: row.content_type,
    headers: typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : {},
    rawSize: Number(row.raw_size),
    eventCount: Number(row.event_count),
    authMethod: row.auth_method,
    authUser: row.auth_user,
    remoteAddr: row.remote_addr,
    requestId: row.request_id,
    raw: row.raw,
  };
}
