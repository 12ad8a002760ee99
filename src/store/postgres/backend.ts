/**
 * The store on PostgreSQL, shared by every instance of a cluster: an ingest batch, a completion group
 * and a claim are each one statement of constant text in the common case (ingest.ts, completions.ts,
 * statements.ts), claims skip rows another instance is claiming, and a transaction that makes
 * deliveries due wakes the other instances (notify.ts).
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Backend, ClaimedRows } from '../backend.ts';
import { writeCompletions } from './completions.ts';
import { writeBatch } from './ingest.ts';
import { runPrepared } from './statements.ts';
import { announce, DueChannel, dueChannel, newOrigin } from './notify.ts';

export interface PostgresOptions {
  url: string;
  /** A description of the URL without its password. */
  describe: string;
  poolMax?: number;
  /** The schema to use (tests give each suite its own). */
  schema?: string;
  /** How long a statement waits for a lock another session holds. */
  lockTimeoutMs: number;
  log: object;
}

interface PgConnection {
  query(sql: string, cb: (err: Error | null) => void): void;
}

export function openPostgres(options: PostgresOptions): Backend {
  // int8 (counts, epoch milliseconds) as numbers: every value the gateway stores there fits in 2^53.
  pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));
  const knex = knexFactory({
    client: 'pg',
    connection: options.url,
    searchPath: options.schema ? [options.schema] : undefined,
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      // Like SQLite's busy timeout: a statement waits a bounded time for a lock another session
      // holds, then fails (a push gets a Server Fault and is sent again) instead of hanging.
      afterCreate: (conn: PgConnection, done: (err: Error | null, conn: PgConnection) => void) => {
        conn.query(`set lock_timeout = ${options.lockTimeoutMs}`, (err) => done(err, conn));
      },
    },
    log: options.log,
  });
  const rowsOf = <T>(result: unknown): T[] => (result as { rows?: T[] }).rows ?? [];
  const channel = dueChannel(options.schema);
  const origin = newOrigin();
  const wakeups = new DueChannel({ url: options.url, channel, origin });
  const announceDue = (db: Knex, connectors: readonly string[]): Promise<void> => announce(db, channel, origin, connectors);
  return {
    dialect: 'postgres',
    knex,
    describe: options.describe,
    forUpdate: 'for update',
    skipLocked: 'for update skip locked',
    // The batch's rows statement also wakes the other instances, when it commits.
    ingest: (items) => writeBatch(knex, items, { channel, origin }),
    // One statement, atomic without a transaction around it: one round trip.
    complete: (inputs) => writeCompletions(knex, inputs),
    async claim(sql, params): Promise<ClaimedRows> {
      const [result] = await runPrepared<ClaimedRows>(knex, withEvents(sql), params);
      return result ?? { rows: [], events: [] };
    },
    announceDue,
    onDeliveriesDue: (listener) => wakeups.subscribe(listener),
    rowsOf,
    close: () => {
      wakeups.close();
      return knex.destroy();
    },
  };
}

/**
 * A claim (`update deliveries ... returning *`) and the read of its deliveries' events in one
 * statement: both come back as JSON arrays of rows, as their columns are named and typed in the table
 * (bigint as a number, like the int8 parser above).
 */
function withEvents(claimSql: string): string {
  return `
    with claimed as (${claimSql})
    select
      coalesce((select json_agg(c) from claimed c), '[]') as rows,
      coalesce((select json_agg(e) from events e where e.id in (select event_id from claimed)), '[]') as events`;
}
