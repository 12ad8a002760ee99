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

/** A table's columns as SQL text, each quoted (some are keywords: `at`, `position`, `number`). */
export function columnList(columns: readonly string[]): string {
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
