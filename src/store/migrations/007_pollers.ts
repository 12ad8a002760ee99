import type { Knex } from 'knex';

/**
 * The purchase-order poller (src/inbound/poller/):
 * - `poller_cursors`: per poller, the newest LastUpdateDate it has stored events up to, as Fusion
 *   wrote it and as epoch ms. It only moves forward, whichever instance ran the poll.
 * - `poller_runs`: one row per run. `slot_key` is unique (the scheduled slot, or `manual:<id>`), so a
 *   slot runs on one instance only; what each run read and stored is kept with it. A run whose lease
 *   ran out while it was still `running` is marked `interrupted` by the next run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('poller_cursors', (t) => {
    t.string('poller', 64).primary();
    t.string('cursor', 64).notNullable();
    t.bigInteger('cursor_at').notNullable();
    /** False while a run stopped at its page limit with more to read (the next run then skips the overlap). */
    t.boolean('caught_up').notNullable().defaultTo(true);
    /** Changes within the cursor's second that such a run read already: where the next one resumes. */
    t.integer('resume_skip').notNullable().defaultTo(0);
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('poller_runs', (t) => {
    t.string('id', 26).primary();
    t.string('poller', 64).notNullable();
    t.string('slot_key', 100).notNullable().unique();
    t.string('owner', 64).nullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    /** A running run renews this with each page; past it, the run's instance is taken to have died. */
    t.bigInteger('lease_until').nullable();
    t.string('state', 12).notNullable();
    t.string('cursor_before', 64).nullable();
    t.string('cursor_after', 64).nullable();
    t.text('summary').nullable();
    t.text('error').nullable();
    t.index(['poller', 'started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('poller_runs');
  await knex.schema.dropTableIfExists('poller_cursors');
}
