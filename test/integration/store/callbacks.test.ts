import { expect } from 'chai';
import type { Delivery } from '../../../src/domain/delivery.ts';
import type { CallbackPlan, CallbackRecorded } from '../../../src/store/callbacks.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { everything } from '../../helpers/pages.ts';
import { Seeder } from '../../helpers/seed.ts';

/** The store of async connectors' deliveries: correlation ids, the deadline sweep's compare-and-set, callbacks. */
describe(`store: deliveries awaiting a response (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;
  const OWNER = 'worker-1';

  const open = (): Store => new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
  beforeEach(async () => {
    database = createTestDatabase();
    store = open();
    await store.migrate();
    seed = new Seeder(database.tables());
  });
  afterEach(async () => {
    await store.close();
    await database.dispose();
  });

  const get = async (id: string): Promise<Delivery> => {
    const d = await store.deliveries.get(id);
    if (!d) throw new Error(`no delivery ${id}`);
    return d;
  };
  const recorded = (r: CallbackRecorded): Extract<CallbackRecorded, { refused: false }> => {
    if (r.refused !== false) throw new Error(`the callback was refused: ${r.refused}`);
    return r;
  };
  const claimOne = async (connector = 'fulfilment'): Promise<Delivery> => {
    const [d] = (await store.deliveries.claimWithEvents({ connector, strictOrdering: true, limit: 1, owner: OWNER, now: seed.now, leaseUntil: seed.now + 60_000 })).deliveries;
    if (!d) throw new Error('nothing claimed');
    return d;
  };

  it('keeps a correlation id once, under the lease; an id names one delivery of a connector', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'pending' });
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-1', seed.now)).to.equal(false); // not claimed
    await claimOne();
    expect(await store.callbacks.keepCorrelationId(id, 'someone-else', 'c-1', seed.now)).to.equal(false);
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-1', seed.now)).to.equal(true);
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-2', seed.now)).to.equal(false); // kept: never replaced
    expect((await get(id)).correlationId).to.equal('c-1');
    expect((await store.callbacks.findByCorrelation('fulfilment', 'c-1'))?.id).to.equal(id);
    expect(await store.callbacks.findByCorrelation('other', 'c-1')).to.equal(undefined);

    // The same id for another connector is another delivery's; for the same connector it is refused.
    await seed.delivery({ connector: 'other', state: 'pending', correlationId: 'c-1' });
    let refused: unknown = null;
    try {
      await seed.delivery({ connector: 'fulfilment', state: 'pending', correlationId: 'c-1' });
    } catch (err) {
      refused = err;
    }
    expect(refused, 'a second delivery with the same correlation id').to.be.instanceOf(Error);
  });

  /** Records an accepted attempt through the group commit (each dialect's completion writer). */
  const accept = (claimed: Delivery, correlationId: string, owner = OWNER) =>
    store.deliveries.complete({
      delivery: claimed,
      owner,
      now: seed.now,
      transition: { state: 'awaiting_response', correlationId, responseDueAt: seed.now + 3_600_000 },
      attempt: {
        id: seed.newId(),
        number: claimed.attemptCount + 1,
        startedAt: seed.now,
        durationMs: 10,
        requestSummary: { method: 'POST' },
        responseStatus: 202,
        responseHeaders: null,
        responseSnippet: `{"requestId":"${correlationId}"}`,
        errorClass: null,
        errorMessage: null,
        outcome: 'accepted',
      },
      audit: { id: seed.newId(), at: seed.now, direction: 'out', action: 'delivery.attempt', deliveryId: claimed.id, result: 'accepted' },
    });
  /** An awaiting delivery's deadline passes and it is due again at once (the expiry sweep's write). */
  const pastDeadline = async (id: string): Promise<void> => {
    seed.tick(3_600_000);
    const expired = await store.callbacks.expire({
      delivery: await get(id),
      now: seed.now,
      expiry: { event: 'expire', nextAttemptAt: seed.now, error: 'no response' },
      audit: { id: seed.newId(), at: seed.now, direction: 'out', action: 'delivery.no_response', deliveryId: id, result: 'retry' },
    });
    expect(expired?.state).to.equal('retrying');
  };
  /** The ids of delivery_correlations, as the test's own connection reads them: no API lists them. */
  const sentWith = async (where: Record<string, string>): Promise<Array<{ connector: string; correlation_id: string; delivery_id: string; responded_at: number | null }>> =>
    ((await database.tables()('delivery_correlations')
      .select('connector', 'correlation_id', 'delivery_id', 'responded_at')
      .where(where)
      .orderBy('created_at')
      .orderBy('correlation_id')) as Array<{
      connector: string;
      correlation_id: string;
      delivery_id: string;
      responded_at: number | string | null;
    }>).map((r) => ({ ...r, responded_at: r.responded_at === null ? null : Number(r.responded_at) }));
  /**
   * A plan that stores the callback as an event of source callback (routed to `routes`) and completes
   * `match` as delivered by attempt `attemptNumber` when `completes` says so.
   */
  const callbackPlan = (match: Delivery | null, options: { completes: boolean; attemptNumber: number; requestId?: string; raw?: string; routes?: string[] }): CallbackPlan => {
    const eventId = seed.newId();
    return {
      write: true,
      receivedAt: seed.now,
      requestId: options.requestId ?? null,
      event: {
        id: eventId,
        source: 'callback',
        eventCode: 'CallbackReceived',
        orderKey: match?.orderKey ?? null,
        sourceSystem: 'fulfilment',
        connectorScope: null,
        position: 0,
        payload: '{}',
        raw: options.raw ?? eventId,
        contentHash: eventId,
        dedupeScope: 'callback:fulfilment',
        dedupeSince: seed.now,
        deliveries: (options.routes ?? []).map((connector) => ({ id: seed.newId(), connector, triggerPoint: 'results', orderKey: match?.orderKey ?? null, idempotencyKey: null })),
      },
      audit: { id: seed.newId(), at: seed.now, direction: 'in', action: 'callback.received', eventId, result: 'completed' },
      completion: options.completes
        ? {
            event: 'respond',
            error: null,
            attempt: { id: seed.newId(), number: options.attemptNumber, startedAt: seed.now, durationMs: 0, requestSummary: { callback: {} }, responseStatus: null, responseHeaders: null, responseSnippet: '{}', errorClass: null, errorMessage: null, outcome: 'delivered' },
          }
        : null,
    };
  };
  /** A plan that completes the delivery it matched as delivered (or writes nothing), noting what it was shown. */
  const completing = (seen: Array<[string | null, boolean]>) => (match: Delivery | null, answered: boolean): CallbackPlan => {
    seen.push([match?.id ?? null, answered]);
    return callbackPlan(match, { completes: match !== null && match.respondedAt === null, attemptNumber: match?.attemptCount ?? 0 });
  };

  it('keeps every correlation id a delivery was sent with: a re-send that reads a new id from the answer adds it, and a callback with either finds the delivery', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'pending' });
    expect((await accept(await claimOne(), 'R-1')).applied).to.equal(true);
    // The deadline passes: sent again, and the target's answer names another id.
    await pastDeadline(id);
    expect((await accept(await claimOne(), 'R-2')).applied).to.equal(true);
    expect(await get(id)).to.include({ state: 'awaiting_response', correlationId: 'R-2', attemptCount: 2 });
    expect(await sentWith({ delivery_id: id })).to.deep.equal([
      { connector: 'fulfilment', correlation_id: 'R-1', delivery_id: id, responded_at: null },
      { connector: 'fulfilment', correlation_id: 'R-2', delivery_id: id, responded_at: null },
    ]);
    expect((await store.callbacks.findByCorrelation('fulfilment', 'R-1'))?.id).to.equal(id);
    expect((await store.callbacks.findByCorrelation('fulfilment', 'R-2'))?.id).to.equal(id);
    expect(await store.callbacks.findByCorrelation('other', 'R-1')).to.equal(undefined);

    // A completion whose lease was lost records no id: it was not this worker's request that counts.
    const lost = await seed.delivery({ connector: 'fulfilment', state: 'pending', orderKey: 'LEG:SO-2' });
    const claimed = await claimOne();
    expect(claimed.id).to.equal(lost);
    expect((await accept(claimed, 'R-9', 'someone-else')).applied).to.equal(false);
    expect(await sentWith({ delivery_id: lost })).to.deep.equal([]);

    // The first id's callback completes the delivery; the id that answered is marked.
    const seen: Array<[string | null, boolean]> = [];
    const first = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'R-1', now: seed.now, plan: completing(seen) }));
    expect(first.before).to.include({ id, correlationId: 'R-2' });
    expect(first.after).to.include({ state: 'delivered', respondedAt: seed.now, correlationId: 'R-2' });
    expect((await sentWith({ delivery_id: id })).map((r) => [r.correlation_id, r.responded_at])).to.deep.equal([
      ['R-1', seed.now],
      ['R-2', null],
    ]);
    // Afterwards: the second id finds the finished delivery, not answered by it; the first again is answered.
    const second = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'R-2', now: seed.now, plan: completing(seen) }));
    expect(second.after).to.deep.equal(first.after);
    recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'R-1', now: seed.now, plan: completing(seen) }));
    expect(seen).to.deep.equal([
      [id, false],
      [id, false],
      [id, true],
    ]);
    expect((await store.browse.attemptsOf([id])).map((a) => a.outcome)).to.deep.equal(['accepted', 'accepted', 'delivered']);
  });

  it('an id the target gives out again names the delivery sent with it last; a generated id is kept among the ids too', async () => {
    const first = await seed.delivery({ connector: 'fulfilment', state: 'pending', orderKey: 'LEG:SO-1' });
    await accept(await claimOne(), 'R-1');
    await pastDeadline(first);
    await accept(await claimOne(), 'R-2');
    const other = await seed.delivery({ connector: 'fulfilment', state: 'pending', orderKey: 'LEG:SO-2' });
    const claimed = await claimOne();
    expect(claimed.id).to.equal(other);
    await accept(claimed, 'R-1');
    expect((await store.callbacks.findByCorrelation('fulfilment', 'R-1'))?.id).to.equal(other);
    expect((await store.callbacks.findByCorrelation('fulfilment', 'R-2'))?.id).to.equal(first);
    expect((await sentWith({ correlation_id: 'R-1' })).map((r) => r.delivery_id)).to.deep.equal([other]);

    const generated = await seed.delivery({ connector: 'fulfilment', state: 'pending', orderKey: 'LEG:SO-3' });
    expect((await claimOne()).id).to.equal(generated);
    expect(await store.callbacks.keepCorrelationId(generated, OWNER, 'g-1', seed.now)).to.equal(true);
    expect(await sentWith({ delivery_id: generated })).to.deep.equal([{ connector: 'fulfilment', correlation_id: 'g-1', delivery_id: generated, responded_at: null }]);
    // Accepted with the id it was sent with: still one row.
    await accept(await get(generated), 'g-1');
    expect(await sentWith({ delivery_id: generated })).to.have.length(1);
  });

  it('finds a delivery by its latest id when that id has no row (written by a gateway older than migration 016), and records it as it completes', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', responseDueAt: seed.now + 1000 });
    await database.tables()('deliveries').where({ id }).update({ correlation_id: 'old-1' });
    const seen: Array<[string | null, boolean]> = [];
    const done = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'old-1', now: seed.now, plan: completing(seen) }));
    expect(done.after).to.include({ state: 'delivered', respondedAt: seed.now });
    expect(await sentWith({ delivery_id: id })).to.deep.equal([{ connector: 'fulfilment', correlation_id: 'old-1', delivery_id: id, responded_at: seed.now }]);
    recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'old-1', now: seed.now, plan: completing(seen) }));
    expect(seen).to.deep.equal([
      [id, false],
      [id, true],
    ]);
  });

  it('retention removes the correlation ids with their deliveries', async () => {
    const finished = await seed.delivery({ connector: 'fulfilment', state: 'delivered', correlationId: 'old' });
    const awaiting = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'new', orderKey: 'LEG:SO-2' });
    seed.tick(10_000);
    const removed = await store.retention.removeFinishedEvents(seed.now, 10);
    expect(removed).to.include({ events: 1, deliveries: 1 });
    expect(await store.deliveries.get(finished)).to.equal(undefined);
    expect((await sentWith({})).map((r) => [r.correlation_id, r.delivery_id])).to.deep.equal([['new', awaiting]]);
  });

  it('records an accepted attempt through the group commit: awaiting_response with its deadline and correlation id', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'pending' });
    const claimed = await claimOne();
    const { applied } = await store.deliveries.complete({
      delivery: claimed,
      owner: OWNER,
      now: seed.now + 10,
      transition: { state: 'awaiting_response', correlationId: 'R-1', responseDueAt: seed.now + 3_600_000 },
      attempt: {
        id: seed.newId(),
        number: 1,
        startedAt: seed.now,
        durationMs: 10,
        requestSummary: { method: 'POST' },
        responseStatus: 202,
        responseHeaders: null,
        responseSnippet: '{"requestId":"R-1"}',
        errorClass: null,
        errorMessage: null,
        outcome: 'accepted',
      },
      audit: { id: seed.newId(), at: seed.now + 10, direction: 'out', action: 'delivery.attempt', deliveryId: id, result: 'accepted' },
    });
    expect(applied).to.equal(true);
    expect(await get(id)).to.include({ state: 'awaiting_response', correlationId: 'R-1', responseDueAt: seed.now + 3_600_000, attemptCount: 1, attemptsInCycle: 1, leaseOwner: null });
    expect((await store.browse.attemptsOf([id])).map((a) => a.outcome)).to.deep.equal(['accepted']);
  });

  it('sweeps overdue deliveries of every connector, earliest deadline first; of two instances expiring one, one wins', async () => {
    const late = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'a', responseDueAt: seed.now - 10 });
    const later = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'b', responseDueAt: seed.now - 20 });
    await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'c', responseDueAt: seed.now + 10 });
    // Another connector's (one a reload made sync, or removed): its deadline still counts.
    const elsewhere = await seed.delivery({ connector: 'elsewhere', state: 'awaiting_response', correlationId: 'd', responseDueAt: seed.now - 5 });
    await seed.delivery({ connector: 'elsewhere', state: 'parked', correlationId: 'e', responseDueAt: seed.now - 30 });
    const overdue = await store.callbacks.overdue(seed.now);
    expect(overdue.map((d) => d.id)).to.deep.equal([later, late, elsewhere]);

    const other = open();
    try {
      const delivery = await get(late);
      const expire = (s: Store, n: number) =>
        s.callbacks.expire({
          delivery,
          now: seed.now,
          expiry: { event: 'expire', nextAttemptAt: seed.now + 5_000, error: 'no response' },
          audit: { id: seed.newId(), at: seed.now, direction: 'out', action: 'delivery.no_response', deliveryId: late, result: `retry-${n}` },
        });
      const results = await Promise.all([expire(store, 1), expire(other, 2)]);
      expect(results.filter((r) => r !== null)).to.have.length(1);
      expect(await get(late)).to.include({ state: 'retrying', nextAttemptAt: seed.now + 5_000, lastError: 'no response', responseDueAt: null, correlationId: 'a' });
      const audits = await everything((page) => store.browse.audit({ actions: ['delivery.no_response'] }, page));
      expect(audits).to.have.length(1);
    } finally {
      await other.close();
    }

    // Parking: the deadline decides nothing once it has been moved on by a re-send.
    const parked = await store.callbacks.expire({
      delivery: await get(later),
      now: seed.now,
      expiry: { event: 'expire_park', reason: 'no_response', error: 'gave up' },
      audit: { id: seed.newId(), at: seed.now, direction: 'out', action: 'delivery.no_response', deliveryId: later, result: 'parked' },
    });
    expect(parked).to.include({ state: 'parked', parkedReason: 'no_response', lastError: 'gave up' });
  });

  it('stores a callback with the completion of the delivery it names, in one transaction; a plan may write nothing', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'c-9', responseDueAt: seed.now + 1000, orderKey: 'LEG:SO-9' });
    const seen: Array<Delivery | null> = [];
    const plan = (write: boolean) => (match: Delivery | null): CallbackPlan => {
      seen.push(match);
      if (!write) return { write: false };
      return callbackPlan(match, { completes: match !== null, attemptNumber: 1, requestId: 'req-9', raw: '{"status":"COMPLETED"}', routes: ['crm'] });
    };
    const first = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-9', now: seed.now, plan: plan(true) }));
    expect(first.before?.id).to.equal(id);
    expect(first.after).to.include({ state: 'delivered', respondedAt: seed.now });
    const events = await everything((page) => store.browse.events({ sources: ['callback'] }, page));
    expect(events.map((e) => [e.orderKey, e.status])).to.deep.equal([['LEG:SO-9', 'routed']]);
    const routed = await store.browse.deliveriesOfEvents([events[0]?.id ?? '']);
    expect(routed.map((d) => [d.connector, d.state, d.orderKey])).to.deep.equal([['crm', 'pending', 'LEG:SO-9']]);

    const again = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-9', now: seed.now, plan: plan(false) }));
    expect(again.after).to.deep.equal(first.after);
    expect(seen[1]?.respondedAt).to.equal(seed.now);
    const none = await store.callbacks.record({ connector: 'fulfilment', correlationId: 'unknown', now: seed.now, plan: plan(true) });
    expect(none).to.include({ before: null, after: null });
    expect(await everything((page) => store.browse.events({ sources: ['callback'] }, page))).to.have.length(2);
  });

  it('claims a callback\'s nonce in its transaction: a nonce seen before writes nothing, an expired one may be used again', async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'c-n', responseDueAt: seed.now + 1000 });
    const audit = () => ({ id: seed.newId(), at: seed.now, direction: 'in' as const, action: 'callback.received', result: 'invalid' });
    const nonce = { key: 'digest-of-user-and-nonce', expiresAt: seed.now + 600_000 };
    const plans: Array<Delivery | null> = [];
    const plan = (match: Delivery | null): CallbackPlan => {
      plans.push(match);
      return { write: false };
    };
    // An unreadable callback claims it too: its token cannot be replayed with a readable body.
    expect(await store.callbacks.recordInvalid({ nonce, now: seed.now, audit: audit() })).to.equal('stored');
    const replayed = await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-n', now: seed.now, nonce, plan });
    expect(replayed).to.deep.equal({ refused: 'nonce_replayed' });
    expect(plans, 'the delivery is not even read').to.have.length(0);
    expect(await store.callbacks.recordInvalid({ nonce, now: seed.now, audit: audit() })).to.equal('nonce_replayed');
    const audits = await everything((page) => store.browse.audit({ actions: ['callback.received'] }, page));
    expect(audits, 'one audit record: the first').to.have.length(1);
    expect((await get(id)).state).to.equal('awaiting_response');

    const fresh = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-n', now: seed.now, nonce: { ...nonce, key: 'another' }, plan }));
    expect(fresh.before?.id).to.equal(id);
    // Past its expiry a nonce is a new one (its token's Created is refused by then anyway).
    const later = recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-n', now: nonce.expiresAt + 1, nonce, plan }));
    expect(later.before?.id).to.equal(id);
  });

  it("claims a signed callback's message id after its nonce: a message seen before writes nothing, valid or invalid", async () => {
    const id = await seed.delivery({ connector: 'fulfilment', state: 'awaiting_response', correlationId: 'c-m', responseDueAt: seed.now + 1000 });
    const audit = () => ({ id: seed.newId(), at: seed.now, direction: 'in' as const, action: 'callback.received', result: 'invalid' });
    const message = { key: 'digest-of-connector-and-webhook-id', expiresAt: seed.now + 600_000 };
    const plans: Array<Delivery | null> = [];
    const plan = (match: Delivery | null): CallbackPlan => {
      plans.push(match);
      return { write: false };
    };
    expect(recorded(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-m', now: seed.now, message, plan })).before?.id).to.equal(id);
    expect(await store.callbacks.record({ connector: 'fulfilment', correlationId: 'c-m', now: seed.now, message, plan })).to.deep.equal({ refused: 'message_seen' });
    expect(plans, 'the repeat does not even read the delivery').to.have.length(1);
    // An invalid one's repeat adds no second audit record.
    const invalid = { key: 'digest-of-another-message', expiresAt: seed.now + 600_000 };
    expect(await store.callbacks.recordInvalid({ nonce: null, message: invalid, now: seed.now, audit: audit() })).to.equal('stored');
    expect(await store.callbacks.recordInvalid({ nonce: null, message: invalid, now: seed.now, audit: audit() })).to.equal('message_seen');
    expect(await everything((page) => store.browse.audit({ actions: ['callback.received'] }, page))).to.have.length(1);
  });
});
