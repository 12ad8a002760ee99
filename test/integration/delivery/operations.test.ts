import { expect } from 'chai';
import { once } from 'node:events';
import { DeliveryActions } from '../../../src/services/delivery-actions.ts';
import type { DeliveryFilter } from '../../../src/services/delivery-filter.ts';
import { DeliveryViews } from '../../../src/services/delivery-views.ts';
import type { AttemptReport } from '../../../src/delivery/worker.ts';
import type { Delivery } from '../../../src/domain/delivery.ts';
import { createIdGenerator } from '../../../src/domain/ids.ts';
import { buildPush, type PushEventCode } from '../../../src/sandbox/om-push.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { Seeder } from '../../helpers/seed.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { everything } from '../../helpers/pages.ts';

describe(`delivery operations: replay, discard, hold, release (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;
  let ops: DeliveryActions;
  let views: DeliveryViews;
  let notified: number;
  const clock = { now: () => seed.now, sleep: async () => undefined };

  beforeEach(async () => {
    database = createTestDatabase();
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    await store.migrate();
    seed = new Seeder(database.tables());
    notified = 0;
    ops = new DeliveryActions({ store, clock, newId: createIdGenerator(() => seed.now), notify: () => void notified++ });
    views = new DeliveryViews({ store });
  });
  afterEach(async () => {
    await store.close();
    await database.dispose();
  });

  const row = async (id: string): Promise<Delivery> => {
    const d = await store.browse.delivery(id);
    if (!d) throw new Error(`no delivery ${id}`);
    return d;
  };
  const states = async (ids: string[]): Promise<string[]> => Promise.all(ids.map(async (id) => (await row(id)).state));
  const audits = (action: string) => everything((page) => store.browse.audit({ actions: [action] }, page));
  const allDeliveries = () => everything((page) => store.browse.deliveries({}, page));

  /** The same dry run and real run, checking that the dry run changes nothing and counts what the run then changes. */
  async function dryThenReplay(filter: DeliveryFilter, expected: string[]): Promise<void> {
    const before = await allDeliveries();
    const auditBefore = (await audits('delivery.replayed')).length;
    const dry = await ops.replay(filter, { dryRun: true, actor: 'test' });
    expect(dry.dryRun).to.equal(true);
    expect(dry.changed, JSON.stringify(filter)).to.equal(expected.length);
    expect(dry.sample.map((s) => s.id)).to.deep.equal(expected.slice(0, 10));
    expect(dry.sample.every((s) => s.state === 'pending')).to.equal(true);
    expect(await allDeliveries()).to.deep.equal(before);
    expect(await audits('delivery.replayed')).to.have.length(auditBefore);
    const real = await ops.replay(filter, { actor: 'test' });
    expect(real.changed).to.equal(expected.length);
    expect(real.matched).to.equal(dry.matched);
    expect(real.sample.map((s) => s.id)).to.deep.equal(expected.slice(0, 10));
    for (const id of expected) expect((await row(id)).state).to.equal('pending');
  }

  it('replays by delivery ids: dry run first, then back to pending with history kept and one audit record each', async () => {
    const parked = await seed.delivery({ connector: 'crm', state: 'parked', attempts: 3 });
    const other = await seed.delivery({ connector: 'crm', state: 'parked' });
    seed.tick(60_000);
    await dryThenReplay({ ids: [parked] }, [parked]);
    const r = await row(parked);
    expect(r).to.include({ state: 'pending', attemptCount: 3, attemptsInCycle: 0, parkedReason: null, lastError: null });
    expect(r.nextAttemptAt).to.equal(seed.now);
    expect(await store.browse.attemptsOf([parked])).to.have.length(3); // history kept
    expect((await row(other)).state).to.equal('parked');
    const [audit] = await audits('delivery.replayed');
    expect(audit).to.include({ direction: 'admin', deliveryId: parked, connector: 'crm', actor: 'test', result: 'pending' });
    expect(JSON.parse(audit?.detail ?? 'null')).to.include({ from: 'parked', attemptCount: 3 });
    expect(notified).to.equal(1);
  });

  it('replays by event ids: every delivery of those events, delivered ones included', async () => {
    const event = await seed.event();
    const a = await seed.delivery({ connector: 'crm', state: 'delivered', eventId: event });
    const b = await seed.delivery({ connector: 'otm', state: 'parked', eventId: event });
    const c = await seed.delivery({ connector: 'shipbob', state: 'retrying', eventId: event });
    await seed.delivery({ connector: 'crm', state: 'parked' });
    await dryThenReplay({ eventIds: [event] }, [a, b, c]);
    expect((await row(a)).attemptCount).to.equal(2);
  });

  it('replays by each filter: connector, state, event code, order key, error text and time range', async () => {
    const crm = await seed.delivery({ connector: 'crm', state: 'parked', eventCode: 'HOLD', orderKey: 'LEG:A', lastError: 'HTTP 503 Service Unavailable' });
    seed.tick(3_600_000);
    const otm = await seed.delivery({ connector: 'otm', state: 'on_hold', eventCode: 'SPLIT', orderKey: 'LEG:B', lastError: null });
    seed.tick(3_600_000);
    const sb = await seed.delivery({ connector: 'shipbob', state: 'discarded', eventCode: 'FlineStatusUpdate', orderKey: 'LEG:C', lastError: 'Mapping: unknown SKU "X-1"' });
    seed.tick(3_600_000);
    const retry = await seed.delivery({ connector: 'crm', state: 'retrying', eventCode: 'HOLD', orderKey: 'LEG:D', lastError: 'ECONNREFUSED' });
    const done = await seed.delivery({ connector: 'crm', state: 'delivered', orderKey: 'LEG:E' });
    const start = Date.UTC(2026, 10, 23, 12, 0, 0);

    const counts = async (filter: DeliveryFilter) => (await ops.replay(filter, { dryRun: true, actor: 't' })).sample.map((s) => s.id);
    expect(await counts({ connectors: ['crm'] })).to.deep.equal([crm, retry]);
    expect(await counts({ states: ['on_hold', 'discarded'] })).to.deep.equal([otm, sb]);
    expect(await counts({ eventCodes: ['SPLIT', 'FlineStatusUpdate'] })).to.deep.equal([otm, sb]);
    expect(await counts({ orderKey: 'LEG:B' })).to.deep.equal([otm]);
    expect(await counts({ errorContains: 'unknown sku' })).to.deep.equal([sb]); // case-insensitive
    expect(await counts({ errorContains: '503 service' })).to.deep.equal([crm]);
    expect(await counts({ errorContains: '%' })).to.deep.equal([]); // wildcards match literally
    expect(await counts({ from: start + 3_600_000, to: start + 3 * 3_600_000 })).to.deep.equal([otm, sb]);
    expect(await counts({ connectors: ['crm'], states: ['retrying'] })).to.deep.equal([retry]);

    // A delivered delivery is replayed only when chosen by id.
    const byState = await ops.replay({ states: ['delivered'] }, { dryRun: true, actor: 't' });
    expect(byState).to.include({ matched: 1, eligible: 0, changed: 0 });
    expect(byState.skipped).to.deep.equal({ delivered: 1 });
    await dryThenReplay({ ids: [done] }, [done]);

    await dryThenReplay({ connectors: ['otm', 'shipbob'] }, [otm, sb]);
    await dryThenReplay({ errorContains: 'econnrefused' }, [retry]);
  });

  it('never touches deliveries in flight, reporting them as skipped; limit takes the oldest first', async () => {
    const flying = await seed.delivery({ connector: 'crm', state: 'in_flight' });
    const p = [];
    for (let i = 0; i < 5; i++) p.push(await seed.delivery({ connector: 'crm', state: 'parked', orderKey: `LEG:${i}` }));
    const dry = await ops.replay({ connectors: ['crm'] }, { dryRun: true, actor: 't', limit: 2 });
    expect(dry).to.include({ matched: 6, eligible: 5, changed: 2 });
    expect(dry.skipped).to.deep.equal({ in_flight: 1 });
    const real = await ops.replay({ connectors: ['crm'] }, { actor: 't', limit: 2 });
    expect(real.changed).to.equal(2);
    expect(await states([flying, ...p])).to.deep.equal(['in_flight', 'pending', 'pending', 'parked', 'parked', 'parked']);
    expect((await ops.replay({ ids: [flying] }, { actor: 't' })).changed).to.equal(0);
    expect((await row(flying)).state).to.equal('in_flight');
  });

  it('works in batches over many deliveries, with an audit record per delivery', async () => {
    const event = await seed.event();
    const rows = [];
    for (let i = 0; i < 1_200; i++) {
      rows.push({
        id: seed.newId(),
        event_id: event,
        connector: 'crm',
        order_key: `LEG:${i}`,
        event_code: 'HOLD',
        state: 'parked',
        attempt_count: 9,
        attempts_in_cycle: 9,
        next_attempt_at: seed.now,
        created_at: seed.now,
        updated_at: seed.now,
        parked_reason: 'attempts_exhausted',
      });
    }
    // Fixtures written straight into the table, in bulk: only the worker parks a delivery, after sending it.
    for (let i = 0; i < rows.length; i += 200) await database.tables()('deliveries').insert(rows.slice(i, i + 200));
    const result = await ops.replay({ states: ['parked'] }, { actor: 't', runId: '01JAAAAAAAAAAAAAAAAAAAAAAA', reason: 'nightly' });
    expect(result.changed).to.equal(1_200);
    expect(result.sample).to.have.length(10);
    expect(await everything((page) => store.browse.deliveries({ states: ['pending'] }, page))).to.have.length(1_200);
    const audit = await audits('delivery.replayed');
    expect(audit).to.have.length(1_200);
    // The recovery run finds its replays by this exact text.
    expect(audit[0]?.detail).to.include('"runId":"01JAAAAAAAAAAAAAAAAAAAAAAA"').and.include('"reason":"nightly"');
  });

  it('refuses an empty selection, discard without a reason, an unknown state or filter, and a bad limit', async () => {
    const bad = async (p: Promise<unknown>, text: string) => {
      try {
        await p;
        expect.fail('should have been refused');
      } catch (err) {
        expect(err).to.have.property('code', 'BAD_REQUEST');
        expect((err as Error).message).to.include(text);
      }
    };
    await bad(ops.replay({}, { actor: 't' }), 'needs a selection');
    await bad(ops.discard({ connectors: ['crm'] }, { actor: 't', reason: '  ' }), 'needs a reason');
    await bad(ops.hold({ states: ['bogus' as 'parked'] }, { actor: 't' }), 'unknown state');
    await bad(ops.release({ connector: 'crm' } as unknown as DeliveryFilter, { actor: 't' }), 'unknown filter');
    await bad(ops.replay({ connectors: ['crm'] }, { actor: 't', limit: 0 }), 'limit');
    await bad(views.list({}, { limit: 0 }), 'limit');
    await bad(views.list({}, { limit: 10, cursor: "' or 1=1 --" }), 'cursor');
    // An empty id list is a selection that matches nothing.
    expect((await ops.replay({ ids: [] }, { actor: 't' })).matched).to.equal(0);
  });

  it('discards with a reason; a discarded delivery no longer blocks its order key', async () => {
    const head = await seed.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:K' });
    const next = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:K' });
    const claim = async () => (await store.deliveries.claimWithEvents({ connector: 'crm', strictOrdering: true, limit: 10, owner: 'w', now: seed.now + 1, leaseUntil: seed.now + 60_000 })).deliveries;
    expect(await claim()).to.have.length(0); // blocked behind the parked head
    expect((await store.deliveries.blockedKeys('crm')).map((b) => b.blockedBy)).to.deep.equal([head]);

    const dry = await ops.discard({ ids: [head] }, { actor: 'ops', reason: 'order cancelled in OM', dryRun: true });
    expect(dry.changed).to.equal(1);
    expect((await row(head)).state).to.equal('parked');
    const result = await ops.discard({ ids: [head] }, { actor: 'ops', reason: 'order cancelled in OM' });
    expect(result.changed).to.equal(1);
    expect(await row(head)).to.include({ state: 'discarded', adminReason: 'order cancelled in OM' });
    expect(await store.deliveries.blockedKeys('crm')).to.deep.equal([]);
    expect((await claim()).map((r) => r.id)).to.deep.equal([next]);
    const [audit] = await audits('delivery.discarded');
    expect(audit).to.include({ actor: 'ops', result: 'discarded', deliveryId: head });
    expect(JSON.parse(audit?.detail ?? 'null')).to.include({ from: 'parked', reason: 'order cancelled in OM' });
    // Delivered and discarded deliveries cannot be discarded again.
    const again = await ops.discard({ ids: [head] }, { actor: 'ops', reason: 'x' });
    expect(again).to.include({ changed: 0 });
    expect(again.skipped).to.deep.equal({ discarded: 1 });
    // A discarded delivery can be replayed.
    expect((await ops.replay({ ids: [head] }, { actor: 'ops' })).changed).to.equal(1);
    expect(await row(head)).to.include({ state: 'pending', adminReason: null });
  });

  it('holds pending and retrying deliveries (hold_reason admin) until released; a connector coming online does not release them', async () => {
    const pending = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:1' });
    const retrying = await seed.delivery({ connector: 'crm', state: 'retrying', orderKey: 'LEG:2' });
    const parked = await seed.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:3' });
    const offline = await seed.delivery({ connector: 'crm', state: 'on_hold', holdReason: 'offline', orderKey: 'LEG:4' });
    const held = await ops.hold({ connectors: ['crm'] }, { actor: 'ops', reason: 'target migrating' });
    expect(held).to.include({ matched: 4, eligible: 2, changed: 2 });
    expect(held.skipped).to.deep.equal({ parked: 1, on_hold: 1 });
    expect(await row(pending)).to.include({ state: 'on_hold', holdReason: 'admin', adminReason: 'target migrating' });
    expect((await row(retrying)).holdReason).to.equal('admin');
    expect((await row(parked)).state).to.equal('parked');

    // The worker's maintenance release only lets go of its own holds.
    await store.deliveries.releaseHold('crm', 'offline', seed.now);
    expect(await states([pending, retrying, offline])).to.deep.equal(['on_hold', 'on_hold', 'pending']);

    const dry = await ops.release({ connectors: ['crm'], states: ['on_hold'] }, { actor: 'ops', dryRun: true });
    expect(dry.changed).to.equal(2);
    expect(notified).to.equal(0);
    const released = await ops.release({ connectors: ['crm'], states: ['on_hold'] }, { actor: 'ops' });
    expect(released.changed).to.equal(2);
    expect(await row(pending)).to.include({ state: 'pending', holdReason: null, adminReason: null });
    expect((await row(retrying)).state).to.equal('pending');
    expect(notified).to.equal(1);
    expect((await audits('delivery.held')).map((a) => a.deliveryId)).to.deep.equal([pending, retrying]);
    expect(await audits('delivery.released')).to.have.length(2);
  });

  it('lists deliveries newest first with cursor paging, and shows one with its event, attempts and audit', async () => {
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await seed.delivery({ connector: i % 2 ? 'otm' : 'crm', state: 'parked', orderKey: `LEG:${i}` }));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await views.list({}, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((d) => d.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).to.deep.equal([...ids].reverse());
    expect((await views.list({ connectors: ['otm'] }, { limit: 10 })).items).to.have.length(3);

    const detail = await views.show(ids[0] as string);
    expect(detail?.delivery).to.include({ id: ids[0], state: 'parked', connector: 'crm', attemptCount: 2, parkedReason: 'attempts_exhausted' });
    expect(detail?.attempts.map((a) => a.number)).to.deep.equal([1, 2]);
    expect(detail?.event?.orderKey).to.equal('LEG:0');
    expect(await views.show('01JAAAAAAAAAAAAAAAAAAAAAAA')).to.equal(null);
    expect(await views.show('not-an-id')).to.equal(null);
  });
});

describe(`replay with the delivery worker (${backendName()})`, () => {
  let target: FakeTarget;
  let gw: TestGateway;
  const clock = new ManualClock();
  const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

  beforeEach(async () => {
    target = await new FakeTarget().start();
  });
  afterEach(async () => {
    await gw?.stop();
    await target.close();
  });

  async function push(code: PushEventCode, order: string): Promise<void> {
    const body = buildPush([{ eventCode: code, order: { sourceOrderNumber: order } }], { security });
    const res = await postSoap(`${gw.url}/soap/business-events`, body);
    expect(res.status, res.body).to.equal(202);
  }

  function attempts(n: number, predicate: (a: AttemptReport) => boolean): Promise<void> {
    const worker = gw.gateway.worker;
    if (!worker) throw new Error('no worker');
    return new Promise((resolve) => {
      let seen = 0;
      const on = (a: AttemptReport): void => {
        if (predicate(a) && ++seen === n) {
          worker.off('attempt', on);
          resolve();
        }
      };
      worker.on('attempt', on);
    });
  }

  it('replaying a parked head lets its blocked order key move, in order, with a fixed mapping and the attempt history kept', async () => {
    let fixed = false;
    target.answer = () => (fixed ? { status: 200 } : { status: 422, body: '{"error":"unknown status"}' });
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s' }),
        connectors: { 'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /orders/{{orderKey}}\n` },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n",
      },
      { clock, random: () => 0.5 },
    );
    const parkedOnce = attempts(1, (a) => a.outcome === 'parked');
    await push('HOLD', 'SO-ORD');
    await parkedOnce;
    await push('SPLIT', 'SO-ORD');
    await push('JEOPARDY', 'SO-ORD');
    const worker = gw.gateway.worker;
    if (!worker) throw new Error('no worker');
    const cycled = once(worker, 'cycle');
    worker.notify();
    await cycled;
    const deliveries = () => everything((page) => gw.gateway.store.browse.deliveries({}, page));
    const rows = await deliveries();
    expect(rows.map((r) => r.state)).to.deep.equal(['parked', 'pending', 'pending']);
    expect(target.requests).to.have.length(1);
    const blocked = await gw.gateway.store.deliveries.blockedKeys('crm');
    expect(blocked).to.deep.equal([{ connector: 'crm', orderKey: 'LEG:SO-ORD', blockedBy: rows[0]?.id, blockerState: 'parked', waiting: 2 }]);

    fixed = true;
    const ops = new DeliveryActions({ store: gw.gateway.store, clock, newId: createIdGenerator(() => clock.now()), notify: () => worker.notify() });
    const dry = await ops.replay({ states: ['parked'], connectors: ['crm'] }, { dryRun: true, actor: 'test' });
    expect(dry.changed).to.equal(1);
    const delivered = attempts(3, (a) => a.outcome === 'delivered');
    const result = await ops.replay({ states: ['parked'], connectors: ['crm'] }, { actor: 'test' });
    expect(result.changed).to.equal(1);
    await delivered;
    const after = await deliveries();
    expect(after.map((r) => [r.state, r.attemptCount])).to.deep.equal([
      ['delivered', 2],
      ['delivered', 1],
      ['delivered', 1],
    ]);
    // The target saw the order's events in their original sequence.
    expect(target.requests.slice(1).map((r) => JSON.parse(r.body).eventCode)).to.deep.equal(['HOLD', 'SPLIT', 'JEOPARDY']);
    const history = await gw.gateway.store.browse.attemptsOf(rows.slice(0, 1).map((r) => r.id));
    expect(history.map((a) => [a.number, a.outcome, a.responseStatus])).to.deep.equal([
      [1, 'parked', 422],
      [2, 'delivered', 200],
    ]);
  });
});
