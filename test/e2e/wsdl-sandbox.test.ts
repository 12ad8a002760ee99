import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../../src/app.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { freePort } from '../helpers/free-port.ts';
import { postSoap } from '../helpers/gateway.ts';
import { until } from '../helpers/until.ts';

/**
 * The example config's WSDL-driven target: the `warehouse` connector reads the sandbox warehouse's
 * WSDL from the gateway itself, and a SPLIT event from OM becomes a CreateShipment the sandbox accepts.
 */

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../config', import.meta.url));

describe('the example warehouse connector, known by its WSDL, delivers to the sandbox', function () {
  this.timeout(60_000);
  let gateway: Gateway;
  let dbDir: string;

  before(async () => {
    dbDir = mkdtempSync(join(tmpdir(), 'omgw-wsdl-sandbox-'));
    const env = { OMGW_PORT: String(await freePort()), DATABASE_URL: `sqlite:${join(dbDir, 'omgw.db')}`, OMGW_LOG_LEVEL: 'silent' };
    gateway = await Gateway.create({ configDir: EXAMPLE_CONFIG, env });
    await gateway.start();
  });
  after(async () => {
    await gateway?.stop();
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('sends a SPLIT as CreateShipment, written from the WSDL, and keeps the answer as JSON', async () => {
    const push = buildPush([{ eventCode: 'SPLIT', order: { sourceOrderNumber: 'WH-SPLIT-1' } }], {
      security: { kind: 'text', username: 'om-connector', password: 'sandbox-secret' },
    });
    expect((await postSoap(`${gateway.url}/soap/business-events`, push)).status).to.equal(202);
    const store = gateway.store;
    await until('the warehouse delivery is done', async () => {
      const [d] = (await store.browse.deliveries({ connectors: ['warehouse'] }, { limit: 1 })).rows;
      return d !== undefined && d.state !== 'pending' && d.state !== 'in_flight';
    }, 20_000);
    const [d] = (await store.browse.deliveries({ connectors: ['warehouse'] }, { limit: 1 })).rows;
    expect(d?.state, d?.lastError ?? '').to.equal('delivered');
    const [attempt] = (await store.browse.attempts({ connectors: ['warehouse'] }, { limit: 1 })).rows;
    expect(JSON.parse(attempt?.responseSnippet ?? 'null')).to.have.nested.property('CreateShipmentResponse.confirmationId');
    const received = (await (await fetch(`${gateway.url}/sandbox/received`)).json()) as Array<{ target: string; body: string }>;
    const sent = received.find((r) => r.target === 'warehouse');
    expect(sent?.body).to.match(/<ns1:CreateShipment xmlns:ns1="urn:example:sandbox:warehouse" xmlns:ns2="urn:example:sandbox:warehouse:types"><ns1:requestId>/);
  });
});
