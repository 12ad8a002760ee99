import type { AuditRecord } from '../domain/audit.ts';
import type { Attempt, Delivery, DeliveryState } from '../domain/delivery.ts';
import type { Push, StoredEvent } from '../domain/event.ts';
import type { AttemptCriteria, AuditCriteria, EventCriteria } from '../store/browse.ts';
import type { Store } from '../store/index.ts';
import { checkFilter, checkLists, checkPage, isUlid, type DeliveryFilter, type PageRequest } from './delivery-filter.ts';

/**
 * The read views behind the admin API and the CLI: deliveries, events, attempts and audit records,
 * listed by filter (newest first, a page at a time) or shown one at a time with everything about it.
 * Nothing here changes anything; the operator actions are DeliveryActions (delivery-actions.ts).
 */

export type { PageRequest } from './delivery-filter.ts';

/** A delivery as the admin API and the CLI show it: its times as ISO 8601, without the lease and the idempotency key. */
export interface DeliverySummary extends Omit<Delivery, 'nextAttemptAt' | 'leaseOwner' | 'leaseExpiresAt' | 'idempotencyKey' | 'createdAt' | 'updatedAt' | 'deliveredAt' | 'responseDueAt' | 'respondedAt'> {
  /** When it is (or was last) due. */
  nextAttemptAt: string;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
  /** Async connectors: when the target's response is due (while awaiting it). */
  responseDueAt: string | null;
  /** Async connectors: when a callback completed it. */
  respondedAt: string | null;
}

/**
 * Where a delivery stands and why: its state with the reason the gateway or an operator gave. An
 * operator action's sample shows this as it was before the action (on a dry run: as it is now),
 * beside the delivery as it is (would be) after, so the reasons it was parked or held stay visible.
 */
export interface DeliveryStanding {
  state: DeliveryState;
  lastError: string | null;
  parkedReason: string | null;
  holdReason: string | null;
  adminReason: string | null;
  attemptsInCycle: number;
  updatedAt: string;
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

/** An audit record as shown: its time as ISO 8601, its detail parsed. */
export interface AuditView extends Omit<AuditRecord, 'at' | 'detail'> {
  at: string;
  detail: unknown;
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
    const delivery = await browse.delivery(id);
    if (!delivery) return null;
    const [event, attempts, audit] = await Promise.all([browse.event(delivery.eventId), browse.attemptsOf([id]), browse.auditAbout({ deliveryIds: [id] })]);
    return {
      delivery: {
        ...deliverySummary(delivery),
        idempotencyKey: delivery.idempotencyKey,
        leaseOwner: delivery.leaseOwner,
        leaseExpiresAt: iso(delivery.leaseExpiresAt),
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
      event.pushId ? browse.push(event.pushId) : Promise.resolve(null),
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

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function isoRequired(ms: number): string {
  return new Date(ms).toISOString();
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function deliveryStanding(delivery: Delivery): DeliveryStanding {
  return {
    state: delivery.state,
    lastError: delivery.lastError,
    parkedReason: delivery.parkedReason,
    holdReason: delivery.holdReason,
    adminReason: delivery.adminReason,
    attemptsInCycle: delivery.attemptsInCycle,
    updatedAt: isoRequired(delivery.updatedAt),
  };
}

export function deliverySummary(delivery: Delivery): DeliverySummary {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    connector: delivery.connector,
    triggerPoint: delivery.triggerPoint,
    orderKey: delivery.orderKey,
    eventCode: delivery.eventCode,
    state: delivery.state,
    attemptCount: delivery.attemptCount,
    attemptsInCycle: delivery.attemptsInCycle,
    nextAttemptAt: isoRequired(delivery.nextAttemptAt),
    lastError: delivery.lastError,
    parkedReason: delivery.parkedReason,
    holdReason: delivery.holdReason,
    adminReason: delivery.adminReason,
    createdAt: isoRequired(delivery.createdAt),
    updatedAt: isoRequired(delivery.updatedAt),
    deliveredAt: iso(delivery.deliveredAt),
    correlationId: delivery.correlationId,
    responseDueAt: iso(delivery.responseDueAt),
    respondedAt: iso(delivery.respondedAt),
  };
}

function eventSummary(event: StoredEvent): EventSummary {
  return {
    id: event.id,
    pushId: event.pushId,
    source: event.source,
    eventCode: event.eventCode,
    orderKey: event.orderKey,
    sourceSystem: event.sourceSystem,
    receivedAt: isoRequired(event.receivedAt),
    status: event.status,
    duplicateOf: event.duplicateOf,
    connectorScope: event.connectorScope,
    position: event.position,
  };
}

function attemptView(attempt: Attempt): AttemptView {
  const headers = parseJson(attempt.responseHeaders);
  return {
    id: attempt.id,
    deliveryId: attempt.deliveryId,
    connector: attempt.connector,
    number: attempt.number,
    startedAt: isoRequired(attempt.startedAt),
    durationMs: attempt.durationMs,
    request: parseJson(attempt.requestSummary),
    responseStatus: attempt.responseStatus,
    responseHeaders: typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : null,
    responseSnippet: attempt.responseSnippet,
    errorClass: attempt.errorClass,
    errorMessage: attempt.errorMessage,
    outcome: attempt.outcome,
  };
}

function auditView(record: AuditRecord): AuditView {
  return {
    id: record.id,
    at: isoRequired(record.at),
    direction: record.direction,
    action: record.action,
    sourceSystem: record.sourceSystem,
    connector: record.connector,
    eventId: record.eventId,
    deliveryId: record.deliveryId,
    result: record.result,
    detail: parseJson(record.detail),
    requestId: record.requestId,
    actor: record.actor,
  };
}

function pushView(push: Push): PushView {
  const headers = parseJson(push.headers);
  return {
    id: push.id,
    receivedAt: isoRequired(push.receivedAt),
    path: push.path,
    connectorScope: push.connectorScope,
    soapVersion: push.soapVersion,
    contentType: push.contentType,
    headers: typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : {},
    rawSize: push.rawSize,
    eventCount: push.eventCount,
    authMethod: push.authMethod,
    authUser: push.authUser,
    remoteAddr: push.remoteAddr,
    requestId: push.requestId,
    raw: push.raw,
  };
}
