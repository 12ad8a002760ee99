import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import type { Delivery } from '../../../src/domain/delivery.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget, type Answer, type ReceivedRequest } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

/**
 * SOAP targets known only by their WSDL: the JSONata mapping yields the operation's input as JSON
 * and the gateway writes the envelope from the WSDL's schema. What each target receives is checked
 * against the target's own XSD with xmllint (document/literal over SOAP 1.1 and 1.2, rpc/literal,
 * nested types in two namespaces, a repeated and an optional element, keys in another order than
 * the schema's); the targets check WS-Security digests and answer faults.
 */

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/wsdl');
const WH_WSDL = join(FIXTURES, 'warehouse.wsdl');
const CARRIER_WSDL = join(FIXTURES, 'carrier-rpc.wsdl');
const WS_PASSWORD = 'Wh-Digest-Secret-41c9';
const HAS_XMLLINT = spawnSync('xmllint', ['--version']).status === 0;

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

// Keys in another order than the schema's: the envelope must follow the schema.
const SHIPMENT = `{
  "line": [{ "quantity": 2, "sku": "SKU-" & eventCode }, { "weight": 1.25, "sku": "SKU-B", "quantity": 1 }],
  "shipTo": { "country": "FR", "postalCode": "75001", "city": "Paris", "line1": "1 rue de Rivoli", "name": "ACME" },
  "reference": orderKey
}`;

const MAPPINGS = {
  'wh-create.jsonata': `{ "priority": 2, "shipment": ${SHIPMENT}, "requestId": deliveryId }`,
  'wh-missing.jsonata': `{ "shipment": ${SHIPMENT} }`,
  'wh-unknown.jsonata': `{ "requestId": deliveryId, "shipment": ${SHIPMENT}, "colour": "red" }`,
  'wh-wrong-type.jsonata': `{ "requestId": deliveryId, "shipment": ${SHIPMENT}, "priority": "high" }`,
  'carrier-book.jsonata': `{ "pickupWindow": "AM", "shipment": ${SHIPMENT} }`,
};

const RESPONSE = (version: '1.1' | '1.2', inner: string): string =>
  `<e:Envelope xmlns:e="${version === '1.1' ? SOAP11 : SOAP12}"><e:Body>${inner}</e:Body></e:Envelope>`;

function fault(party: 'Client' | 'Server', text: string): Answer {
  return {
    status: 500,
    headers: { 'content-type': 'text/xml' },
    body: RESPONSE('1.1', `<e:Fault><faultcode>e:${party}</faultcode><faultstring>${text}</faultstring></e:Fault>`),
  };
}

/** The element inside soap:Body, as sent (it declares every namespace it uses). */
function bodyContent(envelope: string): string {
  const m = /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(envelope);
  if (!m?.[1]) throw new Error(`no soap:Body in ${envelope.slice(0, 200)}`);
  return m[1];
}

/** The target's check of a UsernameToken digest (UsernameToken Profile 1.0), or why it fails. */
function digestProblem(envelope: string): string | null {
  const pick = (name: string): string | undefined => new RegExp(`<(?:\\w+:)?${name}[^>]*>([^<]*)</`).exec(envelope)?.[1];
  const [user, password, nonce, created] = [pick('Username'), pick('Password'), pick('Nonce'), pick('Created')];
  if (!envelope.includes('#PasswordDigest')) return 'a PasswordDigest is required';
  if (user !== 'wh-user' || !password || !nonce || !created) return 'incomplete UsernameToken';
  const expected = createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(WS_PASSWORD)]))
    .digest('base64');
  return expected === password ? null : 'wrong digest';
}

describe(`SOAP connectors driven by a WSDL (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let gw: TestGateway;
  let work: string;

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'omgw-wsdl-'));
    target = await new FakeTarget().start();
    target.answer = (req: ReceivedRequest): Answer => {
      if (req.path === '/wh11') {
        const problem = digestProblem(req.body);
        if (problem) return fault('Client', problem);
      }
      if (req.path === '/client-fault') return fault('Client', 'shipment refused');
      if (req.path === '/server-fault') return fault('Server', 'warehouse busy');
      if (req.path === '/carrier') return { status: 200, body: RESPONSE('1.1', '<c:BookPickupResponse xmlns:c="urn:example:carrier:rpc"><bookingId>BK-1</bookingId></c:BookPickupResponse>') };
      const version = req.path === '/wh12' ? '1.2' : '1.1';
      return {
        status: 200,
        headers: { 'content-type': version === '1.2' ? 'application/soap+xml' : 'text/xml' },
        body: RESPONSE(version, '<s:CreateShipmentResponse xmlns:s="urn:example:warehouse:service"><s:confirmationId>CONF-77</s:confirmationId><s:accepted>true</s:accepted></s:CreateShipmentResponse>'),
      };
    };
    const wh = (path: string, transform: string, extra = ''): string =>
      `protocol: soap\nurl: ${target.url}\npath: ${path}\ntransform: jsonata:${transform}\nretry:\n  schedule: [30s]\n  maxAttempts: 3\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n${extra}`;
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 100ms' }),
        connectors: {
          'wh11.yaml': `${wh('/wh11', 'wh-create', '  port: WarehouseSoap11Port\n')}auth:\n  type: ws-security\n  username: wh-user\n  password: \${env:TEST_WH_PASSWORD}\n  passwordType: digest\n`,
          'wh12.yaml': wh('/wh12', 'wh-create', '  service: WarehouseService\n  port: WarehouseSoap12Port\n'),
          'carrier.yaml': `protocol: soap\nurl: ${target.url}\npath: /carrier\ntransform: jsonata:carrier-book\nsoap:\n  wsdl: ${CARRIER_WSDL}\n  operation: BookPickup\n`,
          'missing.yaml': wh('/never', 'wh-missing', '  port: WarehouseSoap11Port\n'),
          'unknown.yaml': wh('/never', 'wh-unknown', '  port: WarehouseSoap11Port\n'),
          'wrong-type.yaml': wh('/never', 'wh-wrong-type', '  port: WarehouseSoap11Port\n'),
          'client-fault.yaml': wh('/client-fault', 'wh-create', '  port: WarehouseSoap11Port\n'),
          'server-fault.yaml': wh('/server-fault', 'wh-create', '  port: WarehouseSoap11Port\n'),
        },
        triggerPoints:
          "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [wh11, wh12, carrier, missing, unknown, wrong-type, client-fault, server-fault]\n",
        mappings: MAPPINGS,
      },
      { env: { TEST_WH_PASSWORD: WS_PASSWORD } },
    );
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'WSDL-1' } }], {
      security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD },
    });
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);
    await until('every WSDL connector has tried once', async () => {
      const page = await gw.gateway.store.browse.deliveries({ states: ['pending', 'in_flight'] }, { limit: 1 });
      return page.rows.length === 0;
    }, 20_000);
  });

  after(async () => {
    await gw?.stop();
    await target?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const delivery = async (connector: string): Promise<Delivery> => {
    const [found] = (await gw.gateway.store.browse.deliveries({ connectors: [connector] }, { limit: 1 })).rows;
    if (!found) throw new Error(`no delivery for ${connector}`);
    return found;
  };
  const received = (path: string): ReceivedRequest => {
    const found = target.requests.find((r) => r.path === path);
    if (!found) throw new Error(`${path} received nothing`);
    return found;
  };
  const validate = (xml: string, xsd: string): void => {
    const file = join(work, `body-${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(file, xml);
    // Throws with xmllint's report when the document does not validate.
    execFileSync('xmllint', ['--noout', '--schema', join(FIXTURES, xsd), file], { stdio: 'pipe' });
  };
  const needXmllint = function (this: Mocha.Context): void {
    if (!HAS_XMLLINT) this.skip(); // xmllint (Debian libxml2-utils) is not installed: the schema checks are skipped
  };

  it('sends document/literal over SOAP 1.1 as the schema orders it, with the binding SOAPAction and a digest the target accepts', async function () {
    needXmllint.call(this);
    const d = await delivery('wh11');
    expect(d.state, d.lastError ?? '').to.equal('delivered');
    const req = received('/wh11');
    expect(req.headers['content-type']).to.equal('text/xml; charset=utf-8');
    expect(req.headers.soapaction).to.equal('"urn:example:warehouse:CreateShipment"');
    expect(req.body).to.include(`xmlns:soap="${SOAP11}"`);
    const body = bodyContent(req.body);
    validate(body, 'warehouse-service.xsd');
    expect(body).to.match(/<ns1:requestId>.*<ns1:shipment><ns2:reference>[^<]+<\/ns2:reference><ns2:shipTo>/);
    expect(body).to.include('<ns2:line><ns2:sku>SKU-B</ns2:sku><ns2:quantity>1</ns2:quantity><ns2:weight>1.25</ns2:weight></ns2:line>');
    expect(body).to.include('<ns1:priority>2</ns1:priority></ns1:CreateShipment>');
  });

  it('sends the SOAP 1.2 port of the same operation with its own action, and keeps the answer as JSON', async function () {
    needXmllint.call(this);
    const d = await delivery('wh12');
    expect(d.state, d.lastError ?? '').to.equal('delivered');
    const req = received('/wh12');
    expect(req.headers['content-type']).to.equal('application/soap+xml; charset=utf-8; action="urn:example:warehouse:CreateShipment12"');
    expect(req.headers.soapaction).to.equal(undefined);
    expect(req.body).to.include(`xmlns:soap="${SOAP12}"`);
    validate(bodyContent(req.body), 'warehouse-service.xsd');
    const [attempt] = (await gw.gateway.store.browse.attempts({ connectors: ['wh12'] }, { limit: 1 })).rows;
    const answer = JSON.parse(attempt?.responseSnippet ?? 'null') as { CreateShipmentResponse?: { confirmationId?: string; accepted?: boolean } };
    expect(answer.CreateShipmentResponse).to.deep.equal({ confirmationId: 'CONF-77', accepted: true });
  });

  it('sends rpc/literal: the operation as wrapper, its typed parts unqualified, their content in the type namespace', async function () {
    needXmllint.call(this);
    const d = await delivery('carrier');
    expect(d.state, d.lastError ?? '').to.equal('delivered');
    const req = received('/carrier');
    expect(req.headers.soapaction).to.equal('"urn:example:carrier:BookPickup"');
    validate(bodyContent(req.body), 'carrier-rpc-body.xsd');
    expect(bodyContent(req.body)).to.match(/^<ns1:BookPickup xmlns:ns1="urn:example:carrier:rpc"[^>]*><shipment><ns2:reference>/);
  });

  it('parks a mapping the schema cannot carry as a transform error naming the path, before anything is sent', async () => {
    const cases: Array<[string, RegExp]> = [
      ['missing', /requestId: is required/],
      ['unknown', /colour: is not an element/],
      ['wrong-type', /priority: "high" is not a valid int/],
    ];
    for (const [connector, message] of cases) {
      const d = await delivery(connector);
      expect(d.state, connector).to.equal('parked');
      expect(d.lastError, connector).to.match(message);
      expect(d.lastError, connector).to.include('does not fit the input of operation CreateShipment');
    }
    expect(target.requests.filter((r) => r.path === '/never')).to.deep.equal([]);
  });

  it('parks a Client Fault and retries a Server Fault', async () => {
    const client = await delivery('client-fault');
    expect(client.state).to.equal('parked');
    expect(client.lastError).to.include('shipment refused');
    const server = await delivery('server-fault');
    expect(server.state).to.equal('retrying');
    expect(server.lastError).to.include('warehouse busy');
  });
});
