import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Io } from '../../src/cli/output.ts';
import { main } from '../../src/main.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { backendName } from '../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { FakeTarget, type ReceivedRequest } from '../helpers/target.ts';
import { until } from '../helpers/until.ts';

/**
 * `omgw preview` shows what the next delivery sends: the test previews a REST and a WSDL-driven SOAP
 * connector while they are offline (their deliveries on hold), checks that the preview took no
 * attempt, then brings them online and compares what the target received with the preview, byte
 * for byte. `omgw connector describe` prints the WSDL operation's input shape.
 */

const WH_WSDL = resolve(import.meta.dirname, '../fixtures/wsdl/warehouse.wsdl');
const CRM_PASSWORD = 'Crm-Basic-Secret-83d1';

const MAPPINGS = {
  'wh-create.jsonata': `{
  "requestId": deliveryId,
  "shipment": {
    "reference": orderKey,
    "shipTo": { "name": "ACME", "line1": "1 rue de Rivoli", "city": "Paris", "postalCode": "75001", "country": "FR" },
    "line": [{ "sku": "SKU-" & eventCode, "quantity": 2 }]
  }
}`,
  'wh-missing.jsonata': '{ "shipment": { "reference": orderKey } }',
};

interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** The previewed request as printed: request line, headers, a blank line, the body (one output call). */
function parsePreview(out: string[]): { line: string; headers: Record<string, string>; body: string } {
  const blank = out.indexOf('');
  const headers: Record<string, string> = {};
  for (const h of out.slice(1, blank)) headers[h.slice(0, h.indexOf(':')).toLowerCase()] = h.slice(h.indexOf(':') + 2);
  return { line: out[0] ?? '', headers, body: out.slice(blank + 1).join('\n') };
}

describe(`omgw preview and connector describe (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let gw: TestGateway;
  let work: string;

  const run = async (...args: string[]): Promise<Run> => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
    const code = await main([...args, '--config', gw.configDir], io, testEnv(gw.database, { TEST_CRM_PASSWORD: CRM_PASSWORD }));
    return { code, out, err };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'omgw-preview-'));
    target = await new FakeTarget().start();
    target.answer = (req: ReceivedRequest) =>
      req.path === '/wh'
        ? {
            status: 200,
            headers: { 'content-type': 'text/xml' },
            body: '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><s:CreateShipmentResponse xmlns:s="urn:example:warehouse:service"><s:confirmationId>C-1</s:confirmationId><s:accepted>true</s:accepted></s:CreateShipmentResponse></e:Body></e:Envelope>',
          }
        : { status: 200, body: '{}' };
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 100ms' }),
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /orders/{{orderKey}}\nstate: offline\nheaders:\n  X-Event: '{{eventCode}}'\nauth:\n  type: basic\n  username: crm\n  password: \${env:TEST_CRM_PASSWORD}\n`,
          'wh.yaml': `protocol: soap\nurl: ${target.url}\npath: /wh\nstate: offline\ntransform: jsonata:wh-create\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\nauth:\n  type: basic\n  username: wh\n  password: \${env:TEST_CRM_PASSWORD}\n`,
          'wh-missing.yaml': `protocol: soap\nurl: ${target.url}\npath: /never\nstate: offline\ntransform: jsonata:wh-missing\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\n`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm, wh, wh-missing]\n",
        mappings: MAPPINGS,
      },
      { env: { TEST_CRM_PASSWORD: CRM_PASSWORD } },
    );
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'PREVIEW-1' } }], {
      security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD },
    });
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);
    await until('the deliveries wait on hold', async () => (await gw.gateway.store.browse.deliveries({ states: ['on_hold'] }, { limit: 10 })).rows.length === 3);
  });

  after(async () => {
    await gw?.stop();
    await target?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('previews the REST and the SOAP request, which the next deliveries then send byte for byte', async () => {
    const store = gw.gateway.store;
    const [crmDelivery] = (await store.browse.deliveries({ connectors: ['crm'] }, { limit: 1 })).rows;
    const eventId = crmDelivery?.eventId ?? '';

    const rest = await run('preview', '--connector', 'crm', '--event', eventId);
    expect(rest.code, rest.err.join('\n')).to.equal(0);
    const restPreview = parsePreview(rest.out);
    expect(restPreview.line).to.match(new RegExp(`^POST ${target.url}/orders/\\S+$`));
    expect(restPreview.headers.authorization).to.include('***');
    expect(rest.out.join('\n')).not.to.include(CRM_PASSWORD);
    expect(restPreview.headers['x-event']).to.equal('HOLD');

    const soap = await run('preview', '--connector', 'wh', '--event', eventId);
    expect(soap.code, soap.err.join('\n')).to.equal(0);
    const soapPreview = parsePreview(soap.out);
    expect(soapPreview.headers.soapaction).to.equal('"urn:example:warehouse:CreateShipment"');
    expect(soapPreview.body).to.include('<ns1:CreateShipment xmlns:ns1="urn:example:warehouse:service"');

    // Nothing was sent or written.
    expect(target.requests).to.deep.equal([]);
    expect((await store.browse.attempts({}, { limit: 10 })).rows).to.deep.equal([]);

    for (const name of ['crm', 'wh']) expect((await run('connector', 'online', name)).code).to.equal(0);
    const received = await target.waitForRequests(2);
    const byPath = (prefix: string): ReceivedRequest | undefined => received.find((r) => r.path.startsWith(prefix));
    expect(byPath('/orders/')?.body).to.equal(restPreview.body);
    expect(`POST ${target.url}${byPath('/orders/')?.path ?? ''}`).to.equal(restPreview.line);
    expect(byPath('/wh')?.body).to.equal(soapPreview.body);
  });

  it('shows the transform error of a mapping the schema cannot carry, and previews a hand-written event', async () => {
    const [d] = (await gw.gateway.store.browse.deliveries({ connectors: ['wh-missing'] }, { limit: 1 })).rows;
    const failed = await run('preview', '--connector', 'wh-missing', '--event', d?.eventId ?? '');
    expect(failed.code).to.equal(1);
    expect(failed.err.join('\n')).to.match(/^transform error: .*requestId: is required/);

    const file = join(work, 'event.json');
    writeFileSync(file, JSON.stringify({ eventCode: 'JEOPARDY', orderKey: 'HAND-9', payload: { OrderNumber: 'HAND-9' } }));
    const hand = await run('preview', '--connector', 'wh', '--file', file, '--json');
    expect(hand.code, hand.err.join('\n')).to.equal(0);
    const json = JSON.parse(hand.out.join('\n')) as { body: string; deliveryId: string };
    expect(json.deliveryId).to.equal('preview');
    expect(json.body).to.include('<ns2:reference>HAND-9</ns2:reference>').and.include('<ns2:sku>SKU-JEOPARDY</ns2:sku>');
  });

  it('describes a WSDL connector: operations per port, the input fields nested with types and occurrences', async () => {
    const described = await run('connector', 'describe', 'wh');
    expect(described.code, described.err.join('\n')).to.equal(0);
    const text = described.out.join('\n');
    expect(text).to.match(/\* CreateShipment\s+WarehouseService\/WarehouseSoap11Port\s+SOAP 1\.1 document\/literal/);
    expect(text).to.match(/ {2}CreateShipment\s+WarehouseService\/WarehouseSoap12Port\s+SOAP 1\.2/);
    expect(text).to.match(/requestId\s+string\s+required/);
    expect(text).to.match(/\n {8}line\[\]\s+LineType\s+1 to unbounded/);
    expect(text).to.match(/\n {10}weight\?\s+decimal\s+optional/);
    const rest = await run('connector', 'describe', 'crm', '--json');
    expect(JSON.parse(rest.out.join('\n'))).to.include({ method: 'POST', transform: 'canonical-json', url: `${target.url}/orders/{{orderKey}}` });
  });
});
