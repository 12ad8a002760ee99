import { expect } from 'chai';
import { pino } from 'pino';
import { DeliveryActions } from '../../../src/services/delivery-actions.ts';
import { createIdGenerator } from '../../../src/domain/ids.ts';
import { main } from '../../../src/main.ts';
import { operationsReplayer, RecoveryService, type Replayer } from '../../../src/jobs/recovery.ts';
import { buildPush, type PushEventCode } from '../../../src/sandbox/om-push.ts';
import type { Delivery } from '../../../src/domain/delivery.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
const DAY = 86_400_000;

/**
 * Two REST connectors on one fake target (crm: HOLD and SPLIT events, erp: SPLIT only). The target
 * answers 400 to every request until told otherwise, so deliveries park at once. The recovery run is
 * on (nightly, as by default), with `recovery`'s settings (lines under `recovery:`, four-space indented).
 */
async function setup(target: FakeTarget, clock: ManualClock, recovery = '', database?: TestDatabase): Promise<TestGateway> {
  const connector = (name: string) => `protocol: rest
url: ${target.url}
path: /${name}/{{orderKey}}
ordering: none
`;
  return startGateway(
    {
      gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s', schedules: `  recovery:\n    enabled: true\n${recovery}  retention:\n    enabled: false\n` }),
      connectors: { 'crm.yaml': connector('crm'), 'erp.yaml': connector('erp') },
      triggerPoints: `triggerPoints:
  - name: all
    eventCodes: [HOLD, SPLIT]
    connectors: [crm]
  - name: splits
    eventCodes: [SPLIT]
    connectors: [erp]
`,
    },
    { clock, random: () => 0.5, ...(database ? { database, keepDatabase: true } : {}) },
  );
}

async function push(gw: TestGateway, order: string, code: PushEventCode = 'HOLD'): Promise<void> {
  const body = buildPush([{ eventCode: code, order: { sourceOrderNumber: order } }], { security });
  const res = await postSoap(`${gw.url}/soap/business-events`, body);
  expect(res.status, res.body).to.equal(202);
}

/** Every delivery, oldest first. */
async function deliveries(gw: TestGateway): Promise<Delivery[]> {
  return (await gw.gateway.store.browse.deliveries({}, { limit: 1000 })).rows.reverse();
}

/** How long the workers may take to settle (they run on their own; a busy machine is slow). */
const SETTLE_MS = 30_000;

async function allIn(gw: TestGateway, state: string, n: number): Promise<void> {
  await until(`${n} deliveries ${state}`, async () => (await deliveries(gw)).filter((d) => d.state === state).length === n, SETTLE_MS);
}

/** Replay audit records per delivery, for one run. */
async function replaysByRun(gw: TestGateway, runId: string): Promise<Map<string, number>> {
  const records = await gw.gateway.store.audit.list({ action: 'delivery.replayed', limit: 1000 });
  const counts = new Map<string, number>();
  for (const r of records) {
    if ((JSON.parse(r.detail ?? '{}') as { runId?: string }).runId !== runId || r.deliveryId === null) continue;
    counts.set(r.deliveryId, (counts.get(r.deliveryId) ?? 0) + 1);
  }
  return counts;
}

function jobs(gw: TestGateway) {
  const j = gw.gateway.jobs;
  if (!j) throw new Error('the gateway is not started');
  return j;
}

/** The recovery slot after the clock's time: moves the clock there and runs the job as node-cron would. */
async function runNextSlot(gw: TestGateway, clock: ManualClock, service: RecoveryService = jobs(gw).recovery) {
  const slot = jobs(gw).scheduler.nextRun('recovery', clock.now());
  if (slot === null) throw new Error('recovery is disabled');
  clock.set(slot);
  return service.runScheduled(slot);
}

/**
 * A recovery service on the gateway's store and config (as another instance would be) whose replayer
 * records each chunk of delivery ids it is handed, in the order the run replays them, then replays it.
 */
function recordingService(gw: TestGateway, clock: ManualClock, chunks: string[][]): RecoveryService {
  const newId = createIdGenerator(() => clock.now());
  const real = operationsReplayer(new DeliveryActions({ store: gw.gateway.store, clock, newId, notify: () => gw.gateway.worker?.notify() }));
  return new RecoveryService({
    store: gw.gateway.store,
    clock,
    logger: pino({ level: 'silent' }),
    newId,
    instanceId: 'recording-instance',
    config: () => gw.gateway.config,
    replayer: {
      async replay(ids, run) {
        chunks.push([...ids]);
        await real.replay(ids, run);
      },
    },
  });
}

describe(`recovery run (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let clock: ManualClock;
  const gateways: TestGateway[] = [];

  beforeEach(async () => {
    target = await new FakeTarget().start();
    target.answer = () => ({ status: 400, body: '{"error":"unknown item"}' });
    clock = new ManualClock();
  });
  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.stop();
    await target.close();
  });

  it('replays the parking lot on its schedule; the deliveries go out again and are delivered, history kept', async () => {
    const gw = await setup(target, clock);
    gateways.push(gw);
    for (const order of ['SO-1', 'SO-2', 'SO-3']) await push(gw, order);
    await allIn(gw, 'parked', 3);
    target.answer = () => ({ status: 200, body: '{}' });

    const outcome = await runNextSlot(gw, clock);
    expect(outcome.status).to.equal('ran');
    if (outcome.status !== 'ran') return;
    const run = outcome.run;
    expect(new Date(clock.now()).toISOString()).to.equal('2026-11-24T02:00:00.000Z');
    expect(run).to.include({ trigger: 'schedule', slot: 'schedule:2026-11-24T02:00:00.000Z', state: 'finished', selected: 3, replayed: 3, skipped: 0, resumes: 0 });
    await allIn(gw, 'delivered', 3);

    for (const d of await deliveries(gw)) {
      expect(d.attemptCount, 'attempts over all cycles').to.equal(2);
      expect(d.attemptsInCycle, 'attempts in the new cycle').to.equal(1);
      const attempts = (await gw.gateway.store.browse.attemptsOf([d.id])).sort((x, y) => x.number - y.number);
      expect(attempts.map((a) => a.outcome)).to.deep.equal(['parked', 'delivered']);
    }
    expect([...(await replaysByRun(gw, run.id)).values()]).to.deep.equal([1, 1, 1]);
    const audit = await gw.gateway.store.audit.list({ action: 'recovery.run' });
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ direction: 'admin', result: 'finished', actor: 'recovery-run' });
    expect(JSON.parse(audit[0]?.detail ?? '{}')).to.include({ runId: run.id, selected: 3, replayed: 3 });

    // The summary as read later: still failing and delivered are counted when read.
    const [latest] = await jobs(gw).recovery.history(5);
    expect(latest).to.include({ id: run.id, selected: 3, replayed: 3, stillFailing: 0, delivered: 3 });

    // The same slot again (a second timer, another instance): nothing more.
    const again = await jobs(gw).recovery.runScheduled(Date.parse('2026-11-24T02:00:00Z'));
    expect(again).to.include({ status: 'skipped', reason: 'already_ran' });
    expect(await gw.gateway.store.recoveryRuns.history(500)).to.have.length(1);
  });

  it('counts deliveries that fail again as still failing, and the next night replays them again', async () => {
    const gw = await setup(target, clock);
    gateways.push(gw);
    await push(gw, 'SO-A');
    await push(gw, 'SO-B', 'SPLIT'); // crm and erp
    await allIn(gw, 'parked', 3);
    // The CRM is fixed; the ERP still refuses.
    target.answer = (req) => (req.path.startsWith('/crm/') ? { status: 200, body: '{}' } : { status: 400, body: 'still broken' });

    const first = await runNextSlot(gw, clock);
    expect(first.status).to.equal('ran');
    await until('crm delivered, erp parked again', async () => {
      const ds = await deliveries(gw);
      return ds.filter((d) => d.state === 'delivered').length === 2 && ds.filter((d) => d.state === 'parked' && d.attemptCount === 2).length === 1;
    }, SETTLE_MS);
    const [summary] = await jobs(gw).recovery.history(1);
    expect(summary).to.include({ selected: 3, replayed: 3, stillFailing: 1, delivered: 2 });

    const second = await runNextSlot(gw, clock);
    expect(second.status === 'ran' && second.run).to.include({ slot: 'schedule:2026-11-25T02:00:00.000Z', selected: 1, replayed: 1 });
  });

  it('takes at most batchCap deliveries per run, longest parked first; the rest wait for the next run', async () => {
    const gw = await setup(target, clock, '    batchCap: 2\n');
    gateways.push(gw);
    for (const order of ['SO-1', 'SO-2', 'SO-3', 'SO-4', 'SO-5']) {
      await push(gw, order);
      clock.advance(1_000);
    }
    await allIn(gw, 'parked', 5);
    const ids = (await deliveries(gw)).map((d) => d.id);

    // The target still refuses: replayed deliveries park again and go to the back of the queue.
    const picked: string[][] = [];
    for (let night = 0; night < 3; night++) {
      const chunks: string[][] = [];
      const outcome = await runNextSlot(gw, clock, recordingService(gw, clock, chunks));
      if (outcome.status !== 'ran') throw new Error('expected a run');
      expect(outcome.run).to.include({ selected: 2, replayed: 2 });
      // One chunk: the run's batch in its selection order.
      expect(chunks).to.have.length(1);
      picked.push(chunks.flat());
      await until('replayed deliveries parked again', async () => (await deliveries(gw)).filter((d) => d.state === 'parked').length === 5, SETTLE_MS);
    }
    expect(picked).to.deep.equal([
      [ids[0], ids[1]],
      [ids[2], ids[3]],
      [ids[4], ids[0]],
    ]);
  });

  it('applies the configured filters (connectors, event codes, max age), and a manual run can narrow them', async () => {
    const gw = await setup(target, clock, '    connectors: [crm]\n    eventCodes: [SPLIT]\n    maxAge: 2d\n');
    gateways.push(gw);
    await push(gw, 'SO-OLD', 'SPLIT'); // crm + erp, 3 days old at the run
    clock.advance(2 * DAY);
    await push(gw, 'SO-HOLD', 'HOLD'); // crm, wrong event code
    await push(gw, 'SO-NEW', 'SPLIT'); // crm + erp
    await push(gw, 'SO-NEW2', 'SPLIT'); // crm + erp
    await allIn(gw, 'parked', 7);
    const byKey = async () => new Map((await deliveries(gw)).map((d) => [`${d.connector}:${d.orderKey}`, d]));
    const before = await byKey();

    const outcome = await runNextSlot(gw, clock);
    if (outcome.status !== 'ran') throw new Error('expected a run');
    expect(outcome.run.filters).to.deep.equal({ connectors: ['crm'], eventCodes: ['SPLIT'], maxAge: '2d' });
    const replayed = [...(await replaysByRun(gw, outcome.run.id)).keys()];
    expect(replayed.sort()).to.deep.equal([before.get('crm:LEG:SO-NEW')?.id, before.get('crm:LEG:SO-NEW2')?.id].sort());

    // By hand: other filters and a limit; what is not given comes from gateway.yaml.
    await allIn(gw, 'parked', 7);
    const manual = await jobs(gw).recovery.runNow({ connectors: ['erp'], limit: 1, actor: 'test' });
    if (manual.status !== 'ran') throw new Error('expected a run');
    expect(manual.run).to.include({ trigger: 'manual', selected: 1, replayed: 1, actor: 'test' });
    expect(manual.run.filters).to.deep.equal({ connectors: ['erp'], eventCodes: ['SPLIT'], maxAge: '2d' });
    expect([...(await replaysByRun(gw, manual.run.id)).keys()]).to.deep.equal([before.get('erp:LEG:SO-NEW')?.id]);

    await allIn(gw, 'parked', 7);
    const wide = await jobs(gw).recovery.runNow({ connectors: [], eventCodes: [], maxAge: '30d', actor: 'test' });
    expect(wide.status === 'ran' && wide.run.selected).to.equal(7);

    let refused: unknown;
    await jobs(gw).recovery.runNow({ connectors: ['nope'], actor: 'test' }).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.include('no connector named "nope"');
  });

  it('runs once per slot across two gateways sharing the database: one run row, each delivery replayed once', async () => {
    const database = createTestDatabase();
    const a = await setup(target, clock, '', database);
    gateways.push(a);
    const b = await setup(target, clock, '', database);
    gateways.push(b);
    for (let i = 0; i < 6; i++) await push(i % 2 === 0 ? a : b, `SO-${i}`);
    await allIn(a, 'parked', 6);
    target.answer = () => ({ status: 200, body: '{}' });
    const requestsBefore = target.requests.length;

    const slot = jobs(a).scheduler.nextRun('recovery', clock.now()) as number;
    expect(jobs(b).scheduler.nextRun('recovery', clock.now())).to.equal(slot);
    clock.set(slot);
    const outcomes = await Promise.all([jobs(a).recovery.runScheduled(slot), jobs(b).recovery.runScheduled(slot)]);
    expect(outcomes.map((o) => o.status).sort()).to.deep.equal(['ran', 'skipped']);
    const ran = outcomes.find((o) => o.status === 'ran');
    if (!ran || ran.status !== 'ran') throw new Error('expected a run');
    expect(ran.run.selected).to.equal(6);

    expect(await a.gateway.store.recoveryRuns.history(500)).to.have.length(1);
    await allIn(a, 'delivered', 6);
    expect([...(await replaysByRun(a, ran.run.id)).values()]).to.deep.equal([1, 1, 1, 1, 1, 1]);
    // Each replayed delivery went out exactly once more.
    expect(target.requests.length - requestsBefore).to.equal(6);
    await database.dispose();
  });

  it('omgw recover --now runs it by hand with filters; omgw recover lists the runs', async () => {
    const gw = await setup(target, clock);
    gateways.push(gw);
    await push(gw, 'SO-1');
    await push(gw, 'SO-2', 'SPLIT');
    await allIn(gw, 'parked', 3);
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...argv, '--config', gw.configDir], { out: (t) => out.push(t), err: (t) => err.push(t) }, testEnv(gw.database, { USER: 'ops' }));
      return { code, out: out.join('\n'), err: err.join('\n') };
    };

    const run = await cli('recover', '--now', '--connector', 'erp', '--json');
    expect(run.code, run.err).to.equal(0);
    const outcome = JSON.parse(run.out) as { status: string; run: { trigger: string; selected: number; replayed: number; actor: string } };
    expect(outcome.status).to.equal('ran');
    expect(outcome.run).to.include({ trigger: 'manual', selected: 1, replayed: 1, actor: 'cli:ops' });
    const states = (await deliveries(gw)).map((d) => `${d.connector}:${d.state}`).sort();
    expect(states).to.deep.equal(['crm:parked', 'crm:parked', 'erp:pending']);

    const table = await cli('recover', '--now', '--event-code', 'HOLD', '--limit', '5');
    expect(table.code, table.err).to.equal(0);
    expect(table.out).to.match(/recovery run \w{26} finished: 1 selected, 1 replayed, 0 skipped/);

    const list = await cli('recover');
    expect(list.code).to.equal(0);
    expect(list.out.split('\n')[0]).to.match(/^database (sqlite|postgres):/);
    expect(list.out.split('\n')[1]).to.match(/^RUN +TRIGGER +STARTED +STATE +SELECTED/);
    expect(list.out.split('\n')).to.have.length(4);
    const listed = JSON.parse((await cli('recover', '--json')).out) as { database: string; runs: unknown[] };
    expect(listed.database).to.equal(list.out.split('\n')[0]?.slice('database '.length));
    expect(listed.runs).to.have.length(2);

    expect((await cli('recover', '--now', '--connector', 'nope')).code).to.equal(2);
    expect((await cli('recover', '--now', '--limit', 'x')).code).to.equal(2);
    expect((await cli('recover', '--connector', 'crm')).code, 'filters without --now').to.equal(2);
  });

  describe('a run stopped midway', () => {
    /** A second service on the same gateway (as another instance would be) whose replays fail from the given chunk on. */
    function crashingService(gw: TestGateway, failFrom: number, options: { afterCommit: boolean }): RecoveryService {
      const newId = createIdGenerator(() => clock.now());
      const real = operationsReplayer(new DeliveryActions({ store: gw.gateway.store, clock, newId, notify: () => gw.gateway.worker?.notify() }));
      let chunks = 0;
      const replayer: Replayer = {
        async replay(ids, run) {
          chunks++;
          if (chunks < failFrom) return real.replay(ids, run);
          // After the commit: the replay happened but the run did not hear of it (a crash right after).
          if (options.afterCommit) await real.replay(ids, run);
          throw new Error('simulated crash');
        },
      };
      return new RecoveryService({
        store: gw.gateway.store,
        clock,
        logger: pino({ level: 'silent' }),
        newId,
        instanceId: 'crashing-instance',
        config: () => gw.gateway.config,
        replayer,
        chunkSize: 2,
      });
    }

    it('is finished by the next run, and no delivery is replayed twice by one run', async () => {
      const gw = await setup(target, clock); // the target keeps refusing: replayed deliveries park again
      gateways.push(gw);
      for (const order of ['SO-1', 'SO-2', 'SO-3', 'SO-4', 'SO-5']) await push(gw, order);
      await allIn(gw, 'parked', 5);
      const ids = (await deliveries(gw)).map((d) => d.id);

      // Chunk 1 (2 deliveries) goes through; chunk 2 is replayed but the run stops before recording it.
      const slot = jobs(gw).scheduler.nextRun('recovery', clock.now()) as number;
      clock.set(slot);
      const crashed = await crashingService(gw, 2, { afterCommit: true }).runScheduled(slot);
      if (crashed.status !== 'ran') throw new Error('expected a run');
      expect(crashed.run).to.include({ state: 'interrupted', selected: 5, replayed: 2, error: 'simulated crash' });
      const runId = crashed.run.id;
      // The worker sends chunks 1 and 2 again; they fail and park again.
      await until('4 replayed deliveries parked again', async () => (await deliveries(gw)).filter((d) => d.attemptCount === 2).length === 4, SETTLE_MS);
      await allIn(gw, 'parked', 5);

      // The next night's run first finishes the interrupted one.
      clock.advance(60_000);
      const next = await runNextSlot(gw, clock);
      if (next.status !== 'ran') throw new Error('expected a run');
      expect(next.resumed).to.have.length(1);
      expect(next.resumed[0]).to.include({ id: runId, state: 'finished', selected: 5, replayed: 5, skipped: 0, resumes: 1, error: null });
      const perDelivery = await replaysByRun(gw, runId);
      expect(ids.map((id) => perDelivery.get(id))).to.deep.equal([1, 1, 1, 1, 1]);
      // Its own batch comes after, under the new run's id (the delivery just replayed may still be on its way).
      expect(next.run.id).to.not.equal(runId);
      expect(next.run.selected).to.be.within(4, 5);
      expect([...(await replaysByRun(gw, next.run.id)).values()].every((n) => n === 1)).to.equal(true);

      const audit = await gw.gateway.store.audit.list({ action: 'recovery.run' });
      expect(audit.map((r) => [r.result, (JSON.parse(r.detail ?? '{}') as { runId: string }).runId])).to.deep.equal([
        ['interrupted', runId],
        ['finished', runId],
        ['finished', next.run.id],
      ]);
    });

    it('is taken over when its owner died holding the lease, only after the lease has expired', async () => {
      const gw = await setup(target, clock);
      gateways.push(gw);
      for (const order of ['SO-1', 'SO-2', 'SO-3']) await push(gw, order);
      await allIn(gw, 'parked', 3);
      target.answer = () => ({ status: 200, body: '{}' });

      const crashed = await crashingService(gw, 2, { afterCommit: false }).runNow({ actor: 'test' });
      if (crashed.status !== 'ran') throw new Error('expected a run');
      // As if the process had died mid-run: still 'running', its lease held for ten more minutes. No API
      // puts a run back to running, so the test's own connection writes the row.
      await gw.database.tables()('recovery_runs').where({ id: crashed.run.id }).update({ state: 'running', lease_expires_at: clock.now() + 600_000 });
      await allIn(gw, 'delivered', 2);

      const early = await jobs(gw).recovery.runNow({ actor: 'test' });
      expect(early.resumed).to.have.length(0);
      expect(early.status === 'ran' && early.run.selected, 'the dead run still holds its last delivery').to.equal(0);

      clock.advance(600_001);
      const late = await jobs(gw).recovery.runNow({ actor: 'test' });
      expect(late.resumed.map((r) => [r.id, r.state, r.replayed, r.resumes])).to.deep.equal([[crashed.run.id, 'finished', 3, 1]]);
      await allIn(gw, 'delivered', 3);
    });
  });
});
