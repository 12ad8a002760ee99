import type { Knex } from 'knex';

/**
 * The inbound record (pushes, events), the outbound work (deliveries, attempts) and the audit trail.
 * Times are epoch milliseconds (bigint), ids are ULIDs (text, time-sortable), JSON is stored as text,
 * so SQLite and PostgreSQL hold the same values.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pushes', (t) => {
    t.string('id', 26).primary();
    t.bigInteger('received_at').notNullable();
    t.string('path', 200).notNullable();
    t.string('connector_scope', 63).nullable();
    t.string('soap_version', 3).notNullable();
    t.string('content_type', 200).nullable();
    t.text('headers').notNullable();
    t.text('raw').notNullable();
    t.integer('raw_size').notNullable();
    t.integer('event_count').notNullable();
    t.string('auth_method', 20).nullable();
    t.string('auth_user', 200).nullable();
    t.string('remote_addr', 100).nullable();
    t.string('request_id', 64).nullable();
    t.index(['received_at']);
  });

  await knex.schema.createTable('events', (t) => {
    t.string('id', 26).primary();
    t.string('push_id', 26).nullable().references('id').inTable('pushes');
    t.string('source', 20).notNullable();
    t.string('event_code', 100).notNullable();
    t.string('order_key', 300).nullable();
    t.string('source_system', 100).nullable();
    t.bigInteger('received_at').notNullable();
    t.string('status', 20).notNullable();
    t.string('duplicate_of', 26).nullable();
    t.string('content_hash', 64).notNullable();
    t.string('connector_scope', 63).nullable();
    t.integer('position').notNullable().defaultTo(0);
    t.text('payload').notNullable();
    t.text('raw').nullable();
    t.index(['received_at']);
    t.index(['event_code', 'received_at']);
    t.index(['order_key']);
    t.index(['push_id']);
    t.index(['status', 'received_at']);
  });

  await knex.schema.createTable('dedupe_keys', (t) => {
    t.string('scope', 300).notNullable();
    t.string('hash', 64).notNullable();
    t.string('event_id', 26).notNullable();
    t.bigInteger('seen_at').notNullable();
    t.primary(['scope', 'hash']);
    t.index(['seen_at']);
  });

  await knex.schema.createTable('ws_nonces', (t) => {
    t.string('nonce_key', 64).primary();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at']);
  });

  await knex.schema.createTable('deliveries', (t) => {
    t.string('id', 26).primary();
    t.string('event_id', 26).notNullable().references('id').inTable('events');
    t.string('connector', 63).notNullable();
    t.string('trigger_point', 200).nullable();
    t.string('order_key', 300).nullable();
    t.string('event_code', 100).notNullable();
    t.string('state', 20).notNullable();
    t.integer('attempt_count').notNullable().defaultTo(0);
    /** Attempts since the last replay; the retry schedule counts these. */
    t.integer('attempts_in_cycle').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.string('lease_owner', 64).nullable();
    t.bigInteger('lease_expires_at').nullable();
    t.string('idempotency_key', 300).nullable();
    t.text('last_error').nullable();
    t.string('parked_reason', 40).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    // The claim query: due deliveries by state and time.
    t.index(['state', 'next_attempt_at']);
    // Strict ordering: earlier unfinished deliveries of the same connector and order key.
    t.index(['connector', 'order_key', 'id']);
    t.index(['connector', 'state']);
    t.index(['event_id']);
    t.index(['lease_expires_at']);
  });

  await knex.schema.createTable('attempts', (t) => {
    t.string('id', 26).primary();
    t.string('delivery_id', 26).notNullable().references('id').inTable('deliveries');
    t.integer('number').notNullable();
    t.bigInteger('started_at').notNullable();
    t.integer('duration_ms').notNullable();
    t.text('request_summary').notNullable();
    t.integer('response_status').nullable();
    t.text('response_headers').nullable();
    t.text('response_snippet').nullable();
    t.string('error_class', 40).nullable();
    t.text('error_message').nullable();
    t.string('outcome', 20).notNullable();
    t.index(['delivery_id', 'number']);
    t.index(['started_at']);
  });

  await knex.schema.createTable('audit_records', (t) => {
    t.string('id', 26).primary();
    t.bigInteger('at').notNullable();
    t.string('direction', 10).notNullable();
    t.string('action', 60).notNullable();
    t.string('source_system', 100).nullable();
    t.string('connector', 63).nullable();
    t.string('event_id', 26).nullable();
    t.string('delivery_id', 26).nullable();
    t.string('result', 40).notNullable();
    t.text('detail').nullable();
    t.string('request_id', 64).nullable();
    t.string('actor', 200).nullable();
    t.index(['at']);
    t.index(['event_id']);
    t.index(['delivery_id']);
    t.index(['connector', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['audit_records', 'attempts', 'deliveries', 'ws_nonces', 'dedupe_keys', 'events', 'pushes']) {
    await knex.schema.dropTableIfExists(table);
  }
}
