import type { Knex } from 'knex';
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

export async function migrateLatest(knex: Knex, schema?: string): Promise<MigrateResult> {
  if (schema) await knex.raw('create schema if not exists ??', [schema]);
  const [, applied] = (await knex.migrate.latest({
    migrationSource: source,
    tableName: 'omgw_migrations',
    schemaName: schema,
  })) as [number, string[]];
  return { applied };
}
