import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Gateway } from '../../../src/app.ts';
import { ConfigError } from '../../../src/config/load.ts';
import { main } from '../../../src/main.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { freePort } from '../../helpers/free-port.ts';
import { gatewayYaml, testEnv, writeConfig } from '../../helpers/gateway.ts';
import { cliArgs } from '../../helpers/cli-entry.ts';

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../config', import.meta.url));
/** The example config's published defaults (README): the inbound SOAP password and the admin token. */
const PUBLISHED = { TEST_SOAP_PASSWORD: 'sandbox-secret', TEST_ADMIN_TOKEN: 'sandbox-admin-token-change-me' };

function yaml(server: string): string {
  return `${gatewayYaml().replace('server:\n  host: 127.0.0.1\n  port: 0\n', `server:\n${server}`)}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`;
}

interface Started {
  gateway: Gateway;
  logs: Array<Record<string, unknown>>;
  raw: string[];
}

describe('published default secrets at start', function () {
  let database: TestDatabase;
  const dirs: string[] = [];
  const gateways: Gateway[] = [];

  async function create(configDir: string, env: NodeJS.ProcessEnv, host?: string): Promise<Started> {
    const raw: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    const gateway = await Gateway.create({
      configDir,
      env,
      port: 0,
      ...(host ? { host } : {}),
      ...(database.schema ? { dbSchema: database.schema } : {}),
      logDestination: destination,
    });
    gateways.push(gateway);
    return {
      gateway,
      raw,
      get logs() {
        return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
      },
    };
  }

  function config(server: string): string {
    const dir = writeConfig({ gateway: yaml(server) });
    dirs.push(dir);
    return dir;
  }

  beforeEach(function () {
    database = createTestDatabase();
  });

  afterEach(async function () {
    for (const g of gateways.splice(0)) await g.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    await database.dispose();
  });

  it('refuses to start on a host other than loopback while the admin token or an inbound SOAP password is a published default', async function () {
    for (const host of ['0.0.0.0', '::', '192.0.2.2']) {
      const { gateway, raw } = await create(config(`  host: '${host}'\n  port: 0\n`), testEnv(database, PUBLISHED));
      const error = await gateway.start().then(
        () => null,
        (err: unknown) => err,
      );
      expect(error, host).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => `${p.file} ${p.key}`), host).to.deep.equal(['gateway.yaml inbound.soap.users.0.password', 'gateway.yaml admin.token']);
      expect(problems[0]?.reason).to.match(new RegExp(`published default .* server.host ${host.replace(/[.:]/g, '\\$&')} is not loopback.*allowPublishedSecrets`));
      expect((error as Error).message).not.to.include('sandbox-secret');
      expect((error as Error).message).not.to.include('sandbox-admin-token');
      expect(raw.some((l) => l.includes('gateway started'))).to.equal(false);
    }
  });

  it('refuses the same when the host is given as an option (GatewayOptions.host overrides server.host)', async function () {
    const { gateway } = await create(config('  host: 127.0.0.1\n  port: 0\n'), testEnv(database, PUBLISHED), '0.0.0.0');
    const error = await gateway.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(ConfigError);
  });

  it('starts on loopback with published defaults, and names each one (never its value) in a warning', async function () {
    const started = await create(config('  host: 127.0.0.1\n  port: 0\n'), testEnv(database, PUBLISHED));
    await started.gateway.start();
    const warning = started.logs.find((l) => Array.isArray(l.publishedDefaults));
    expect(warning).to.include({ level: 40, sandbox: false });
    expect(warning?.publishedDefaults).to.deep.equal(['gateway.yaml inbound.soap.users.0.password', 'gateway.yaml admin.token']);
    expect(warning?.msg).to.match(/published default secrets in use .*: gateway\.yaml inbound\.soap\.users\.0\.password, gateway\.yaml admin\.token$/);
    expect(started.raw.join('\n')).not.to.match(/sandbox-secret|sandbox-admin-token-change-me/);
  });

  it('starts on another host with server.allowPublishedSecrets: true, and says so', async function () {
    const started = await create(config('  host: 0.0.0.0\n  port: 0\n  allowPublishedSecrets: true\n'), testEnv(database, PUBLISHED));
    await started.gateway.start();
    expect(started.gateway.bound.allInterfaces).to.equal(true);
    const lab = started.logs.find((l) => /allowPublishedSecrets is on/.test(String(l.msg)));
    expect(lab).to.include({ level: 40, host: '0.0.0.0' });
  });

  it('starts on another host when the inbound credentials are its own, warning about the other defaults', async function () {
    const started = await create(config('  host: 0.0.0.0\n  port: 0\n'), testEnv(database, { TEST_ADMIN_TOKEN: 'an-admin-token-of-our-own', TEST_ENCRYPTION_KEY: 'sandbox-encryption-key' }));
    await started.gateway.start();
    const warning = started.logs.find((l) => Array.isArray(l.publishedDefaults));
    expect(warning?.publishedDefaults).to.deep.equal(['gateway.yaml database.encryptionKey']);
  });

  it('refuses a reload that brings a published default in while listening on another host', async function () {
    const dir = config('  host: 0.0.0.0\n  port: 0\n');
    const started = await create(dir, testEnv(database, { TEST_ADMIN_TOKEN: 'an-admin-token-of-our-own', PUBLISHED_TOKEN: PUBLISHED.TEST_ADMIN_TOKEN }));
    await started.gateway.start();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('${env:TEST_ADMIN_TOKEN}', '${env:PUBLISHED_TOKEN}'));
    const result = await started.gateway.reload();
    expect(result.ok).to.equal(false);
    expect(result.ok === false && result.error).to.match(/gateway\.yaml admin\.token: is a published default/);
    expect(started.gateway.config.gateway.admin.token?.reveal()).to.equal('an-admin-token-of-our-own');
  });

  it('starts the example config as it is (npm start): loopback, every published default and the sandbox named', async function () {
    if (database.schema) {
      // The example config cannot be pointed at the PostgreSQL test schema; SQLite runs cover it.
      this.test!.title += ' [skipped: SQLite only]';
      this.skip();
    }
    // A real port: the example's connectors reach the sandbox at ${server:url}, which port 0 leaves unknown.
    const started = await create(EXAMPLE_CONFIG, { DATABASE_URL: database.url, OMGW_PORT: String(await freePort()), OMGW_LOG_LEVEL: 'info' });
    await started.gateway.start();
    expect(started.gateway.bound.address).to.match(/^127\.0\.0\.1:\d+$/);
    const warning = started.logs.find((l) => Array.isArray(l.publishedDefaults));
    expect(warning).to.include({ level: 40, sandbox: true });
    expect(warning?.msg).to.match(/the sandbox is on/);
    expect(warning?.publishedDefaults).to.include.members([
      'gateway.yaml inbound.soap.users.0.password',
      'gateway.yaml admin.token',
      'gateway.yaml database.encryptionKey',
      'gateway.yaml sandbox.fusion.password',
      'gateway.yaml sandbox.shipbob.token',
      'gateway.yaml sandbox.shipbob.webhookSecret',
      'gateway.yaml inbound.webhooks.shipbob.secrets.0',
      'connectors/otm.yaml auth.password',
    ]);
  });

  it('`omgw start` exits with the config-error code and says why', async function () {
    const dir = config('  host: 0.0.0.0\n  port: 0\n');
    const child = spawn(process.execPath, [...cliArgs(), 'start', '--config', dir], {
      env: { ...process.env, ...testEnv(database, PUBLISHED), ...(database.schema ? { TEST_DATABASE_SCHEMA: database.schema } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).to.equal(3);
    expect(stderr).to.match(/is invalid:\n {2}gateway\.yaml inbound\.soap\.users\.0\.password: is a published default/);
    expect(stderr).not.to.include('sandbox-secret');
  });

  it('`omgw check-config` reports the same refusal, and lists the published defaults of a config it accepts', async function () {
    const run = async (dir: string, json = false): Promise<{ code: number; out: string; err: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['check-config', '--config', dir, ...(json ? ['--json'] : [])], { out: (t) => void out.push(t), err: (t) => void err.push(t) }, testEnv(database, PUBLISHED));
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const refused = await run(config('  host: 0.0.0.0\n  port: 0\n'));
    expect(refused.code).to.equal(3);
    expect(refused.err).to.match(/gateway\.yaml admin\.token: is a published default/);
    const accepted = await run(config('  host: 127.0.0.1\n  port: 0\n'));
    expect(accepted.code).to.equal(0);
    expect(accepted.out).to.include('published default secrets in use (set your own): gateway.yaml inbound.soap.users.0.password, gateway.yaml admin.token');
    const json = JSON.parse((await run(config('  host: 127.0.0.1\n  port: 0\n'), true)).out) as { publishedDefaults: string[] };
    expect(json.publishedDefaults).to.deep.equal(['gateway.yaml inbound.soap.users.0.password', 'gateway.yaml admin.token']);
    expect([refused.err, accepted.out].join('\n')).not.to.match(/sandbox-secret|sandbox-admin-token-change-me/);
  });
});
