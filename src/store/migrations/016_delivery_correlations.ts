import type { Knex } from 'knex';

/**
 * `delivery_correlations`: every correlation id an async connector's delivery was sent with. A
 * connector that reads its id from the target's answer gets a new one with each re-send (after the
 * response deadline, or a replay), and `deliveries.correlation_id` holds only the latest; a late
 * callback naming an earlier one must still find its delivery. Generated ids (made once per
 * delivery) are recorded too, so one lookup serves both.
 *
 * - (connector, correlation_id) is the key: an id names one delivery of a connector (the delivery
 *   last sent with it);
 * - `responded_at`: when a callback with this id completed the delivery, which tells a repeat of
 *   that callback (a duplicate) from the answer to another of its requests (a finished one);
 * - the index on delivery_id serves retention, which removes the rows with their delivery. The
 *   foreign key cascades, so that a gateway older than this migration, still running beside a newer
 *   one during an upgrade, removes them too when its retention removes a delivery.
 *
 * The ids deliveries hold already are copied in, each as the delivery's only one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('delivery_correlations', (t) => {
    t.string('connector', 63).notNullable();
    t.string('correlation_id', 200).notNullable();
    t.string('delivery_id', 26).notNullable().references('id').inTable('deliveries').onDelete('CASCADE');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('responded_at').nullable();
    t.primary(['connector', 'correlation_id']);
    t.index(['delivery_id'], 'delivery_correlations_delivery_index');
  });
  await knex.raw(`
    insert into delivery_correlations (connector, correlation_id, delivery_id, created_at, responded_at)
    select connector, correlation_id, id, updated_at, responded_at from deliveries where correlation_id is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('delivery_correlations');
}
