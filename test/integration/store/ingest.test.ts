import { expect } from 'chai';
import type { Store } from '../../../src/store/index.ts';
import type { IngestEvent, IngestItem, IngestOutcome } from '../../../src/store/rows/ingest.ts';
import { backendName, type TestDatabase } from '../../helpers/backend.ts';
import type { Seeder } from '../../helpers/seed.ts';
import { closeSeededStore, openSeededStore } from '../../helpers/store.ts';

/**
 * The ingest writer's decisions, batch by batch: nonces refused the second time until they expire,
 * dedupe keys within their window (in one batch and across batches), and exactly what was sent stored.
 * Items submitted together go into one group-committed batch.
 */
describe(`ingest writer: nonces, dedupe and stored values (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;

  beforeEach(async () => {
    ({ database, store, seed } = await openSeededStore());
  });
  afterEach(async () => closeSeededStore(database, store));

  const WINDOW = 60_000;

  function event(hash: string, at: number, overrides: Partial<IngestEvent> = {}): IngestEvent {
    return {
      id: seed.newId(),
      source: 'oracle-om',
      eventCode: 'FlineStatusUpdate',
      orderKey: 'GPR:1',
      sourceSystem: 'GPR',
      connectorScope: null,
      position: 0,
      payload: '{"EventCode":"FlineStatusUpdate"}',
      raw: null,
      contentHash: hash,
      dedupeScope: 'oracle-om:/soap/business-events',
      dedupeSince: at - WINDOW,
      deliveries: [{ id: seed.newId(), connector: 'crm', triggerPoint: 'all', orderKey: 'GPR:1', idempotencyKey: null }],
      ...overrides,
    };
  }

  function item(at: number, events: IngestEvent[], nonce: string | null = null, raw = '<Envelope/>'): IngestItem {
    return {
      push: {
        id: seed.newId(),
        receivedAt: at,
        path: '/soap/business-events',
        connectorScope: null,
        soapVersion: '1.1',
        contentType: 'text/xml',
        headers: { 'content-type': 'text/xml' },
        raw,
        rawSize: raw.length,
        authMethod: 'ws-security',
        authUser: 'om',
        remoteAddr: '127.0.0.1',
        requestId: 'r1',
      },
      nonce: nonce === null ? null : { key: nonce, expiresAt: at + WINDOW },
      events,
      requestId: 'r1',
    };
  }

  const statuses = (outcome: IngestOutcome): string[] => (outcome.accepted ? outcome.events.map((e) => e.status) : ['refused']);

  it('refuses a nonce used earlier in the same batch or in an earlier one, and takes it again once expired', async () => {
    const t = seed.now;
    const together = await Promise.all([
      store.ingest.submit(item(t, [event('h1', t)], 'n1')),
      store.ingest.submit(item(t, [event('h2', t)], 'n1')),
      store.ingest.submit(item(t, [event('h3', t)], 'n2')),
    ]);
    expect(together.map(statuses)).to.deep.equal([['routed'], ['refused'], ['routed']]);
    expect(together[1]).to.deep.equal({ accepted: false, reason: 'nonce_replayed' });

    const later = await store.ingest.submit(item(t + 1_000, [event('h4', t + 1_000)], 'n2'));
    expect(statuses(later)).to.deep.equal(['refused']);
    const expired = await store.ingest.submit(item(t + WINDOW + 1, [event('h5', t + WINDOW + 1)], 'n2'));
    expect(statuses(expired)).to.deep.equal(['routed']);

    // A refused item stores nothing: not its push, its event or its dedupe key.
    const knex = database.tables();
    expect(Number((await knex('pushes').count({ n: '*' }))[0]?.n)).to.equal(3);
    expect(await knex('events').where({ content_hash: 'h2' }).select('id')).to.deep.equal([]);
    expect(await knex('dedupe_keys').where({ hash: 'h2' }).select('hash')).to.deep.equal([]);
    expect(Number((await knex('ws_nonces').where({ nonce_key: 'n2' }).first('expires_at'))?.expires_at)).to.equal(t + WINDOW + 1 + WINDOW);
  });

  it('records an event whose content was seen within the window as a duplicate of the first, in one batch or across batches', async () => {
    const t = seed.now;
    const first = event('same', t);
    const inBatch = event('same', t);
    const [a, b] = await Promise.all([store.ingest.submit(item(t, [first])), store.ingest.submit(item(t, [inBatch, event('other', t)]))]);
    expect(statuses(a as IngestOutcome)).to.deep.equal(['routed']);
    expect(statuses(b as IngestOutcome)).to.deep.equal(['duplicate', 'routed']);
    expect((b as IngestOutcome & { accepted: true }).events[0]?.duplicateOf).to.equal(first.id);

    const across = event('same', t + 5_000);
    const c = await store.ingest.submit(item(t + 5_000, [across]));
    expect(c).to.deep.include({ accepted: true });
    expect((c as IngestOutcome & { accepted: true }).events[0]).to.include({ status: 'duplicate', duplicateOf: first.id, deliveries: 0 });

    // Past the window the content is new again, and the key now belongs to the new event.
    const fresh = event('same', t + WINDOW + 10);
    const d = await store.ingest.submit(item(t + WINDOW + 10, [fresh]));
    expect(statuses(d)).to.deep.equal(['routed']);
    const key = await database.tables()('dedupe_keys').where({ hash: 'same' }).first('event_id', 'seen_at');
    expect(key).to.deep.equal({ event_id: fresh.id, seen_at: t + WINDOW + 10 });

    const knex = database.tables();
    const deliveries = await knex('deliveries').whereIn('event_id', [first.id, inBatch.id, across.id, fresh.id]).select('event_id');
    expect(deliveries.map((r: { event_id: string }) => r.event_id).sort()).to.deep.equal([first.id, fresh.id].sort());
    const duplicates = await knex('events').where({ status: 'duplicate' }).orderBy('id').select('id', 'duplicate_of');
    expect(duplicates).to.deep.equal([
      { id: inBatch.id, duplicate_of: first.id },
      { id: across.id, duplicate_of: first.id },
    ]);
    const audit = await knex('audit_records').where({ event_id: across.id }).first('result', 'detail');
    expect(audit?.result).to.equal('duplicate');
    expect(JSON.parse(String(audit?.detail))).to.include({ duplicateOf: first.id });
  });

  it('keeps dedupe scopes apart', async () => {
    const t = seed.now;
    const [a, b] = await Promise.all([
      store.ingest.submit(item(t, [event('h', t)])),
      store.ingest.submit(item(t, [event('h', t, { dedupeScope: 'oracle-om:/soap/business-events/crm' })])),
    ]);
    expect([statuses(a as IngestOutcome), statuses(b as IngestOutcome)]).to.deep.equal([['routed'], ['routed']]);
  });

  it('stores text exactly as given: quotes, backslashes, NUL (SQLite), non-ASCII and long values', async () => {
    const t = seed.now;
    // PostgreSQL text cannot hold NUL at all (the SOAP parser refuses it before anything is stored).
    const nul = database.kind === 'sqlite' ? '\u0000' : '';
    const awkward = `it's "quoted" \\ back${nul}slash ; DROP TABLE events; -- ü € 𝄞 ${'x'.repeat(100_000)}`;
    const ev = event('awkward', t, { payload: JSON.stringify({ text: awkward }), orderKey: "O'Brien:1", raw: awkward });
    const outcome = await store.ingest.submit(item(t, [ev], null, awkward));
    expect(statuses(outcome)).to.deep.equal(['routed']);
    const row = await database.tables()('events').where({ id: ev.id }).first('payload', 'order_key', 'raw');
    expect(row).to.deep.equal({ payload: JSON.stringify({ text: awkward }), order_key: "O'Brien:1", raw: awkward });
    const push = await database.tables()('pushes').first('raw', 'headers');
    expect(push?.raw).to.equal(awkward);
    expect(JSON.parse(String(push?.headers))).to.deep.equal({ 'content-type': 'text/xml' });
  });

  it('stores small and large envelopes of one batch exactly, each with its events (a large one is bound, not written into the SQL)', async () => {
    const t = seed.now;
    const nul = database.kind === 'sqlite' ? '\u0000' : '';
    const small = `<a b='1'>it's${nul} small</a>`;
    const large = `<a b="it's">${nul}${'€'.repeat(70_000)}</a>`;
    const items = [item(t, [event('s1', t)], null, small), item(t, [event('l1', t)], null, large), item(t, [event('s2', t)], null, small)];
    // Submitted together, so that they are written in one batch.
    const outcomes = await Promise.all(items.map((i) => store.ingest.submit(i)));
    expect(outcomes.map(statuses)).to.deep.equal([['routed'], ['routed'], ['routed']]);
    for (const i of items) {
      const push = await database.tables()('pushes').where({ id: i.push?.id }).first('raw', 'raw_size');
      expect(push).to.deep.equal({ raw: i.push?.raw, raw_size: i.push?.rawSize });
      const ev = await database.tables()('events').where({ id: i.events[0]?.id }).first('push_id');
      expect(ev?.push_id).to.equal(i.push?.id);
    }
  });

  it('stores a batch larger than one statement takes (several hundred events in one push)', async () => {
    const t = seed.now;
    const events = Array.from({ length: 450 }, (_, i) => event(`h${i}`, t, { position: i }));
    events.push(event('h7', t, { position: 450 })); // the same content as an earlier event of the push
    const outcome = await store.ingest.submit(item(t, events));
    expect(outcome.accepted).to.equal(true);
    const all = statuses(outcome);
    expect(all.filter((s) => s === 'routed')).to.have.length(450);
    expect(all[450]).to.equal('duplicate');
    expect(Number((await database.tables()('deliveries').count({ n: '*' }))[0]?.n)).to.equal(450);
    expect(Number((await database.tables()('events').count({ n: '*' }))[0]?.n)).to.equal(451);
  });
});
