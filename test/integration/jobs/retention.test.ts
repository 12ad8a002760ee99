import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryActions } from '../../../src/services/delivery-actions.ts';
import { createIdGenerator } from '../../../src/domain/ids.ts';
import { buildPush, type PushEventCode } from '../../../src/sandbox/om-push.ts';
import type { Delivery } from '../../../src/domain/delivery.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { FakeTarget } from '../../helpers/target.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
const DAY = 86_400_000;

describe(`retention (${backendName()})`, () => {
  let target: FakeTarget;
  let clock: ManualClock;
  let gw: TestGateway;
  /** `connector:order` pairs the target refuses (400: parked at once). */
  const failing = new Set<string>();

  beforeEach(async () => {
    failing.clear();
    target = await new FakeTarget().start();
    target.answer = (req) => {
      const [, connector, key] = decodeURIComponent(req.path).split('/');
      const order = (key ?? '').split(':').pop() ?? '';
      return failing.has(`${connector}:${order}`) ? { status: 400, body: 'refused' } : { status: 200, body: '{}' };
    };
    clock = new ManualClock();
    const connector = (name: string) => `protocol: rest\nurl: ${target.url}\npath: /${name}/{{orderKey}}\nordering: none\n`;
    gw = await startGateway(
      {
        gateway: gatewayYaml('', {
          delivery: '  enabled: true\n  pollInterval: 1s',
          schedules: '  recovery:\n    enabled: false\n  retention:\n    enabled: true\n    deliveredAfter: 10d\n    auditAfter: 20d\n    batchSize: 2\n',
        }),
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
      { clock, random: () => 0.5 },
    );
  });
  afterEach(async () => {
    await gw.stop();
    await target.close();
  });

  const store = () => gw.gateway.store;
  const ALL = { limit: 100_000 };
  const jobs = () => {
    const j = gw.gateway.jobs;
    if (!j) throw new Error('not started');
    return j;
  };

  async function push(order: string, code: PushEventCode = 'HOLD'): Promise<string> {
    const body = buildPush([{ eventCode: code, order: { sourceOrderNumber: order } }], { security });
    const res = await postSoap(`${gw.url}/soap/business-events`, body);
    expect(res.status, res.body).to.equal(202);
    const [newest] = (await store().browse.events({}, { limit: 1 })).rows;
    if (!newest) throw new Error('no event stored');
    return newest.id;
  }

  async function settle(what: string, check: (rows: Delivery[]) => boolean): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (check((await store().browse.deliveries({}, ALL)).rows)) return;
      await sleep(15);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const deliveriesOf = (eventId: string): Promise<Delivery[]> => store().browse.deliveriesOfEvents([eventId]);
  const attemptCount = async (): Promise<number> => (await store().browse.attempts({}, ALL)).rows.length;
  const auditCount = async (criteria: { eventId?: string; actions?: string[] }): Promise<number> => (await store().browse.audit(criteria, ALL)).rows.length;
  /**
   * Rows of the tables the store keeps to itself (nonces, dedupe keys, recovery run items): no API
   * shows them, so the test's own connection counts what retention left there.
   */
  const internalRows = async (table: 'ws_nonces' | 'dedupe_keys' | 'recovery_run_items', where: Record<string, string> = {}): Promise<number> =>
    Number(((await gw.database.tables()(table).where(where).count({ n: '*' }).first()) as { n: number | string }).n);

  it('removes finished history older than the cut-off in batches, keeps parked and unfinished work, and records what it removed', async () => {
    const ops = new DeliveryActions({ store: gw.gateway.store, clock, newId: createIdGenerator(() => clock.now()), notify: () => gw.gateway.worker?.notify() });
    for (const f of ['crm:E1', 'crm:E2', 'erp:E3', 'crm:E7', 'crm:E8']) failing.add(f);

    // Day 0.
    const e1 = await push('E1'); // parked, then delivered by a recovery run the same day: removed
    const e2 = await push('E2'); // parked for good: kept
    const e3 = await push('E3', 'SPLIT'); // crm delivered, erp parked: kept (one unfinished delivery keeps the event)
    const e4 = await push('E4', 'JEOPARDY'); // unrouted: removed by age
    const e5 = await push('E1'); // the same content again: a duplicate, removed by age
    const e7 = await push('E7'); // parked, replayed and delivered on day 15: kept (it finished after the cut-off)
    const e8 = await push('E8'); // parked, then discarded: removed
    await settle('day-0 deliveries settled', (rows) => rows.filter((r) => r.state === 'parked').length === 5 && rows.filter((r) => r.state === 'delivered').length === 1);
    const events = (await store().browse.events({}, ALL)).rows;
    expect(events.find((e) => e.id === e4)?.status).to.equal('unrouted');
    expect(events.find((e) => e.id === e5)?.status).to.equal('duplicate');

    failing.delete('crm:E1');
    const recovered = await jobs().recovery.runNow({ actor: 'test' });
    expect(recovered.status === 'ran' && recovered.run.replayed).to.equal(5);
    await settle('E1 delivered, the rest parked again', (rows) => rows.filter((r) => r.state === 'delivered').length === 2 && rows.filter((r) => r.state === 'parked').length === 4);
    const [e8Delivery] = await deliveriesOf(e8);
    if (!e8Delivery) throw new Error('E8 has no delivery');
    await ops.discard({ ids: [e8Delivery.id] }, { actor: 'test', reason: 'cancelled order' });

    // Day 15: E7 is fixed and delivered; a new event E6 is delivered.
    clock.advance(15 * DAY);
    failing.delete('crm:E7');
    await ops.replay({ eventIds: [e7] }, { actor: 'test' });
    const e6 = await push('E6');
    await settle('E6 and E7 delivered', (rows) => rows.filter((r) => r.state === 'delivered').length === 4);

    const attemptsBefore = await attemptCount();
    const [e1Delivery] = await deliveriesOf(e1);
    if (!e1Delivery) throw new Error('E1 has no delivery');

    const slot = jobs().scheduler.nextRun('retention', clock.now()) as number;
    expect(new Date(slot).toISOString()).to.equal('2026-12-09T03:30:00.000Z');
    clock.set(slot);
    // Nonces and dedupe keys with known times (the dedupe keys ingest wrote carry the wall clock's time),
    // written through the test's own connection: ingest only writes them with the times it is given.
    const now = clock.now();
    await gw.database.tables()('ws_nonces').insert([
      { nonce_key: 'expired-nonce', expires_at: now - 1 },
      { nonce_key: 'live-nonce', expires_at: now + 60_000 },
    ]);
    await gw.database.tables()('dedupe_keys').insert([
      { scope: 'test', hash: 'old', event_id: e1, seen_at: now - 8 * DAY },
      { scope: 'test', hash: 'fresh', event_id: e6, seen_at: now - 6 * DAY },
    ]);
    const outcome = await jobs().retention.runScheduled(slot);
    if (outcome.status !== 'ran') throw new Error(`expected a run, got ${JSON.stringify(outcome)}`);
    expect(outcome.error).to.equal(null);
    expect(outcome.removed.dedupeKeys).to.be.at.least(1);
    expect({ ...outcome.removed, dedupeKeys: 'checked below' }).to.deep.equal({
      events: 4, // E1, E4, E5, E8
      deliveries: 2, // E1's and E8's
      attempts: 4, // E1: parked, delivered; E8: parked, parked again after the recovery run
      pushes: 4,
      auditRecords: 0, // not 20 days old yet
      jobRuns: 0,
      nonces: 1,
      dedupeKeys: 'checked below',
    });

    const left = (await store().browse.events({}, ALL)).rows.map((e) => e.id).sort();
    expect(left).to.deep.equal([e2, e3, e6, e7].sort());
    expect(await deliveriesOf(e3), 'E3 keeps its delivered crm delivery').to.have.length(2);
    expect(await attemptCount()).to.equal(attemptsBefore - 4);
    expect((await store().status()).pushes).to.equal(4);
    expect(await internalRows('recovery_run_items', { delivery_id: e1Delivery.id })).to.equal(0);
    expect(await internalRows('recovery_run_items', { delivery_id: e8Delivery.id })).to.equal(0);
    expect(await internalRows('recovery_run_items')).to.equal(3); // E2, E3 erp, E7
    expect(await internalRows('ws_nonces', { nonce_key: 'live-nonce' })).to.equal(1);
    expect(await internalRows('ws_nonces', { nonce_key: 'expired-nonce' })).to.equal(0);
    expect(await internalRows('dedupe_keys', { scope: 'test' })).to.equal(1);
    // The audit trail outlives the events it describes.
    expect(await auditCount({ eventId: e1 })).to.be.greaterThan(0);

    const audit = await store().audit.list({ action: 'retention.run' });
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ direction: 'admin', result: 'ok' });
    expect(JSON.parse(audit[0]?.detail ?? '{}').removed).to.deep.equal(outcome.removed);
    expect(gw.logs.some((l) => l.includes('retention run ended') && l.includes('"events":4'))).to.equal(true);

    // The same slot again (another instance): nothing.
    expect(await jobs().retention.runScheduled(slot)).to.deep.equal({ status: 'skipped', reason: 'already_ran' });

    // Day 25+: audit records (and the recovery run) older than 20 days go; the parked work stays.
    clock.advance(10 * DAY);
    const later = await jobs().retention.runNow();
    if (later.status !== 'ran') throw new Error('expected a run');
    expect(later.removed.auditRecords).to.be.greaterThan(0);
    expect(later.removed.jobRuns).to.equal(1); // the day-0 recovery run (the first retention run is younger)
    expect(await auditCount({ eventId: e2 })).to.equal(0);
    expect(await store().browse.event(e2)).to.not.equal(null);
    expect((await deliveriesOf(e2)).filter((d) => d.state === 'parked')).to.have.length(1);
    expect(await auditCount({ actions: ['retention.run'] })).to.equal(2);
  });
});
