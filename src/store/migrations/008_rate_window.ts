import type { Knex } from 'knex';

/**
 * The rate limit becomes a sliding-window log (src/domain/rate.ts): `rate_windows` holds, per
 * connector, the times of its latest sends (at most the limit's `requests`, ascending, as text:
 * `1764000000000,1764000000400,...`) and a version that every write bumps. A take reads the row
 * and writes it back only if the version is still the one it read, so of two instances taking at
 * once one wins and the other reads again (src/store/connectors.ts).
 *
 * `rate_buckets` (the token buckets of 002) is no longer read; it stays for instances of the
 * previous version still running during a rolling upgrade.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_windows', (t) => {
    t.string('connector', 63).primary();
    t.text('sends').notNullable();
    t.bigInteger('version').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_windows');
}
