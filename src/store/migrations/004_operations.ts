import type { Knex } from 'knex';

/**
 * Scheduled jobs that several instances share.
 *
 * - `recovery_runs`: one row per recovery run. `slot_key` is unique: for a scheduled run it is the
 *   slot's time, so of several instances firing for the same slot exactly one inserts the row. The
 *   owner holds a lease; a run whose owner died (lease expired) or that stopped on an error is
 *   finished by a later run.
 * - `recovery_run_items`: the deliveries a run selected, and how far each got
 *   (selected → replaying → replayed | skipped). A delivery is replayed at most once per run.
 * - `retention_runs`: one row per retention slot (the same once-per-slot claim), with what was removed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('recovery_runs', (t) => {
    t.string('id', 26).primary();
    t.string('slot_key', 100).notNullable().unique();
    t.string('trigger', 10).notNullable();
    t.bigInteger('scheduled_for').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.string('state', 20).notNullable();
    t.string('owner', 64).nullable();
    t.bigInteger('lease_expires_at').nullable();
    t.text('filters').notNullable();
    t.integer('batch_cap').notNullable();
    t.integer('selected').notNullable().defaultTo(0);
    t.integer('replayed').notNullable().defaultTo(0);
    t.integer('skipped').notNullable().defaultTo(0);
    t.integer('resumes').notNullable().defaultTo(0);
    t.text('error').nullable();
    t.string('actor', 200).nullable();
    t.index(['state', 'lease_expires_at']);
    t.index(['started_at']);
  });
  await knex.schema.createTable('recovery_run_items', (t) => {
    t.string('run_id', 26).notNullable().references('id').inTable('recovery_runs');
    t.string('delivery_id', 26).notNullable();
    t.integer('seq').notNullable();
    t.string('state', 12).notNullable();
    t.bigInteger('marked_at').nullable();
    t.primary(['run_id', 'delivery_id']);
    t.index(['run_id', 'state', 'seq']);
    t.index(['delivery_id']);
  });
  await knex.schema.createTable('retention_runs', (t) => {
    t.string('id', 26).primary();
    t.string('slot_key', 100).notNullable().unique();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.string('owner', 64).nullable();
    t.text('removed').nullable();
    t.text('error').nullable();
    t.index(['started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('retention_runs');
  await knex.schema.dropTableIfExists('recovery_run_items');
  await knex.schema.dropTableIfExists('recovery_runs');
}
