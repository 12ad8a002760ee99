import type { ErrorClass } from '../connectors/types.ts';
import type { ConnectorOverview } from '../delivery/connector-operations.ts';
import type { ProbeStepName } from '../connectors/probe.ts';
import type { CircuitState } from '../domain/breaker.ts';
import type { AuditDirection } from '../domain/delivery.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { EventSource, EventStatus } from '../domain/event.ts';
import type { ParkReason } from '../domain/retry.ts';
import type { PollOutcome } from '../inbound/poller/purchase-orders.ts';
import type { RecoveryOutcome } from '../jobs/recovery.ts';
import type { PollerRunState } from '../store/pollers.ts';
import type { OperationAction } from '../store/operations.ts';
import type { RecoveryRunState, RecoveryTrigger } from '../store/recovery.ts';
import type { AdminState } from '../store/connectors.ts';
import type { DeliveryRepository } from '../store/deliveries.ts';

/**
 * The closed value sets the admin API documents, for the unions the domain and the services declare
 * as types only (DELIVERY_STATES, ATTEMPT_OUTCOMES and SHIPBOB_BILLING_TOPICS are constants there
 * and are imported directly). A runtime list cannot be derived from a type, so each list here is
 * checked against its type both ways at compile time: a value the type does not have, or a member
 * of the type the list lacks, fails `npm run typecheck`. When the domain exports a constant for one
 * of these, import it instead.
 */

/** `values`, if they are exactly the members of T (no more, no fewer); otherwise a type error naming the missing ones. */
function every<T extends string>() {
  return <const V extends readonly T[]>(values: V & ([Exclude<T, V[number]>] extends [never] ? unknown : { missing: Exclude<T, V[number]> })): V => values;
}

export const CIRCUIT_STATES = every<CircuitState>()(['closed', 'open', 'half_open']);
export const ADMIN_STATES = every<AdminState>()(['online', 'offline']);
export const AUDIT_DIRECTIONS = every<AuditDirection>()(['in', 'out', 'admin']);
export const EVENT_SOURCES = every<EventSource>()(['oracle-om', 'shipbob', 'fusion-po']);
export const EVENT_STATUSES = every<EventStatus>()(['routed', 'unrouted', 'duplicate']);
export const PARK_REASONS = every<ParkReason>()(['attempts_exhausted', 'permanent_error', 'transform_error', 'config_error']);
export const ERROR_CLASSES = every<ErrorClass>()(['network', 'timeout', 'http', 'soap_fault', 'transform', 'auth', 'config']);
export const OPERATION_ACTIONS = every<OperationAction>()(['replay', 'discard', 'hold', 'release']);
export const RUN_TRIGGERS = every<RecoveryTrigger>()(['schedule', 'manual']);
export const RECOVERY_RUN_STATES = every<RecoveryRunState>()(['running', 'finished', 'interrupted']);
export const POLL_RUN_STATES = every<PollerRunState>()(['running', 'ok', 'failed', 'interrupted']);
export const PROTOCOLS = every<ConnectorOverview['protocol']>()(['rest', 'soap']);
export const ORDERINGS = every<ConnectorOverview['ordering']>()(['strict', 'none']);
export const RECOVERY_SKIP_REASONS = every<Extract<RecoveryOutcome, { status: 'skipped' }>['reason']>()(['already_ran', 'running_elsewhere', 'disabled']);
export const POLL_SKIP_REASONS = every<Extract<PollOutcome, { status: 'skipped' }>['reason']>()(['disabled', 'already_ran', 'busy']);
export const POLL_STATES = every<Extract<PollOutcome, { status: 'ran' }>['state']>()(['ok', 'failed']);
export const PROBE_STEPS = every<ProbeStepName>()(['credentials', 'token', 'probe']);

/**
 * Why a delivery is on hold: the worker's reasons are typed by the store's hold(), and an operator's
 * hold writes 'admin' (src/store/operations.ts), which no type names.
 */
export const HOLD_REASONS = every<Parameters<DeliveryRepository['hold']>[1] | 'admin'>()(['offline', 'circuit_open', 'admin']);

/** The error codes an admin API answer can carry (a subset of ErrorCode, checked one way). */
export const ADMIN_ERROR_CODES = [
  'BAD_REQUEST',
  'AUTH_FAILED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'STORE_UNAVAILABLE',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];
