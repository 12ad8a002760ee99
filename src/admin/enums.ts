import type { ErrorClass } from '../connectors/types.ts';
import type { ConnectorOverview } from '../services/connectors.ts';
import type { ProbeStepName } from '../connectors/probe.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { PollOutcome } from '../inbound/poller/purchase-orders.ts';
import type { RecoveryOutcome } from '../jobs/recovery.ts';
import type { RecoveryRunState, RecoveryTrigger } from '../domain/recovery.ts';
import type { AdminState } from '../domain/connector-state.ts';

/**
 * The closed value sets the admin API documents. Those the domain declares as constants are taken
 * from it (re-exported here so the admin code has one place to look). For the unions the services
 * declare as types only, a runtime list cannot be derived from the type, so each list here is checked
 * against its type both ways at compile time: a value the type does not have, or a member of the type
 * the list lacks, fails `npm run typecheck`.
 */

/** `values`, if they are exactly the members of T (no more, no fewer); otherwise a type error naming the missing ones. */
function every<T extends string>() {
  return <const V extends readonly T[]>(values: V & ([Exclude<T, V[number]>] extends [never] ? unknown : { missing: Exclude<T, V[number]> })): V => values;
}

export { CIRCUIT_STATES } from '../domain/breaker.ts';
export { AUDIT_DIRECTIONS, HOLD_REASONS, OPERATOR_ACTIONS } from '../domain/delivery.ts';
export { EVENT_SOURCES, EVENT_STATUSES } from '../domain/event.ts';
export { INSTANCE_STATES } from '../domain/instance.ts';
export { PARK_REASONS } from '../domain/retry.ts';
export { POLLER_RUN_STATES as POLL_RUN_STATES } from '../domain/poller.ts';
export const ADMIN_STATES = every<AdminState>()(['online', 'offline']);
export const ERROR_CLASSES = every<ErrorClass>()(['network', 'timeout', 'http', 'soap_fault', 'transform', 'auth', 'config', 'refused', 'no_response']);
export const RUN_TRIGGERS = every<RecoveryTrigger>()(['schedule', 'manual']);
export const RECOVERY_RUN_STATES = every<RecoveryRunState>()(['running', 'finished', 'interrupted']);
export const PROTOCOLS = every<ConnectorOverview['protocol']>()(['rest', 'soap']);
export const ORDERINGS = every<ConnectorOverview['ordering']>()(['strict', 'none']);
export const RECOVERY_SKIP_REASONS = every<Extract<RecoveryOutcome, { status: 'skipped' }>['reason']>()(['already_ran', 'running_elsewhere', 'disabled']);
export const POLL_SKIP_REASONS = every<Extract<PollOutcome, { status: 'skipped' }>['reason']>()(['disabled', 'already_ran', 'busy']);
export const POLL_STATES = every<Extract<PollOutcome, { status: 'ran' }>['state']>()(['ok', 'failed']);
export const PROBE_STEPS = every<ProbeStepName>()(['credentials', 'token', 'probe']);

/** The error codes an admin API answer can carry (a subset of ErrorCode, checked one way). */
export const ADMIN_ERROR_CODES = [
  'BAD_REQUEST',
  'AUTH_FAILED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'TRANSFORM_FAILED',
  'PREVIEW_UNSUPPORTED',
  'WSDL_UNAVAILABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'STORE_UNAVAILABLE',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];
