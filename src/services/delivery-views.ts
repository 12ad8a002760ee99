import type { AuditRecordRow } from '../store/audit.ts';
import type { AttemptRow, AttemptCriteria, AuditCriteria, EventCriteria, PushRow } from '../store/browse.ts';
import type { EventRow } from '../store/deliveries.ts';
import type { OpsDeliveryRow } from '../store/delivery-actions.ts';
import type { Store } from '../store/index.ts';
import type { DeliveryState } from '../domain/delivery.ts';
import { checkFilter, checkLists, checkPage, isUlid, type DeliveryFilter, type PageRequest } from './delivery-filter.ts';

/**
 * The read views behind the admin API and the CLI: deliveries, events, attempts and audit records,
 * listed by filter (newest first, a page at a time) or shown one at a time with everything about it.
 * Nothing here changes anything; the operator actions are DeliveryActions (delivery-actions.ts).
 */

export type { PageRequest } from './delivery-filter.ts';

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

export interface DeliveryViewsDeps {
  store: Store;
}

export class DeliveryViews {
  readonly #store: Store;

  constructor(deps: DeliveryViewsDeps) {
    this.#store = deps.store;
  }

  /** Deliveries matching the filter, newest first. */
  async list(filter: DeliveryFilter, page: PageRequest): Promise<PageResult<DeliverySummary>> {
    const criteria = checkFilter(filter);
    const result = await this.#store.browse.deliveries(criteria, checkPage(page));
    return { items: result.rows.map(deliverySummary), nextCursor: result.next };
  }

  /** One delivery with its event, attempts and audit records; null when there is none. */
  async show(id: string): Promise<DeliveryDetail | null> {
    if (!isUlid(id)) return null;
    const browse = this.#store.browse;
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
    if (!isUlid(id)) return null;
    const browse = this.#store.browse;
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
    const result = await this.#store.browse.events(criteria, checkPage(page));
    return { items: result.rows.map(eventSummary), nextCursor: result.next };
  }

  async listAttempts(filter: AttemptFilter, page: PageRequest): Promise<PageResult<AttemptView>> {
    const criteria: AttemptCriteria = { ...filter };
    checkLists(criteria);
    const result = await this.#store.browse.attempts(criteria, checkPage(page));
    return { items: result.rows.map(attemptView), nextCursor: result.next };
  }

  async listAudit(filter: AuditFilter, page: PageRequest): Promise<PageResult<AuditView>> {
    const criteria: AuditCriteria = { ...filter };
    checkLists(criteria);
    const result = await this.#store.browse.audit(criteria, checkPage(page));
    return { items: result.rows.map(auditView), nextCursor: result.next };
  }
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
