/**
 * The hot path's statements on PostgreSQL (ingest, completions, claims): each has one constant text,
 * whatever the batch, its rows travelling as JSON parameters, so that PostgreSQL parses and plans it
 * once per connection (a named prepared statement) instead of a new multi-row VALUES text every time.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** Statement name per text: the same text always gets the same name, two texts never share one. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `omgw_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs a constant statement (`?` placeholders) as a prepared statement of the connection it runs on
 * (node-pg prepares it there the first time, then only binds and executes it); returns its rows.
 */
export async function runPrepared<T>(db: Knex, text: string, values: ReadonlyArray<string | number | null>): Promise<T[]> {
  const result = (await db.raw(text, [...values]).options({ name: nameOf(text) })) as { rows?: T[] };
  return result.rows ?? [];
}

/** Columns of an audit record's row (../rows/audit.ts auditRow), which ingest and completions write. */
export const AUDIT_COLUMNS = ['id', 'at', 'direction', 'action', 'source_system', 'connector', 'event_id', 'delivery_id', 'result', 'detail', 'request_id', 'actor'] as const;

/**
 * `insert into <table> (<columns>) select <columns> from` the rows of a JSON parameter (rowsParam),
 * each value read as its column's type. `ordered`: inserted in the order of the array, for an
 * identity column that must number them so.
 */
export function insertFromJson(table: string, columns: readonly string[], ordered = false): string {
  const list = columnList(columns);
  const from = `json_populate_recordset(null::${table}, ?::json)`;
  return ordered
    ? `insert into ${table} (${list}) select ${list} from ${from} with ordinality as r order by r.ordinality`
    : `insert into ${table} (${list}) select ${list} from ${from}`;
}

/** A table's columns as SQL text, each quoted (some are keywords: `at`, `position`, `number`). */
function columnList(columns: readonly string[]): string {
  return columns.map((c) => `"${c}"`).join(', ');
}

/**
 * `rows` as one JSON parameter for `json_populate_recordset(null::<table>, ?)`, after checking that
 * they have exactly the columns the statement inserts (the rows are built in ../rows/, the statement
 * here: a column added there and not here would otherwise be dropped without a word).
 */
export function rowsParam(table: string, columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const first = rows[0];
  if (first !== undefined) {
    const keys = Object.keys(first);
    if (keys.length !== columns.length || keys.some((k, i) => k !== columns[i])) {
      throw new Error(`${table} rows have the columns ${keys.join(', ')}; the statement inserts ${columns.join(', ')}`);
    }
  }
  return JSON.stringify(rows);
}
