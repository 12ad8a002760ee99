import type { Knex } from 'knex';

/**
 * What the per-minute numbers (src/store/funnel.ts `throughput`) look up by index: the deliveries
 * that reached `delivered` in a range of minutes, by the time they did (`delivered_at`, stamped when a
 * target answered and, for an async connector, when its callback said it was done). Partial: only
 * delivered rows have the time, and the predicate is written as the query writes it, which both
 * SQLite and PostgreSQL need to use a partial index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['delivered_at'], 'deliveries_delivered_at_index', { predicate: knex.whereNotNull('delivered_at') });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['delivered_at'], 'deliveries_delivered_at_index');
  });
}
