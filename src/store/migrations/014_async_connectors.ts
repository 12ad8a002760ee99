import type { Knex } from 'knex';

/**
 * Async connectors: a delivery whose request the target accepted awaits its response
 * (state awaiting_response), matched by a correlation id when the target calls back.
 *
 * - `correlation_id`: made once per delivery (or read from the target's first answer) and kept, so a
 *   re-send carries the same one. A callback finds its delivery by (connector, correlation_id): a
 *   unique partial index, so an id names one delivery of a connector, and the lookup reads one entry.
 * - `response_due_at`: the deadline while awaiting; the expiry sweep reads the partial index of
 *   awaiting deliveries in deadline order (its predicate written as in the sweep).
 * - `responded_at`: when a callback completed the delivery; a second callback then changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.string('correlation_id', 200).nullable();
    t.bigInteger('response_due_at').nullable();
    t.bigInteger('responded_at').nullable();
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.unique(['connector', 'correlation_id'], {
      indexName: 'deliveries_correlation_unique',
      predicate: knex.whereNotNull('correlation_id'),
    });
    t.index(['response_due_at'], 'deliveries_response_due_index', {
      predicate: knex.whereRaw(`state = 'awaiting_response'`),
    });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['response_due_at'], 'deliveries_response_due_index');
    t.dropUnique(['connector', 'correlation_id'], 'deliveries_correlation_unique');
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropColumn('responded_at');
    t.dropColumn('response_due_at');
    t.dropColumn('correlation_id');
  });
}
