/**
 * The migration lock on SQLite, where `omgw migrate`, a CLI command and the gateway may open one
 * database file at the same moment, each with its own connection.
 *
 * SQLite has one writer at a time: the whole migration runs in one transaction that takes the write
 * lock before it reads anything (the connection's thread begins every knex transaction IMMEDIATE,
 * thread.ts), and its first statement writes knex's lock table. The others wait, in short attempts,
 * then find nothing to do. A killed process's lock and its unfinished transaction go
 * with it.
 */
import type { Knex } from 'knex';
import { GatewayError } from '../../domain/errors.ts';

/**
 * How long one attempt waits for the write lock (the busy timeout while migrating). A waiting
 * statement holds one of the threads of libuv's pool, which every SQLite connection of the process
 * shares (four by default): waits of minutes would leave none to the connection holding the lock
 * when several wait in one process. Short attempts, repeated, give the threads back in between.
 */
const ATTEMPT_MS = 100;

/**
 * Runs `migrate` in a transaction holding SQLite's write lock, waiting up to `waitMs` for it (the
 * connection's busy timeout, a few seconds, would give up on any migration longer than that).
 * `lockTable` is knex's migration lock table, created here as knex's migrator creates it when it is
 * missing, so that the transaction's first statement can write to it; a single statement is safe
 * against another connection doing the same.
 */
export async function withSqliteMigrationLock<T>(
  knex: Knex,
  lockTable: string,
  waitMs: number,
  describe: string,
  migrate: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  // One connection (the pool's only one): the store's other statements wait for the migration anyway.
  const [setting] = (await knex.raw('PRAGMA busy_timeout')) as Array<{ timeout: number }>;
  await knex.raw(`PRAGMA busy_timeout = ${ATTEMPT_MS}`);
  try {
    for (;;) {
      try {
        await knex.raw('create table if not exists ?? (?? integer not null primary key autoincrement, ?? integer)', [lockTable, 'index', 'is_locked']);
        return await knex.transaction(async (trx) => {
          // The write that takes the lock; no migration holds knex's own lock now (none runs outside this one).
          await trx(lockTable).update({ is_locked: 0 });
          return migrate(trx);
        });
      } catch (err) {
        // Whatever the transaction did was rolled back: trying again from the start is safe.
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
        if (Date.now() >= deadline) {
          throw new GatewayError('STORE_UNAVAILABLE', `${describe}: another process has been writing to the database for over ${waitMs / 1000} s; start again once it has finished`, { cause: err });
        }
      }
    }
  } finally {
    await knex.raw(`PRAGMA busy_timeout = ${Math.trunc(setting?.timeout ?? 0)}`);
  }
}
