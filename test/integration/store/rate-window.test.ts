import { expect } from 'chai';
import { RATE_MARGIN_MS, type RateLimit } from '../../../src/domain/rate.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { Rng } from '../../helpers/prng.ts';
import { maxInWindow } from '../../helpers/windows.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * The shared rate window (ConnectorStateRepository.takeTokens) as two gateway instances use it: two
 * Store objects, each with its own connections, on one database. Each take is given its instance's
 * clock, so the two can be set apart from each other and from the time the target would see.
 */
describe(`store: the shared sliding rate window (${backendName()})`, function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let a: Store;
  let b: Store;
  const open = (): Store => new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });

  beforeEach(async () => {
    database = createTestDatabase();
    a = open();
    await a.migrate();
    b = open();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await database.dispose();
  });

  const five: RateLimit = { requests: 5, per: 1_000 };
  const window = five.per + RATE_MARGIN_MS;

  it('grants `requests` in a window, refuses until the oldest send leaves it, then grants again', async () => {
    expect(await a.connectorStates.takeTokens('crm', five, 3, () => T0)).to.deep.include({ granted: 3, retryAt: T0 });
    expect(await b.connectorStates.takeTokens('crm', five, 1, () => T0 + 100)).to.deep.include({ granted: 1, retryAt: T0 + 100 });
    // One place left: a want of 4 gets it, and learns when the next one frees.
    expect(await a.connectorStates.takeTokens('crm', five, 4, () => T0 + 200)).to.deep.include({ granted: 1, retryAt: T0 + window });
    expect(await b.connectorStates.takeTokens('crm', five, 1, () => T0 + 300)).to.deep.include({ granted: 0, retryAt: T0 + window });
    expect((await a.connectorStates.takeTokens('crm', five, 1, () => T0 + window - 1)).granted, '1 ms early').to.equal(0);
    // The three sends of T0 leave together.
    expect(await b.connectorStates.takeTokens('crm', five, 5, () => T0 + window)).to.deep.include({ granted: 3, retryAt: T0 + 100 + window });
  });

  it("takes the connector's own margin instead of the default", async () => {
    const tight: RateLimit = { ...five, margin: 0 };
    expect((await a.connectorStates.takeTokens('crm', tight, 5, () => T0)).granted).to.equal(5);
    expect(await b.connectorStates.takeTokens('crm', tight, 1, () => T0 + 999)).to.deep.include({ granted: 0, retryAt: T0 + 1_000 });
    expect((await b.connectorStates.takeTokens('crm', tight, 1, () => T0 + 1_000)).granted).to.equal(1);
  });

  it('retakes a place at a later time in one step, or refuses when the window filled after the place left it', async () => {
    expect((await a.connectorStates.takeTokens('crm', five, 1, () => T0)).at).to.equal(T0);
    expect((await b.connectorStates.takeTokens('crm', five, 4, () => T0 + 100)).granted).to.equal(4);
    // Our place of T0 moves to T0 + 300: still five in the window, the oldest now at T0 + 100.
    expect(await a.connectorStates.retakeToken('crm', five, T0, () => T0 + 300)).to.deep.equal({ granted: 1, retryAt: T0 + 100 + window, at: T0 + 300 });
    expect((await b.connectorStates.takeTokens('crm', five, 1, () => T0 + 100 + window - 1)).granted).to.equal(0);
    // Held up for a whole window, the place no longer counts, and five sends of b fill the window:
    // the retake is refused with the time the window frees.
    expect((await b.connectorStates.takeTokens('crm', five, 5, () => T0 + 300 + window)).granted).to.equal(5);
    expect(await a.connectorStates.retakeToken('crm', five, T0 + 300, () => T0 + 400 + window)).to.deep.equal({ granted: 0, retryAt: T0 + 300 + 2 * window, at: T0 + 400 + window });
  });

  it('keeps one window per connector', async () => {
    expect((await a.connectorStates.takeTokens('crm', five, 5, () => T0)).granted).to.equal(5);
    expect((await a.connectorStates.takeTokens('crm', five, 1, () => T0)).granted).to.equal(0);
    expect((await b.connectorStates.takeTokens('erp', five, 1, () => T0)).granted).to.equal(1);
  });

  it('saves nothing up while idle', async () => {
    expect((await a.connectorStates.takeTokens('crm', five, 5, () => T0)).granted).to.equal(5);
    const later = T0 + 3_600_000;
    expect((await b.connectorStates.takeTokens('crm', five, 8, () => later)).granted).to.equal(5);
    expect((await a.connectorStates.takeTokens('crm', five, 1, () => later + 500)).granted).to.equal(0);
  });

  it('two instances whose clocks are 50 ms apart, taking at once: never more than `requests` in any window of `per` in the time the target sees', async () => {
    const rng = new Rng(19);
    const limit: RateLimit = { requests: 5, per: 1_000 };
    const offsets = [0, -50];
    const stores = [a, b];
    const step = 25;
    const duration = 8_000;
    const arrivals: number[] = [];
    for (let t = T0; t < T0 + duration; t += step) {
      // Three takers per instance at each step, all at once: the instances race on one row.
      const takes = stores.flatMap((store, i) =>
        [0, 1, 2].map(async () => {
          const want = rng.between(1, 3);
          const { granted } = await store.connectorStates.takeTokens('shipbob', limit, want, () => t + (offsets[i] as number));
          for (let n = 0; n < granted; n++) arrivals.push(t);
        }),
      );
      await Promise.all(takes);
    }
    expect(maxInWindow(arrivals, limit.per), `arrivals: ${arrivals.map((x) => x - T0).join(', ')}`).to.be.at.most(limit.requests);
    // A ceiling, not a brake: each window is filled as soon as it frees (within a step and the clocks' offset).
    expect(arrivals.length).to.be.at.least(limit.requests * Math.floor(duration / (limit.per + RATE_MARGIN_MS + step + 50)));
    // The log stays bounded by the limit.
    const rows = (await database.tables()('rate_windows').select('connector', 'sends')) as Array<{ connector: string; sends: string }>;
    expect(rows.map((r) => [r.connector, r.sends.split(',').length])).to.deep.equal([['shipbob', limit.requests]]);
  });
});
