import { expect } from 'chai';
import { resolve } from 'node:path';
import { openApiDocument } from '../../../src/admin/openapi.ts';
import { errorBody } from '../../../src/admin/responses.ts';
import type { Io } from '../../../src/cli/output.ts';
import { main } from '../../../src/main.ts';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget, type ReceivedRequest } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

/**
 * The admin API's preview (GET and POST /admin/api/connectors/{name}/preview): the same answer as
 * `omgw preview --json`, credentials masked, nothing sent or written; the deliveries then send what
 * it showed, byte for byte. A REST connector and a WSDL-driven SOAP connector wait offline while
 * they are previewed.
 */

const TOKEN = 'admin-token-preview-51c2e9';
const WH_WSDL = resolve(import.meta.dirname, '../../fixtures/wsdl/warehouse.wsdl');
const CRM_PASSWORD = 'Crm-Basic-Secret-61f0';
const API_KEY = 'Keyed-Query-Secret-2d7b';

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

interface Preview {
  connector: string;
  deliveryId: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

describe(`admin API: preview (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let gw: TestGateway;
  let eventId: string;

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; text: string; json: Record<string, unknown> }> => {
    const res = await fetch(`${gw.url}/admin/api${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
  };

  const cli = async (...args: string[]): Promise<{ code: number; out: string }> => {
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: () => undefined };
    const code = await main([...args, '--config', gw.configDir], io, testEnv(gw.database, { TEST_CRM_PASSWORD: CRM_PASSWORD, TEST_API_KEY: API_KEY, TEST_ADMIN_TOKEN: TOKEN }));
    return { code, out: out.join('\n') };
  };

  before(async () => {
    target = await new FakeTarget().start();
    target.answer = (req: ReceivedRequest) =>
      req.path === '/wh'
        ? {
            status: 200,
            headers: { 'content-type': 'text/xml' },
            body: '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><s:CreateShipmentResponse xmlns:s="urn:example:warehouse:service"><s:confirmationId>C-1</s:confirmationId><s:accepted>true</s:accepted></s:CreateShipmentResponse></e:Body></e:Envelope>',
          }
        : { status: 200, body: '{}' };
    const basic = 'auth:\n  type: basic\n  username: crm\n  password: ${env:TEST_CRM_PASSWORD}\n';
    gw = await startGateway(
      {
        gateway: `${gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 100ms' })}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`,
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /orders/{{orderKey}}\nstate: offline\nheaders:\n  X-Event: '{{eventCode}}'\n${basic}`,
          'wh.yaml': `protocol: soap\nurl: ${target.url}\npath: /wh\nstate: offline\ntransform: jsonata:wh-create\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\n${basic}`,
          'wh-missing.yaml': `protocol: soap\nurl: ${target.url}\npath: /never\nstate: offline\ntransform: jsonata:wh-missing\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\n`,
          'keyed.yaml': `protocol: rest\nurl: ${target.url}\npath: /keyed\nstate: offline\nauth:\n  type: api-key\n  in: query\n  name: key\n  key: \${env:TEST_API_KEY}\n`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm, wh, wh-missing]\n",
        mappings: MAPPINGS,
      },
      { env: { TEST_CRM_PASSWORD: CRM_PASSWORD, TEST_API_KEY: API_KEY, TEST_ADMIN_TOKEN: TOKEN } },
    );
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'PREVIEW-API-1' } }], {
      security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD },
    });
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);
    await until('the deliveries wait on hold', async () => (await gw.gateway.store.browse.deliveries({ states: ['on_hold'] }, { limit: 10 })).rows.length === 3);
    const [d] = (await gw.gateway.store.browse.deliveries({ connectors: ['crm'] }, { limit: 1 })).rows;
    eventId = d?.eventId ?? '';
  });

  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  it('previews a stored event for a REST and a SOAP connector as omgw preview --json does; the deliveries then send those bodies byte for byte', async () => {
    const store = gw.gateway.store;
    const auditBefore = (await store.browse.audit({}, { limit: 500 })).rows.length;

    const rest = await api('GET', `/connectors/crm/preview?event=${eventId}`);
    expect(rest.status, rest.text).to.equal(200);
    const restPreview = rest.json as unknown as Preview;
    const [crmDelivery] = (await store.browse.deliveries({ connectors: ['crm'] }, { limit: 1 })).rows;
    expect(restPreview).to.include({ connector: 'crm', deliveryId: crmDelivery?.id, method: 'POST' });
    expect(restPreview.url).to.match(new RegExp(`^${target.url}/orders/\\S+$`));
    expect(restPreview.headers).to.include({ Authorization: '***', 'X-Event': 'HOLD' });
    expect(restPreview).to.deep.equal(JSON.parse((await cli('preview', '--connector', 'crm', '--event', eventId, '--json')).out));

    const soap = await api('GET', `/connectors/wh/preview?event=${eventId}`);
    expect(soap.status, soap.text).to.equal(200);
    const soapPreview = soap.json as unknown as Preview;
    expect(soapPreview.headers.SOAPAction ?? soapPreview.headers.soapaction).to.equal('"urn:example:warehouse:CreateShipment"');
    expect(soapPreview.body).to.include('<ns1:CreateShipment xmlns:ns1="urn:example:warehouse:service"');
    expect(soapPreview).to.deep.equal(JSON.parse((await cli('preview', '--connector', 'wh', '--event', eventId, '--json')).out));

    for (const text of [rest.text, soap.text]) {
      expect(text).to.not.include(CRM_PASSWORD);
      expect(text).to.not.include(Buffer.from(`crm:${CRM_PASSWORD}`).toString('base64'));
    }
    // Nothing was sent, attempted or recorded.
    expect(target.requests).to.deep.equal([]);
    expect((await store.browse.attempts({}, { limit: 10 })).rows).to.deep.equal([]);
    expect((await store.browse.audit({}, { limit: 500 })).rows.length).to.equal(auditBefore);

    for (const name of ['crm', 'wh']) expect((await api('POST', `/connectors/${name}/online`, {})).status).to.equal(200);
    const received = await target.waitForRequests(2);
    const byPath = (prefix: string): ReceivedRequest | undefined => received.find((r) => r.path.startsWith(prefix));
    expect(byPath('/orders/')?.body).to.equal(restPreview.body);
    expect(`${target.url}${byPath('/orders/')?.path ?? ''}`).to.equal(restPreview.url);
    expect(byPath('/orders/')?.headers['x-event']).to.equal('HOLD');
    expect(byPath('/wh')?.body).to.equal(soapPreview.body);
    expect(byPath('/wh')?.headers.soapaction).to.equal('"urn:example:warehouse:CreateShipment"');
  });

  it('answers 422 TRANSFORM_FAILED naming the path the WSDL requires, as the CLI reports it', async () => {
    const res = await api('GET', `/connectors/wh-missing/preview?event=${eventId}`);
    expect(res.status, res.text).to.equal(422);
    expect(res.json.code).to.equal('TRANSFORM_FAILED');
    expect(String(res.json.message)).to.match(/requestId: is required/);
    expect(errorBody.safeParse(res.json).success, res.text).to.equal(true);
    expect(openApiDocument().paths['/admin/api/connectors/{name}/preview']?.get?.responses).to.have.property('422');
    const viaCli = JSON.parse((await cli('preview', '--connector', 'wh-missing', '--event', eventId, '--json')).out) as { error: string; message: string };
    expect(viaCli).to.deep.equal({ connector: 'wh-missing', error: 'transform error', message: res.json.message });
  });

  it('previews a hand-written event (POST), with the defaults omgw preview --file uses', async () => {
    const res = await api('POST', '/connectors/wh/preview', { eventCode: 'JEOPARDY', orderKey: 'HAND-9', payload: { OrderNumber: 'HAND-9' } });
    expect(res.status, res.text).to.equal(200);
    const preview = res.json as unknown as Preview;
    expect(preview).to.include({ connector: 'wh', deliveryId: 'preview', method: 'POST', url: `${target.url}/wh` });
    expect(preview.body).to.include('<ns2:reference>HAND-9</ns2:reference>').and.include('<ns2:sku>SKU-JEOPARDY</ns2:sku>');
    const rest = await api('POST', '/connectors/crm/preview', { eventCode: 'SHIP', orderKey: 'HAND/10', payload: { OrderNumber: 'HAND/10' }, source: 'oracle-om', receivedAt: '2026-11-23T12:00:00Z' });
    expect(rest.status, rest.text).to.equal(200);
    expect((rest.json as unknown as Preview).headers['X-Event']).to.equal('SHIP');
  });

  it('masks a credential carried in the query string', async () => {
    const res = await api('POST', '/connectors/keyed/preview', { eventCode: 'HOLD', payload: {} });
    expect(res.status, res.text).to.equal(200);
    expect((res.json as unknown as Preview).url).to.equal(`${target.url}/keyed?key=***`);
    expect(res.text).to.not.include(API_KEY);
  });

  it('answers 404 for an unknown connector or event, 400 for a bad event id or body, 401 without the token', async () => {
    const notFound = [
      await api('GET', `/connectors/ghost/preview?event=${eventId}`),
      await api('GET', '/connectors/crm/preview?event=01JAAAAAAAAAAAAAAAAAAAAAAA'),
      await api('POST', '/connectors/ghost/preview', { eventCode: 'HOLD', payload: {} }),
    ];
    for (const res of notFound) {
      expect(res.status, res.text).to.equal(404);
      expect(res.json.code).to.equal('NOT_FOUND');
    }
    const bad: Array<['GET' | 'POST', string, unknown?]> = [
      ['GET', '/connectors/crm/preview'],
      ['GET', '/connectors/crm/preview?event=nope'],
      ['GET', `/connectors/crm/preview?event=${eventId}&extra=1`],
      ['POST', '/connectors/crm/preview', {}],
      ['POST', '/connectors/crm/preview', { payload: {} }],
      ['POST', '/connectors/crm/preview', { eventCode: 'HOLD', payload: 'text' }],
      ['POST', '/connectors/crm/preview', { eventCode: 'HOLD', payload: {}, source: 'elsewhere' }],
      ['POST', '/connectors/crm/preview', { eventCode: 'HOLD', payload: {}, receivedAt: 'yesterday' }],
      ['POST', '/connectors/crm/preview', { eventCode: 'HOLD', payload: {}, bogus: true }],
    ];
    for (const [method, path, body] of bad) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`).to.equal(400);
      expect(res.json.code).to.equal('BAD_REQUEST');
    }
    expect((await api('GET', `/connectors/crm/preview?event=${eventId}`, undefined, null)).status).to.equal(401);
    expect((await api('POST', '/connectors/crm/preview', { eventCode: 'HOLD', payload: {} }, null)).status).to.equal(401);
  });
});
