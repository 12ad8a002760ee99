/**
 * A group of delivery completions on SQLite, run by the connection's own thread (thread.ts) in as
 * few trips to SQLite as batch.ts makes for ingest: `BEGIN IMMEDIATE`; the state changes (one
 * `update ... returning` per chunk, which says whose lease still held); the attempts, the audit
 * records, the correlation ids of accepted requests and the `COMMIT` as one script. Through knex the
 * same group took five statements, each waiting for a turn of the main thread's event loop while the
 * transaction held the connection.
 */
import { CORRELATION_UPSERT } from '../rows/correlation.ts';
import { COMPLETION_COLUMNS, completionRows, completionUpdateSql, sentCorrelations, type CompletionInput } from '../rows/delivery.ts';
import type { BatchConnection } from './batch.ts';
import { insertScript, literal } from './sql.ts';

/** Completions per update statement (SQLite takes at most 500 terms in one compound SELECT). */
const UPDATE_CHUNK = 400;
const INSERT_CHUNK = 200;

/** Returns, per completion, whether its state change was applied. */
export async function writeSqliteCompletions(conn: BatchConnection, inputs: CompletionInput[]): Promise<boolean[]> {
  const rows = completionRows(inputs);
  await conn.exec('BEGIN IMMEDIATE');
  try {
    const applied = new Set<string>();
    for (let i = 0; i < rows.updates.length; i += UPDATE_CHUNK) {
      const values = rows.updates
        .slice(i, i + UPDATE_CHUNK)
        .map((row) => `select ${row.map((v, c) => `${literal(v)} as ${(COMPLETION_COLUMNS[c] as readonly [string, string])[0]}`).join(', ')}`)
        .join(' union all ');
      for (const r of await conn.all<{ id: string }>(completionUpdateSql(values))) applied.add(r.id);
    }
    // The correlation ids of accepted requests beside the ones sent before (a late callback may name any of them).
    const correlations = insertScript('delivery_correlations', sentCorrelations(inputs, applied), INSERT_CHUNK, CORRELATION_UPSERT);
    await conn.exec(`${insertScript('attempts', rows.attempts, INSERT_CHUNK)}${insertScript('audit_records', rows.audits, INSERT_CHUNK)}${correlations}COMMIT;`);
    return inputs.map((c) => applied.has(c.delivery.id));
  } catch (err) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
