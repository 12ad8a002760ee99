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
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-1')).to.equal(false); // not claimed
    await claimOne();
    expect(await store.callbacks.keepCorrelationId(id, 'someone-else', 'c-1')).to.equal(false);
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-1')).to.equal(true);
    expect(await store.callbacks.keepCorrelationId(id, OWNER, 'c-2')).to.equal(false); // kept: never replaced
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
      const eventId = seed.newId();
      return {
        write: true,
        receivedAt: seed.now,
        requestId: 'req-9',
        event: {
          id: eventId,
          source: 'callback',
          eventCode: 'CallbackReceived',
          orderKey: match?.orderKey ?? null,
          sourceSystem: 'fulfilment',
          connectorScope: null,
          position: 0,
          payload: '{}',
          raw: '{"status":"COMPLETED"}',
          contentHash: eventId,
          dedupeScope: 'callback:fulfilment',
          dedupeSince: seed.now,
          deliveries: [{ id: seed.newId(), connector: 'crm', triggerPoint: 'results', orderKey: match?.orderKey ?? null, idempotencyKey: null }],
        },
        audit: { id: seed.newId(), at: seed.now, direction: 'in', action: 'callback.received', eventId, result: 'completed' },
        completion: match
          ? {
              event: 'respond',
              error: null,
              attempt: { id: seed.newId(), number: 1, startedAt: seed.now, durationMs: 0, requestSummary: { callback: {} }, responseStatus: null, responseHeaders: null, responseSnippet: '{}', errorClass: null, errorMessage: null, outcome: 'delivered' },
            }
          : null,
      };
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
