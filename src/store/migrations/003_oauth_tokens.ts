import type { Knex } from 'knex';

/**
 * OAuth2 refresh tokens that survive restarts and are shared between instances, one per connector.
 * `token` holds only ciphertext (AES-256-GCM, see src/store/tokens.ts), never the token itself.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_tokens', (t) => {
    t.string('connector', 63).primary();
    t.text('token').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('oauth_tokens');
}
