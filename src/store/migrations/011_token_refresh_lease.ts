import type { Knex } from 'knex';

/**
 * One OAuth2 refresh at a time per connector across instances, and the access token it got shared
 * with them (src/store/tokens.ts):
 * - `refresh_owner`, `refresh_until`: the lease of the refresh under way. Taken by a conditional
 *   write, released by the write that saves the new tokens; a lease whose holder died runs out.
 * - `version`: bumped by every save, so that an instance tells a newer token from the one it tried.
 * - `access_token` (ciphertext, like `token`), `access_fetched_at`, `access_expires_at`: what the
 *   last refresh got, used by the other instances instead of refreshing again.
 * - `token` may be null: a lease is taken before the connector's first refresh token is saved.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oauth_tokens', (t) => {
    t.text('token').nullable().alter();
    t.integer('version').notNullable().defaultTo(0);
    t.text('access_token').nullable();
    t.bigInteger('access_fetched_at').nullable();
    t.bigInteger('access_expires_at').nullable();
    t.string('refresh_owner', 64).nullable();
    t.bigInteger('refresh_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex('oauth_tokens').whereNull('token').delete();
  await knex.schema.alterTable('oauth_tokens', (t) => {
    t.dropColumn('refresh_until');
    t.dropColumn('refresh_owner');
    t.dropColumn('access_expires_at');
    t.dropColumn('access_fetched_at');
    t.dropColumn('access_token');
    t.dropColumn('version');
  });
  await knex.schema.alterTable('oauth_tokens', (t) => {
    t.text('token').notNullable().alter();
  });
}
