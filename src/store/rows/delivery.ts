import { auditRow, type AuditInput, type Row } from './audit.ts';
import { correlationRow, type CorrelationRow } from './correlation.ts';
import { DELIVERY_COLUMNS } from './mapping.ts';
import {
  ATTEMPT_EVENTS,
  DELIVERY_FIELDS,
  DELIVERY_STATES,
  DELIVERY_TRANSITIONS,
  patchOf,
  type AttemptOutcome,
  type Delivery,
  type DeliveryField,
  type DeliveryState,
  type FieldWrite,
} from '../../domain/delivery.ts';

/**
 * The rows and SQL text of delivery completions, without I/O: what an attempt's end writes (built
 * from the domain's DELIVERY_TRANSITIONS, each field in its column: row-mapping.ts), shared by the
 * knex writer (deliveries.ts) and the SQLite thread (sqlite/completions.ts).
 */

export interface AttemptInput {
  id: string;
  number: number;
  startedAt: number;
  durationMs: number;
  requestSummary: unknown;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  responseSnippet: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  outcome: AttemptOutcome;
}

/** The new state of a delivery after an attempt, decided by the worker (events: ATTEMPT_EVENTS). */
export type Transition =
  | { state: 'delivered' }
  | { state: 'retrying'; nextAttemptAt: number; error: string }
  | { state: 'parked'; reason: string; error: string }
  /** An async connector's target accepted the request: its response is due by responseDueAt. */
  | { state: 'awaiting_response'; correlationId: string; responseDueAt: number };

export interface ClaimRequest {
  connector: string;
  strictOrdering: boolean;
  limit: number;
  owner: string;
  now: number;
  leaseUntil: number;
}

export interface CompletionInput {
  delivery: Delivery;
  owner: string;
  attempt: AttemptInput;
  transition: Transition;
  now: number;
  audit: AuditInput;
}

/** The rows a group of completions writes, for either dialect's writer. */
export interface CompletionRows {
  attempts: Row[];
  /** Per completion, the values of the state change, in the order of COMPLETION_COLUMNS. */
  updates: Array<Array<string | number | null>>;
  audits: Row[];
}

/** A list of states as SQL text, for conditions that must stay literal (the claim's plan). */
export function sqlStates(states: readonly DeliveryState[]): string {
  for (const state of states) if (!(DELIVERY_STATES as readonly string[]).includes(state)) throw new Error(`not a delivery state: ${state}`);
  return `(${states.map((state) => `'${state}'`).join(', ')})`;
}

/** The events that end an attempt, with the state each leads to (the completion's `v.state`). */
const COMPLETION_EVENTS = Object.entries(ATTEMPT_EVENTS).map(([state, event]) => ({ state, transition: DELIVERY_TRANSITIONS[event] }));

/** SQL types of the fields a completion carries as values. */
const FIELD_TYPES: Partial<Record<DeliveryField, string>> = {
  attemptCount: 'integer',
  attemptsInCycle: 'integer',
  nextAttemptAt: 'bigint',
  lastError: 'text',
  parkedReason: 'varchar(40)',
  correlationId: 'varchar(200)',
  responseDueAt: 'bigint',
};

/** A write whose value differs per completion, so it travels in the values (the others are SQL). */
const carried = (write: FieldWrite | undefined): boolean => write !== undefined && write !== 'clear' && write !== 'now';

/** The fields an attempt's end writes with a value of its own (a counter, a time, an error, a reason). */
const VALUE_FIELDS = DELIVERY_FIELDS.filter((field) => COMPLETION_EVENTS.some((e) => carried(e.transition.writes[field])));

/** Columns of the state-change values (see completionUpdateSql), each with its SQL type; a field's value is named as its column. */
export const COMPLETION_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['id', 'varchar(26)'],
  ['owner', 'varchar(64)'],
  ['state', 'varchar(20)'],
  ['now', 'bigint'],
  ...VALUE_FIELDS.map((field): readonly [string, string] => {
    const type = FIELD_TYPES[field];
    if (type === undefined) throw new Error(`no SQL type for the completion value ${field}`);
    return [DELIVERY_COLUMNS[field], type];
  }),
];

export function completionRows(inputs: CompletionInput[]): CompletionRows {
  const attempts = inputs.map(({ delivery, attempt }) => ({
    id: attempt.id,
    delivery_id: delivery.id,
    number: attempt.number,
    started_at: attempt.startedAt,
    duration_ms: Math.round(attempt.durationMs),
    request_summary: JSON.stringify(attempt.requestSummary),
    response_status: attempt.responseStatus,
    response_headers: attempt.responseHeaders ? JSON.stringify(attempt.responseHeaders) : null,
    response_snippet: attempt.responseSnippet,
    error_class: attempt.errorClass,
    error_message: attempt.errorMessage,
    outcome: attempt.outcome,
  }));
  const updates = inputs.map(({ delivery, owner, transition, now }) => {
    const patch = patchOf(
      ATTEMPT_EVENTS[transition.state],
      {
        owner,
        ...(transition.state === 'retrying' ? { nextAttemptAt: transition.nextAttemptAt } : {}),
        ...(transition.state === 'parked' ? { reason: transition.reason } : {}),
        ...(transition.state === 'retrying' || transition.state === 'parked' ? { error: transition.error } : {}),
        ...(transition.state === 'awaiting_response' ? { correlationId: transition.correlationId, responseDueAt: transition.responseDueAt } : {}),
      },
      now,
      delivery,
    );
    return [delivery.id, owner, patch.state, now, ...VALUE_FIELDS.map((field) => patch[field] ?? null)];
  });
  return { attempts, updates, audits: inputs.map((c) => auditRow(c.audit)) };
}

/**
 * The SET and WHERE of a completion, built once from DELIVERY_TRANSITIONS: per field, what each
 * attempt-ending event writes (`case v.state when ...`), the field kept where an event does not
 * name it; the row must be in a state those events apply from, under the completing worker's lease.
 */
function completionClauses(): { set: string; where: string } {
  const sql = (column: string, write: FieldWrite): string => (write === 'clear' ? 'null' : write === 'now' ? 'v.now' : `v.${column}`);
  const sets = [`${DELIVERY_COLUMNS.state} = v.state`, `${DELIVERY_COLUMNS.updatedAt} = v.now`];
  for (const field of DELIVERY_FIELDS) {
    const column = DELIVERY_COLUMNS[field];
    const cases = COMPLETION_EVENTS.flatMap((e) => {
      const write = e.transition.writes[field];
      return write === undefined ? [] : [{ state: e.state, sql: sql(column, write) }];
    });
    if (cases.length === 0) continue;
    const first = cases[0]?.sql;
    if (cases.length === COMPLETION_EVENTS.length && cases.every((c) => c.sql === first)) {
      sets.push(`${column} = ${first}`);
    } else {
      sets.push(`${column} = case v.state ${cases.map((c) => `when '${c.state}' then ${c.sql}`).join(' ')} else deliveries.${column} end`);
    }
  }
  const [one, ...others] = COMPLETION_EVENTS.map((e) => e.transition);
  if (!one || others.some((t) => t.lease !== one.lease || t.from.join() !== one.from.join())) {
    throw new Error('the events that end an attempt must share their states and lease condition');
  }
  const lease = one.lease === 'held' ? ` and deliveries.${DELIVERY_COLUMNS.leaseOwner} = v.owner` : '';
  return { set: sets.join(',\n        '), where: `deliveries.id = v.id${lease} and deliveries.state in ${sqlStates(one.from)}` };
}

const COMPLETION = completionClauses();

/**
 * The state change of a group of completions, from `values`: one `select <value> as <column>, ...`
 * per completion, joined by `union all`. What each state writes comes from DELIVERY_TRANSITIONS
 * (deliver, retry, park): delivered clears the error and the parked reason and stamps delivered_at;
 * retrying sets the next attempt and the error; parked sets the reason and the error; each counts
 * the attempt and clears the lease. Columns a transition does not name keep their value. A row
 * changes only while its worker still holds the lease. `returning`: columns of the changed rows
 * (SQLite allows only the updated table's there).
 */
export function completionUpdateSql(values: string, returning = 'deliveries.id'): string {
  return `
      update deliveries set
        ${COMPLETION.set}
      from (${values}) as v
      where ${COMPLETION.where}
      returning ${returning}`;
}

/**
 * The correlation ids the applied completions of a group sent with (an async connector's accepted
 * requests), each to be kept beside the ones sent before: `applied` holds the ids of the deliveries
 * whose state change was applied.
 */
export function sentCorrelations(inputs: CompletionInput[], applied: ReadonlySet<string>): CorrelationRow[] {
  return inputs.flatMap(({ delivery, transition, now }) =>
    transition.state === 'awaiting_response' && applied.has(delivery.id) ? [correlationRow(delivery.connector, transition.correlationId, delivery.id, now)] : [],
  );
}
