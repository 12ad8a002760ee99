/**
 * A group of delivery completions on PostgreSQL, in the caller's transaction: the attempts, one
 * `update ... from (values) returning id` per chunk (which says whose lease still held), the audit
 * records. (SQLite writes the same rows on its connection thread: ../sqlite/completions.ts.)
 */
import type { Knex } from 'knex';
import { COMPLETION_COLUMNS, completionRows, completionUpdateSql, type CompletionInput } from '../rows/delivery.ts';

/** Rows per statement (the update binds one value per completion column and row). */
const COMPLETION_CHUNK = 100;

/** Returns, per completion, whether its state change was applied. */
export async function writeCompletions(trx: Knex.Transaction, inputs: CompletionInput[]): Promise<boolean[]> {
  const rows = completionRows(inputs);
  for (let i = 0; i < rows.attempts.length; i += COMPLETION_CHUNK) await trx('attempts').insert(rows.attempts.slice(i, i + COMPLETION_CHUNK));

  const applied = new Set<string>();
  const select = `select ${COMPLETION_COLUMNS.map(([name, type]) => `cast(? as ${type}) as ${name}`).join(', ')}`;
  for (let i = 0; i < rows.updates.length; i += COMPLETION_CHUNK) {
    const chunk = rows.updates.slice(i, i + COMPLETION_CHUNK);
    const result: { rows: Array<{ id: string }> } = await trx.raw(completionUpdateSql(chunk.map(() => select).join(' union all ')), chunk.flat());
    for (const r of result.rows) applied.add(r.id);
  }

  for (let i = 0; i < rows.audits.length; i += COMPLETION_CHUNK) await trx('audit_records').insert(rows.audits.slice(i, i + COMPLETION_CHUNK));
  return inputs.map((c) => applied.has(c.delivery.id));
}
