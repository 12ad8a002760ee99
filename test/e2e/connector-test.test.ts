import { expect } from 'chai';
import { rmSync } from 'node:fs';
import type { Io } from '../../src/cli/output.ts';
import type { ConnectorConfig } from '../../src/config/schema.ts';
import { Secret } from '../../src/config/secret.ts';
import { noTokenStore } from '../../src/connectors/auth/index.ts';
import { probeConnector, type ProbeReport } from '../../src/connectors/probe.ts';
import { main } from '../../src/main.ts';
import { Store } from '../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { gatewayYaml, startGateway, testEnv, writeConfig } from '../helpers/gateway.ts';
import { FakeTarget } from '../helpers/target.ts';
import { everything } from '../helpers/pages.ts';

const CLIENT_SECRET = 'client-secret-5d8e1f';
const API_KEY = 'probe-api-key-0b7c4a';
const ACCESS_TOKEN = 'access-token-9a2f6e';
const ADMIN_TOKEN = 'admin-token-e1d2c3b4a5';
const WSDL = '<?xml version="1.0"?><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" name="TransmissionService"/>';

describe(`omgw connector test (${backendName()})`, () => {
  let target: FakeTarget;
  let database: TestDatabase;
  let configDir: string;
  const env = () => testEnv(database, { CLIENT_SECRET, PROBE_KEY: API_KEY, TEST_ADMIN_TOKEN: ADMIN_TOKEN });

  before(async () => {
    target = await new FakeTarget().start();
    target.answer = (req) => {
      if (req.method === 'POST' && req.path === '/oauth/token') {
        const expected = `Basic ${Buffer.from(`omgw:${CLIENT_SECRET}`).toString('base64')}`;
        return req.headers.authorization === expected
          ? { status: 200, body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 }) }
          : { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: `bad secret ${CLIENT_SECRET}` }) };
      }
      if (req.method === 'POST' && req.path === '/broken/token') return { status: 400, body: JSON.stringify({ error: 'invalid_grant' }) };
      if (req.path === '/api/health') return req.headers.authorization === `Bearer ${ACCESS_TOKEN}` ? { status: 200, body: '{"status":"up"}' } : { status: 401 };
      if (req.path === '/otm/TransmissionService?wsdl') return { status: 200, headers: { 'content-type': 'text/xml' }, body: WSDL };
      if (req.path === '/keyed') return req.headers['x-api-key'] === 'wrong' ? { status: 200 } : { status: 403, body: `key ${String(req.headers['x-api-key'])} refused` };
      if (req.path === '/post-only') return { status: 405 };
      if (req.path === '/down/ping') return { status: 503 };
      return { status: 404 };
    };
    database = createTestDatabase();
    configDir = writeConfig({
      gateway: `${gatewayYaml()}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`,
      connectors: {
        'oauth.yaml': `protocol: rest
url: ${target.url}/api
path: /orders/{{orderKey}}
probe: /health
auth:
  type: oauth2-client-credentials
  tokenUrl: ${target.url}/oauth/token
  clientId: omgw
  clientSecret: \${env:CLIENT_SECRET}
`,
        'badtoken.yaml': `protocol: rest
url: ${target.url}/api
probe: /health
auth:
  type: oauth2-client-credentials
  tokenUrl: ${target.url}/broken/token
  clientId: omgw
  clientSecret: \${env:CLIENT_SECRET}
  clientAuth: body
`,
        'otm.yaml': `protocol: soap\nurl: ${target.url}/otm/TransmissionService\n`,
        'keyed.yaml': `protocol: rest\nurl: ${target.url}/keyed\nauth:\n  type: api-key\n  key: \${env:PROBE_KEY}\n`,
        'postonly.yaml': `protocol: rest\nurl: ${target.url}/post-only\n`,
        'down.yaml': `protocol: rest\nurl: ${target.url}/down\nprobe: /ping\n`,
        'gone.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/nothing\ntimeout: 2s\n',
      },
      triggerPoints: 'triggerPoints: []\n',
    });
    // As after `npm start`: only start and migrate create the database the tests are audited in.
    const migrated = await cli(['migrate']);
    expect(migrated.code, migrated.err).to.equal(0);
  });
  after(async () => {
    await target.close();
    rmSync(configDir, { recursive: true, force: true });
    await database.dispose();
  });

  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
    const code = await main([...args, '--config', configDir], io, env());
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function report(name: string): Promise<{ code: number; report: ProbeReport; text: string }> {
    const json = await cli(['connector', 'test', name, '--json']);
    const text = await cli(['connector', 'test', name]);
    for (const secret of [CLIENT_SECRET, API_KEY, ACCESS_TOKEN]) {
      expect(json.out + json.err + text.out + text.err, `secret in output of ${name}`).to.not.include(secret);
    }
    expect(text.code).to.equal(json.code);
    return { code: json.code, report: JSON.parse(json.out) as ProbeReport, text: text.out };
  }

  const steps = (r: ProbeReport) => r.steps.map((s) => [s.name, s.ok]);

  it('gets an OAuth2 token, then makes the configured probe call with it', async () => {
    const before = target.requests.length;
    const { code, report: r, text } = await report('oauth');
    expect(code).to.equal(0);
    expect(r.ok).to.equal(true);
    expect(steps(r)).to.deep.equal([
      ['credentials', true],
      ['token', true],
      ['probe', true],
    ]);
    expect(r.url).to.equal(`${target.url}/api/health`);
    expect(r.steps[1]?.detail).to.include('/oauth/token');
    expect(r.steps[2]?.detail).to.include('HTTP 200');
    for (const s of r.steps) expect(s.durationMs).to.be.a('number').and.at.least(0);
    const made = target.requests.slice(before);
    expect(made.filter((q) => q.path === '/api/health').every((q) => q.method === 'GET')).to.equal(true);
    expect(text).to.match(/^database \S+\nconnector oauth: OK \(\d+ ms\)/);
    expect(text).to.match(/\ntoken\s+ok\s+\d+/);
  });

  it('stops at a failing token endpoint with its status and OAuth error, never calling the target', async () => {
    const before = target.requests.length;
    const { code, report: r, text } = await report('badtoken');
    expect(code).to.equal(1);
    expect(r.ok).to.equal(false);
    expect(steps(r)).to.deep.equal([
      ['credentials', true],
      ['token', false],
    ]);
    expect(r.steps[1]?.detail).to.include('400').and.include('invalid_grant');
    expect(target.requests.slice(before).some((q) => q.path === '/api/health')).to.equal(false);
    expect(text).to.include('connector badtoken: FAILED').and.include('invalid_grant');
  });

  it("fetches a SOAP target's WSDL", async () => {
    const { code, report: r } = await report('otm');
    expect(code).to.equal(0);
    expect(r.url).to.equal(`${target.url}/otm/TransmissionService?wsdl`);
    expect(r.steps[1]?.detail).to.include('WSDL').and.include('HTTP 200');
  });

  it('reports refused credentials, a server error, an unreachable target and a reachable POST-only endpoint', async () => {
    const keyed = await report('keyed');
    expect(keyed.code).to.equal(1);
    expect(keyed.report.steps[1]?.detail).to.include('HTTP 403').and.include('refused the credentials');
    const down = await report('down');
    expect(down.report.steps[1]?.detail).to.include('HTTP 503');
    const gone = await report('gone');
    expect(gone.code).to.equal(1);
    expect(gone.report.steps[1]?.detail).to.include('network').and.include('ECONNREFUSED');
    const postOnly = await report('postonly');
    expect(postOnly.code).to.equal(0);
    expect(postOnly.report.steps[1]?.detail).to.include('HTTP 405').and.include('reachable');
  });

  it('--all tests every connector and fails when one does; each test is audited', async () => {
    const all = await cli(['connector', 'test', '--all', '--json']);
    expect(all.code).to.equal(1);
    const { database: named, reports } = JSON.parse(all.out) as { database: string; reports: ProbeReport[] };
    expect(named).to.match(/^(sqlite|postgres):/);
    expect(reports.map((r) => [r.connector, r.ok]).sort()).to.deep.equal(
      [
        ['badtoken', false],
        ['down', false],
        ['gone', false],
        ['keyed', false],
        ['oauth', true],
        ['otm', true],
        ['postonly', true],
      ].sort(),
    );
    const store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    try {
      const audit = await everything((page) => store.browse.audit({ actions: ['connector.tested'], connectors: ['oauth'] }, page));
      expect(audit.length).to.be.at.least(2);
      expect(audit[0]?.result).to.equal('ok');
      expect(audit[0]?.actor).to.match(/^cli:/);
      // Every field of every audit record (the store's objects carry each column).
      const trail = JSON.stringify(await everything((page) => store.browse.audit({}, page)));
      for (const secret of [CLIENT_SECRET, API_KEY, ACCESS_TOKEN]) expect(trail).to.not.include(secret);
    } finally {
      await store.close();
    }
  });

  it('exits 2 without a name or with both a name and --all, and 1 for an unknown connector', async () => {
    expect((await cli(['connector', 'test'])).code).to.equal(2);
    expect((await cli(['connector', 'test', 'oauth', '--all'])).code).to.equal(2);
    const unknown = await cli(['connector', 'test', 'ghost']);
    expect(unknown.code).to.equal(1);
    expect(unknown.err).to.include('no connector named "ghost"');
  });

  it('is offered by the admin API as POST /admin/api/connectors/{name}/test', async () => {
    const gw = await startGateway(
      {
        gateway: `${gatewayYaml()}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`,
        connectors: {
          'oauth.yaml': `protocol: rest\nurl: ${target.url}/api\nprobe: /health\nauth:\n  type: oauth2-client-credentials\n  tokenUrl: ${target.url}/oauth/token\n  clientId: omgw\n  clientSecret: \${env:CLIENT_SECRET}\n`,
          'badtoken.yaml': `protocol: rest\nurl: ${target.url}/api\nprobe: /health\nauth:\n  type: oauth2-client-credentials\n  tokenUrl: ${target.url}/broken/token\n  clientId: omgw\n  clientSecret: \${env:CLIENT_SECRET}\n`,
        },
        triggerPoints: 'triggerPoints: []\n',
      },
      { env: { CLIENT_SECRET, TEST_ADMIN_TOKEN: ADMIN_TOKEN } },
    );
    try {
      const call = async (name: string) => {
        const res = await fetch(`${gw.url}/admin/api/connectors/${name}/test`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const text = await res.text();
        expect(text).to.not.include(CLIENT_SECRET).and.not.include(ACCESS_TOKEN);
        return { status: res.status, body: JSON.parse(text) as ProbeReport };
      };
      const ok = await call('oauth');
      expect(ok.status).to.equal(200);
      expect(steps(ok.body)).to.deep.equal([
        ['credentials', true],
        ['token', true],
        ['probe', true],
      ]);
      const bad = await call('badtoken');
      expect(bad.status).to.equal(200);
      expect(bad.body.ok).to.equal(false);
      expect(bad.body.steps[1]?.detail).to.include('invalid_grant');
      const audit = await everything((page) => gw.gateway.store.browse.audit({ actions: ['connector.tested'] }, page));
      expect(audit.map((a) => [a.actor, a.result])).to.deep.equal([
        ['admin-api', 'ok'],
        ['admin-api', 'failed'],
      ]);
    } finally {
      await gw.stop();
    }
  });

  it('chooses the probe by configuration, protocol and kind', async () => {
    // An empty credential stops the test before any call; the report still names the probe URL.
    const probeUrl = async (over: Partial<ConnectorConfig>): Promise<string> => {
      const c = { name: 'c', url: 'https://api.example.com/base', path: '', protocol: 'rest', kind: 'generic', auth: { type: 'bearer', token: new Secret('') }, ...over } as ConnectorConfig;
      const report = await probeConnector(c, { tokenStore: noTokenStore, now: () => 0, secrets: [] });
      expect(report.steps.map((s) => [s.name, s.ok])).to.deep.equal([['credentials', false]]);
      return report.url;
    };
    expect(await probeUrl({ probe: '/ping' })).to.equal('https://api.example.com/base/ping');
    expect(await probeUrl({ probe: '?check=1' })).to.equal('https://api.example.com/base?check=1');
    expect(await probeUrl({ probe: 'https://status.example.com/up' })).to.equal('https://status.example.com/up');
    expect(await probeUrl({ protocol: 'soap', url: 'https://otm.example.com/Svc/call' })).to.equal('https://otm.example.com/Svc/call?wsdl');
    expect(await probeUrl({ kind: 'shipbob', url: 'https://api.shipbob.com', path: '/2026-01/order' })).to.equal('https://api.shipbob.com/2026-01/channel');
    // Deliveries use shipbob.apiVersion whatever `path` says; so does the probe.
    const shipbob = { apiVersion: '2026-07', enrichFrom: 'fusion', productMap: 'products' } as ConnectorConfig['shipbob'];
    expect(await probeUrl({ kind: 'shipbob', url: 'https://api.shipbob.com/', shipbob })).to.equal('https://api.shipbob.com/2026-07/channel');
    expect(await probeUrl({ kind: 'shipbob', url: 'https://api.shipbob.com', path: '/2026-01/order', shipbob })).to.equal('https://api.shipbob.com/2026-07/channel');
    expect(await probeUrl({ kind: 'oracle-fusion', url: 'https://fa.example.com' })).to.equal(
      'https://fa.example.com/fscmRestApi/resources/11.13.18.05/purchaseOrders?limit=1',
    );
    expect(await probeUrl({ kind: 'oracle-fusion', url: 'https://fa.example.com/fscmRestApi/resources/latest', path: '/salesOrdersForOrderHub/{{id}}' })).to.equal(
      'https://fa.example.com/fscmRestApi/resources/latest/purchaseOrders?limit=1',
    );
    // The generic probe is the target URL itself; that any answer counts there is shown by the
    // POST-only endpoint above (HTTP 405: reachable).
    expect(await probeUrl({ path: '/orders/{{orderKey}}' })).to.equal('https://api.example.com/base');
  });
});
