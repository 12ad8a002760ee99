/**
 * The migration lock on PostgreSQL, where every instance of a cluster (and `omgw migrate`) may start
 * at the same moment on one database.
 *
 * The whole migration runs in one transaction that first takes a transaction-level advisory lock
 * (`pg_advisory_xact_lock`) keyed on the schema: the others wait for it, then find nothing to do.
 * A transaction-level lock rather than a session-level one because knex's migrator runs on a pooled
 * connection: a transaction pins one connection for the whole run, and the lock ends with it, at
 * commit, at rollback, or when the session dies (a killed process, pg_terminate_backend), so a
 * migration that never finished never blocks a later start. The schema is created inside the lock:
 * `create schema if not exists` is not safe against itself.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { GatewayError } from '../../domain/errors.ts';

/** PostgreSQL's lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * The advisory lock's key: a constant for the gateway's migrations of one schema (none: the
 * database's default search path), as a signed 64-bit integer.
 */
function migrationLockKey(schema: string | undefined): string {
  const digest = createHash('sha256').update(`omgw.migrations:${schema ?? ''}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Runs `migrate` in a transaction holding the schema's migration lock, the schema created, waiting
 * up to `waitMs` for the lock (the pool's lock_timeout, a few seconds, would give up on any migration
 * longer than that).
 */
export async function withPostgresMigrationLock<T>(
  knex: Knex,
  schema: string | undefined,
  waitMs: number,
  describe: string,
  migrate: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  return knex.transaction(async (trx) => {
    const [setting] = ((await trx.raw(`select current_setting('lock_timeout') as value`)) as { rows: Array<{ value: string }> }).rows;
    await trx.raw(`select set_config('lock_timeout', ?, true)`, [`${Math.trunc(waitMs)}ms`]);
    try {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [migrationLockKey(schema)]);
    } catch (err) {
      if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw err;
      throw new GatewayError(
        'STORE_UNAVAILABLE',
        `${describe}: another instance has been migrating the database${schema ? ` (schema ${schema})` : ''} for over ${waitMs / 1000} s; start again once it has finished`,
        { cause: err },
      );
    }
    // The migrations' own statements wait no longer for a table lock than any other statement does.
    await trx.raw(`select set_config('lock_timeout', ?, true)`, [setting?.value ?? '0']);
    if (schema) await trx.raw('create schema if not exists ??', [schema]);
    return migrate(trx);
  });
}
