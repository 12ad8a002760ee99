import { expect } from 'chai';
import { appendFileSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Io } from '../../src/cli/output.ts';
import { main } from '../../src/main.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { FakeTarget } from '../helpers/target.ts';
import { until } from '../helpers/until.ts';

const TOKEN = 'admin-token-instances-7d1e';
const SECOND = 1000;

interface InstanceItem {
  id: string;
  host: string;
  pid: number;
  version: string;
  configVersion: string;
  state: string;
  startedAt: string;
  heartbeatAt: string;
  heartbeatAgeMs: number;
  stoppedAt: string | null;
  inFlight: number;
  oldestLeaseAgeMs: number | null;
  nextLeaseExpiresAt: string | null;
}

/**
 * Two gateway instances on one database, each on a clock of its own: what `omgw status`, the admin
 * API, /metrics and the logs say of them while they run, hold a lease, reload, stop beating and stop.
 */
describe(`gateway instances on one database (${backendName()})`, () => {
  let database: TestDatabase;
  let target: FakeTarget;
  let a: TestGateway | null = null;
  let b: TestGateway | null = null;

  before(() => {
    database = createTestDatabase();
  });
  after(async () => {
    // First the target, which holds a request of B's open: B's stop waits for its attempt to end.
    await target?.close();
    await a?.stop();
    await b?.stop();
    await database.dispose();
  });

  const config = (delivery: string) => ({
    gateway: `${gatewayYaml('', { delivery })}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\ncluster:\n  heartbeat: 10s\n  staleAfter: 60s\n`,
    connectors: { 'crm.yaml': `protocol: rest\nurl: \${env:TEST_TARGET_URL}\npath: /orders/{{orderKey}}\ntimeout: 5m\n` },
    triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n",
  });

  async function instances(gw: TestGateway): Promise<InstanceItem[]> {
    const res = await fetch(`${gw.url}/admin/api/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { items: InstanceItem[] }).items;
  }
  const byId = (items: InstanceItem[], gw: TestGateway | null): InstanceItem => {
    const found = items.find((i) => i.id === gw?.gateway.instanceId);
    if (!found) throw new Error(`instance ${gw?.gateway.instanceId} is not listed`);
    return found;
  };

  async function status(gw: TestGateway, json = false): Promise<string> {
    const out: string[] = [];
    const io: Io = { out: (t) => void out.push(t), err: (t) => void out.push(t) };
    const code = await main(['status', '--config', gw.configDir, ...(json ? ['--json'] : [])], io, testEnv(database, { TEST_ADMIN_TOKEN: TOKEN, TEST_TARGET_URL: target.url }));
    expect(code, out.join('\n')).to.equal(0);
    return out.join('\n');
  }

  it('lists both live with what each holds, shows a reload on its instance only, and a silent one stale and a stopped one stopped', async function () {
    this.timeout(60_000);
    target = await new FakeTarget().start();
    target.answer = () => 'hang';
    const env = { TEST_ADMIN_TOKEN: TOKEN, TEST_TARGET_URL: target.url };
    // The CLI reads the wall clock: both instances' clocks start there.
    const clockA = new ManualClock(Date.now());
    const clockB = new ManualClock(Date.now());
    a = await startGateway(config('  enabled: false'), { database, keepDatabase: true, clock: clockA, env });
    b = await startGateway(config('  enabled: true\n  pollInterval: 1s'), { database, keepDatabase: true, clock: clockB, env });

    // B takes a push and holds its delivery in flight: the target does not answer.
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-77' } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
    expect((await postSoap(`${b.url}/soap/business-events`, push)).status).to.equal(202);
    await target.waitForRequests(1);

    const listed = await instances(a);
    expect(listed).to.have.length(2);
    for (const [gw, inFlight] of [[a, 0], [b, 1]] as const) {
      const item = byId(listed, gw);
      expect(item, gw.gateway.instanceId).to.include({ host: hostname(), pid: process.pid, state: 'live', stoppedAt: null, inFlight });
      expect(item.version).to.equal((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
      expect(item.configVersion).to.match(/^[0-9a-f]{12}$/);
    }
    expect(byId(listed, a).oldestLeaseAgeMs).to.equal(null);
    expect(byId(listed, b).oldestLeaseAgeMs).to.be.at.least(0);
    expect(Date.parse(byId(listed, b).nextLeaseExpiresAt ?? '')).to.be.greaterThan(clockA.now());

    const text = await status(a);
    const rows = text.split('\n').filter((l) => l.startsWith(a?.gateway.instanceId ?? '-') || l.startsWith(b?.gateway.instanceId ?? '-'));
    expect(text).to.match(/^INSTANCE +HOST +PID +VERSION +CONFIG +STARTED +HEARTBEAT +STATE +IN FLIGHT +OLDEST LEASE$/m);
    expect(rows).to.have.length(2);
    for (const row of rows) expect(row).to.match(/ live +[01] /);
    const json = JSON.parse(await status(a, true)) as { instances: Array<{ id: string; state: string; inFlight: number }> };
    expect(json.instances.map((i) => [i.id, i.state, i.inFlight]).sort()).to.deep.equal(
      [
        [a.gateway.instanceId, 'live', 0],
        [b.gateway.instanceId, 'live', 1],
      ].sort(),
    );

    // Every log line says which instance wrote it.
    const lines = a.logs.map((l) => JSON.parse(l) as { instance?: string; msg?: string });
    expect(lines.length).to.be.greaterThan(0);
    expect(lines.every((l) => l.instance === a?.gateway.instanceId)).to.equal(true);
    expect(b.logs.map((l) => (JSON.parse(l) as { instance?: string }).instance)).to.include(b.gateway.instanceId);

    // A reload that changes B's config changes B's version only; a reload that changes nothing, nothing.
    const before = Object.fromEntries((await instances(a)).map((i) => [i.id, i.configVersion]));
    expect(await a.gateway.reload()).to.deep.equal({ ok: true });
    appendFileSync(join(b.configDir, 'connectors', 'crm.yaml'), 'description: the CRM, reloaded\n');
    expect(await b.gateway.reload()).to.deep.equal({ ok: true });
    const after = Object.fromEntries((await instances(a)).map((i) => [i.id, i.configVersion]));
    expect(after[a.gateway.instanceId]).to.equal(before[a.gateway.instanceId]);
    expect(after[b.gateway.instanceId]).to.match(/^[0-9a-f]{12}$/).and.not.equal(before[b.gateway.instanceId]);

    // B's clock stands still from here: it writes no more heartbeats. A's moves on 70 s, beating.
    for (let beat = 0; beat < 7; beat++) {
      await clockA.sleeping((ms) => ms === 10 * SECOND);
      clockA.advance(10 * SECOND);
    }
    const first = a;
    await until('a heartbeat of A at its new time', async () => byId(await instances(first), first).heartbeatAgeMs === 0);
    const silent = await instances(a);
    expect(byId(silent, a).state).to.equal('live');
    expect(byId(silent, b)).to.include({ state: 'stale', inFlight: 1 });
    // B claimed, and last beat (at its reload), at its clock's one time; A reads at its own.
    expect(byId(silent, b).heartbeatAgeMs).to.equal(clockA.now() - clockB.now());
    expect(byId(silent, b).oldestLeaseAgeMs).to.equal(clockA.now() - clockB.now());
    expect(clockA.now() - clockB.now()).to.be.greaterThan(60 * SECOND);
    expect(silent.map((i) => i.state)).to.deep.equal(['live', 'stale']);

    a.gateway.metrics?.invalidate();
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).to.match(/^omgw_instances\{state="live"\} 1$/m);
    expect(metrics).to.match(/^omgw_instances\{state="stale"\} 1$/m);
    expect(metrics).to.match(/^omgw_instances\{state="stopped"\} 0$/m);
    expect(metrics).to.include(`omgw_instance_leases{instance="${b.gateway.instanceId}"} 1`);
    expect(metrics).to.include(`omgw_instance_leases{instance="${a.gateway.instanceId}"} 0`);
    const age = new RegExp(`^omgw_instance_heartbeat_age_seconds\\{instance="${b.gateway.instanceId}"\\} (\\d+(\\.\\d+)?)$`, 'm').exec(metrics);
    expect(Number(age?.[1])).to.be.at.least(60);

    // A stops cleanly: B and `omgw status` see it stopped (B's clock and the wall clock agree on B being live).
    await a.stop();
    const stoppedId = a.gateway.instanceId;
    a = null;
    const seenByB = await instances(b);
    expect(seenByB.map((i) => [i.id, i.state])).to.deep.equal([
      [b.gateway.instanceId, 'live'],
      [stoppedId, 'stopped'],
    ]);
    expect(seenByB.find((i) => i.id === stoppedId)?.stoppedAt).to.equal(new Date(clockA.now()).toISOString());
    const lastStatus = await status(b);
    expect(lastStatus.split('\n').find((l) => l.startsWith(stoppedId))).to.match(/ stopped +0 +-$/);

    // The target goes away: B's attempt ends, and B stops holding anything.
    await target.close();
    const second = b;
    await until('B holds nothing', async () => byId(await instances(second), second).inFlight === 0);
  });
});
