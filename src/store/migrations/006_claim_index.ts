import type { Knex } from 'knex';

/**
 * The claim query's own index. `claim` asks for one connector's due deliveries (pending or retrying)
 * oldest first; with only (state, next_attempt_at) the database read every due row of both states and
 * sorted them before taking the first few, so a claim grew with the backlog (about 850 ms at 1,000,000
 * pending on SQLite). This partial index holds only claimable rows, in claim order, so a claim reads
 * about as many index entries as it takes, whatever the backlog. The predicate is written exactly as
 * in the claim query, which both SQLite and PostgreSQL require to use a partial index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['connector', 'next_attempt_at', 'id'], 'deliveries_claim_index', {
      predicate: knex.whereRaw(`state in ('pending', 'retrying')`),
    });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['connector', 'next_attempt_at', 'id'], 'deliveries_claim_index');
  });
}
