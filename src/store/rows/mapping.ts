/**
 * Rows and the domain's objects, both ways, without I/O: the one place that knows which column holds
 * which field. Every repository that returns deliveries, events, attempts, audit records, pushes,
 * recovery runs or connector states maps its rows here (the SQLite thread's claimed rows too, on the main thread), and
 * the delivery updates built from DELIVERY_TRANSITIONS name their columns through DELIVERY_COLUMNS.
 * Outside src/store/ nothing sees a column name.
 *
 * Times and counters are bigint or integer columns: a driver may hand them over as text, so they are
 * read with Number().
 */
import type { AuditRecord } from '../../domain/audit.ts';
import type { CircuitState } from '../../domain/breaker.ts';
import type { AdminState, ConnectorState } from '../../domain/connector-state.ts';
import { DELIVERY_FIELDS, type Attempt, type Delivery, type DeliveryPatch, type DeliveryState } from '../../domain/delivery.ts';
import type { Push, StoredEvent } from '../../domain/event.ts';
import type { PollerRun, PollerRunState } from '../../domain/poller.ts';
import type { RecoveryItemState, RecoveryRun, RecoveryRunItem, RecoveryRunState, RecoveryTrigger } from '../../domain/recovery.ts';
import type { Row } from './audit.ts';

export interface DeliveryRow {
  id: string;
  event_id: string;
  connector: string;
  trigger_point: string | null;
  order_key: string | null;
  event_code: string;
  state: DeliveryState;
  attempt_count: number;
  attempts_in_cycle: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  idempotency_key: string | null;
  last_error: string | null;
  parked_reason: string | null;
  hold_reason: string | null;
  /** Migration 005. */
  admin_reason: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  /** Migration 014 (async connectors). */
  correlation_id: string | null;
  response_due_at: number | null;
  responded_at: number | null;
}

export interface EventRow {
  id: string;
  push_id: string | null;
  source: string;
  event_code: string;
  order_key: string | null;
  source_system: string | null;
  received_at: number;
  status: string;
  duplicate_of: string | null;
  content_hash: string;
  connector_scope: string | null;
  position: number;
  payload: string;
  raw: string | null;
}

export interface PushRow {
  id: string;
  received_at: number;
  path: string;
  connector_scope: string | null;
  soap_version: string;
  content_type: string | null;
  headers: string;
  raw: string;
  raw_size: number;
  event_count: number;
  auth_method: string | null;
  auth_user: string | null;
  remote_addr: string | null;
  request_id: string | null;
}

/** A row of `attempts` joined with its delivery's connector. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  request_summary: string;
  response_status: number | null;
  response_headers: string | null;
  response_snippet: string | null;
  error_class: string | null;
  error_message: string | null;
  outcome: string;
  connector: string;
}

export interface AuditRecordRow {
  id: string;
  at: number;
  direction: string;
  action: string;
  source_system: string | null;
  connector: string | null;
  event_id: string | null;
  delivery_id: string | null;
  result: string;
  detail: string | null;
  request_id: string | null;
  actor: string | null;
}

export interface RecoveryRunRow {
  id: string;
  slot_key: string;
  trigger: RecoveryTrigger;
  scheduled_for: number;
  started_at: number;
  finished_at: number | null;
  state: RecoveryRunState;
  owner: string | null;
  lease_expires_at: number | null;
  filters: string;
  batch_cap: number;
  selected: number;
  replayed: number;
  skipped: number;
  resumes: number;
  error: string | null;
  actor: string | null;
}

export interface RecoveryItemRow {
  run_id: string;
  delivery_id: string;
  seq: number;
  state: RecoveryItemState;
  marked_at: number | null;
}

export interface ConnectorStateRow {
  connector: string;
  admin_state: AdminState;
  circuit: CircuitState;
  circuit_until: number | null;
  updated_at: number;
  updated_by: string | null;
}

const orNull = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function toDelivery(row: DeliveryRow): Delivery {
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
    nextAttemptAt: Number(row.next_attempt_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: orNull(row.lease_expires_at),
    idempotencyKey: row.idempotency_key,
    lastError: row.last_error,
    parkedReason: row.parked_reason,
    holdReason: row.hold_reason,
    // Absent only before migration 005 has run.
    adminReason: row.admin_reason ?? null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deliveredAt: orNull(row.delivered_at),
    // Absent only before migration 014 has run.
    correlationId: row.correlation_id ?? null,
    responseDueAt: orNull(row.response_due_at ?? null),
    respondedAt: orNull(row.responded_at ?? null),
  };
}

/**
 * The column of each field a delivery's transition writes (DELIVERY_FIELDS), and of `state` and
 * `updatedAt`, which every transition writes.
 */
export const DELIVERY_COLUMNS = {
  state: 'state',
  updatedAt: 'updated_at',
  attemptCount: 'attempt_count',
  attemptsInCycle: 'attempts_in_cycle',
  nextAttemptAt: 'next_attempt_at',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
  lastError: 'last_error',
  parkedReason: 'parked_reason',
  holdReason: 'hold_reason',
  adminReason: 'admin_reason',
  deliveredAt: 'delivered_at',
  correlationId: 'correlation_id',
  responseDueAt: 'response_due_at',
  respondedAt: 'responded_at',
} as const satisfies Record<keyof DeliveryPatch, keyof DeliveryRow>;

const PATCH_FIELDS = ['state', 'updatedAt', ...DELIVERY_FIELDS] as const;

/** What a transition writes (patchOf), as the columns of an update: state, updated_at, then the fields it names. */
export function deliveryUpdate(patch: DeliveryPatch): Row {
  const row: Row = {};
  for (const field of PATCH_FIELDS) {
    const value = patch[field];
    if (value !== undefined) row[DELIVERY_COLUMNS[field]] = value;
  }
  return row;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    pushId: row.push_id,
    source: row.source,
    eventCode: row.event_code,
    orderKey: row.order_key,
    sourceSystem: row.source_system,
    receivedAt: Number(row.received_at),
    status: row.status,
    duplicateOf: row.duplicate_of,
    contentHash: row.content_hash,
    connectorScope: row.connector_scope,
    position: Number(row.position),
    payload: row.payload,
    raw: row.raw,
  };
}

export function toPush(row: PushRow): Push {
  return {
    id: row.id,
    receivedAt: Number(row.received_at),
    path: row.path,
    connectorScope: row.connector_scope,
    soapVersion: row.soap_version,
    contentType: row.content_type,
    headers: row.headers,
    raw: row.raw,
    rawSize: Number(row.raw_size),
    eventCount: Number(row.event_count),
    authMethod: row.auth_method,
    authUser: row.auth_user,
    remoteAddr: row.remote_addr,
    requestId: row.request_id,
  };
}

export function toAttempt(row: AttemptRow): Attempt {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    connector: row.connector,
    number: Number(row.number),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    requestSummary: row.request_summary,
    responseStatus: orNull(row.response_status),
    responseHeaders: row.response_headers,
    responseSnippet: row.response_snippet,
    errorClass: row.error_class,
    errorMessage: row.error_message,
    outcome: row.outcome,
  };
}

export function toAuditRecord(row: AuditRecordRow): AuditRecord {
  return {
    id: row.id,
    at: Number(row.at),
    direction: row.direction,
    action: row.action,
    sourceSystem: row.source_system,
    connector: row.connector,
    eventId: row.event_id,
    deliveryId: row.delivery_id,
    result: row.result,
    detail: row.detail,
    requestId: row.request_id,
    actor: row.actor,
  };
}

export function toRecoveryRun(row: RecoveryRunRow): RecoveryRun {
  return {
    id: row.id,
    slotKey: row.slot_key,
    trigger: row.trigger,
    scheduledFor: Number(row.scheduled_for),
    startedAt: Number(row.started_at),
    finishedAt: orNull(row.finished_at),
    state: row.state,
    owner: row.owner,
    leaseExpiresAt: orNull(row.lease_expires_at),
    filters: row.filters,
    batchCap: Number(row.batch_cap),
    selected: Number(row.selected),
    replayed: Number(row.replayed),
    skipped: Number(row.skipped),
    resumes: Number(row.resumes),
    error: row.error,
    actor: row.actor,
  };
}

/** The row a new run is inserted as. */
export function recoveryRunRow(run: RecoveryRun): RecoveryRunRow {
  return {
    id: run.id,
    slot_key: run.slotKey,
    trigger: run.trigger,
    scheduled_for: run.scheduledFor,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    state: run.state,
    owner: run.owner,
    lease_expires_at: run.leaseExpiresAt,
    filters: run.filters,
    batch_cap: run.batchCap,
    selected: run.selected,
    replayed: run.replayed,
    skipped: run.skipped,
    resumes: run.resumes,
    error: run.error,
    actor: run.actor,
  };
}

export function toRecoveryRunItem(row: RecoveryItemRow): RecoveryRunItem {
  return { runId: row.run_id, deliveryId: row.delivery_id, seq: Number(row.seq), state: row.state, markedAt: orNull(row.marked_at) };
}

export function toConnectorState(row: ConnectorStateRow): ConnectorState {
  return {
    connector: row.connector,
    adminState: row.admin_state,
    circuit: row.circuit,
    circuitUntil: orNull(row.circuit_until),
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

export interface PollerRunRow {
  id: string;
  poller: string;
  slot_key: string;
  owner: string | null;
  started_at: number | string;
  finished_at: number | string | null;
  lease_until: number | string | null;
  state: PollerRunState;
  cursor_before: string | null;
  cursor_after: string | null;
  summary: string | null;
  error: string | null;
}

export function toPollerRun(row: PollerRunRow): PollerRun {
  return {
    id: row.id,
    poller: row.poller,
    slotKey: row.slot_key,
    owner: row.owner,
    startedAt: Number(row.started_at),
    finishedAt: orNull(row.finished_at),
    leaseUntil: orNull(row.lease_until),
    state: row.state,
    cursorBefore: row.cursor_before,
    cursorAfter: row.cursor_after,
    summary: row.summary,
    error: row.error,
  };
}
