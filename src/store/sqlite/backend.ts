/**
 * The store on SQLite: one connection, owned by a thread of its own (thread.ts), in WAL mode with
 * synchronous=FULL, so that an acknowledged push survives a process kill and a power loss. Ingest
 * batches, completion groups and claims run whole on that thread (batch.ts, completions.ts), one
 * trip each; everything else goes through knex.
 */
import type { Backend } from '../backend.ts';
import { batchConnection, threadedSqliteKnex } from './connection.ts';

export interface SqliteOptions {
  /** A file name, or ':memory:'. */
  filename: string;
  /** How long a statement waits for a lock another connection holds (busy_timeout). */
  lockTimeoutMs: number;
  log: object;
}

/**
 * The WAL size (in 4 KB pages) at which the connection checkpoints by itself, in a COMMIT: only a
 * bound for when the WalCheckpointer falls behind, which normally keeps the WAL far smaller
 * (SQLite's default of 1,000 pages made every few dozen push batches wait for a checkpoint).
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

interface SqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

export function openSqlite(options: SqliteOptions): Backend {
  const knex = threadedSqliteKnex({
    connection: { filename: options.filename },
    useNullAsDefault: true,
    log: options.log,
    pool: {
      // A single connection serialises transactions, which is what SQLite needs anyway.
      min: 1,
      max: 1,
      afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) => {
        conn.exec(
          `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${options.lockTimeoutMs}; PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES};`,
          (err) => done(err, conn),
        );
      },
    },
  });
  return {
    dialect: 'sqlite',
    knex,
    describe: `sqlite:${options.filename}`,
    forUpdate: '',
    skipLocked: '',
    ingest: async (items) => (await batchConnection(knex)).ingest(items),
    complete: async (inputs) => (await batchConnection(knex)).complete(inputs),
    claim: async (sql, params) => (await batchConnection(knex)).claim(sql, params),
    // One process writes and delivers (another, such as a CLI command, is followed at the next poll):
    // its own services wake its worker.
    announceDue: () => Promise.resolve(),
    onDeliveriesDue: () => () => undefined,
    rowsOf: <T>(result: unknown): T[] => (Array.isArray(result) ? result : []) as T[],
    close: () => knex.destroy(),
  };
}
