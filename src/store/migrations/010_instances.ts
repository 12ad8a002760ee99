import type { Knex } from 'knex';

/**
 * `instances`: one row per gateway process run sharing this database (src/store/instances.ts). Each
 * writes `heartbeat_at` every `cluster.heartbeat` and `stopped_at` when it stops cleanly; a row whose
 * heartbeat is old without a stop is a process that died. `config_version` is a digest of the config
 * in force there, rewritten by a reload. Rows stopped or silent for longer than `cluster.forgetAfter`
 * are removed when an instance registers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instances', (t) => {
    t.string('id', 64).primary();
    t.string('host', 255).notNullable();
    t.integer('pid').notNullable();
    t.string('version', 64).notNullable();
    t.string('config_version', 64).notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('heartbeat_at').notNullable();
    t.bigInteger('stopped_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('instances');
}
