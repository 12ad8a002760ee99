import { expect } from 'chai';
import { createRateGate } from '../../../src/delivery/rate-gate.ts';
import type { RateLimit } from '../../../src/domain/rate.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

describe(`createRateGate over the store's shared buckets (${backendName()})`, () => {
  const limit: RateLimit = { requests: 2, per: 60_000 };
  let database: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    database = createTestDatabase();
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await database.dispose();
  });

  it('grants at once while the bucket has tokens', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
  });

  it('waits on the clock for the next token and grants it then, not before', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 60_000);
    await gate('shipbob', limit, 60_000);
    let settled = false;
    const third = gate('shipbob', limit, 60_000).then((r) => {
      settled = true;
      return r;
    });
    // One token per 30 s: the gate sleeps for exactly that.
    await clock.sleeping((ms) => ms === 30_000);
    clock.advance(29_999);
    await Promise.resolve();
    expect(settled).to.equal(false);
    clock.advance(1);
    expect(await third).to.deep.equal({ granted: true });
  });

  it('refuses with the time of the next token when it would come after maxWaitMs, without waiting', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 5_000);
    await gate('shipbob', limit, 5_000);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: false, retryAt: clock.now() + 30_000 });
  });

  it('keeps one bucket per connector', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 0);
    await gate('shipbob', limit, 0);
    expect(await gate('fusion', limit, 0)).to.deep.equal({ granted: true });
  });
});
