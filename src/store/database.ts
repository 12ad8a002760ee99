import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { threadedSqliteKnex } from './sqlite/connection.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /** A description safe to print (no password). */
  describe: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolMax?: number;
  /** PostgreSQL schema to use (tests give each suite its own). */
  schema?: string;
  /** Folder that relative SQLite paths resolve against. */
  baseDir?: string;
}

/**
 * Opens the database named by a URL: `sqlite:./data/omgw.db`, `sqlite::memory:` or `postgres://...`.
 * SQLite runs in WAL mode with synchronous=FULL: an acknowledged push survives a process kill and a
 * power loss. A single connection serialises transactions, which is what SQLite needs anyway.
 */
export function openDatabase(options: DatabaseOptions): Database {
  const { url } = options;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    const filename = path === ':memory:' ? ':memory:' : resolve(options.baseDir ?? process.cwd(), path);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    // The connection lives on a thread of its own (src/store/sqlite/thread.ts).
    const knex = threadedSqliteKnex({
      connection: { filename },
      useNullAsDefault: true,
      log: quietKnexLog,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) => {
          conn.exec(
            `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${LOCK_TIMEOUT_MS}; PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES};`,
            (err) => done(err, conn),
          );
        },
      },
    });
    // The connection's thread also checkpoints the WAL, from a second connection (sqlite/checkpointer.ts).
    return { knex, dialect: 'sqlite', describe: `sqlite:${filename}`, close: () => knex.destroy() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // int8 (counts, epoch milliseconds) as numbers: every value the gateway stores there fits in 2^53.
    pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));
    const knex = knexFactory({
      client: 'pg',
      connection: url,
      searchPath: options.schema ? [options.schema] : undefined,
      pool: {
        min: 0,
        max: options.poolMax ?? 10,
        // Like SQLite's busy timeout: a statement waits at most 5 s for a lock another session holds,
        // then fails (a push gets a Server Fault and is sent again) instead of hanging.
        afterCreate: (conn: PgConnection, done: (err: Error | null, conn: PgConnection) => void) => {
          conn.query(`set lock_timeout = ${LOCK_TIMEOUT_MS}`, (err) => done(err, conn));
        },
      },
      log: quietKnexLog,
    });
    return { knex, dialect: 'postgres', describe: redactUrl(url), close: () => knex.destroy() };
  }
  throw new Error(`database url must start with sqlite: or postgres:// (got ${redactUrl(url)})`);
}

/**
 * The WAL size (in 4 KB pages) at which the gateway's SQLite connection checkpoints by itself, in a
 * COMMIT: only a bound for when the WalCheckpointer falls behind, which normally keeps the WAL far
 * smaller (SQLite's default of 1,000 pages made every few dozen push batches wait for a checkpoint).
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** How long a statement waits for a lock held by another connection (SQLite busy_timeout, PostgreSQL lock_timeout). */
const LOCK_TIMEOUT_MS = 5000;

interface PgConnection {
  query(sql: string, cb: (err: Error | null) => void): void;
}

interface SqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

/** knex prints connection retries and stacks on its own; the gateway reports failures itself. */
const quietKnexLog = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
