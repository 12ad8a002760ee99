import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';

/**
 * The database the integration suite runs on: a fresh SQLite file by default, or PostgreSQL when
 * OMGW_TEST_DATABASE_URL is set (each test database gets its own schema, dropped afterwards).
 */
export interface TestDatabase {
  url: string;
  schema: string | undefined;
  kind: 'sqlite' | 'postgres';
  dispose(): Promise<void>;
}

export function backendName(): 'sqlite' | 'postgres' {
  return process.env.OMGW_TEST_DATABASE_URL ? 'postgres' : 'sqlite';
}

export function createTestDatabase(): TestDatabase {
  const pgUrl = process.env.OMGW_TEST_DATABASE_URL;
  if (pgUrl) {
    const schema = `omgw_t_${randomBytes(6).toString('hex')}`;
    return {
      url: pgUrl,
      schema,
      kind: 'postgres',
      dispose: async () => {
        const knex = knexFactory({ client: 'pg', connection: pgUrl });
        try {
          await knex.raw('drop schema if exists ?? cascade', [schema]);
        } finally {
          await knex.destroy();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'omgw-db-'));
  return {
    url: `sqlite:${join(dir, 'omgw.db')}`,
    schema: undefined,
    kind: 'sqlite',
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
