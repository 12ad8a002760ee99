import { expect } from 'chai';
import type { Knex } from 'knex';
import { Store } from '../../../src/store/index.ts';
import { createIdGenerator } from '../../../src/domain/ids.ts';
import { appliesFrom, type Delivery } from '../../../src/domain/delivery.ts';
import type { CompletionInput, Transition } from '../../../src/store/deliveries.ts';
import type { IngestItem } from '../../../src/store/rows/ingest.ts';
import * as initial from '../../../src/store/migrations/001_initial.ts';
import * as deliveryEngine from '../../../src/store/migrations/002_delivery_engine.ts';
import * as oauthTokens from '../../../src/store/migrations/003_oauth_tokens.ts';
import * as operations from '../../../src/store/migrations/004_operations.ts';
import * as adminReason from '../../../src/store/migrations/005_admin_reason.ts';
import * as claimIndex from '../../../src/store/migrations/006_claim_index.ts';
import * as pollers from '../../../src/store/migrations/007_pollers.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { Seeder } from '../../helpers/seed.ts';

const CONNECTOR = 'crm';
const ORDER = 'GPR:1';

/**
 * An order's place in its sequence comes from the database, not from the clock of the instance that
 * took the push: two stores on one database (two instances, each with its own pool), B's clock 50 ms
 * behind A's, pushes of one order alternating between them, each acknowledged before the next.
 */
describe(`store sequence: an order's deliveries in the order the database received them (${backendName()})`, () => {
  let database: TestDatabase;
  let a: Store;
  let b: Store;
  let now: number;
  let idsA: () => string;
  let idsB: () => string;

  const open = (): Store => new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });

  beforeEach(async () => {
    now = Date.UTC(2026, 10, 23, 12, 0, 0);
    idsA = createIdGenerator(() => now);
    idsB = createIdGenerator(() => now - 50);
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

  /** One push of one event of ORDER, routed to CONNECTOR, as the instance with this id generator builds it. */
  function push(ids: () => string, n: number, at: number): IngestItem {
    return {
      push: null,
      receivedAt: at,
      nonce: null,
      requestId: `r${n}`,
      events: [
        {
          id: ids(),
          source: 'oracle-om',
          eventCode: 'FlineStatusUpdate',
          orderKey: ORDER,
          sourceSystem: 'GPR',
          connectorScope: null,
          position: 0,
          payload: JSON.stringify({ n }),
          raw: null,
          contentHash: `h${n}`,
          dedupeScope: 'oracle-om:/soap/business-events',
          dedupeSince: at - 60_000,
          deliveries: [{ id: ids(), connector: CONNECTOR, triggerPoint: 'all', orderKey: ORDER, idempotencyKey: null }],
        },
      ],
    };
  }

  /** Pushes `count` events of ORDER to A, B, A, B, ..., each stored before the next is sent; their event ids in push order. */
  async function pushAlternating(count: number): Promise<string[]> {
    const pushed: string[] = [];
    for (let n = 0; n < count; n++) {
      const onB = n % 2 === 1;
      const item = push(onB ? idsB : idsA, n, onB ? now - 50 : now);
      const outcome = await (onB ? b : a).ingest.submit(item);
      expect(outcome.accepted).to.equal(true);
      pushed.push(item.events[0]?.id ?? '');
      now += 10;
    }
    return pushed;
  }

  const claim = async (store: Store, owner: string): Promise<Delivery[]> =>
    (await store.deliveries.claimWithEvents({ connector: CONNECTOR, strictOrdering: true, limit: 10, owner, now: now + 1000, leaseUntil: now + 61_000 }))
      .deliveries;

  function completion(delivery: Delivery, owner: string, transition: Transition): CompletionInput {
    return {
      delivery,
      owner,
      now,
      transition,
      attempt: {
        id: idsA(),
        number: delivery.attemptCount + 1,
        startedAt: now,
        durationMs: 3,
        requestSummary: { method: 'POST', url: 'http://target/x' },
        responseStatus: transition.state === 'delivered' ? 200 : 503,
        responseHeaders: null,
        responseSnippet: null,
        errorClass: transition.state === 'delivered' ? null : 'http',
        errorMessage: transition.state === 'delivered' ? null : 'HTTP 503',
        outcome: transition.state === 'delivered' ? 'delivered' : transition.state === 'retrying' ? 'retry' : 'parked',
      },
      audit: { id: idsA(), at: now, direction: 'out', action: 'delivery.attempt', connector: delivery.connector, eventId: delivery.eventId, deliveryId: delivery.id, result: transition.state },
    };
  }

  /** Claims under strict ordering (A and B in turn) and delivers until nothing is left; the event ids in delivery order. */
  async function deliverAll(): Promise<string[]> {
    const delivered: string[] = [];
    for (let turn = 0; turn < 100; turn++) {
      const [store, owner] = turn % 2 === 0 ? [a, 'instance-a'] : [b, 'instance-b'];
      const claimed = await claim(store, owner);
      if (claimed.length === 0) return delivered;
      // Strict ordering: only the first unfinished delivery of the order can be in flight.
      expect(claimed).to.have.length(1);
      const [d] = claimed as [Delivery];
      expect((await store.deliveries.complete(completion(d, owner, { state: 'delivered' }))).applied).to.equal(true);
      delivered.push(d.eventId);
    }
    throw new Error('deliveries still claimable after 100 claims');
  }

  it('delivers events pushed alternately to an instance and to one whose clock is 50 ms behind in the order they were pushed', async () => {
    const pushed = await pushAlternating(8);
    // B's ids sort before A's earlier ones: the instances' clocks disagree with the push order.
    expect([...pushed].sort()).not.to.deep.equal(pushed);
    expect(await deliverAll()).to.deep.equal(pushed);
  });

  it('keeps a delivery in its place when it is parked and replayed: the later ones wait behind it', async () => {
    const pushed = await pushAlternating(4);
    const [head] = await claim(b, 'instance-b');
    expect(head?.eventId).to.equal(pushed[0]);
    await b.deliveries.complete(completion(head as Delivery, 'instance-b', { state: 'parked', reason: 'attempts_exhausted', error: 'HTTP 503' }));
    expect(await claim(a, 'instance-a')).to.deep.equal([]);

    const replayed = await a.deliveryActions.applyBatch({
      action: 'replay',
      criteria: { ids: [(head as Delivery).id] },
      states: appliesFrom('replay'),
      afterId: null,
      limit: 10,
      now,
      reason: null,
      audit: (d) => ({ id: idsA(), at: now, direction: 'admin', action: 'delivery.replay', connector: d.connector, deliveryId: d.id, result: 'pending' }),
    });
    expect(replayed.changed.map((d) => d.id)).to.deep.equal([(head as Delivery).id]);
    expect(await deliverAll()).to.deep.equal(pushed);
  });
});

/** The migrations before the store sequence, to build a database as an older gateway left it. */
const BEFORE_SEQUENCE: Array<[string, { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }]> = [
  ['001_initial', initial],
  ['002_delivery_engine', deliveryEngine],
  ['003_oauth_tokens', oauthTokens],
  ['004_operations', operations],
  ['005_admin_reason', adminReason],
  ['006_claim_index', claimIndex],
  ['007_pollers', pollers],
];

describe(`store sequence: migration of an existing database (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    database = createTestDatabase();
    if (database.schema) await database.tables().raw('create schema if not exists ??', [database.schema]);
    await database.tables().migrate.latest({
      migrationSource: {
        getMigrations: async () => BEFORE_SEQUENCE.map(([name]) => name),
        getMigrationName: (name: string) => name,
        getMigration: async (name: string) => (BEFORE_SEQUENCE.find(([n]) => n === name) as [string, typeof initial])[1],
      },
      tableName: 'omgw_migrations',
      schemaName: database.schema,
    });
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
  });
  afterEach(async () => {
    await store.close();
    await database.dispose();
  });

  it('numbers the deliveries stored before it in id order, and a later push after them', async () => {
    // Rows written out of id order (a later instance's clock first), so that neither the
    // table's physical order nor its rowids give the id order.
    const later = new Seeder(database.tables(), Date.UTC(2026, 10, 23, 12, 0, 10));
    const earlier = new Seeder(database.tables(), Date.UTC(2026, 10, 23, 12, 0, 0));
    const ids: string[] = [];
    for (const seed of [later, earlier, later, earlier]) {
      ids.push(await seed.delivery({ connector: CONNECTOR, state: 'pending', orderKey: ORDER }));
      seed.tick(1);
    }
    await store.migrate();

    const numbered = (await database.tables()('deliveries').select('id', 'seq').orderBy('seq')) as Array<{ id: string; seq: number | string }>;
    expect(numbered.map((r) => r.id)).to.deep.equal([...ids].sort());
    expect(new Set(numbered.map((r) => Number(r.seq))).size).to.equal(ids.length);

    // The first delivery claimed is the oldest by id; then a new push of the order comes after all of them.
    const t = Date.UTC(2026, 10, 23, 12, 0, 0);
    const newIds = createIdGenerator(() => t - 60_000);
    const item: IngestItem = {
      push: null,
      receivedAt: t,
      nonce: null,
      requestId: 'r',
      events: [
        {
          id: newIds(),
          source: 'oracle-om',
          eventCode: 'HOLD',
          orderKey: ORDER,
          sourceSystem: 'GPR',
          connectorScope: null,
          position: 0,
          payload: '{}',
          raw: null,
          contentHash: 'new',
          dedupeScope: 'oracle-om:/soap/business-events',
          dedupeSince: t - 60_000,
          deliveries: [{ id: newIds(), connector: CONNECTOR, triggerPoint: 'all', orderKey: ORDER, idempotencyKey: null }],
        },
      ],
    };
    expect((await store.ingest.submit(item)).accepted).to.equal(true);
    const after = (await database.tables()('deliveries').select('id').orderBy('seq')) as Array<{ id: string }>;
    expect(after.map((r) => r.id)).to.deep.equal([...[...ids].sort(), item.events[0]?.deliveries[0]?.id]);
  });
});
