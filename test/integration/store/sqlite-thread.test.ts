import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Backend } from '../../../src/store/backend.ts';
import { openBackend } from '../../../src/store/database.ts';
import { migrateLatest } from '../../../src/store/migrations/index.ts';
import type { IngestItem } from '../../../src/store/rows/ingest.ts';
import { batchConnection } from '../../../src/store/sqlite/connection.ts';
import { sqlitePassOnly } from '../../helpers/backend.ts';

/**
 * The SQLite connection lives on a thread of its own (src/store/sqlite/). What knex and the store
 * rely on must survive the thread boundary: error codes, lastID/changes, BLOBs as Buffers, one
 * statement at a time in order, and a closed connection replaced by the pool.
 */
describe('SQLite connection thread', function () {
  before(function () {
    sqlitePassOnly(this, 'it opens SQLite files of its own');
  });

  let dir: string;
  let db: Backend;
  let knex: Knex;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omgw-thread-'));
    db = openBackend({ url: `sqlite:${join(dir, 'x.db')}` });
    knex = db.knex;
    await knex.schema.createTable('t', (t) => {
      t.increments('id');
      t.string('name').unique();
      t.binary('data');
    });
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the pragmas of every connection (WAL, synchronous FULL, foreign keys, busy timeout)', async () => {
    const [mode] = (await knex.raw('pragma journal_mode')) as Array<{ journal_mode: string }>;
    const [sync] = (await knex.raw('pragma synchronous')) as Array<{ synchronous: number }>;
    const [fk] = (await knex.raw('pragma foreign_keys')) as Array<{ foreign_keys: number }>;
    const [busy] = (await knex.raw('pragma busy_timeout')) as Array<{ timeout: number }>;
    expect([mode?.journal_mode, sync?.synchronous, fk?.foreign_keys, busy?.timeout]).to.deep.equal(['wal', 2, 1, 5000]);
  });

  it('gives knex lastID and changes, and BLOBs back as Buffers', async () => {
    const [id] = await knex('t').insert({ name: 'a', data: Buffer.from([0, 1, 2, 255]) });
    expect(id).to.equal(1);
    await knex('t').insert({ name: 'b', data: null });
    expect(await knex('t').update({ data: Buffer.from('xy') })).to.equal(2);
    const row = (await knex('t').where({ name: 'a' }).first()) as { data: Buffer };
    expect(Buffer.isBuffer(row.data)).to.equal(true);
    expect([...row.data]).to.deep.equal([120, 121]);
    expect(await knex('t').where({ name: 'zzz' }).del()).to.equal(0);
  });

  it('keeps the code of an SQLite error, and a failed transaction leaves nothing behind', async () => {
    await knex('t').insert({ name: 'a' });
    const err = await knex('t')
      .insert({ name: 'a' })
      .then(() => null, (e: unknown) => e as { code?: string; message: string });
    expect(err?.code).to.equal('SQLITE_CONSTRAINT');
    expect(err?.message).to.match(/UNIQUE constraint failed: t\.name/);
    const failed = await knex
      .transaction(async (trx) => {
        await trx('t').insert({ name: 'b' });
        await trx('t').insert({ name: 'a' });
      })
      .then(() => null, (e: unknown) => e as { code?: string });
    expect(failed?.code).to.equal('SQLITE_CONSTRAINT');
    expect(await knex('t').pluck('name')).to.deep.equal(['a']);
  });

  it('begins a transaction with the write lock, so one that reads and then writes is not undone by another connection writing in between', async () => {
    const other = openBackend({ url: `sqlite:${join(dir, 'x.db')}` });
    try {
      // The other connection gives up at once instead of waiting for the lock.
      await other.knex.raw('PRAGMA busy_timeout = 0');
      const trx = await knex.transaction();
      expect(await trx('t').pluck('name')).to.deep.equal([]);
      const refused = await other
        .knex('t')
        .insert({ name: 'other' })
        .then(() => null, (e: unknown) => e as { code?: string });
      expect(refused?.code).to.equal('SQLITE_BUSY');
      await trx('t').insert({ name: 'mine' });
      await trx.commit();
      await other.knex('t').insert({ name: 'other' });
      expect(await knex('t').orderBy('id').pluck('name')).to.deep.equal(['mine', 'other']);
    } finally {
      await other.close();
    }
  });

  it('keeps an ingest batch (sent without the pool) out of a transaction knex has open, and runs it once that ends', async () => {
    await migrate(db);
    const conn = await batchConnection(knex);
    let stored = false;
    let batch: Promise<Array<{ accepted: boolean }>> = Promise.resolve([]);
    await knex
      .transaction(async (trx) => {
        await trx('t').insert({ name: 'inside' });
        batch = conn.ingest([ingestItem()]).then((outcomes) => {
          stored = true;
          return outcomes;
        });
        // The batch waits on the thread while this transaction is open, whatever it does meanwhile.
        await trx('t').insert({ name: 'inside 2' });
        expect(await trx('pushes').count({ n: '*' })).to.deep.equal([{ n: 0 }]);
        expect(stored).to.equal(false);
        throw new Error('roll back');
      })
      .catch((err: Error) => expect(err.message).to.equal('roll back'));
    const outcomes = await batch;
    expect(outcomes.map((o) => o.accepted)).to.deep.equal([true]);
    // The rolled-back transaction took nothing of the batch with it.
    expect(await knex('t').pluck('name')).to.deep.equal([]);
    expect(await knex('pushes').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
    expect(await knex('events').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
  });

  it('runs statements one at a time in the order they were issued', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    await Promise.all(names.map((name) => knex('t').insert({ name })));
    expect(await knex('t').orderBy('id').pluck('name')).to.deep.equal(names);
  });

  it('replaces a connection whose thread has stopped', async () => {
    const threaded = await batchConnection(knex);
    await new Promise<void>((resolve, reject) => threaded.close((err) => (err ? reject(err) : resolve())));
    expect(threaded.alive).to.equal(false);
    await knex('t').insert({ name: 'after' });
    expect(await knex('t').pluck('name')).to.deep.equal(['after']);
  });

  it('copies the WAL into the database file from a second connection on its thread, not in the writers\' commits', async () => {
    const file = join(dir, 'x.db');
    const before = statSync(file).size;
    // 6 MB in 1,500 pages: under the gateway connection's own automatic checkpoint (10,000 pages),
    // so only the checkpointer can have put them into the database file.
    const chunk = 'x'.repeat(4000);
    for (let i = 0; i < 30; i++) await knex('t').insert(Array.from({ length: 50 }, (_, j) => ({ name: `r${i}-${j}`, data: Buffer.from(chunk) })));
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 5_000_000) {
      if (Date.now() > deadline) throw new Error(`the database file stayed at ${statSync(file).size} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await knex('t').count({ n: '*' }).first()).to.deep.equal({ n: 1500 });
  });
});

async function migrate(db: Backend): Promise<void> {
  await migrateLatest(db.knex, { dialect: db.dialect, describe: db.describe });
}

function ingestItem(): IngestItem {
  const at = Date.UTC(2026, 11, 1);
  return {
    push: {
      id: '01JDPUSH000000000000000001',
      receivedAt: at,
      path: '/soap/business-events',
      connectorScope: null,
      soapVersion: '1.1',
      contentType: 'text/xml',
      headers: {},
      raw: '<Envelope/>',
      rawSize: 11,
      authMethod: null,
      authUser: null,
      remoteAddr: null,
      requestId: null,
    },
    nonce: null,
    events: [
      {
        id: '01JDEVENT00000000000000001',
        source: 'oracle-om',
        eventCode: 'HOLD',
        orderKey: 'GPR:1',
        sourceSystem: 'GPR',
        connectorScope: null,
        position: 0,
        payload: '{}',
        raw: null,
        contentHash: 'h',
        dedupeScope: 'oracle-om:/soap/business-events',
        dedupeSince: at - 60_000,
        deliveries: [],
      },
    ],
    requestId: null,
  };
}
