import type { ShipBobOrderRecord } from '../../src/domain/shipbob-change.ts';
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

/** What the ShipBob connector keeps of an order it made: line 3001 of LEG:SO-1, one T-shirt, no shipment yet. */
export function shipbobOrderRecord(at: number, overrides: Partial<ShipBobOrderRecord> = {}): ShipBobOrderRecord {
  return {
    connector: 'shipbob',
    referenceId: 'LEG:SO-1:3001',
    orderKey: 'LEG:SO-1',
    lineKey: 'fulfillment-line:3001',
    shipbobOrderId: '100000001',
    shipmentId: null,
    quantities: { TShirtBlueM: 1 },
    addressHash: 'a'.repeat(64),
    cancelled: false,
    cancelRequestedAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}
