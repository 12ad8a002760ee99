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

  it('a held place still fresh is used as it is; a stale one is taken again at the current time', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    const held = (await store.connectorStates.takeTokens('shipbob', limit, 1, () => clock.now())).at;
    clock.advance(RATE_MARGIN_MS / 5);
    expect(await gate('shipbob', limit, 0, held)).to.deep.equal({ granted: true });
    // Fresh: the window still holds the place at its grant time, and only it.
    const second = (await store.connectorStates.takeTokens('shipbob', limit, 1, () => clock.now())).at;
    clock.advance(RATE_MARGIN_MS);
    expect(await gate('shipbob', limit, 0, second)).to.deep.equal({ granted: true });
    // Stale: moved, not added (two places in all, so a third is refused until the first leaves).
    expect(await gate('shipbob', limit, 0)).to.deep.equal({ granted: false, retryAt: held + window });
  });

  it('a stale held place that finds no room waits for one like any request, and is not counted meanwhile', async () => {
    const clock = new ManualClock();
    const gate = createRateGate(store.connectorStates, clock);
    const held = (await store.connectorStates.takeTokens('shipbob', limit, 1, () => clock.now())).at;
    // The request is held up for a whole window: ours has left it, and two other sends fill it.
    clock.advance(window);
    expect(await gate('shipbob', limit, 0)).to.deep.equal({ granted: true });
    expect(await gate('shipbob', limit, 0)).to.deep.equal({ granted: true });
    let settled = false;
    const retaken = gate('shipbob', limit, 2 * window, held).then((r) => {
      settled = true;
      return r;
    });
    await clock.sleeping((ms) => ms === window);
    expect(settled).to.equal(false);
    clock.advance(window);
    expect(await retaken).to.deep.equal({ granted: true });
  });
});
