import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import { buildPush, pushHttpHeaders } from '../../src/sandbox/om-push.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { spawnGateway } from '../helpers/child.ts';
import { DEFAULT_TRIGGER_POINTS, postSoap, SOAP_PASSWORD, SOAP_USER, TEST_ENV, writeConfig } from '../helpers/gateway.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

function childGatewayYaml(extra = ''): string {
  return `server:
  host: 127.0.0.1
  port: 0
${extra}database:
  url: \${env:TEST_DATABASE_URL}
  schema: \${env:TEST_DATABASE_SCHEMA:-}
inbound:
  soap:
    users:
      - username: ${SOAP_USER}
        password: \${env:TEST_SOAP_PASSWORD}
`;
}

function envFor(db: TestDatabase): NodeJS.ProcessEnv {
  return { ...TEST_ENV, TEST_DATABASE_URL: db.url, ...(db.schema ? { TEST_DATABASE_SCHEMA: db.schema } : {}) };
}

function openStore(db: TestDatabase): Store {
  return new Store({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
}

describe(`the gateway as a process (${backendName()})`, function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let configDir: string;

  beforeEach(() => {
    db = createTestDatabase();
  });
  afterEach(async () => {
    await db.dispose();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged push when killed with SIGKILL right after the ack', async () => {
    configDir = writeConfig({ gateway: childGatewayYaml() });
    const gw = await spawnGateway(configDir, envFor(db));
    const acked: string[] = [];
    const sends = Array.from({ length: 20 }, async (_, i) => {
      const body = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: `SO-K${i}` } }], { security });
      const res = await postSoap(`${gw.url}/soap/business-events`, body, pushHttpHeaders()).catch(() => null);
      if (res?.status === 202) acked.push(`LEG:SO-K${i}`);
      if (acked.length === 10) gw.child.kill('SIGKILL');
    });
    await Promise.all(sends);
    await gw.exited;
    expect(acked.length).to.be.at.least(10);

    const store = openStore(db);
    try {
      const keys = (await store.browse.events({}, { limit: 1000 })).rows.map((e) => e.orderKey);
      for (const key of acked) expect(keys, `acknowledged ${key}`).to.include(key);
    } finally {
      await store.close();
    }
  });

  it('reloads its config on SIGHUP and keeps the old config when the new one is bad', async () => {
    configDir = writeConfig({ gateway: childGatewayYaml() });
    const gw = await spawnGateway(configDir, envFor(db));
    try {
      const awaitingShipping = () =>
        buildPush([{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: `SO-${Math.random()}`, statusTo: 'AWAIT_SHIPPING' } }], { security });
      // A broken trigger-points file: refused, old routing stays.
      writeFileSync(join(configDir, 'trigger-points.yaml'), 'triggerPoints:\n  - name: x\n    eventCodes: [HOLD]\n    connectors: [missing]\n');
      const refused = gw.waitFor('config reload refused');
      gw.child.kill('SIGHUP');
      await refused;
      expect((await postSoap(`${gw.url}/soap/business-events`, awaitingShipping())).status).to.equal(202);

      // A good one: applied.
      writeFileSync(join(configDir, 'trigger-points.yaml'), DEFAULT_TRIGGER_POINTS.replace('connectors: [shipbob]', 'connectors: [shipbob, otm]'));
      const reloaded = gw.waitFor('"msg":"config reloaded"');
      gw.child.kill('SIGHUP');
      await reloaded;
      expect((await postSoap(`${gw.url}/soap/business-events`, awaitingShipping())).status).to.equal(202);
    } finally {
      gw.child.kill('SIGTERM');
      expect(await gw.exited).to.equal(0);
    }
    const store = openStore(db);
    try {
      const perEvent = (await store.browse.deliveries({}, { limit: 1000 })).rows.reverse();
      const connectors = (eventIndex: number) => {
        const ids = [...new Set(perEvent.map((d) => d.eventId))];
        return perEvent.filter((d) => d.eventId === ids[eventIndex]).map((d) => d.connector).sort();
      };
      expect(connectors(0)).to.deep.equal(['crm', 'shipbob']);
      expect(connectors(1)).to.deep.equal(['crm', 'otm', 'shipbob']);
    } finally {
      await store.close();
    }
  });

  it('serves HTTPS with the configured certificate and key', async () => {
    const certDir = mkdtempSync(join(tmpdir(), 'omgw-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    ], { stdio: 'ignore' });
    configDir = writeConfig({
      gateway: childGatewayYaml(`  tls:\n    cert: ${join(certDir, 'cert.pem')}\n    key: ${join(certDir, 'key.pem')}\n`),
    });
    const gw = await spawnGateway(configDir, envFor(db));
    try {
      expect(gw.url).to.match(/^https:\/\//);
      const agent = new Agent({ ca: readFileSync(join(certDir, 'cert.pem')) });
      const body = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-TLS' } }], { security });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${gw.url}/soap/business-events`, { method: 'POST', agent, headers: pushHttpHeaders() }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(status).to.equal(202);
      const wsdl = await new Promise<string>((resolve, reject) => {
        request(`${gw.url}/soap/business-events?wsdl`, { agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve(text));
        }).on('error', reject).end();
      });
      expect(wsdl).to.include(`location="${gw.url}/soap/business-events"`);
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
      rmSync(certDir, { recursive: true, force: true });
    }
  });
});
