import type { Knex } from 'knex';
import { GatewayError } from '../../domain/errors.ts';
import type { Dialect } from '../backend.ts';
import { withPostgresMigrationLock } from '../postgres/migrate.ts';
import { withSqliteMigrationLock } from '../sqlite/migrate.ts';
import * as initial from './001_initial.ts';
import * as deliveryEngine from './002_delivery_engine.ts';
import * as oauthTokens from './003_oauth_tokens.ts';
import * as operations from './004_operations.ts';
import * as adminReason from './005_admin_reason.ts';
import * as claimIndex from './006_claim_index.ts';
import * as pollers from './007_pollers.ts';
import * as rateWindow from './008_rate_window.ts';
import * as storeSequence from './009_store_sequence.ts';
import * as instances from './010_instances.ts';
import * as tokenRefreshLease from './011_token_refresh_lease.ts';
import * as shipbobOrders from './012_shipbob_orders.ts';
import * as journeyIndexes from './013_journey_indexes.ts';
import * as asyncConnectors from './014_async_connectors.ts';
import * as funnel from './015_funnel.ts';
import * as deliveryCorrelations from './016_delivery_correlations.ts';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations in order. Listed in code, so they run the same from src/ (tests) and dist/ (start). */
const MIGRATIONS: Array<[string, Migration]> = [
  ['001_initial', initial],
  ['002_delivery_engine', deliveryEngine],
  ['003_oauth_tokens', oauthTokens],
  ['004_operations', operations],
  ['005_admin_reason', adminReason],
  ['006_claim_index', claimIndex],
  ['007_pollers', pollers],
  ['008_rate_window', rateWindow],
  ['009_store_sequence', storeSequence],
  ['010_instances', instances],
  ['011_token_refresh_lease', tokenRefreshLease],
  ['012_shipbob_orders', shipbobOrders],
  ['013_journey_indexes', journeyIndexes],
  ['014_async_connectors', asyncConnectors],
  ['015_funnel', funnel],
  ['016_delivery_correlations', deliveryCorrelations],
];

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

export interface MigrateResult {
  applied: string[];
}

export interface MigrateOptions {
  dialect: Dialect;
  /** The PostgreSQL schema (created here when missing). */
  schema?: string;
  /** The database as the gateway names it (no password), for the messages. */
  describe: string;
}

/** knex's table of applied migrations, and the lock table its migrator keeps beside it. */
const TABLE = 'omgw_migrations';
const LOCK_TABLE = `${TABLE}_lock`;

/** How long a start waits for another's migration before it fails and says so. */
const MIGRATION_WAIT_MS = 10 * 60_000;

/**
 * Brings the schema up to date, once however many instances start at the same moment: under a
 * lock of the database's (postgres/migrate.ts, sqlite/migrate.ts), the others waiting, then finding
 * nothing to do. On both databases every migration of a run happens in that one transaction.
 * Refuses (SCHEMA_TOO_NEW) a database a newer gateway has migrated.
 */
export async function migrateLatest(knex: Knex, options: MigrateOptions): Promise<MigrateResult> {
  const locked = (trx: Knex.Transaction): Promise<MigrateResult> => migrateLocked(trx, options);
  return options.dialect === 'postgres'
    ? withPostgresMigrationLock(knex, options.schema, MIGRATION_WAIT_MS, options.describe, locked)
    : withSqliteMigrationLock(knex, LOCK_TABLE, MIGRATION_WAIT_MS, options.describe, locked);
}

async function migrateLocked(trx: Knex.Transaction, options: MigrateOptions): Promise<MigrateResult> {
  const { schema } = options;
  const table = (name: string): Knex.QueryBuilder => (schema ? trx(name).withSchema(schema) : trx(name));
  const schemaBuilder = (): Knex.SchemaBuilder => (schema ? trx.schema.withSchema(schema) : trx.schema);
  if (await schemaBuilder().hasTable(LOCK_TABLE)) {
    // knex's own lock cannot be held by anyone else while this lock is: a lock row still set, or a
    // second row (two migrators once inserted one each), was left by a migration of an earlier
    // version and would make knex refuse to migrate ("Migration table is already locked") for good.
    await table(LOCK_TABLE).whereNot('is_locked', 0).update({ is_locked: 0 });
    await table(LOCK_TABLE).where('index', '>', table(LOCK_TABLE).min('index')).delete();
  }
  if (await schemaBuilder().hasTable(TABLE)) {
    const rows = (await table(TABLE).orderBy('id').select('name')) as Array<{ name: string }>;
    const unknown = rows.map((r) => r.name).filter((name) => !MIGRATIONS.some(([known]) => known === name));
    const newest = unknown.at(-1);
    if (newest !== undefined) {
      throw new GatewayError(
        'SCHEMA_TOO_NEW',
        `${options.describe}: the database schema is at ${newest}, newer than this gateway knows (latest ${MIGRATIONS.at(-1)?.[0] ?? 'none'}): upgrade the gateway or use another database`,
      );
    }
  }
  const [, applied] = (await trx.migrate.latest({ migrationSource: source, tableName: TABLE, schemaName: schema })) as [number, string[]];
  return { applied };
}
