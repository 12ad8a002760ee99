import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import { GatewayError } from '../../../src/domain/errors.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { testEnv, writeConfig } from '../../helpers/gateway.ts';
import { until } from '../../helpers/until.ts';

/**
 * Migrations when several instances start at once on one database (and `omgw migrate` beside them):
 * each migration runs once, under a lock the others wait for; a migration killed while it holds the
 * lock never blocks a later start; a lock row an earlier version left behind is cleared; a database
 * a newer gateway has migrated is refused.
 */
const BIN = fileURLToPath(new URL('../../../bin/omgw.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

/** Runs the built CLI (bin/omgw.js on dist/: npx tsc -p tsconfig.build.json) to its end. */
function omgw(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: build with npx tsc -p tsconfig.build.json`);
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString('utf8')));
  return new Promise((done) => child.once('close', (code) => done({ code, out, err })));
}

describe(`migrations under concurrent starts (${backendName()})`, () => {
  const postgres = backendName() === 'postgres';
  const open = (db: { url: string; schema: string | undefined }): Store => new Store({ url: db.url, poolMax: 2, ...(db.schema ? { schema: db.schema } : {}) });

  /** Every migration this gateway knows, in order: what a first start on a fresh database applies. */
  let all: string[];
  before(async () => {
    const db = createTestDatabase();
    const store = open(db);
    try {
      all = (await store.migrate()).applied;
    } finally {
      await store.close();
      await db.dispose();
    }
    expect(all.length).to.be.greaterThan(0);
  });

  describe('three instances started at the same moment on a fresh database', function () {
    // Each SQLite store starts a thread of its own, which costs far more than a PostgreSQL schema.
    const TRIALS = postgres ? 50 : 6;
    const AT_ONCE = postgres ? 5 : 2;
    this.timeout(postgres ? 60_000 : 90_000);

    /** On PostgreSQL the trials' schemas, dropped together at the end; on SQLite their files. */
    const schemas: string[] = [];
    const files: TestDatabase[] = [];
    after(async () => {
      for (const db of files.splice(0)) await db.dispose();
      if (schemas.length === 0) return;
      const admin = knexFactory({ client: 'pg', connection: process.env.OMGW_TEST_DATABASE_URL });
      try {
        // A few at a time: each object dropped takes a lock slot until the transaction ends.
        while (schemas.length > 0) {
          const some = schemas.splice(0, 10);
          await admin.raw(`drop schema if exists ${some.map(() => '??').join(', ')} cascade`, some);
        }
      } finally {
        await admin.destroy();
      }
    });

    function freshDatabase(): { url: string; schema: string | undefined } {
      const url = process.env.OMGW_TEST_DATABASE_URL;
      if (url) {
        const schema = `omgw_t_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        return { url, schema };
      }
      const db = createTestDatabase();
      files.push(db);
      return db;
    }

    async function trial(n: number): Promise<void> {
      const db = freshDatabase();
      const stores = [open(db), open(db), open(db)];
      try {
        // Connections open first, so that the three migrations begin within the same moment.
        await Promise.all(stores.map((s) => s.ping()));
        const results = await Promise.allSettled(stores.map((s) => s.migrate()));
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        expect(failed, `trial ${n}`).to.deep.equal([]);
        const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied : []));
        expect([...applied].sort(), `trial ${n}: migrations applied`).to.deep.equal([...all].sort());
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const later = open(db);
      try {
        expect((await later.migrate()).applied, `trial ${n}: a later start`).to.deep.equal([]);
      } finally {
        await later.close();
      }
    }

    it(`all migrate, each migration applied once, and a later start finds nothing to do (${TRIALS} trials)`, async () => {
      // A few trials at a time, each on its own database: the time goes to PostgreSQL's DDL, whose
      // commits overlap.
      for (let first = 0; first < TRIALS; first += AT_ONCE) {
        await Promise.all(Array.from({ length: Math.min(AT_ONCE, TRIALS - first) }, (_, i) => trial(first + i)));
      }
    });
  });

  describe('on one database', () => {
    let database: TestDatabase;
    let store: Store | undefined;
    beforeEach(() => {
      database = createTestDatabase();
    });
    afterEach(async () => {
      await store?.close();
      store = undefined;
      await database.dispose();
    });
    /** A table of the test's database, in its schema on PostgreSQL. */
    const table = (name: string): Knex.QueryBuilder => (database.schema ? database.tables()(name).withSchema(database.schema) : database.tables()(name));

    it('clears a knex lock left set by an earlier version, and a second lock row, on a migrated database', async () => {
      store = open(database);
      await store.migrate();
      await table('omgw_migrations_lock').update({ is_locked: 1 });
      await table('omgw_migrations_lock').insert({ is_locked: 1 });
      await store.close();

      store = open(database);
      expect((await store.migrate()).applied).to.deep.equal([]);
      expect(await table('omgw_migrations_lock').select('is_locked')).to.deep.equal([{ is_locked: 0 }]);
    });

    it('migrates a fresh database where two earlier migrators each inserted a lock row before any migration ran', async () => {
      // What knex's migrator leaves when two start at once: its two tables, and a lock row from each.
      const knex = database.tables();
      if (database.schema) await knex.raw('create schema if not exists ??', [database.schema]);
      const builder = (): Knex.SchemaBuilder => (database.schema ? knex.schema.withSchema(database.schema) : knex.schema);
      await builder().createTable('omgw_migrations', (t) => {
        t.increments();
        t.string('name');
        t.integer('batch');
        t.timestamp('migration_time');
      });
      await builder().createTable('omgw_migrations_lock', (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
      await table('omgw_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);

      store = open(database);
      expect((await store.migrate()).applied).to.deep.equal(all);
      expect(await table('omgw_migrations_lock').select('is_locked')).to.deep.equal([{ is_locked: 0 }]);
    });

    it('refuses a database a newer gateway has migrated: the store, and omgw start, migrate and status (exit code 3)', async () => {
      store = open(database);
      await store.migrate();
      await table('omgw_migrations').insert({ name: '999_from_the_future', batch: 2, migration_time: new Date() });
      await store.close();
      store = open(database);

      const message = `${store.describe}: the database schema is at 999_from_the_future, newer than this gateway knows (latest ${all.at(-1)}): upgrade the gateway or use another database`;
      const refusal = await store.migrate().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refusal).to.be.instanceOf(GatewayError);
      expect(refusal).to.include({ code: 'SCHEMA_TOO_NEW', message });

      // The built CLI, as an operator runs it: exit code 3 and that one line on stderr.
      const configDir = writeConfig();
      try {
        const commands = ['start', 'migrate', 'status'];
        const runs = await Promise.all(commands.map((command) => omgw([command, '--config', configDir], testEnv(database))));
        expect(runs.map((r, i) => ({ command: commands[i], code: r.code, err: r.err }))).to.deep.equal(commands.map((command) => ({ command, code: 3, err: `${message}\n` })));
      } finally {
        rmSync(configDir, { recursive: true, force: true });
      }
      // Nothing was written: the newer gateway's record is as it left it.
      expect(await table('omgw_migrations').orderBy('id').pluck('name')).to.deep.equal([...all, '999_from_the_future']);
    });
  });

  describe('a migration killed while it holds the lock', function () {
    this.timeout(60_000);
    let database: TestDatabase;
    let child: ChildProcess | undefined;
    let configDir: string | undefined;
    const stores: Store[] = [];
    beforeEach(() => {
      database = createTestDatabase();
    });
    afterEach(async () => {
      child?.kill('SIGKILL');
      child = undefined;
      for (const s of stores.splice(0)) await s.close();
      if (configDir) rmSync(configDir, { recursive: true, force: true });
      configDir = undefined;
      await database.dispose();
    });

    const exited = (proc: ChildProcess): Promise<void> =>
      new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())));

    it('never blocks a later start', async function () {
      if (!postgres) {
        // SQLite: a process in the middle of a migration, its write transaction open, half the tables made.
        const file = database.url.slice('sqlite:'.length);
        const script = `
          const sqlite3 = require('sqlite3');
          const db = new sqlite3.Database(process.argv[1]);
          db.exec("PRAGMA journal_mode = WAL; BEGIN IMMEDIATE; create table omgw_migrations (id integer primary key autoincrement, name varchar(255), batch integer, migration_time datetime); create table events (id text primary key)", (err) => {
            if (err) { console.error(err); process.exit(1); }
            process.stdout.write('holding\\n');
          });
          setInterval(() => undefined, 1000);`;
        child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => void (out += chunk.toString('utf8')));
        await until('the child to hold the write lock', () => out.includes('holding'), 20_000);
        child.kill('SIGKILL');
        await exited(child);

        const later = open(database);
        stores.push(later);
        expect((await later.migrate()).applied).to.deep.equal(all);
        return;
      }

      // PostgreSQL: `omgw migrate` (the built CLI, a process of its own) takes the lock and is kept
      // mid-migration by a transaction of the test's that creates the same schema and has not ended.
      if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: build with npx tsc -p tsconfig.build.json`);
      const schema = database.schema ?? '';
      const admin = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 } });
      // The later start's connection is open before anything else, so that it asks for the lock at
      // once after the kill: the dead process's statement gives up after the pool's lock_timeout.
      const later = open(database);
      stores.push(later);
      await later.ping();
      const blocker = await admin.transaction();
      try {
        await blocker.raw('create schema ??', [schema]);
        configDir = writeConfig();
        child = spawn(process.execPath, [BIN, 'migrate', '--config', configDir], { env: { PATH: process.env.PATH, ...testEnv(database) }, stdio: 'ignore' });

        // The child's session: waiting on the test's schema, and holding an advisory lock meanwhile.
        let migrator: number | undefined;
        await until(
          'the child to hold the migration lock, mid-migration',
          async () => {
            const rows = (
              await admin.raw(
                `select a.pid from pg_stat_activity a
                  where a.wait_event_type = 'Lock' and a.query like ?
                    and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`,
                [`create schema if not exists "${schema}"%`],
              )
            ).rows as Array<{ pid: number }>;
            migrator = rows[0]?.pid;
            return migrator !== undefined;
          },
          20_000,
        );
        child.kill('SIGKILL');
        await exited(child);

        // A start now waits for the lock the dead process's session still holds, and gets it when
        // that session ends (here when its statement can go on and finds its client gone).
        const migrated = later.migrate();
        await until(
          'the later start to wait for the lock',
          async () => {
            const waiting = await admin.raw(
              `select 1 from pg_locks w join pg_locks h
                  on h.locktype = 'advisory' and h.granted and h.pid = ?
                 and (w.database, w.classid, w.objid, w.objsubid) = (h.database, h.classid, h.objid, h.objsubid)
                where w.locktype = 'advisory' and not w.granted`,
              [migrator ?? 0],
            );
            return (waiting.rows as unknown[]).length > 0;
          },
          20_000,
        );
        await blocker.rollback();
        expect((await migrated).applied).to.deep.equal(all);
      } finally {
        if (!blocker.isCompleted()) await blocker.rollback();
        await admin.destroy();
      }

      const fourth = open(database);
      stores.push(fourth);
      expect((await fourth.migrate()).applied).to.deep.equal([]);
    });
  });
});
