import type { Knex } from 'knex';

/**
 * What an order's journey (src/store/journey.ts) looks up by index:
 * - the source systems OM events came from, read one at a time by a loose scan of this index, so
 *   that a source order number (`SO-1234`) finds its order keys (`LEG:SO-1234`) without reading
 *   every event;
 * - the ShipBob orders the gateway made, by ShipBob's order id (a ShipBob order named before any of
 *   its webhooks arrived).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.index(['source_system'], 'events_source_system_index');
  });
  await knex.schema.alterTable('shipbob_orders', (t) => {
    t.index(['shipbob_order_id'], 'shipbob_orders_shipbob_order_id_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('shipbob_orders', (t) => {
    t.dropIndex(['shipbob_order_id'], 'shipbob_orders_shipbob_order_id_index');
  });
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['source_system'], 'events_source_system_index');
  });
}
