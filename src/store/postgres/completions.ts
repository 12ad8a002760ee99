/**
 * A group of delivery completions on PostgreSQL in one statement, atomic by itself: the attempts
 * and the audit records inserted, the state changes applied by one `update ... from <values>
 * returning id`, which says whose lease still held, and the correlation ids of accepted requests
 * kept. Each part's rows travel as one JSON parameter, so the text is the same for every group
 * (statements.ts). (SQLite writes the same rows on its connection thread: ../sqlite/completions.ts.)
 */
import type { Knex } from 'knex';
import { CORRELATION_UPSERT } from '../rows/correlation.ts';
import { COMPLETION_COLUMNS, completionRows, completionUpdateSql, sqlStates, type CompletionInput } from '../rows/delivery.ts';
import { AUDIT_COLUMNS, insertFromJson, rowsParam, runPrepared } from './statements.ts';

/** Columns of an attempt's row, as ../rows/delivery.ts completionRows builds it. */
const ATTEMPT_COLUMNS = [
  'id', 'delivery_id', 'number', 'started_at', 'duration_ms', 'request_summary', 'response_status', 'response_headers', 'response_snippet', 'error_class', 'error_message', 'outcome',
] as const;

/** The state changes' values, one JSON object per completion keyed by its COMPLETION_COLUMNS name, each read as its type. */
const VALUES = `select * from json_to_recordset(?::json) as x(${COMPLETION_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`;

/**
 * The attempts insert and the audit insert are siblings of the update: the attempts' foreign key
 * to their delivery is checked at the end of the statement, where the delivery row is its updated version.
 * The correlation ids of the accepted requests (the rows the update moved to awaiting_response) are
 * kept beside the ones each delivery was sent with before, from the update's own rows, so only an
 * applied completion records its id.
 */
const COMPLETE = `
  with attempts_in as (${insertFromJson('attempts', ATTEMPT_COLUMNS)}),
  audit_in as (${insertFromJson('audit_records', AUDIT_COLUMNS)}),
  changed as (${completionUpdateSql(VALUES, 'deliveries.id, deliveries.connector, deliveries.correlation_id, deliveries.state, deliveries.updated_at')}),
  correlations_in as (
    insert into delivery_correlations (connector, correlation_id, delivery_id, created_at)
    select connector, correlation_id, id, updated_at from changed where state in ${sqlStates(['awaiting_response'])}
    ${CORRELATION_UPSERT})
  select id from changed`;

/** Returns, per completion, whether its state change was applied. */
export async function writeCompletions(db: Knex, inputs: CompletionInput[]): Promise<boolean[]> {
  if (inputs.length === 0) return [];
  const rows = completionRows(inputs);
  const values = rows.updates.map((row) => Object.fromEntries(COMPLETION_COLUMNS.map(([name], c) => [name, row[c] ?? null])));
  const applied = await runPrepared<{ id: string }>(db, COMPLETE, [
    rowsParam('attempts', ATTEMPT_COLUMNS, rows.attempts),
    rowsParam('audit_records', AUDIT_COLUMNS, rows.audits),
    JSON.stringify(values),
  ]);
  const ids = new Set(applied.map((r) => r.id));
  return inputs.map((c) => ids.has(c.delivery.id));
}
