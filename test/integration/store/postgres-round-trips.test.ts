import { expect } from 'chai';
import type { Backend } from '../../../src/store/backend.ts';
import { openBackend } from '../../../src/store/database.ts';
import { DeliveryRepository } from '../../../src/store/deliveries.ts';
import { Store } from '../../../src/store/index.ts';
import type { IngestEvent, IngestItem, IngestOutcome } from '../../../src/store/rows/ingest.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { Seeder } from '../../helpers/seed.ts';

/**
 * What the hot path costs PostgreSQL, counted in statements sent (each one round trip): an ingest
 * batch whose nonces and dedupe keys are all new is one statement whatever its size, else BEGIN, its
 * claims, its rows and COMMIT; a claim and a group of completions are one statement each. And the
 * rare path of a batch whose nonce the database refuses.
 */
describe('PostgreSQL: statements per ingest batch, claim and completion group', () => {
  let database: TestDatabase;
  let backend: Backend;
  let store: Store;
  let seed: Seeder;
  let sent: string[];

  before(function () {
    if (backendName() !== 'postgres') this.skip();
  });
  beforeEach(async () => {
    database = createTestDatabase();
    const options = { url: database.url, ...(database.schema ? { schema: database.schema } : {}) };
    store = new Store(options);
    await store.migrate();
    backend = openBackend(options);
    sent = [];
    backend.knex.on('query', (q: { sql: string }) => sent.push(q.sql));
    seed = new Seeder(database.tables());
  });
  afterEach(async () => {
    await backend?.close();
    await store?.close();
    await database?.dispose();
  });

  function event(hash: string, connector = 'crm'): IngestEvent {
    return {
      id: seed.newId(),
      source: 'oracle-om',
      eventCode: 'FlineStatusUpdate',
      orderKey: `GPR:${hash}`,
      sourceSystem: 'GPR',
      connectorScope: null,
      position: 0,
      payload: `{"hash":"${hash}"}`,
      raw: null,
      contentHash: hash,
      dedupeScope: 'oracle-om:/soap/business-events',
      dedupeSince: seed.now - 60_000,
      deliveries: [{ id: seed.newId(), connector, triggerPoint: 'all', orderKey: `GPR:${hash}`, idempotencyKey: null }],
    };
  }

  function item(events: IngestEvent[], nonce: string): IngestItem {
    return {
      push: {
        id: seed.newId(),
        receivedAt: seed.now,
        path: '/soap/business-events',
        connectorScope: null,
        soapVersion: '1.1',
        contentType: 'text/xml',
        headers: { 'content-type': 'text/xml' },
        raw: '<Envelope/>',
        rawSize: 11,
        authMethod: 'ws-security',
        authUser: 'om',
        remoteAddr: '127.0.0.1',
        requestId: 'r1',
      },
      nonce: { key: nonce, expiresAt: seed.now + 60_000 },
      events,
      requestId: 'r1',
    };
  }

  const statuses = (outcomes: IngestOutcome[]): string[][] => outcomes.map((o) => (o.accepted ? o.events.map((e) => e.status) : ['refused']));

  it('stores a batch of many new pushes in one statement, one with a duplicate in BEGIN, two statements and COMMIT, and claims and completes in one statement each', async () => {
    const items = Array.from({ length: 40 }, (_, i) => item([event(`h${i}`, i % 2 === 0 ? 'crm' : 'erp'), event(`g${i}`)], `n${i}`));
    const outcomes = await backend.ingest(items);
    expect(statuses(outcomes).flat()).to.deep.equal(Array<string>(80).fill('routed'));
    expect(sent).to.have.length(1);

    // A duplicate: the one statement fails and undoes itself; the batch is written in a transaction.
    sent = [];
    const again = await backend.ingest([item([event('h0')], 'n-again'), item([event('new')], 'n-new')]);
    expect(statuses(again)).to.deep.equal([['duplicate'], ['routed']]);
    expect(sent.slice(1).map((s) => s.trim().split(/[\s;]/)[0]?.toLowerCase())).to.deep.equal(['begin', 'with', 'select', 'with', 'commit']);

    sent = [];
    const deliveries = new DeliveryRepository(backend);
    const claimed = await deliveries.claimWithEvents({ connector: 'crm', strictOrdering: true, limit: 64, owner: 'w1', now: seed.now, leaseUntil: seed.now + 60_000 });
    expect(claimed.deliveries).to.have.length(61);
    // In the order of the rows (seq), as the batches gave them.
    const crm = items.flatMap((i) => i.events.flatMap((e) => e.deliveries.filter((d) => d.connector === 'crm').map((d) => d.id)));
    expect(claimed.deliveries.map((d) => d.id).slice(0, 60)).to.deep.equal(crm);
    expect(claimed.deliveries.every((d) => claimed.events.get(d.eventId)?.id === d.eventId)).to.equal(true);
    expect(sent).to.have.length(1);

    sent = [];
    const [first, second] = claimed.deliveries;
    if (!first || !second) throw new Error('claimed nothing');
    const results = await backend.complete(
      [first, second].map((delivery) => ({
        delivery,
        owner: 'w1',
        now: seed.now,
        transition: { state: 'delivered' as const },
        attempt: {
          id: seed.newId(),
          number: 1,
          startedAt: seed.now,
          durationMs: 2,
          requestSummary: {},
          responseStatus: 200,
          responseHeaders: null,
          responseSnippet: null,
          errorClass: null,
          errorMessage: null,
          outcome: 'delivered' as const,
        },
        audit: { id: seed.newId(), at: seed.now, direction: 'out' as const, action: 'delivery.attempt', deliveryId: delivery.id, result: 'delivered' },
      })),
    );
    expect(results).to.deep.equal([true, true]);
    expect(sent).to.have.length(1);
  });

  it('gives the dedupe key of an item the database refuses for its nonce to the next event of the batch with that content', async () => {
    await backend.ingest([item([event('first')], 'used')]);
    const refusedEvent = event('same');
    const liveEvent = event('same');
    const outcomes = await backend.ingest([item([refusedEvent], 'used'), item([liveEvent, event('other')], 'fresh')]);
    expect(statuses(outcomes)).to.deep.equal([['refused'], ['routed', 'routed']]);

    // The live event holds the key: a later event with that content is its duplicate.
    const later = await backend.ingest([item([event('same')], 'later')]);
    expect(later[0]?.accepted && later[0].events[0]).to.include({ status: 'duplicate', duplicateOf: liveEvent.id });
  });
});
