import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/index.ts';
import { backendName, createTestDatabase, sqlitePassOnly, type TestDatabase } from '../helpers/backend.ts';
import { TEST_ENV, testEnv, writeConfig } from '../helpers/gateway.ts';
import { Seeder } from '../helpers/seed.ts';

/**
 * The built CLI (bin/omgw.js on dist/, as `npx omgw` runs it) as a child process: how it ends when
 * its reader goes away early, and what it says when the database cannot be used.
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
const BIN = fileURLToPath(new URL('../../bin/omgw.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function omgw(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; closeAfterFirstLine?: boolean } = {}): Promise<Ended> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    // The reader of `omgw ... | head -1`: gone after the first line, with the rest unread.
    if (options.closeAfterFirstLine && out.includes('\n')) child.stdout.destroy();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  return new Promise((done) => child.once('close', (code, signal) => done({ code, signal, out, err })));
}

/** Whether something listens on host:port (the PostgreSQL the role test needs). */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

describe('the built CLI as a process', () => {
  before(function () {
    if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: build with npx tsc -p tsconfig.build.json`);
  });

  after(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  describe(`omgw with its stdout closed early (${backendName()})`, function () {
    this.timeout(60_000);
    let database: TestDatabase;
    let configDir: string;
    let store: Store;
    let seed: Seeder;

    beforeEach(async () => {
      database = createTestDatabase();
      configDir = writeConfig();
      dirs.push(configDir);
      store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
      await store.migrate();
      seed = new Seeder(database.tables(), Date.now() - 3_600_000);
    });
    afterEach(async () => {
      await store.close();
      await database.dispose();
    });

    // Far more than the reader can take in before it is closed (a pipe buffer of 64 KiB, and at most
    // 32 reads of 64 KiB in the loop turn that closes it), so the CLI is still writing when it goes.
    const large = 'x'.repeat(4_000_000);

    it('status | head -1: exit 0, nothing on stderr', async () => {
      // One line per event code in the status table: 1,000 lines of about 100 bytes, more than a pipe
      // holds; the reader may still take it all in before it is closed, as `head` may.
      for (let i = 0; i < 1000; i++) await seed.event({ eventCode: `EventCode${String(i).padStart(4, '0')}${'_'.repeat(60)}` });
      const r = await omgw(['status', '--config', configDir], testEnv(database), { closeAfterFirstLine: true });
      expect({ code: r.code, signal: r.signal, err: r.err }).to.deep.equal({ code: 0, signal: null, err: '' });
      expect(r.out.split('\n')[0]).to.equal(`database ${store.describe}`);
    });

    it('deliveries show ID | head: exit 0, nothing on stderr', async () => {
      const id = await seed.delivery({ connector: 'crm', state: 'parked', lastError: large });
      const r = await omgw(['deliveries', 'show', id, '--config', configDir], testEnv(database), { closeAfterFirstLine: true });
      expect({ code: r.code, signal: r.signal, err: r.err }).to.deep.equal({ code: 0, signal: null, err: '' });
      expect(r.out).to.include(`delivery`).and.include(id);
    });

    it('events show ID | head: exit 0, nothing on stderr', async () => {
      const id = await seed.event({ withPush: true, payload: { note: large } });
      const r = await omgw(['events', 'show', id, '--config', configDir], testEnv(database), { closeAfterFirstLine: true });
      expect({ code: r.code, signal: r.signal, err: r.err }).to.deep.equal({ code: 0, signal: null, err: '' });
      expect(r.out).to.include(id);
    });

    it('prints everything when the reader stays', async () => {
      const id = await seed.event({ withPush: true, payload: { note: large } });
      const r = await omgw(['events', 'show', id, '--config', configDir], testEnv(database));
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.include(large).and.include('raw push (passwords redacted):');
    });
  });

  describe('omgw when the database cannot be used', function () {
    this.timeout(60_000);
    let configDir: string;

    before(function () {
      sqlitePassOnly(this, 'each case makes its own SQLite file or PostgreSQL URL');
    });

    beforeEach(() => {
      configDir = writeConfig();
      dirs.push(configDir);
    });

    const env = (url: string): NodeJS.ProcessEnv => ({ ...TEST_ENV, TEST_DATABASE_URL: url });

    /** Exit 4 and one line on stderr naming the database; nothing on stdout. */
    function expectUnavailable(r: Ended, ...fragments: string[]): void {
      expect(r.code, r.err).to.equal(4);
      expect(r.out).to.equal('');
      expect(r.err.trimEnd().split('\n'), r.err).to.have.length(1);
      expect(r.err).to.match(/^database unavailable: /);
      for (const f of fragments) expect(r.err).to.include(f);
    }

    it('status, deliveries and events refuse a SQLite file that does not exist, and create nothing', async () => {
      const missingDir = join(tempDir('omgw-nodb-'), 'nonexistent', 'dir');
      const file = join(missingDir, 'x.db');
      for (const args of [['status'], ['deliveries', 'list'], ['events', 'show', '01JD0000000000000000000000'], ['recover']]) {
        const r = await omgw([...args, '--config', configDir], env(`sqlite:${file}`));
        expectUnavailable(r, `no database at sqlite:${file}`);
      }
      expect(existsSync(missingDir)).to.equal(false);
    });

    it('migrate creates the folder of a new SQLite file', async () => {
      const file = join(tempDir('omgw-newdb-'), 'new', 'dir', 'x.db');
      const r = await omgw(['migrate', '--config', configDir], env(`sqlite:${file}`));
      expect(r.code, r.err).to.equal(0);
      expect(r.out.split('\n')[0]).to.equal(`database sqlite:${file}`);
      expect(existsSync(file)).to.equal(true);
      const status = await omgw(['status', '--json', '--config', configDir], env(`sqlite:${file}`));
      expect(status.code, status.err).to.equal(0);
      expect((JSON.parse(status.out) as { database: string }).database).to.equal(`sqlite:${file}`);
    });

    it('exits 4 for a SQLite path under a file', async () => {
      const aFile = join(tempDir('omgw-file-'), 'plain.txt');
      writeFileSync(aFile, 'not a folder\n');
      const url = `sqlite:${aFile}/x.db`;
      expectUnavailable(await omgw(['migrate', '--config', configDir], env(url)), `sqlite:${aFile}/x.db`, `cannot create its folder ${aFile} (${aFile} is a file, not a folder)`);
      expectUnavailable(await omgw(['status', '--config', configDir], env(url)), `no database at sqlite:${aFile}/x.db`);
    });

    it('exits 4 for a file that is not a database', async () => {
      const file = join(tempDir('omgw-notdb-'), 'notes.db');
      writeFileSync(file, 'these are notes, not a database\n'.repeat(100));
      for (const command of ['status', 'migrate']) {
        expectUnavailable(await omgw([command, '--config', configDir], env(`sqlite:${file}`)), `sqlite:${file}`, 'file is not a database');
      }
    });

    it('exits 4 when PostgreSQL refuses the role, naming the database without its password', async function () {
      if (!(await listening('127.0.0.1', 5432))) this.skip();
      const url = 'postgres://omgw_no_such_role:role-pass-7@127.0.0.1:5432/postgres';
      for (const command of ['status', 'migrate']) {
        const r = await omgw([command, '--config', configDir], env(url));
        expectUnavailable(r, 'postgres://omgw_no_such_role:***@127.0.0.1:5432/postgres', 'omgw_no_such_role');
        expect(r.err).not.to.include('role-pass-7');
      }
    });

    it('resolves a relative SQLite path against the config folder, not the working directory', async () => {
      const elsewhere = tempDir('omgw-cwd-');
      const expected = `sqlite:${join(resolve(configDir), 'data', 'omgw.db')}`;
      const migrated = await omgw(['migrate', '--config', resolve(configDir)], env('sqlite:./data/omgw.db'), { cwd: elsewhere });
      expect(migrated.code, migrated.err).to.equal(0);
      expect(migrated.out.split('\n')[0]).to.equal(`database ${expected}`);
      expect(existsSync(join(configDir, 'data', 'omgw.db'))).to.equal(true);
      expect(existsSync(join(elsewhere, 'data'))).to.equal(false);

      // From a third folder, the same database.
      const third = tempDir('omgw-cwd-');
      mkdirSync(join(third, 'data'));
      const status = await omgw(['status', '--config', resolve(configDir)], env('sqlite:./data/omgw.db'), { cwd: third });
      expect(status.code, status.err).to.equal(0);
      expect(status.out.split('\n')[0]).to.equal(`database ${expected}`);
      expect(existsSync(join(third, 'data', 'omgw.db'))).to.equal(false);
    });
  });
});
