import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError, formatProblems, loadConfig, type ConfigProblem, type GatewayConfig } from '../../../src/config/load.ts';
import { DEFAULT_BREAKER } from '../../../src/domain/breaker.ts';
import type { ConnectorConfig } from '../../../src/config/schema.ts';
import { Secret } from '../../../src/config/secret.ts';

// ---------------------------------------------------------------------------------------------------------
// Helpers

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../config', import.meta.url));

const MINIMAL_GATEWAY = `inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
`;
const MINIMAL_ENV = { SOAP_PASSWORD: 'inbound-pw-1' };

const dirs: string[] = [];

/** A config folder in a fresh temp dir: file path (relative, may contain folders) → content. */
function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-load-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** The problems of a config that must be refused. */
async function problemsOf(dir: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigProblem[]> {
  try {
    await loadConfig(dir, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  expect.fail('the config was accepted');
}

function connector(config: GatewayConfig, name: string): ConnectorConfig {
  const found = config.connectors.find((c) => c.name === name);
  if (!found) expect.fail(`no connector ${name} (have ${config.connectors.map((c) => c.name).join(', ')})`);
  return found;
}

/** Narrows a config value to a Secret and returns its value. */
function revealed(value: unknown): string {
  expect(value).to.be.instanceOf(Secret);
  return (value as Secret).reveal();
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------

describe('config/load loadConfig', () => {
  describe('the example config folder', () => {
    it('loads with an empty environment, every reference taking its sandbox default', async () => {
      const config = await loadConfig(EXAMPLE_CONFIG, {});

      expect(config.dir).to.equal(EXAMPLE_CONFIG);
      expect(config.gateway.server.port).to.equal(8080);
      expect(config.gateway.database.url).to.equal('sqlite:../data/omgw.db');
      expect(config.gateway.logging.level).to.equal('info');
      const user = config.gateway.inbound.soap.users[0];
      expect(user?.username).to.equal('om-connector');
      expect(revealed(user?.password)).to.equal('sandbox-secret');
      expect(config.gateway.inbound.soap.createdWindow).to.equal(5 * 60_000);
      expect(config.gateway.inbound.soap.dedupeWindow).to.equal(7 * 86_400_000);
      expect(config.gateway.inbound.soap.maxBodySize).to.equal(10 * 1024 * 1024);

      expect(config.connectors.map((c) => c.name)).to.deep.equal(['fulfilment', 'fusion-holds', 'fusion-receipts', 'fusion', 'order-status-crm', 'otm', 'shipbob', 'warehouse']);
      const shipbob = connector(config, 'shipbob');
      expect(shipbob.kind).to.equal('shipbob');
      expect(shipbob.headers).to.deep.equal({ shipbob_channel_id: '100001' });
      expect(shipbob.rateLimit).to.deep.equal({ requests: 150, per: 60_000 });
      expect(shipbob.shipbob).to.include({ enrichFrom: 'fusion', productMap: 'products', locationMap: 'locations' });
      expect(config.mappings.lookup('products', 'OMGW-TSHIRT-M')).to.equal('TShirtBlueM');
      expect(config.mappings.lookup('locations', 'M1')).to.equal('156');
      expect(config.mappings.template('shipment-notice')).to.be.a('string');
      expect(config.mappings.lookup('shipbob-holds', 'order.shipment.exception')).to.equal('SHIPBOB_EXCEPTION');
      expect(config.mappings.lookup('shipbob-receipts', 'order.shipment.delivered')).to.equal('DELIVER');
      expect(connector(config, 'fusion-holds').headers).to.deep.equal({ 'Content-Type': 'application/vnd.oracle.adf.action+json' });
      const crm = connector(config, 'order-status-crm');
      expect(crm.url).to.equal('http://127.0.0.1:8080/sandbox/rest-sink');
      expect(crm.auth.type).to.equal('api-key');
      expect(config.gateway.sandbox.enabled).to.equal(true);
      const otm = connector(config, 'otm');
      expect(otm.protocol).to.equal('soap');
      expect(otm.soap).to.deep.equal({
        version: '1.1',
        action: 'http://xmlns.oracle.com/apps/otm/TransmissionService/publish',
      });
      expect(connector(config, 'order-status-crm').retry.schedule).to.deep.equal([
        5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000,
      ]);

      expect(config.triggerPoints.map((t) => [t.name, t.eventCodes, t.connectors])).to.deep.equal([
        ['awaiting-shipping-to-shipbob', ['FlineStatusUpdate'], ['shipbob']],
        ['awaiting-shipping-to-fulfilment', ['FlineStatusUpdate'], ['fulfilment']],
        ['status-to-crm', ['FlineStatusUpdate', 'OrderHeaderStatusUpdate', 'FlineClosed'], ['order-status-crm']],
        ['shipped-lines-to-crm', ['OrderAttributeUpdate'], ['order-status-crm']],
        ['exceptions-to-otm', ['HOLD', 'JEOPARDY', 'SPLIT'], ['otm']],
        ['splits-to-warehouse', ['SPLIT'], ['warehouse']],
        ['open-purchase-orders-to-shipbob', ['PurchaseOrderChanged'], ['shipbob']],
        ['cancelled-lines-to-shipbob', ['FlineStatusUpdate'], ['shipbob']],
        ['closed-cancelled-lines-to-shipbob', ['FlineClosed'], ['shipbob']],
        ['quantity-changes-to-shipbob', ['OrderAttributeUpdate'], ['shipbob']],
        ['ship-to-changes-to-shipbob', ['OrderAttributeUpdate'], ['shipbob']],
        ['split-lines-to-shipbob', ['SPLIT'], ['shipbob']],
        ['cancelled-purchase-orders-to-shipbob', ['PurchaseOrderChanged'], ['shipbob']],
        ['shipments-to-fusion', ['order.shipped'], ['fusion']],
        ['shipment-holds-to-fusion', ['order.shipment.on_hold', 'order.shipment.exception', 'order.shipment.cancelled'], ['fusion-holds']],
        ['deliveries-to-fusion', ['order.shipment.delivered'], ['fusion-receipts']],
      ]);
      // What Oracle's values mean for ShipBob orders made before: the example writes out the defaults.
      expect(shipbob.shipbob?.changes).to.deep.equal({
        cancelledWhen: [
          { field: 'CancelFlagNewValue', in: ['Y'] },
          { field: 'StatusCodeNewValue', in: ['CANCELED'] },
        ],
        changeOnly: ['OrderAttributeUpdate', 'FlineClosed', 'SPLIT'],
        purchaseOrderStatus: { OPEN: 'fulfil', CANCELED: 'cancel' },
      });
      expect(config.gateway.schedules.poller).to.deep.include({ enabled: true, cron: '*/5 * * * *', connector: 'fusion', expand: 'lines.schedules', overlap: 10 * 60_000 });
      expect(config.triggerPoints.find((t) => t.name === 'shipped-lines-to-crm')?.when).to.deep.equal([
        { field: 'OrderLine.OrderFulfillmentLine.StatusCodeNewValue', in: ['SHIPPED', 'PARTIALLY_SHIPPED'] },
      ]);
      expect([...config.secrets].sort()).to.deep.equal(
        [
          'sandbox-crm-key',
          'sandbox-otm-secret',
          'sandbox-secret',
          'sandbox-encryption-key',
          'whsec_b21ndy1zYW5kYm94LXNoaXBib2Ita2V5',
          'b21ndy1zYW5kYm94LXNoaXBib2Ita2V5',
          'whsec_b21ndy1zYW5kYm94LWZ1bGZpbG1lbnQx',
          'b21ndy1zYW5kYm94LWZ1bGZpbG1lbnQx',
          'sandbox-shipbob-token',
          'sandbox-fusion-secret',
          'sandbox-admin-token-change-me',
          'ATL.INTEGRATION:sandbox-otm-secret',
          'om-connector:sandbox-secret',
          'omgw.integration:sandbox-fusion-secret',
        ].sort(),
      );
    });

    it('takes values from the environment when they are set', async () => {
      const config = await loadConfig(EXAMPLE_CONFIG, {
        OMGW_PORT: '9443',
        OMGW_SOAP_PASSWORD: 'prod-inbound',
        CRM_API_KEY: 'prod-token',
        OMGW_LOG_LEVEL: 'debug',
      });
      expect(config.gateway.server.port).to.equal(9443);
      expect(config.gateway.logging.level).to.equal('debug');
      expect(revealed(config.gateway.inbound.soap.users[0]?.password)).to.equal('prod-inbound');
      const crm = connector(config, 'order-status-crm');
      expect(crm.url).to.equal('http://127.0.0.1:9443/sandbox/rest-sink');
      expect(crm.auth.type === 'api-key' && crm.auth.key.reveal()).to.equal('prod-token');
      expect(config.secrets).to.include.members(['prod-inbound', 'prod-token']);
      expect(config.secrets).not.to.include('sandbox-secret');
    });
  });

  describe('defaults and units', () => {
    it('fills every default: durations in ms, sizes in bytes, the retry schedule, strict ordering, online', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/crm.yaml': 'protocol: rest\nurl: http://crm.example/api\n',
      });
      const config = await loadConfig(dir, MINIMAL_ENV);

      const g = config.gateway;
      expect(g.server).to.deep.equal({ host: '0.0.0.0', port: 8080, trustProxy: false, requestTimeout: 60_000, allowPublishedSecrets: false });
      expect(g.database.url).to.equal('sqlite:./data/omgw.db');
      expect(g.database.poolMax).to.equal(10);
      expect(g.logging.level).to.equal('info');
      const soap = g.inbound.soap;
      expect(soap.auth).to.deep.equal(['ws-security', 'basic']);
      expect(soap.passwordTypes).to.deep.equal(['text', 'digest']);
      expect(soap.createdWindow).to.equal(300_000);
      expect(soap.dedupeWindow).to.equal(604_800_000);
      expect(soap.maxBodySize).to.equal(10_485_760);
      expect(soap.maxDepth).to.equal(64);
      expect(soap.maxElements).to.equal(200_000);

      const crm = connector(config, 'crm');
      expect(crm.kind).to.equal('generic');
      expect(crm.method).to.equal('POST');
      expect(crm.path).to.equal('');
      expect(crm.headers).to.deep.equal({});
      expect(crm.auth).to.deep.equal({ type: 'none' });
      expect(crm.transform).to.equal(undefined); // the runtime picks canonical-json for REST, om-results-xml for SOAP
      expect(crm.timeout).to.equal(30_000);
      expect(crm.retry).to.deep.equal({
        schedule: [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
        jitter: 0.2,
        maxAttempts: 9,
        retryOn: ['network', 'timeout', 408, 425, 429, '5xx'],
        maxRetryAfter: 3_600_000,
      });
      expect(crm.rateLimit).to.equal(undefined);
      // The breaker defaults are the state machine's (src/domain/breaker.ts).
      expect({
        failureRatio: crm.breaker.failureRatio,
        minimumRequests: crm.breaker.minimumRequests,
        windowMs: crm.breaker.window,
        consecutiveFailures: crm.breaker.consecutiveFailures,
        coolDownMs: crm.breaker.coolDown,
      }).to.deep.equal(DEFAULT_BREAKER);
      expect(crm.concurrency).to.equal(4);
      expect(crm.ordering).to.equal('strict');
      expect(crm.state).to.equal('online');
      expect(crm.idempotencyKey).to.deep.equal({ template: '{{delivery.id}}', header: 'Idempotency-Key' });

      expect(config.triggerPoints).to.deep.equal([]);
      expect(config.secrets).to.deep.equal(['om-connector:inbound-pw-1', 'inbound-pw-1']);
    });

    it('converts written durations and sizes, also when they come from the environment', async () => {
      const dir = configDir({
        'gateway.yaml': `server:
  requestTimeout: 90s
  port: \${env:PORT}
inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
    createdWindow: 250ms
    dedupeWindow: \${env:DEDUPE:-2d}
    maxBodySize: 512KB
`,
        'connectors/crm.yaml': `protocol: rest
url: http://crm.example/api
timeout: 1.5s
retry:
  schedule: [1s, 1m, 1h]
  maxRetryAfter: 10m
rateLimit:
  requests: 10
  per: 1s
breaker:
  consecutiveFailures: 3
  coolDown: 2m
`,
      });
      const config = await loadConfig(dir, { ...MINIMAL_ENV, PORT: '9000' });
      expect(config.gateway.server.requestTimeout).to.equal(90_000);
      expect(config.gateway.server.port).to.equal(9000);
      expect(config.gateway.inbound.soap.createdWindow).to.equal(250);
      expect(config.gateway.inbound.soap.dedupeWindow).to.equal(2 * 86_400_000);
      expect(config.gateway.inbound.soap.maxBodySize).to.equal(512 * 1024);
      const crm = connector(config, 'crm');
      expect(crm.timeout).to.equal(1_500);
      expect(crm.retry.schedule).to.deep.equal([1_000, 60_000, 3_600_000]);
      expect(crm.retry.maxRetryAfter).to.equal(600_000);
      expect(crm.rateLimit).to.deep.equal({ requests: 10, per: 1_000 });
      expect(crm.breaker).to.deep.equal({ consecutiveFailures: 3, failureRatio: 0.5, minimumRequests: 20, window: 60_000, coolDown: 120_000 });
    });
  });

  describe('references', () => {
    it('resolves ${env:X}, inside a longer value too', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/crm.yaml': `protocol: rest
url: https://\${env:CRM_HOST}/api
headers:
  X-Tenant: tenant-\${env:TENANT}
auth:
  type: bearer
  token: \${env:CRM_TOKEN}
`,
      });
      const config = await loadConfig(dir, { ...MINIMAL_ENV, CRM_HOST: 'crm.example', TENANT: '42', CRM_TOKEN: 'tok-1' });
      const crm = connector(config, 'crm');
      expect(crm.url).to.equal('https://crm.example/api');
      expect(crm.headers).to.deep.equal({ 'X-Tenant': 'tenant-42' });
      expect(crm.auth.type === 'bearer' && crm.auth.token.reveal()).to.equal('tok-1');
      expect(revealed(config.gateway.inbound.soap.users[0]?.password)).to.equal('inbound-pw-1');
    });

    it('uses the default of ${env:X:-default} when X is unset or empty, and X when it is set', async () => {
      const gateway = `server:
  host: \${env:HOST:-127.0.0.1}
  port: \${env:PORT:-8181}
inbound:
  soap:
    users:
      - username: \${env:SOAP_USER:-om-connector}
        password: \${env:SOAP_PASSWORD:-fallback-pw}
`;
      const unset = await loadConfig(configDir({ 'gateway.yaml': gateway }), {});
      expect(unset.gateway.server.host).to.equal('127.0.0.1');
      expect(unset.gateway.server.port).to.equal(8181);
      expect(unset.gateway.inbound.soap.users[0]?.username).to.equal('om-connector');
      expect(revealed(unset.gateway.inbound.soap.users[0]?.password)).to.equal('fallback-pw');

      const empty = await loadConfig(configDir({ 'gateway.yaml': gateway }), { HOST: '', SOAP_PASSWORD: '' });
      expect(empty.gateway.server.host).to.equal('127.0.0.1');
      expect(revealed(empty.gateway.inbound.soap.users[0]?.password)).to.equal('fallback-pw');

      const set = await loadConfig(configDir({ 'gateway.yaml': gateway }), {
        HOST: '10.0.0.5',
        PORT: '9090',
        SOAP_USER: 'om-prod',
        SOAP_PASSWORD: 'real-pw',
      });
      expect(set.gateway.server.host).to.equal('10.0.0.5');
      expect(set.gateway.server.port).to.equal(9090);
      expect(set.gateway.inbound.soap.users[0]?.username).to.equal('om-prod');
      expect(revealed(set.gateway.inbound.soap.users[0]?.password)).to.equal('real-pw');
    });

    it('reads ${file:path}, absolute or relative to the config folder, dropping one trailing newline', async () => {
      const outside = mkdtempSync(join(tmpdir(), 'omgw-secrets-'));
      dirs.push(outside);
      const absolute = join(outside, 'shipbob-token');
      writeFileSync(absolute, 'abs-token-7\n');
      const dir = configDir({
        'gateway.yaml': `inbound:
  soap:
    users:
      - username: om-connector
        password: \${file:secrets/inbound-password}
`,
        'secrets/inbound-password': 'rel-pw-3\r\n',
        'secrets/crm-key': 'no-newline-key',
        'connectors/shipbob.yaml': `protocol: rest
url: https://sandbox-api.shipbob.com
auth:
  type: bearer
  token: \${file:${absolute}}
`,
        'connectors/crm.yaml': `protocol: rest
url: https://crm.example/api
auth:
  type: api-key
  key: \${file:secrets/crm-key}
`,
      });
      const config = await loadConfig(dir, {});
      expect(revealed(config.gateway.inbound.soap.users[0]?.password)).to.equal('rel-pw-3');
      const shipbob = connector(config, 'shipbob');
      expect(shipbob.auth.type === 'bearer' && shipbob.auth.token.reveal()).to.equal('abs-token-7');
      const crm = connector(config, 'crm');
      expect(crm.auth.type === 'api-key' && crm.auth.key.reveal()).to.equal('no-newline-key');
    });

    it('refuses a secret written literally in a file, saying to use a reference', async () => {
      const dir = configDir({
        'gateway.yaml': `inbound:
  soap:
    users:
      - username: om-connector
        password: hunter2
`,
        'connectors/crm.yaml': `protocol: rest
url: https://crm.example/api
auth:
  type: bearer
  token: Bearer \${env:CRM_TOKEN}
`,
      });
      const problems = await problemsOf(dir, { CRM_TOKEN: 'x' });
      expect(problems.map((p) => [p.file, p.key])).to.deep.equal([
        ['gateway.yaml', 'inbound.soap.users.0.password'],
        ['connectors/crm.yaml', 'auth.token'],
      ]);
      for (const p of problems) {
        expect(p.reason).to.include('${env:NAME}').and.include('${file:/path}');
        expect(p.reason).to.match(/never written in the file/);
        // The refused value is not echoed back.
        expect(p.reason).not.to.include('hunter2');
      }
    });

    it('refuses a connector URL or token endpoint that is not http(s)', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/a.yaml': 'protocol: rest\nurl: file:///etc/passwd\n',
        'connectors/b.yaml': 'protocol: rest\nurl: ftp://files.example/in\n',
        'connectors/c.yaml': `protocol: rest
url: https://crm.example/api
auth: { type: oauth2-client-credentials, tokenUrl: not a url, clientId: omgw, clientSecret: '\${env:CRM_SECRET}' }
`,
      });
      const problems = await problemsOf(dir, { ...MINIMAL_ENV, CRM_SECRET: 'client-secret-1' });
      expect(problems.map((p) => [p.file, p.key, p.reason])).to.deep.equal([
        ['connectors/a.yaml', 'url', 'must be an absolute http(s) URL'],
        ['connectors/b.yaml', 'url', 'must be an absolute http(s) URL'],
        ['connectors/c.yaml', 'auth.tokenUrl', 'must be an absolute http(s) URL'],
      ]);
    });

    it('reports an unset variable without default as a problem naming the variable and the key', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/crm.yaml': 'protocol: rest\nurl: https://${env:CRM_HOST}/api\n',
      });
      const problems = await problemsOf(dir, {});
      expect(problems).to.deep.equal([
        { file: 'gateway.yaml', key: 'inbound.soap.users.0.password', reason: 'environment variable SOAP_PASSWORD is not set' },
        { file: 'connectors/crm.yaml', key: 'url', reason: 'environment variable CRM_HOST is not set' },
      ]);
    });

    it("resolves ${server:url} in connector files to the gateway's own address from gateway.yaml", async () => {
      const files = (server: string) => ({
        'gateway.yaml': `server:\n${server}${MINIMAL_GATEWAY}`,
        'connectors/sink.yaml': 'protocol: rest\nurl: ${server:url}/sandbox/rest-sink\n',
      });
      const url = async (server: string) => connector(await loadConfig(configDir(files(server)), MINIMAL_ENV), 'sink').url;
      expect(await url('  host: 127.0.0.1\n  port: 9090\n')).to.equal('http://127.0.0.1:9090/sandbox/rest-sink');
      // A wildcard bind is reached on loopback; the default host is 0.0.0.0.
      expect(await url('  port: 9091\n')).to.equal('http://127.0.0.1:9091/sandbox/rest-sink');
      expect(await url('  host: "::"\n  port: 9092\n')).to.equal('http://[::1]:9092/sandbox/rest-sink');
      expect(await problemsOf(configDir(files('  port: 0\n')), MINIMAL_ENV)).to.deep.equal([
        { file: 'connectors/sink.yaml', key: 'url', reason: "${server:url} is not known: gateway.yaml's server.port is 0 (any free port) or gateway.yaml is invalid" },
      ]);
      const inGateway = configDir({ 'gateway.yaml': `${MINIMAL_GATEWAY}logging:\n  level: \${server:url}\n` });
      expect((await problemsOf(inGateway, MINIMAL_ENV)).map((p) => p.reason)).to.include('${server:url} is for connector files only');
    });

    it('reports a ${file:...} that cannot be read, naming the file', async () => {
      const dir = configDir({
        'gateway.yaml': `inbound:
  soap:
    users:
      - username: om-connector
        password: \${file:secrets/missing}
      - username: other
        password: \${file:/nonexistent/omgw/secret}
`,
      });
      const problems = await problemsOf(dir, {});
      expect(problems).to.deep.equal([
        { file: 'gateway.yaml', key: 'inbound.soap.users.0.password', reason: 'file secrets/missing cannot be read (ENOENT)' },
        {
          file: 'gateway.yaml',
          key: 'inbound.soap.users.1.password',
          reason: 'file /nonexistent/omgw/secret cannot be read (ENOENT)',
        },
      ]);
    });

    it('reports a config file that cannot be read', async () => {
      const dir = configDir({ 'gateway.yaml': MINIMAL_GATEWAY });
      // A folder where a connector file is expected: readFile fails with EISDIR (chmod is no use as root).
      mkdirSync(join(dir, 'connectors', 'crm.yaml'), { recursive: true });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      expect(problems).to.deep.equal([{ file: 'connectors/crm.yaml', key: '', reason: 'cannot be read (EISDIR)' }]);
    });
  });

  describe('schedules.poller', () => {
    const withPoller = (poller: string): string => `${MINIMAL_GATEWAY}schedules:\n  poller:\n${poller}`;

    it('needs an oracle-fusion connector to read through, once enabled', async () => {
      expect(await problemsOf(configDir({ 'gateway.yaml': withPoller('    enabled: true\n') }), MINIMAL_ENV)).to.deep.equal([
        { file: 'gateway.yaml', key: 'schedules.poller.connector', reason: 'is required when the poller is enabled' },
      ]);
      const crm = 'protocol: rest\nurl: https://crm.example.com/orders\n';
      expect(await problemsOf(configDir({ 'gateway.yaml': withPoller('    enabled: true\n    connector: crm\n'), 'connectors/crm.yaml': crm }), MINIMAL_ENV)).to.deep.equal([
        { file: 'gateway.yaml', key: 'schedules.poller.connector', reason: 'no oracle-fusion connector named "crm"' },
      ]);
      // Disabled, it is not checked (omgw poll --now then says what is missing).
      const disabled = await loadConfig(configDir({ 'gateway.yaml': withPoller('    enabled: false\n    pageSize: 500\n') }), MINIMAL_ENV);
      expect(disabled.gateway.schedules.poller).to.include({ enabled: false, pageSize: 500 });
      const tooBig = await problemsOf(configDir({ 'gateway.yaml': withPoller('    pageSize: 501\n') }), MINIMAL_ENV);
      expect(tooBig.map((p) => p.key)).to.deep.equal(['schedules.poller.pageSize']);
    });
  });

  describe('database', () => {
    const gatewayWithDb = (url: string): string => `database:\n  url: ${url}\n${MINIMAL_GATEWAY}`;

    it('DATABASE_URL overrides database.url; an empty DATABASE_URL does not', async () => {
      const dir = configDir({ 'gateway.yaml': gatewayWithDb('sqlite:./somewhere/else.db') });
      const overridden = await loadConfig(dir, { ...MINIMAL_ENV, DATABASE_URL: 'postgres://omgw@db.example:5432/omgw' });
      expect(overridden.gateway.database.url).to.equal('postgres://omgw@db.example:5432/omgw');
      const kept = await loadConfig(dir, { ...MINIMAL_ENV, DATABASE_URL: '' });
      expect(kept.gateway.database.url).to.equal('sqlite:./somewhere/else.db');
    });

    it('puts the password of a database URL in secrets, decoded, whether from the file or DATABASE_URL', async () => {
      const fromFile = await loadConfig(configDir({ 'gateway.yaml': gatewayWithDb('${env:DB_URL}') }), {
        ...MINIMAL_ENV,
        DB_URL: 'postgres://omgw:db%40pass-1@db.example:5432/omgw',
      });
      expect(fromFile.secrets).to.include('db@pass-1');

      const fromEnv = await loadConfig(configDir({ 'gateway.yaml': MINIMAL_GATEWAY }), {
        ...MINIMAL_ENV,
        DATABASE_URL: 'postgresql://omgw:env-db-pass@db.example/omgw',
      });
      expect(fromEnv.secrets).to.include('env-db-pass');

      const noPassword = await loadConfig(configDir({ 'gateway.yaml': gatewayWithDb('postgres://omgw@db.example/omgw') }), MINIMAL_ENV);
      expect(noPassword.secrets).to.deep.equal(['om-connector:inbound-pw-1', 'inbound-pw-1']);
    });

    it('refuses a database URL the store cannot open, without echoing it', async () => {
      const problems = await problemsOf(configDir({ 'gateway.yaml': gatewayWithDb('mysql://root:pw-9@db/omgw') }), MINIMAL_ENV);
      expect(problems).to.deep.equal([
        { file: 'gateway.yaml', key: 'database.url', reason: 'must start with sqlite: or postgres://' },
      ]);
      const fromEnv = await problemsOf(configDir({ 'gateway.yaml': MINIMAL_GATEWAY }), {
        ...MINIMAL_ENV,
        DATABASE_URL: 'mysql://root:pw-9@db/omgw',
      });
      expect(fromEnv).to.have.length(1);
      expect(fromEnv[0]).to.include({ file: 'gateway.yaml', key: 'database.url' });
      expect(fromEnv[0]?.reason).to.include('DATABASE_URL').and.not.include('pw-9');
    });
  });

  it('lists every configured secret value in secrets, and nothing else', async () => {
    const env = {
      IN1: 'in-pw-1',
      IN2: 'in-pw-2',
      BASIC: 'basic-pw',
      BEARER: 'bearer-tok',
      APIKEY: 'api-key-val',
      CC_SECRET: 'cc-secret',
      RT_SECRET: 'rt-client-secret',
      RT_TOKEN: 'rt-refresh-token',
      WSS: 'wss-pw',
      PASSPHRASE: 'tls-passphrase',
      DB_URL: 'postgres://omgw:db-pw@db.example/omgw',
      ENC_KEY: 'encryption-key-1',
    };
    const dir = configDir({
      'gateway.yaml': `database:
  url: \${env:DB_URL}
  encryptionKey: \${env:ENC_KEY}
inbound:
  soap:
    users:
      - username: first-user
        password: \${env:IN1}
      - username: second-user
        password: \${env:IN2}
`,
      'connectors/a-basic.yaml': 'protocol: rest\nurl: https://a.example\nauth:\n  type: basic\n  username: basic-user\n  password: ${env:BASIC}\n',
      'connectors/b-bearer.yaml': 'protocol: rest\nurl: https://b.example\nauth:\n  type: bearer\n  token: ${env:BEARER}\n',
      'connectors/c-apikey.yaml': 'protocol: rest\nurl: https://c.example\nauth:\n  type: api-key\n  key: ${env:APIKEY}\n',
      'connectors/d-cc.yaml': `protocol: rest
url: https://d.example
auth:
  type: oauth2-client-credentials
  tokenUrl: https://d.example/token
  clientId: d-client
  clientSecret: \${env:CC_SECRET}
`,
      'connectors/e-rt.yaml': `protocol: rest
url: https://e.example
auth:
  type: oauth2-refresh-token
  tokenUrl: https://e.example/token
  clientId: e-client
  clientSecret: \${env:RT_SECRET}
  refreshToken: \${env:RT_TOKEN}
`,
      'connectors/f-wss.yaml': `protocol: soap
url: https://f.example/soap
auth:
  type: ws-security
  username: wss-user
  password: \${env:WSS}
tls:
  passphrase: \${env:PASSPHRASE}
`,
    });
    const config = await loadConfig(dir, env);
    expect([...config.secrets].sort()).to.deep.equal(
      [
        ...['in-pw-1', 'in-pw-2', 'basic-pw', 'bearer-tok', 'api-key-val', 'cc-secret', 'rt-client-secret', 'rt-refresh-token', 'wss-pw', 'tls-passphrase', 'db-pw', 'encryption-key-1'],
        // Credential pairs, whose base64 an Authorization header carries.
        ...['first-user:in-pw-1', 'second-user:in-pw-2', 'basic-user:basic-pw', 'd-client:cc-secret', 'e-client:rt-client-secret', 'wss-user:wss-pw'],
      ].sort(),
    );
  });

  describe('problems', () => {
    it('lists every problem of every file at once, each with its file and key', async () => {
      const dir = configDir({
        'gateway.yaml': `bogus: 1
server:
  prot: 8080
  requestTimeout: 5 minutes
inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
    maxBodySize: lots
`,
        'connectors/Bad_Name.yaml': 'protocol: rest\nurl: https://bad.example\n',
        'connectors/crm.yaml': 'protocol: rest\nurl: https://crm.example\ntimeout: 3 sec\n',
        'connectors/broken.yaml': 'protocol: rest\nurl: https://broken.example\nheaders: [a\n  b: c\n',
        'connectors/otm.yaml': 'protocol: soap\nurl: https://otm.example\n',
        'trigger-points.yaml': `triggerPoints:
  - name: shipping
    eventCodes: [FlineStatusUpdate]
    connectors: [ghost, otm]
  - name: shipping
    eventCodes: [HOLD]
    when:
      - field: StatusCodeNewValue
        in: [AWAIT_SHIPPING]
        equals: SHIPPED
      - field: HoldCode
        matches: "(["
    connectors: [otm, crm, broken]
`,
      });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      const sortKey = (p: ConfigProblem): string => `${p.file} ${p.key}`;
      expect(problems.map(sortKey).sort()).to.deep.equal(
        [
          'gateway.yaml bogus',
          'gateway.yaml server.prot',
          'gateway.yaml server.requestTimeout',
          'gateway.yaml inbound.soap.maxBodySize',
          'connectors/Bad_Name.yaml name',
          'connectors/crm.yaml timeout',
          'connectors/broken.yaml ',
          'trigger-points.yaml triggerPoints.0.connectors.0',
          'trigger-points.yaml triggerPoints.1.name',
          'trigger-points.yaml triggerPoints.1.when.0',
          'trigger-points.yaml triggerPoints.1.when.1.matches',
        ].sort(),
      );
      const reason = (file: string, key: string): string => {
        const found = problems.find((p) => p.file === file && p.key === key);
        if (!found) expect.fail(`no problem for ${file} ${key}`);
        return found.reason;
      };
      expect(reason('gateway.yaml', 'bogus')).to.equal('unknown key');
      expect(reason('gateway.yaml', 'server.prot')).to.equal('unknown key');
      expect(reason('gateway.yaml', 'server.requestTimeout')).to.match(/"5 minutes" is not a duration/);
      expect(reason('gateway.yaml', 'inbound.soap.maxBodySize')).to.match(/"lots" is not a size/);
      expect(reason('connectors/Bad_Name.yaml', 'name')).to.match(/lower-case/);
      expect(reason('connectors/crm.yaml', 'timeout')).to.match(/"3 sec" is not a duration/);
      expect(reason('connectors/broken.yaml', '')).to.match(/^not valid YAML at line 3, column \d+: /);
      expect(reason('trigger-points.yaml', 'triggerPoints.0.connectors.0')).to.equal(
        'no connector named "ghost" (connectors: otm)',
      );
      expect(reason('trigger-points.yaml', 'triggerPoints.1.name')).to.equal('"shipping" is used twice');
      expect(reason('trigger-points.yaml', 'triggerPoints.1.when.0')).to.equal(
        'give exactly one of in, notIn, equals, exists, matches',
      );
      expect(reason('trigger-points.yaml', 'triggerPoints.1.when.1.matches')).to.equal('not a valid regular expression');
    });

    it('says what is wrong with a value that may be a number or a string, not just "Invalid input"', async () => {
      const dir = configDir({
        'gateway.yaml': `server:
  port: eighty
  trustProxy: yes
inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
    maxBodySize: lots
`,
        'connectors/crm.yaml': 'protocol: rest\nurl: https://crm.example\nretry:\n  retryOn: [sometimes]\n',
      });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      expect(problems.map((p) => [p.file, p.key])).to.deep.equal([
        ['gateway.yaml', 'server.port'],
        ['gateway.yaml', 'server.trustProxy'],
        ['gateway.yaml', 'inbound.soap.maxBodySize'],
        ['connectors/crm.yaml', 'retry.retryOn.0'],
      ]);
      for (const p of problems) expect(p.reason, `${p.file} ${p.key}`).not.to.equal('Invalid input');
      expect(problems[0]?.reason).to.include('expected number');
      expect(problems[1]?.reason).to.include('"true"|"false"');
      expect(problems[2]?.reason).to.equal('"lots" is not a size (use e.g. 512KB, 10MB)');
      expect(problems[3]?.reason).to.include('"network"|"timeout"|"4xx"|"5xx"');
    });

    it('formats the problems in the error message as "file key: reason"', async () => {
      const dir = configDir({ 'gateway.yaml': `${MINIMAL_GATEWAY}logging:\n  level: loud\n` });
      let error: unknown;
      try {
        await loadConfig(dir, MINIMAL_ENV);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.code).to.equal('CONFIG_INVALID');
      expect(configError.problems).to.have.length(1);
      expect(configError.problems[0]).to.include({ file: 'gateway.yaml', key: 'logging.level' });
      expect(configError.message).to.equal(`config has 1 problem(s):\n${formatProblems(configError.problems)}`);
      expect(formatProblems(configError.problems)).to.match(/^ {2}gateway\.yaml logging\.level: \S/);
      expect(formatProblems([{ file: 'gateway.yaml', key: '', reason: 'file not found' }])).to.equal(
        '  gateway.yaml: file not found',
      );
    });

    it('gives the YAML line and column of a syntax error', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'trigger-points.yaml': 'triggerPoints:\n  - name: a\n    eventCodes: [HOLD]\n    eventCodes: [SPLIT]\n    connectors: [x]\n',
      });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ file: 'trigger-points.yaml', key: '' });
      expect(problems[0]?.reason).to.match(/^not valid YAML at line 4, column 5: Map keys must be unique/);
    });

    describe('a file that is not YAML, in the example config', () => {
      /** The example config with `rel` replaced by `text`. */
      const exampleWith = (rel: string, text: string): string => {
        const dir = configDir({});
        cpSync(EXAMPLE_CONFIG, dir, { recursive: true });
        writeFileSync(join(dir, rel), text);
        return dir;
      };
      // Each is named by others: the ShipBob connector's productMap and enrichFrom, the poller's
      // connector, every connector's ${server:url}. Only the syntax error is reported.
      const cases: Array<[string, string, string]> = [
        ['mappings/products.yaml', 'kind: product-map\nentries:\n  A: [1, 2\n', 'line 4, column 1'],
        ['connectors/fusion.yaml', 'protocol: rest\nkind: oracle-fusion\nurl: x: y\n', 'line 3, column 6'],
        ['gateway.yaml', 'server:\n  port: 8080\n    host: x\n', 'line 2, column 9'],
      ];
      for (const [rel, text, where] of cases) {
        it(`${rel}: only its syntax error, at its line and column`, async () => {
          const problems = await problemsOf(exampleWith(rel, text));
          expect(problems, inspect(problems)).to.have.length(1);
          expect(problems[0]).to.include({ file: rel, key: '' });
          expect(problems[0]?.reason).to.match(new RegExp(`^not valid YAML at ${where}: \\S`));
        });
      }

      it('a map that is YAML but not a valid map: its own problems, and no "no mappings/products.yaml"', async () => {
        const problems = await problemsOf(exampleWith('mappings/products.yaml', 'kind: product-map\ncolour: blue\nentries:\n  A: B\n'));
        expect(problems.map((p) => `${p.file} ${p.key}: ${p.reason}`)).to.deep.equal(['mappings/products.yaml colour: unknown key']);
      });

      it('a connector that is valid YAML but named by the ShipBob connector and the poller, and is no Fusion connector, is reported there', async () => {
        const problems = await problemsOf(exampleWith('connectors/fusion.yaml', 'protocol: rest\nurl: http://127.0.0.1:9/x\n'));
        expect(problems.map((p) => `${p.file} ${p.key}`).sort()).to.deep.equal(['connectors/shipbob.yaml shipbob.enrichFrom', 'gateway.yaml schedules.poller.connector']);
      });
    });

    it('reports a missing gateway.yaml, and still checks the other files', async () => {
      const dir = configDir({ 'connectors/crm.yaml': 'protocol: ftp\nurl: https://crm.example\n' });
      const problems = await problemsOf(dir, {});
      expect(problems.map((p) => [p.file, p.key])).to.deep.equal([
        ['gateway.yaml', ''],
        ['connectors/crm.yaml', 'protocol'],
      ]);
      expect(problems[0]?.reason).to.equal('file not found');
    });

    it('reports a folder without any config as a missing gateway.yaml', async () => {
      const problems = await problemsOf(join(tmpdir(), 'omgw-does-not-exist-9c1d'), {});
      expect(problems).to.deep.equal([{ file: 'gateway.yaml', key: '', reason: 'file not found' }]);
    });

    it('reports two connector files with the same name', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/crm.yaml': 'protocol: rest\nurl: https://crm.example\n',
        'connectors/crm-copy.yaml': 'name: crm\nprotocol: rest\nurl: https://crm2.example\n',
      });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      expect(problems).to.deep.equal([
        { file: 'connectors/crm.yaml', key: 'name', reason: 'connector "crm" is defined twice' },
      ]);
    });
  });

  describe('connector names', () => {
    it('defaults a connector name to its file name (.yaml or .yml); a name in the file wins', async () => {
      const dir = configDir({
        'gateway.yaml': MINIMAL_GATEWAY,
        'connectors/order-status.yaml': 'protocol: rest\nurl: https://crm.example\n',
        'connectors/otm.v2.yml': 'protocol: soap\nurl: https://otm.example\n',
        'connectors/whatever.yaml': 'name: shipbob\nprotocol: rest\nurl: https://shipbob.example\n',
        'connectors/README.txt': 'not a connector',
        'trigger-points.yaml': `triggerPoints:
  - name: all
    eventCodes: ['*']
    connectors: [order-status, otm.v2, shipbob]
`,
      });
      const config = await loadConfig(dir, MINIMAL_ENV);
      // Files are read in name order: order-status.yaml, otm.v2.yml, whatever.yaml.
      expect(config.connectors.map((c) => c.name)).to.deep.equal(['order-status', 'otm.v2', 'shipbob']);
      expect(config.triggerPoints[0]?.connectors).to.deep.equal(['order-status', 'otm.v2', 'shipbob']);
    });

    it('refuses a file name that is not a valid connector name when the file gives no name', async () => {
      const dir = configDir({ 'gateway.yaml': MINIMAL_GATEWAY, 'connectors/Order Status.yaml': 'protocol: rest\nurl: https://crm.example\n' });
      const problems = await problemsOf(dir, MINIMAL_ENV);
      expect(problems.map((p) => [p.file, p.key])).to.deep.equal([['connectors/Order Status.yaml', 'name']]);
    });
  });
});

describe('config/secret Secret', () => {
  const secret = new Secret('s3cr3t-value');

  it('prints as *** through JSON.stringify, String(), template strings and util.inspect', () => {
    expect(JSON.stringify(secret)).to.equal('"***"');
    expect(JSON.stringify({ password: secret })).to.equal('{"password":"***"}');
    expect(String(secret)).to.equal('***');
    expect(`${secret}`).to.equal('***');
    expect(inspect(secret)).to.equal('Secret(***)');
    expect(inspect({ nested: { password: secret } }, { depth: 5 })).to.include('Secret(***)').and.not.include('s3cr3t');
    expect(secret.reveal()).to.equal('s3cr3t-value');
  });

  it('keeps a loaded config free of secret values when printed', async () => {
    const dir = configDir({
      'gateway.yaml': MINIMAL_GATEWAY,
      'connectors/crm.yaml': 'protocol: rest\nurl: https://crm.example\nauth:\n  type: bearer\n  token: ${env:TOKEN}\n',
    });
    const config = await loadConfig(dir, { ...MINIMAL_ENV, TOKEN: 'crm-token-value' });
    const printed = [JSON.stringify(config.gateway), JSON.stringify(config.connectors), inspect(config.connectors, { depth: 10 })];
    for (const text of printed) {
      expect(text).not.to.include('crm-token-value');
      expect(text).not.to.include('inbound-pw-1');
      expect(text).to.include('***');
    }
  });
});
