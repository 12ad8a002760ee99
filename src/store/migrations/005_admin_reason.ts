import type { Knex } from 'knex';

/**
 * The operator's reason for the last discard or hold of a delivery (`omgw discard --reason ...`,
 * the admin API). Cleared by replay and release. The audit trail keeps every reason ever given.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.text('admin_reason').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropColumn('admin_reason');
  });
}
