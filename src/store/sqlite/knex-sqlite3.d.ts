// knex's own sqlite3 client, which it does not export in its typings: the gateway subclasses it to
// give each connection a thread of its own (connection.ts).
declare module 'knex/lib/dialects/sqlite3/index.js' {
  import type { Knex } from 'knex';

  export default class Client_SQLite3 extends Knex.Client {
    _driver(): unknown;
    validateConnection(connection: unknown): boolean;
  }
}
