import { expect } from 'chai';
import { createRateGate } from '../../../src/delivery/rate-gate.ts';
import { RATE_MARGIN_MS, type RateLimit } from '../../../src/domain/rate.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

describe(`createRateGate over the store's shared rate windows (${backendName()})`, () => {
  const limit: RateLimit = { requests: 2, per: 60_000 };
  /** The window a send holds its place in. */
  const window = limit.per + RATE_MARGIN_MS;
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

  it('grants at once while the window has room', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: true });
  });

  it('waits on the clock until the oldest send leaves the window and grants then, not before', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 60_000);
    await gate('shipbob', limit, 60_000);
    let settled = false;
    const third = gate('shipbob', limit, 2 * window).then((r) => {
      settled = true;
      return r;
    });
    // Both sends were at this instant: the gate sleeps until they leave the window, exactly.
    await clock.sleeping((ms) => ms === window);
    clock.advance(window - 1);
    await Promise.resolve();
    expect(settled).to.equal(false);
    clock.advance(1);
    expect(await third).to.deep.equal({ granted: true });
  });

  it('refuses with the time the window frees when that is after maxWaitMs, without waiting', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 5_000);
    await gate('shipbob', limit, 5_000);
    expect(await gate('shipbob', limit, 5_000)).to.deep.equal({ granted: false, retryAt: clock.now() + window });
  });

  it('keeps one window per connector', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    await gate('shipbob', limit, 0);
    await gate('shipbob', limit, 0);
    expect(await gate('fusion', limit, 0)).to.deep.equal({ granted: true });
  });
});
