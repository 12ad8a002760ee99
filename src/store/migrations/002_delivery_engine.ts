import type { Knex } from 'knex';

/**
 * Connector state shared by every instance (maintenance on/off, circuit), the shared rate-limit
 * buckets, and why a delivery is on hold.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connector_states', (t) => {
    t.string('connector', 63).primary();
    t.string('admin_state', 10).notNullable();
    t.string('circuit', 10).notNullable().defaultTo('closed');
    t.bigInteger('circuit_until').nullable();
    t.bigInteger('updated_at').notNullable();
    t.string('updated_by', 200).nullable();
  });
  await knex.schema.createTable('rate_buckets', (t) => {
    t.string('connector', 63).primary();
    t.double('tokens').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.string('hold_reason', 20).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropColumn('hold_reason');
  });
  await knex.schema.dropTableIfExists('rate_buckets');
  await knex.schema.dropTableIfExists('connector_states');
}
