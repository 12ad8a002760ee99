import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Io } from '../../../src/cli/output.ts';
import { main } from '../../../src/main.ts';
import { gatewayYaml, TEST_ENV, writeConfig } from '../../helpers/gateway.ts';

// ---------------------------------------------------------------------------------------------------------
// Helpers

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (text) => void out.push(text), err: (text) => void err.push(text) };
  const code = await main(argv, io, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface CheckSummary {
  ok: boolean;
  dir: string;
  connectors: Array<{ name: string; protocol: string; kind: string; url: string; state: string }>;
  triggerPoints: Array<{ name: string; eventCodes: string[]; connectors: string[] }>;
}

interface CheckFailure {
  ok: boolean;
  problems: Array<{ file: string; key: string; reason: string }>;
}

interface StatusJson {
  database: string;
  events: unknown[];
  deliveries: unknown[];
  pushes: number;
  lastReceivedAt: number | null;
}

const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A valid config folder (the shared test config) and the environment it needs, with a SQLite file. */
function validConfig(): { dir: string; env: NodeJS.ProcessEnv; dbFile: string } {
  const dir = writeConfig();
  dirs.push(dir);
  const dbFile = join(tempDir('omgw-cli-db-'), 'omgw.db');
  return { dir, env: { ...TEST_ENV, TEST_DATABASE_URL: `sqlite:${dbFile}` }, dbFile };
}

/** A config folder with several problems in several files. */
function brokenConfig(): string {
  const dir = writeConfig({
    gateway: `${gatewayYaml()}bogus: true\n`,
    connectors: {
      'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\ntimeout: 3 sec\n',
      'otm.yaml': 'protocol: soap\nurl: http://127.0.0.1:9/otm\n',
    },
    triggerPoints: `triggerPoints:
  - name: exceptions
    eventCodes: [HOLD]
    connectors: [otm, ghost]
`,
  });
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------

describe('cli main', () => {
  describe('usage', () => {
    it('prints the usage and exits 2 without a command', async () => {
      const r = await run([]);
      expect(r.code).to.equal(2);
      expect(`${r.out}\n${r.err}`).to.include('usage: omgw <command>');
    });

    it('prints the usage and exits 0 for --help and -h', async () => {
      for (const argv of [['--help'], ['-h'], ['status', '--help']]) {
        const r = await run(argv);
        expect(r.code, argv.join(' ')).to.equal(0);
        expect(r.out).to.include('usage: omgw <command>');
        for (const command of ['start', 'check-config', 'migrate', 'status']) expect(r.out).to.include(command);
        // Every exit code the README documents, the unexpected error's included.
        expect(r.out).to.match(/exit codes: 0 ok, 1 failed, 2 usage, 3 config invalid, 4 unavailable .*, 70 unexpected error/);
        expect(r.err).to.equal('');
      }
    });

    it('exits 2 for an unknown command, naming it', async () => {
      const r = await run(['frobnicate']);
      expect(r.code).to.equal(2);
      expect(r.err).to.include('unknown command "frobnicate"').and.include('usage: omgw');
      expect(r.out).to.equal('');
    });

    it('exits 2 for an unexpected argument, naming it', async () => {
      const r = await run(['check-config', 'extra', 'args']);
      expect(r.code).to.equal(2);
      expect(r.err).to.include('unexpected argument(s): extra args');
    });

    it('exits 2 for an unknown option or an option without its value', async () => {
      const unknown = await run(['check-config', '--bogus']);
      expect(unknown.code).to.equal(2);
      expect(unknown.err).to.include('--bogus').and.include('usage: omgw');
      const noValue = await run(['check-config', '--config']);
      expect(noValue.code).to.equal(2);
      expect(noValue.err).to.include('--config');
    });
  });

  describe('check-config', () => {
    it('exits 0 and lists the connectors and trigger points of a valid config', async () => {
      const { dir, env } = validConfig();
      const r = await run(['check-config', '--config', dir], env);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.include(`config ${resolve(dir)}: OK`);
      const lines = r.out.split('\n');
      for (const [name, protocol] of [['crm', 'rest'], ['otm', 'soap'], ['shipbob', 'rest']]) {
        expect(lines.some((l) => new RegExp(`^${name}\\s+${protocol}\\s`).test(l)), `connector row ${name}`).to.equal(true);
      }
      expect(lines.some((l) => /^shipping\s+FlineStatusUpdate\s+StatusCodeNewValue in AWAIT_SHIPPING\s+shipbob$/.test(l))).to.equal(true);
      expect(lines.some((l) => /^exceptions\s+HOLD,JEOPARDY,SPLIT\s+-\s+otm$/.test(l))).to.equal(true);
      expect(lines.some((l) => /^status\s+FlineStatusUpdate,/.test(l))).to.equal(true);
      // No secret is printed.
      expect(r.out).not.to.include(TEST_ENV.TEST_SOAP_PASSWORD).and.not.include(TEST_ENV.TEST_SHIPBOB_TOKEN);
    });

    it('--json prints a summary that parses, with ok true', async () => {
      const { dir, env } = validConfig();
      const r = await run(['check-config', '--json', '--config', dir], env);
      expect(r.code, r.err).to.equal(0);
      const summary = JSON.parse(r.out) as CheckSummary;
      expect(summary.ok).to.equal(true);
      expect(summary.dir).to.equal(resolve(dir));
      expect(summary.connectors.map((c) => [c.name, c.protocol, c.kind, c.state])).to.deep.equal([
        ['crm', 'rest', 'generic', 'online'],
        ['otm', 'soap', 'generic', 'online'],
        ['shipbob', 'rest', 'generic', 'online'],
      ]);
      expect(summary.triggerPoints.map((t) => [t.name, t.connectors])).to.deep.equal([
        ['shipping', ['shipbob']],
        ['status', ['crm']],
        ['exceptions', ['otm']],
      ]);
      expect(r.out).not.to.include(TEST_ENV.TEST_SHIPBOB_TOKEN);
    });

    it('exits 3 for a broken config and prints every problem on stderr as "file key: reason"', async () => {
      const dir = brokenConfig();
      const r = await run(['check-config', '--config', dir], validConfig().env);
      expect(r.code).to.equal(3);
      expect(r.out).to.equal('');
      expect(r.err).to.include('3 problem(s)');
      const lines = r.err.split('\n').map((l) => l.trim());
      expect(lines).to.include('gateway.yaml bogus: unknown key');
      expect(lines.some((l) => l.startsWith('connectors/crm.yaml timeout: "3 sec" is not a duration'))).to.equal(true);
      expect(lines).to.include('trigger-points.yaml triggerPoints.0.connectors.1: no connector named "ghost" (connectors: otm)');
    });

    it('--json on a broken config prints the problems as JSON, with ok false, and exits 3', async () => {
      const r = await run(['check-config', '--config', brokenConfig(), '--json'], validConfig().env);
      expect(r.code).to.equal(3);
      const failure = JSON.parse(r.out) as CheckFailure;
      expect(failure.ok).to.equal(false);
      expect(failure.problems.map((p) => `${p.file} ${p.key}`)).to.deep.equal([
        'gateway.yaml bogus',
        'connectors/crm.yaml timeout',
        'trigger-points.yaml triggerPoints.0.connectors.1',
      ]);
    });

    it('exits 3 for a config folder that does not exist', async () => {
      const r = await run(['check-config', '--config', join(tmpdir(), 'omgw-no-such-config-7f2e')]);
      expect(r.code).to.equal(3);
      expect(r.err).to.include('gateway.yaml: file not found');
    });

    it('exits 3 for a database URL the store cannot open', async () => {
      const { dir, env } = validConfig();
      const r = await run(['check-config', '--config', dir], { ...env, TEST_DATABASE_URL: 'mysql://root:pw@db/omgw' });
      expect(r.code).to.equal(3);
      expect(r.err).to.include('gateway.yaml database.url: must start with sqlite: or postgres://');
      const status = await run(['status', '--config', dir], { ...env, DATABASE_URL: 'mysql://root:pw@db/omgw' });
      expect(status.code).to.equal(3);
      expect(status.err).to.include('database.url').and.not.include(':pw@');
    });

    it('uses OMGW_CONFIG_DIR when --config is absent, and --config over it', async () => {
      const { dir, env } = validConfig();
      const fromEnv = await run(['check-config', '--json'], { ...env, OMGW_CONFIG_DIR: dir });
      expect(fromEnv.code, fromEnv.err).to.equal(0);
      expect((JSON.parse(fromEnv.out) as CheckSummary).dir).to.equal(resolve(dir));

      const other = brokenConfig();
      const overridden = await run(['check-config', '--json', '--config', dir], { ...env, OMGW_CONFIG_DIR: other });
      expect(overridden.code, overridden.err).to.equal(0);
      expect((JSON.parse(overridden.out) as CheckSummary).dir).to.equal(resolve(dir));

      const broken = await run(['check-config'], { ...env, OMGW_CONFIG_DIR: other });
      expect(broken.code).to.equal(3);
      expect(broken.err).to.include(other);
    });
  });

  describe('migrate and status', () => {
    it('migrates a SQLite database, then status --json shows zero counts', async () => {
      const { dir, env, dbFile } = validConfig();
      const migrated = await run(['migrate', '--config', dir], env);
      expect(migrated.code, migrated.err).to.equal(0);
      expect(migrated.out.split('\n')[0]).to.equal(`database sqlite:${dbFile}`);
      expect(migrated.out.split('\n')[1]).to.match(/^applied: 001_initial, 002_delivery_engine/);
      expect(existsSync(dbFile)).to.equal(true);

      const again = await run(['migrate', '--config', dir, '--json'], env);
      expect(again.code, again.err).to.equal(0);
      expect(JSON.parse(again.out)).to.deep.equal({ database: `sqlite:${dbFile}`, applied: [] });

      const status = await run(['status', '--json', '--config', dir], env);
      expect(status.code, status.err).to.equal(0);
      const report = JSON.parse(status.out) as StatusJson;
      expect(report).to.deep.equal({ database: `sqlite:${dbFile}`, events: [], deliveries: [], pushes: 0, lastReceivedAt: null, connectors: [], blockedKeys: [], instances: [] });

      const text = await run(['status', '--config', dir], env);
      expect(text.code, text.err).to.equal(0);
      expect(text.out.split('\n')[0]).to.equal(`database sqlite:${dbFile}`);
      expect(text.out).to.include('pushes 0   last received -');
      expect(text.out).to.include('EVENT CODE').and.include('CONNECTOR');
    });

    it('exits 3 from migrate and status when the config is invalid', async () => {
      for (const command of ['migrate', 'status']) {
        const r = await run([command, '--config', brokenConfig()], validConfig().env);
        expect(r.code, command).to.equal(3);
        expect(r.err).to.include('is invalid').and.include('gateway.yaml bogus: unknown key');
      }
    });

    it('exits 4 with a clear message when the PostgreSQL server cannot be reached', async () => {
      const { dir, env } = validConfig();
      for (const url of ['postgres://postgres@127.0.0.1:1/none', 'postgres://postgres:pg-pass-3@127.0.0.1:1/none']) {
        const r = await run(['status', '--config', dir], { ...env, TEST_DATABASE_URL: url });
        expect(r.code, r.err).to.equal(4);
        expect(r.err).to.match(/^database unavailable: /);
        expect(r.err).to.include('ECONNREFUSED').and.include('127.0.0.1:1');
        expect(r.err).not.to.include('pg-pass-3');
        expect(r.out).to.equal('');
      }
      const viaEnv = await run(['migrate', '--config', dir], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
      expect(viaEnv.code, viaEnv.err).to.equal(4);
    });
  });
});
