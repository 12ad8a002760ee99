import { Store } from '../../src/store/index.ts';
import { createTestDatabase, type TestDatabase } from './backend.ts';
import { Seeder } from './seed.ts';

/** A migrated store on a fresh test database (a schema of its own on PostgreSQL), with a seeder of its tables. */
export interface SeededStore {
  database: TestDatabase;
  store: Store;
  seed: Seeder;
}

export async function openSeededStore(): Promise<SeededStore> {
  const database = createTestDatabase();
  const store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
  await store.migrate();
  return { database, store, seed: new Seeder(database.tables()) };
}

/** Closes the store, then drops its database (or schema). */
export async function closeSeededStore(database: TestDatabase | undefined, store: Store | undefined): Promise<void> {
  await store?.close();
  await database?.dispose();
}
