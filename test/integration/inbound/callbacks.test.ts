import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, startGateway, type TestConfig, type TestGateway } from '../../helpers/gateway.ts';
import { signedHeaders } from '../../helpers/webhook-signing.ts';

// Fresh secrets per run: the searches for them in logs and tables below cannot be fooled by fixtures.
const PASSWORD = `cb-pass-${randomBytes(8).toString('hex')}`;
const TOKEN = `cb-token-${randomBytes(8).toString('hex')}`;
const WHSEC = `whsec_${randomBytes(24).toString('base64')}`;
const ENV = { CB_PASSWORD: PASSWORD, CB_TOKEN: TOKEN, CB_WHSEC: WHSEC };

function asyncConnector(auth: string, extra = ''): string {
  return `protocol: rest
url: http://127.0.0.1:9/fulfil
mode: async
async:
  responseTimeout: 1m
  correlation: { header: X-Correlation-Id }
  callback:
    auth: ${auth}
    delivered: [COMPLETED]
    failed: [FAILED]
${extra}`;
}

const CONFIG: TestConfig = {
  gateway: gatewayYaml(),
  connectors: {
    'basic-cb.yaml': asyncConnector("{ type: basic, username: wms, password: '${env:CB_PASSWORD}' }"),
    'bearer-cb.yaml': asyncConnector("{ type: bearer, token: '${env:CB_TOKEN}' }"),
    'signed-cb.yaml': asyncConnector("{ type: standard-webhooks, secret: '${env:CB_WHSEC}' }", '    maxBodySize: 2KB\n'),
    'token-cb.yaml': asyncConnector("{ type: username-token, username: wms, password: '${env:CB_PASSWORD}' }").replace('protocol: rest', 'protocol: soap').replace('{ header: X-Correlation-Id }', "{ responseXPath: \"//*[local-name()='RequestId']\" }"),
    'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\n',
  },
  triggerPoints: 'triggerPoints: []\n',
};

const JSON_BODY = JSON.stringify({ correlationId: 'c-1', status: 'COMPLETED' });
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

function soapCallback(password: string): string {
  return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><wsse:Security xmlns:wsse="${WSSE}"><wsse:UsernameToken><wsse:Username>wms</wsse:Username><wsse:Password Type="${PASSWORD_TEXT}">${password}</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body><cb:DeliveryResponse xmlns:cb="urn:om-connector-gateway:callback"><cb:CorrelationId>c-1</cb:CorrelationId><cb:Status>COMPLETED</cb:Status></cb:DeliveryResponse></soapenv:Body></soapenv:Envelope>`;
}

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Sends only the headers of a request that declares a body, and waits for the answer. */
function headersOnly(url: string, headers: Record<string, string>, declared: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(declared) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', (err) => reject(err));
    req.flushHeaders();
  });
}

describe(`POST /callbacks/{connector}: refused before the gateway spends on it (${backendName()})`, () => {
  let gw: TestGateway;
  const url = (connector: string) => `${gw.url}/callbacks/${connector}`;
  const events = async () => (await gw.gateway.store.browse.events({}, { limit: 1000 })).rows;
  const refusals = async () => {
    await gw.gateway.store.audit.flushRefusals();
    return (await gw.gateway.store.browse.audit({ actions: ['callback.rejected'] }, { limit: 1000 })).rows.reverse();
  };

  before(async () => {
    gw = await startGateway(CONFIG, { env: ENV });
  });
  after(async () => {
    await gw.stop();
  });

  it('serves the WSDL of an async connector with soap:address where it was fetched, and a UsernameToken policy when its callbacks carry one', async () => {
    const res = await fetch(`${url('token-cb')}?wsdl`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/xml/);
    const wsdl = await res.text();
    expect(wsdl).to.include(`<soap:address location="${url('token-cb')}"/>`);
    expect(wsdl).to.include('<wsdl:operation name="deliveryResponse">');
    expect(wsdl).to.include('UsernameTokenPolicy');
    const plain = await (await fetch(`${url('basic-cb')}?WSDL`)).text();
    expect(plain).to.include(`location="${url('basic-cb')}"`);
    expect(plain).to.not.include('UsernameTokenPolicy');
    for (const name of ['crm', 'nope']) {
      const missing = await fetch(`${url(name)}?wsdl`);
      expect(missing.status).to.equal(404);
      expect(await missing.json()).to.deep.include({ code: 'UNKNOWN_CONNECTOR' });
    }
  });

  it('answers 404 for a connector that is not async, and stores nothing', async () => {
    for (const name of ['crm', 'nope']) {
      const res = await post(url(name), JSON_BODY, { 'content-type': 'application/json' });
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.text)).to.deep.include({ code: 'UNKNOWN_CONNECTOR' });
    }
    expect(await events()).to.have.length(0);
    expect(await refusals()).to.have.length(0);
  });

  it('refuses wrong Basic and bearer credentials from the headers alone (401 before any body), storing only the bounded refusal', async () => {
    const before = (await refusals()).length;
    expect(before).to.equal(0);
    // The body is declared and never sent: the answer needs none of it.
    expect(await headersOnly(url('basic-cb'), { 'content-type': 'application/json', authorization: basic('wms', 'wrong') }, 100_000)).to.equal(401);
    expect(await headersOnly(url('bearer-cb'), { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}x` }, 100_000)).to.equal(401);
    const missing = await post(url('basic-cb'), JSON_BODY, { 'content-type': 'application/json' });
    expect(missing.status).to.equal(401);
    expect(JSON.parse(missing.text)).to.deep.equal({ code: 'AUTH_FAILED', message: 'authentication failed: no credentials: send HTTP Basic' });
    // Refusals fold per source, action, result and minute: one record counting the three.
    const rows = (await refusals()).slice(before);
    expect(rows.map((r) => [r.action, r.connector, r.result, r.direction, r.sourceSystem])).to.deep.equal([['callback.rejected', 'basic-cb', 'auth_failed', 'in', 'callback']]);
    expect((JSON.parse(rows[0]?.detail ?? '{}') as { count: number }).count).to.equal(3);
    expect(await events()).to.have.length(0);
  });

  it('checks a Standard Webhooks signature over the bounded body before parsing it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = signedHeaders(`whsec_${randomBytes(24).toString('base64')}`, 'msg_1', now, JSON_BODY);
    const bad = await post(url('signed-cb'), JSON_BODY, { 'content-type': 'application/json', ...forged });
    expect(bad.status).to.equal(401);
    expect(JSON.parse(bad.text)).to.deep.include({ code: 'AUTH_FAILED' });
    // Signed right, but not JSON: the signature passed, the body is refused, nothing is stored.
    const notJson = '{"correlationId": ';
    const signedNotJson = await post(url('signed-cb'), notJson, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_2', now, notJson) });
    expect(signedNotJson.status).to.equal(400);
    // Over the connector's maxBodySize (2KB): 413 from the declared length, before the signature.
    const large = JSON.stringify({ correlationId: 'c-1', status: 'COMPLETED', pad: 'x'.repeat(4000) });
    const tooLarge = await post(url('signed-cb'), large, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_3', now, large) });
    expect(tooLarge.status).to.equal(413);
    expect(await events()).to.have.length(0);
  });

  it('takes a UsernameToken only in a SOAP callback, and answers a wrong one with a SOAP Fault', async () => {
    const wrong = await post(url('token-cb'), soapCallback('wrong-password'), { 'content-type': 'text/xml; charset=utf-8' });
    expect(wrong.status).to.equal(401);
    expect(wrong.type).to.match(/^text\/xml/);
    expect(wrong.text).to.include('<faultcode>soap:Client</faultcode>');
    expect(wrong.text).to.include('<omgw:code>AUTH_FAILED</omgw:code>');
    const json = await post(url('token-cb'), JSON_BODY, { 'content-type': 'application/json' });
    expect(json.status).to.equal(401);
    const text = await post(url('basic-cb'), 'hello', { 'content-type': 'text/plain', authorization: basic('wms', PASSWORD) });
    expect(text.status).to.equal(415);
    expect(await events()).to.have.length(0);
  });

  it('never lets a credential into the log or the audit trail', async () => {
    await post(url('token-cb'), soapCallback(PASSWORD.slice(0, -1)), { 'content-type': 'text/xml' });
    await post(url('basic-cb'), JSON_BODY, { 'content-type': 'application/json', authorization: basic('wms', `${PASSWORD}-not`) });
    const audit = JSON.stringify(await refusals());
    for (const secret of [PASSWORD, TOKEN, WHSEC, PASSWORD.slice(0, -1)]) {
      expect(audit).to.not.include(secret);
      expect(gw.logs.join('\n')).to.not.include(secret);
    }
  });
});
