import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { loadConfig, type GatewayConfig } from '../../../src/config/load.ts';
import { configVersion } from '../../../src/config/version.ts';
import type { Instance } from '../../../src/domain/instance.ts';
import { InstanceHeartbeat } from '../../../src/jobs/heartbeat.ts';
import { createLogger } from '../../../src/log.ts';
import { instanceViews } from '../../../src/services/instances.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { gatewayYaml, TEST_ENV, writeConfig } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { Seeder } from '../../helpers/seed.ts';
import { until } from '../../helpers/until.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const SECOND = 1000;

function instance(id: string, at: number, patch: Partial<Instance> = {}): Instance {
  return { id, host: 'gw-1', pid: 4242, version: '1.2.3', configVersion: 'abc123def456', startedAt: at, heartbeatAt: at, stoppedAt: null, ...patch };
}

/** The instances table: registration, heartbeats, clean stops, forgetting, and the leases each holds. */
describe(`instance store: registration, heartbeats and holdings (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let configDir: string;
  let config: GatewayConfig;

  beforeEach(async () => {
    database = createTestDatabase();
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    await store.migrate();
    configDir = writeConfig({ gateway: `${gatewayYaml()}cluster:\n  heartbeat: 10s\n  staleAfter: 30s\n  forgetAfter: 1h\n` });
    config = await loadConfig(configDir, { ...TEST_ENV, TEST_DATABASE_URL: database.url });
  });
  afterEach(async () => {
    await store.close();
    rmSync(configDir, { recursive: true, force: true });
    await database.dispose();
  });

  it('registers an instance, writes its heartbeats and config version, and marks it stopped', async () => {
    await store.instances.register(instance('a', T0), T0 - 3_600_000);
    expect(await store.instances.list()).to.deep.equal([instance('a', T0)]);

    await store.instances.beat(instance('a', T0, { heartbeatAt: T0 + 10 * SECOND, configVersion: 'fedcba987654' }));
    const [beaten] = await store.instances.list();
    expect(beaten).to.deep.equal(instance('a', T0, { heartbeatAt: T0 + 10 * SECOND, configVersion: 'fedcba987654' }));

    await store.instances.markStopped('a', T0 + 12 * SECOND);
    expect((await store.instances.list())[0]?.stoppedAt).to.equal(T0 + 12 * SECOND);
  });

  it('forgets, when an instance registers, those stopped or silent since before the cut-off, and keeps the rest', async () => {
    const hour = 3_600_000;
    await store.instances.register(instance('stopped-long-ago', T0), T0 - hour);
    await store.instances.markStopped('stopped-long-ago', T0 + SECOND);
    await store.instances.register(instance('silent-long-ago', T0), T0 - hour);
    await store.instances.register(instance('stopped-lately', T0), T0 - hour);
    await store.instances.markStopped('stopped-lately', T0 + 2 * hour);
    await store.instances.register(instance('beating', T0), T0 - hour);
    await store.instances.beat(instance('beating', T0, { heartbeatAt: T0 + 2 * hour }));

    await store.instances.register(instance('new', T0 + 3 * hour), T0 + 3 * hour - 1.5 * hour);
    expect((await store.instances.list()).map((i) => i.id).sort()).to.deep.equal(['beating', 'new', 'stopped-lately']);
  });

  it('brings back with its next heartbeat an instance that was forgotten while it could not write', async () => {
    await store.instances.register(instance('a', T0), T0 - 1);
    await store.instances.register(instance('b', T0 + 7_200_000), T0 + 3_600_000);
    expect((await store.instances.list()).map((i) => i.id)).to.deep.equal(['b']);
    await store.instances.beat(instance('a', T0, { heartbeatAt: T0 + 7_300_000 }));
    expect((await store.instances.list()).find((i) => i.id === 'a')).to.deep.equal(instance('a', T0, { heartbeatAt: T0 + 7_300_000 }));
  });

  it('reads what each lease owner holds in flight: how many, since when, and the next lease to end', async () => {
    const seed = new Seeder(database.tables(), T0);
    for (let i = 0; i < 4; i++) {
      await seed.delivery({ connector: 'crm', state: 'pending', orderKey: `LEG:SO-${i}` });
      seed.tick();
    }
    await seed.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:SO-9' });
    const claim = (owner: string, limit: number, now: number, leaseUntil: number) =>
      store.deliveries.claimWithEvents({ connector: 'crm', strictOrdering: true, limit, owner, now, leaseUntil });
    await claim('a', 2, T0 + 10 * SECOND, T0 + 70 * SECOND);
    await claim('b', 1, T0 + 20 * SECOND, T0 + 50 * SECOND);
    // Renewing a lease moves its end, not when the delivery was claimed.
    const [first] = (await store.browse.deliveries({ states: ['in_flight'] }, { limit: 10 })).rows.filter((d) => d.leaseOwner === 'a');
    await store.deliveries.renewLeases([first?.id ?? ''], 'a', T0 + 90 * SECOND);

    const holdings = (await store.instances.holdings()).sort((x, y) => x.owner.localeCompare(y.owner));
    expect(holdings).to.deep.equal([
      { owner: 'a', inFlight: 2, oldestClaimedAt: T0 + 10 * SECOND, nextLeaseExpiresAt: T0 + 70 * SECOND },
      { owner: 'b', inFlight: 1, oldestClaimedAt: T0 + 20 * SECOND, nextLeaseExpiresAt: T0 + 50 * SECOND },
    ]);
  });

  it('heartbeats on the injected clock; an instance whose beats stop is stale, one that stops cleanly is stopped', async () => {
    const logger = createLogger({ level: 'silent', secrets: () => [] });
    const clockA = new ManualClock(T0);
    const clockB = new ManualClock(T0);
    const identity = (id: string) => ({ id, host: 'gw-1', pid: 1, version: '1.2.3' });
    const a = new InstanceHeartbeat({ store, clock: clockA, logger, identity: identity('a'), config: () => config });
    const b = new InstanceHeartbeat({ store, clock: clockB, logger, identity: identity('b'), config: () => config });
    const seenByA = instanceViews({ store, clock: clockA, config: () => config });
    const states = async () => Object.fromEntries((await seenByA()).map((i) => [i.id, [i.state, i.heartbeatAgeMs]]));
    await a.start();
    await b.start();
    try {
      expect(await states()).to.deep.equal({ a: ['live', 0], b: ['live', 0] });
      expect((await seenByA()).map((i) => i.configVersion)).to.deep.equal([configVersion(config), configVersion(config)]);

      // A beats every 10 s on its clock; B's clock stands still, so B writes nothing more.
      for (let beat = 1; beat <= 4; beat++) {
        await clockA.sleeping((ms) => ms === 10 * SECOND);
        clockA.advance(10 * SECOND);
        await until(`beat ${beat} of a`, async () => (await store.instances.list()).find((i) => i.id === 'a')?.heartbeatAt === T0 + beat * 10 * SECOND);
      }
      // 40 s after B's last beat, against staleAfter 30s.
      expect(await states()).to.deep.equal({ a: ['live', 0], b: ['stale', 40 * SECOND] });

      await a.stop();
      const after = await seenByA();
      expect(after.map((i) => [i.id, i.state, i.stoppedAt])).to.deep.equal([
        ['b', 'stale', null],
        ['a', 'stopped', T0 + 40 * SECOND],
      ]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('writes a new config version at once when told the config changed', async () => {
    const clock = new ManualClock(T0);
    let current = config;
    const heartbeat = new InstanceHeartbeat({ store, clock, logger: createLogger({ level: 'silent', secrets: () => [] }), identity: { id: 'a', host: 'h', pid: 1, version: 'v' }, config: () => current });
    await heartbeat.start();
    try {
      const next = await loadConfig(configDir, { ...TEST_ENV, TEST_DATABASE_URL: database.url, TEST_SOAP_PASSWORD: 'another-password-81c2' });
      expect(configVersion(next)).to.not.equal(configVersion(config));
      current = next;
      await heartbeat.configChanged();
      expect((await store.instances.list())[0]?.configVersion).to.equal(configVersion(next));
    } finally {
      await heartbeat.stop();
    }
  });
});
