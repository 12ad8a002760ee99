import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnGateway, type ChildGateway } from '../helpers/child.ts';
import { freePort } from '../helpers/free-port.ts';
import { sqlitePassOnly } from '../helpers/backend.ts';
import { cliArgs } from '../helpers/cli-entry.ts';
import { until } from '../helpers/until.ts';

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../config', import.meta.url));
const EXAMPLE_CONNECTORS = ['fulfilment', 'fusion', 'fusion-holds', 'fusion-receipts', 'order-status-crm', 'otm', 'shipbob', 'warehouse'];
const ADMIN_TOKEN = 'sandbox-admin-token-change-me';

/** The real CLI as a process: its exit code and what it printed. */
function omgw(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [...cliArgs(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

/** The example config reads these; undefined drops a variable from a child's environment. */
function withoutExampleVariables(): NodeJS.ProcessEnv {
  const names = Object.keys(process.env).filter((name) => /^(OMGW_(?!TEST_)|SHIPBOB_|FUSION_|OTM_|CRM_|DATABASE_URL$)/.test(name));
  return Object.fromEntries(names.map((name) => [name, undefined]));
}

describe('the example config as the README runs it', function () {
  this.timeout(120_000);
  let gw: ChildGateway;
  let dbDir: string;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    sqlitePassOnly(this, 'the example config runs on a SQLite file of its own');
    dbDir = mkdtempSync(join(tmpdir(), 'omgw-example-'));
    // Only the port and the database are the test's; everything else is config/ as shipped.
    env = {
      ...withoutExampleVariables(),
      OMGW_PORT: String(await freePort()),
      DATABASE_URL: `sqlite:${join(dbDir, 'omgw.db')}`,
      OMGW_LOG_LEVEL: 'warn',
    };
    gw = await spawnGateway(EXAMPLE_CONFIG, env);
  });
  after(async () => {
    if (!gw) return;
    gw.child.kill('SIGTERM');
    await gw.exited;
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('`connector test --all` passes for every example connector against the sandbox peers', async () => {
    const run = await omgw(['connector', 'test', '--all', '--config', EXAMPLE_CONFIG], env);
    expect(run.code, `${run.out}\n${run.err}`).to.equal(0);
    for (const name of EXAMPLE_CONNECTORS) {
      expect(run.out, run.out).to.match(new RegExp(`^connector ${name}: OK \\(\\d+ ms\\)$`, 'm'));
    }
    expect(run.out).to.match(/^probe\s+ok\s+\d+\s+GET http:\/\/127\.0\.0\.1:\d+\/sandbox\/shipbob\/2026-01\/channel \(ShipBob channels\): HTTP 200$/m);
    expect(run.out).to.match(/^probe\s+ok\s+\d+\s+GET http:\/\/127\.0\.0\.1:\d+\/sandbox\/otm\/GC3Services\/TransmissionService\/call\?wsdl \(WSDL\): HTTP 200$/m);
  });

  it('serves the sandbox OTM service its WSDL 1.1, addressed where it was fetched', async () => {
    const res = await fetch(`${gw.url}/sandbox/otm/GC3Services/TransmissionService/call?wsdl`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/xml/);
    const wsdl = await res.text();
    expect(wsdl).to.include('<wsdl:definitions').and.include('xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"');
    expect(wsdl).to.include('<wsdl:operation name="publish">');
    expect(wsdl).to.include('soapAction="http://xmlns.oracle.com/apps/otm/TransmissionService/publish"');
    expect(wsdl).to.include(`<soap:address location="${gw.url}/sandbox/otm/GC3Services/TransmissionService/call"/>`);
    const plain = await fetch(`${gw.url}/sandbox/otm/GC3Services/TransmissionService/call`);
    expect(plain.status).to.equal(405);
    expect(plain.headers.get('allow')).to.equal('POST');
  });

  it('delivers a line ready to ship to the async fulfilment service: awaiting_response, then delivered by its signed callback', async () => {
    const pushed = await omgw(['sandbox', 'push', '--status', 'AWAIT_SHIPPING', '--config', EXAMPLE_CONFIG], env);
    expect(pushed.code, `${pushed.out}\n${pushed.err}`).to.equal(0);
    const deliveries = async (): Promise<Array<{ id: string; state: string }>> => {
      const res = await fetch(`${gw.url}/admin/api/deliveries?connector=fulfilment&limit=10`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return ((await res.json()) as { items: Array<{ id: string; state: string }> }).items;
    };
    // The service answers 202 at once and calls back after 3 s (?delayMs=3000 in connectors/fulfilment.yaml).
    await until('a fulfilment delivery awaiting its response', async () => (await deliveries()).some((d) => d.state === 'awaiting_response'), 30_000);
    await until('the fulfilment delivery delivered by the callback', async () => (await deliveries()).some((d) => d.state === 'delivered'), 60_000);
    const requests = (await (await fetch(`${gw.url}/sandbox/fulfilment/requests`)).json()) as Array<{ connector: string; callback: { state: string; httpStatus: number; outcome: string } }>;
    expect(requests.map((r) => [r.connector, r.callback.state, r.callback.httpStatus, r.callback.outcome])).to.deep.include(['fulfilment', 'sent', 200, 'completed']);
    // What the sandbox shows never holds the callback secret.
    expect(JSON.stringify(requests)).to.not.include('whsec_');
  });

  it('refuses an unsigned callback to the fulfilment connector, and serves its WSDL', async () => {
    const res = await fetch(`${gw.url}/callbacks/fulfilment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"correlationId":"x","status":"COMPLETED"}' });
    expect(res.status).to.equal(401);
    const wsdl = await (await fetch(`${gw.url}/callbacks/fulfilment?wsdl`)).text();
    expect(wsdl).to.include(`<soap:address location="${gw.url}/callbacks/fulfilment"/>`);
  });
});

describe('the example config on another port, set in gateway.yaml only', function () {
  this.timeout(120_000);
  let gw: ChildGateway;
  let dir: string;
  let configDir: string;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    sqlitePassOnly(this, 'the example config runs on a SQLite file of its own');
    dir = mkdtempSync(join(tmpdir(), 'omgw-example-port-'));
    configDir = join(dir, 'config');
    cpSync(EXAMPLE_CONFIG, configDir, { recursive: true });
    const gatewayFile = join(configDir, 'gateway.yaml');
    const port = await freePort();
    writeFileSync(gatewayFile, readFileSync(gatewayFile, 'utf8').replace('port: ${env:OMGW_PORT:-8080}', `port: ${port}`));
    // No OMGW_PORT anywhere: the gateway and every command read the port from the file.
    env = { ...withoutExampleVariables(), DATABASE_URL: `sqlite:${join(dir, 'omgw.db')}`, OMGW_LOG_LEVEL: 'warn' };
    gw = await spawnGateway(configDir, env);
    expect(new URL(gw.url).port).to.equal(String(port));
  });
  after(async () => {
    if (!gw) return;
    gw.child.kill('SIGTERM');
    await gw.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('poll --now reads the emulated Fusion of the gateway on that port', async () => {
    const created = await fetch(`${gw.url}/sandbox/fusion/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('omgw.integration:sandbox-fusion-secret').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lines: [{ item: 'OMGW-MUG-12OZ', quantity: 2 }] }),
    });
    expect(created.status).to.be.within(200, 299);
    const run = await omgw(['poll', '--now', '--config', configDir], env);
    expect(run.code, `${run.out}\n${run.err}`).to.equal(0);
    expect(run.out).to.match(/^poll \S+ ok: 1 read in 1 page\(s\)/m);
  });

  it('connector test --all and sandbox push reach it with no --url', async () => {
    const tested = await omgw(['connector', 'test', '--all', '--config', configDir], env);
    expect(tested.code, `${tested.out}\n${tested.err}`).to.equal(0);
    const pushed = await omgw(['sandbox', 'push', '--config', configDir], env);
    expect(pushed.code, `${pushed.out}\n${pushed.err}`).to.equal(0);
    expect(pushed.out).to.match(/^LEG:SB\S+-1\s+202\s+-\s+-$/m);
  });
});
