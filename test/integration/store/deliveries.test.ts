import { expect } from 'chai';
import type { Store } from '../../../src/store/index.ts';
import type { Delivery } from '../../../src/domain/delivery.ts';
import type { CompletionInput, Transition } from '../../../src/store/deliveries.ts';
import type { DeliveryRow } from '../../../src/store/rows/mapping.ts';
import { backendName, type TestDatabase } from '../../helpers/backend.ts';
import type { Seeder } from '../../helpers/seed.ts';
import { closeSeededStore, openSeededStore } from '../../helpers/store.ts';

/** The delivery store under the worker: the claim query's index and group-committed completions. */
describe(`delivery store: claim and completion (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;

  beforeEach(async () => {
    ({ database, store, seed } = await openSeededStore());
  });
  afterEach(async () => closeSeededStore(database, store));

  const OWNER = 'worker-1';
  const claim = async (limit: number, strictOrdering = true) =>
    (await store.deliveries.claimWithEvents({ connector: 'crm', strictOrdering, limit, owner: OWNER, now: seed.now, leaseUntil: seed.now + 60_000 })).deliveries;

  function completion(delivery: Delivery, transition: Transition, n: number, owner = OWNER): CompletionInput {
    return {
      delivery,
      owner,
      now: seed.now + n,
      transition,
      attempt: {
        id: seed.newId(),
        number: delivery.attemptCount + 1,
        startedAt: seed.now,
        durationMs: 3.4,
        requestSummary: { method: 'POST', url: 'http://target/x' },
        responseStatus: transition.state === 'delivered' ? 200 : 503,
        responseHeaders: { 'content-type': 'application/json' },
        responseSnippet: '{}',
        errorClass: transition.state === 'delivered' ? null : 'http',
        errorMessage: transition.state === 'delivered' ? null : 'HTTP 503',
        outcome: transition.state === 'delivered' ? 'delivered' : transition.state === 'retrying' ? 'retry' : 'parked',
      },
      audit: {
        id: seed.newId(),
        at: seed.now + n,
        direction: 'out',
        action: 'delivery.attempt',
        connector: delivery.connector,
        eventId: delivery.eventId,
        deliveryId: delivery.id,
        result: transition.state,
      },
    };
  }

  it('claims the oldest due deliveries of the connector, and the first of each order key under strict ordering', async () => {
    const a1 = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:A' });
    seed.tick();
    const a2 = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:A' });
    seed.tick();
    const b1 = await seed.delivery({ connector: 'crm', state: 'retrying', orderKey: 'LEG:B' });
    seed.tick();
    await seed.delivery({ connector: 'otm', state: 'pending', orderKey: 'LEG:C' });
    const later = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:D', createdAt: seed.now + 3_600_000 });
    seed.tick();

    const strict = await claim(10);
    expect(strict.map((r) => r.id)).to.deep.equal([a1, b1]);
    await database.tables()('deliveries').whereIn('id', [a1, b1]).update({ state: 'pending', lease_owner: null, lease_expires_at: null });
    const unordered = await claim(10, false);
    expect(unordered.map((r) => r.id)).to.deep.equal([a1, a2, b1]);
    expect(unordered.map((r) => r.id)).not.to.include(later);
  });

  it('claims with the events of the claimed deliveries in one request, and nothing when nothing is due', async () => {
    const a = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:A' });
    seed.tick();
    const b = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:B' });
    seed.tick();
    const req = { connector: 'crm', strictOrdering: true, limit: 10, owner: OWNER, now: seed.now, leaseUntil: seed.now + 60_000 };
    const { deliveries, events } = await store.deliveries.claimWithEvents(req);
    expect(deliveries.map((d) => d.id)).to.deep.equal([a, b]);
    expect(deliveries.map((d) => [d.state, d.leaseOwner, d.leaseExpiresAt])).to.deep.equal([
      ['in_flight', OWNER, seed.now + 60_000],
      ['in_flight', OWNER, seed.now + 60_000],
    ]);
    expect([...events.keys()].sort()).to.deep.equal(deliveries.map((d) => d.eventId).sort());
    for (const delivery of deliveries) expect(events.get(delivery.eventId)?.id).to.equal(delivery.eventId);
    expect(typeof events.get(deliveries[0]?.eventId ?? '')?.payload).to.equal('string');
    expect(typeof events.get(deliveries[0]?.eventId ?? '')?.receivedAt).to.equal('number');
    const again = await store.deliveries.claimWithEvents(req);
    expect(again.deliveries).to.deep.equal([]);
    expect(again.events.size).to.equal(0);
  });

  it('reads the claim index instead of sorting every due delivery (SQLite query plan)', async function () {
    if (backendName() !== 'sqlite') this.skip();
    const plan = (await database.tables().raw(
      `explain query plan select d.id from deliveries d
       where d.connector = ? and d.state in ('pending', 'retrying') and d.next_attempt_at <= ?
       order by d.next_attempt_at, d.seq limit ?`,
      ['crm', seed.now, 64],
    )) as Array<{ detail: string }>;
    const details = plan.map((p) => p.detail).join('\n');
    expect(details).to.include('deliveries_claim_seq_index');
    expect(details).not.to.include('TEMP B-TREE');
  });

  it('writes concurrent completions in one group: attempts, states, audit records, and a lost lease left alone', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await seed.delivery({ connector: 'crm', state: 'pending', orderKey: `LEG:SO-${i}` }));
      seed.tick();
    }
    const rows = await claim(10);
    expect(rows).to.have.length(4);
    const [d0, d1, d2, d3] = rows as [Delivery, Delivery, Delivery, Delivery];
    // Another instance took d3 over after its lease expired.
    await database.tables()('deliveries').where({ id: d3.id }).update({ lease_owner: 'worker-2' });

    const results = await Promise.all([
      store.deliveries.complete(completion(d0, { state: 'delivered' }, 1)),
      store.deliveries.complete(completion(d1, { state: 'retrying', nextAttemptAt: seed.now + 5_000, error: 'HTTP 503' }, 2)),
      store.deliveries.complete(completion(d2, { state: 'parked', reason: 'not_retryable', error: 'HTTP 400' }, 3)),
      store.deliveries.complete(completion(d3, { state: 'delivered' }, 4)),
    ]);
    expect(results.map((r) => r.applied)).to.deep.equal([true, true, true, false]);

    const after = new Map(((await database.tables()('deliveries').whereIn('id', ids)) as DeliveryRow[]).map((r) => [r.id, r]));
    const r0 = after.get(d0.id);
    expect(r0?.state).to.equal('delivered');
    expect(Number(r0?.delivered_at)).to.equal(seed.now + 1);
    expect(Number(r0?.attempt_count)).to.equal(1);
    expect(r0?.lease_owner).to.equal(null);
    expect(r0?.last_error).to.equal(null);
    const r1 = after.get(d1.id);
    expect(r1?.state).to.equal('retrying');
    expect(Number(r1?.next_attempt_at)).to.equal(seed.now + 5_000);
    expect(r1?.last_error).to.equal('HTTP 503');
    expect(r1?.delivered_at).to.equal(null);
    expect(Number(r1?.attempts_in_cycle)).to.equal(1);
    const r2 = after.get(d2.id);
    expect(r2?.state).to.equal('parked');
    expect(r2?.parked_reason).to.equal('not_retryable');
    expect(r2?.last_error).to.equal('HTTP 400');
    expect(Number(r2?.next_attempt_at)).to.equal(d2.nextAttemptAt);
    const r3 = after.get(d3.id);
    expect(r3?.state).to.equal('in_flight');
    expect(r3?.lease_owner).to.equal('worker-2');
    expect(Number(r3?.attempt_count)).to.equal(0);

    // Every attempt happened, so every attempt and audit record is stored, the lost lease's too.
    const attempts = (await database.tables()('attempts').whereIn('delivery_id', ids)) as Array<{ delivery_id: string; duration_ms: number }>;
    expect(attempts.map((a) => a.delivery_id).sort()).to.deep.equal([...ids].sort());
    expect(attempts.every((a) => Number(a.duration_ms) === 3)).to.equal(true);
    const audit = await database.tables()('audit_records').where({ action: 'delivery.attempt' });
    expect(audit).to.have.length(4);
  });

  it('reclaims a delivery in flight only once its lease has expired, and gives one back only under its own lease', async () => {
    for (let i = 0; i < 2; i++) {
      await seed.delivery({ connector: 'crm', state: 'pending', orderKey: `LEG:SO-${i}` });
      seed.tick();
    }
    const [expiring, held] = (await claim(10)) as [Delivery, Delivery];
    const ends = seed.now + 1_000;
    await database.tables()('deliveries').where({ id: expiring.id }).update({ lease_expires_at: ends });
    const row = async (id: string) => (await database.tables()('deliveries').where({ id }).first()) as DeliveryRow;

    // The owner still sending it (its renewal came late) does not take it back; anyone else does.
    expect(await store.deliveries.reclaimExpired(ends + 1, { owner: OWNER, ids: [expiring.id, held.id] })).to.equal(0);
    expect((await row(expiring.id)).state).to.equal('in_flight');
    // A lease ending now has not expired yet.
    expect(await store.deliveries.reclaimExpired(ends)).to.equal(0);
    expect(await store.deliveries.reclaimExpired(ends + 1)).to.equal(1);
    const reclaimed = await row(expiring.id);
    expect(reclaimed.state).to.equal('retrying');
    expect(reclaimed.lease_owner).to.equal(null);
    expect(Number(reclaimed.next_attempt_at)).to.equal(ends + 1);
    expect((await row(held.id)).state).to.equal('in_flight');

    await store.deliveries.release(held.id, 'worker-2', seed.now + 5_000, seed.now + 2);
    expect(await row(held.id)).to.include({ state: 'in_flight', lease_owner: OWNER });
    await store.deliveries.release(held.id, OWNER, seed.now + 5_000, seed.now + 2);
    const given = await row(held.id);
    expect(given).to.include({ state: 'pending', lease_owner: null, lease_expires_at: null });
    expect(Number(given.next_attempt_at)).to.equal(seed.now + 5_000);
    expect(Number(given.attempt_count)).to.equal(0);
  });

  it('writes each completion of a failed group on its own, so one bad completion fails alone', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await seed.delivery({ connector: 'crm', state: 'pending', orderKey: `LEG:SO-${i}` }));
      seed.tick();
    }
    const [d0, d1, d2] = (await claim(10)) as [Delivery, Delivery, Delivery];
    const bad = completion(d1, { state: 'delivered' }, 2);
    // An attempt id that already exists: that completion cannot be written.
    const existing = (await database.tables()('attempts').first('id')) as { id: string } | undefined;
    bad.attempt.id = existing?.id ?? bad.attempt.id;
    if (!existing) {
      await database.tables()('attempts').insert({
        id: bad.attempt.id, delivery_id: d1.id, number: 1, started_at: seed.now, duration_ms: 1, request_summary: '{}', outcome: 'retry',
      });
    }
    const results = await Promise.allSettled([
      store.deliveries.complete(completion(d0, { state: 'delivered' }, 1)),
      store.deliveries.complete(bad),
      store.deliveries.complete(completion(d2, { state: 'delivered' }, 3)),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const states = ((await database.tables()('deliveries').whereIn('id', ids).orderBy('id')) as DeliveryRow[]).map((r) => r.state);
    expect(states).to.deep.equal(['delivered', 'in_flight', 'delivered']);
  });
});
