/**
 * A group of delivery completions on PostgreSQL in one statement, atomic by itself: the attempts
 * and the audit records inserted, and the state changes applied by one `update ... from <values>
 * returning id`, which says whose lease still held. Each part's rows travel as one JSON parameter,
 * so the text is the same for every group (statements.ts). (SQLite writes the same rows on its
 * connection thread: ../sqlite/completions.ts.)
 */
import type { Knex } from 'knex';
import { COMPLETION_COLUMNS, completionRows, completionUpdateSql, type CompletionInput } from '../rows/delivery.ts';
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
 */
const COMPLETE = `
  with attempts_in as (${insertFromJson('attempts', ATTEMPT_COLUMNS)}),
  audit_in as (${insertFromJson('audit_records', AUDIT_COLUMNS)})
  ${completionUpdateSql(VALUES)}`;

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
