import type { Knex } from 'knex';

/**
 * What the flow funnel and billing reconciliation (src/store/funnel.ts) look up by index: the ShipBob
 * orders made in a time range, and the ShipBob order a billing charge names by its shipment id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('shipbob_orders', (t) => {
    t.index(['created_at'], 'shipbob_orders_created_at_index');
    t.index(['shipment_id'], 'shipbob_orders_shipment_id_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('shipbob_orders', (t) => {
    t.dropIndex(['shipment_id'], 'shipbob_orders_shipment_id_index');
    t.dropIndex(['created_at'], 'shipbob_orders_created_at_index');
  });
}
