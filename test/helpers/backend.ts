import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';

/**
 * The database the integration suite runs on: a fresh SQLite file by default, or PostgreSQL when
 * OMGW_TEST_DATABASE_URL is set (each test database gets its own schema, dropped afterwards).
 */
export interface TestDatabase {
  url: string;
  schema: string | undefined;
  kind: 'sqlite' | 'postgres';
  /**
   * A connection of the test's own to the same database, for fixtures the gateway's API cannot make
   * (deliveries in every state, rows to corrupt) and for the store's own tests. Other tests read
   * through the store's or the services' API. Closed by dispose.
   */
  tables(): Knex;
  dispose(): Promise<void>;
}

/** busy_timeout: the fixture connection waits for the gateway's writer instead of failing with SQLITE_BUSY. */
const SQLITE_LOCK_WAIT_MS = 5000;

function fixtureKnex(url: string, schema: string | undefined): Knex {
  if (url.startsWith('sqlite:')) {
    return knexFactory({
      client: 'sqlite3',
      connection: { filename: url.slice('sqlite:'.length) },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) => {
          conn.exec(`PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${SQLITE_LOCK_WAIT_MS};`, (err) => done(err, conn));
        },
      },
    });
  }
  return knexFactory({ client: 'pg', connection: url, searchPath: schema ? [schema] : undefined, pool: { min: 0, max: 2 } });
}

/** tables() and dispose() for a database at url (schema on PostgreSQL), removed by `remove`. */
function withTables(url: string, schema: string | undefined, kind: 'sqlite' | 'postgres', remove: () => Promise<void>): TestDatabase {
  let knex: Knex | null = null;
  return {
    url,
    schema,
    kind,
    tables: () => (knex ??= fixtureKnex(url, schema)),
    dispose: async () => {
      const open = knex;
      knex = null;
      await open?.destroy();
      await remove();
    },
  };
}

export function backendName(): 'sqlite' | 'postgres' {
  return process.env.OMGW_TEST_DATABASE_URL ? 'postgres' : 'sqlite';
}

/**
 * For a suite that never uses the database under test (its own SQLite files, or none): it runs in the
 * SQLite pass and is skipped, saying so, in the PostgreSQL pass, which would run the same thing again.
 * Call it first in the suite's `before`.
 */
export function sqlitePassOnly(context: Mocha.Context, why: string): void {
  if (backendName() === 'sqlite') return;
  console.log(`    (${why}: this suite runs in the SQLite pass)`);
  context.skip();
}

export function createTestDatabase(): TestDatabase {
  const pgUrl = process.env.OMGW_TEST_DATABASE_URL;
  if (pgUrl) {
    const schema = `omgw_t_${randomBytes(6).toString('hex')}`;
    return withTables(pgUrl, schema, 'postgres', async () => {
      const knex = knexFactory({ client: 'pg', connection: pgUrl });
      try {
        await knex.raw('drop schema if exists ?? cascade', [schema]);
      } finally {
        await knex.destroy();
      }
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'omgw-db-'));
  return withTables(`sqlite:${join(dir, 'omgw.db')}`, undefined, 'sqlite', async () => rmSync(dir, { recursive: true, force: true }));
}

/** A TestDatabase for a database the test set up itself and removes itself (dispose only closes tables()). */
export function testDatabaseAt(url: string, schema: string | undefined, kind: 'sqlite' | 'postgres'): TestDatabase {
  return withTables(url, schema, kind, async () => undefined);
}
