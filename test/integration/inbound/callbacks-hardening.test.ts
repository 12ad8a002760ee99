import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestConfig, type TestGateway } from '../../helpers/gateway.ts';
import { until } from '../../helpers/until.ts';
import { signedHeaders } from '../../helpers/webhook-signing.ts';

/**
 * POST /callbacks/{connector} faces the internet: a request is hostile until its credentials are
 * proven. Strangers hold no more of the body budget OM's pushes share than a stranger to the push
 * route may; a signed callback, read whole before its signature is checked, holds the signed-body
 * budget instead (inbound.webhooks.bodyBudget), up to the connector's maxBodySize; what the headers
 * decide is refused before the body; a signed message sent again is a duplicate; ids and statuses
 * are checked before anything is stored; refusals are counted.
 */

const PASSWORD = `cb-pass-${randomBytes(8).toString('hex')}`;
const WHSEC = `whsec_${randomBytes(24).toString('base64')}`;
const ENV = { CB_PASSWORD: PASSWORD, CB_WHSEC: WHSEC };
const ALLOWANCE = 16 * 1024;
/** A callback's default maxBodySize, and the signed-body budget: room for eight of them. */
const MAX_BODY = 1024 * 1024;
const SIGNED_BUDGET = 8 * MAX_BODY;

function asyncConnector(auth: string, protocol = 'rest'): string {
  return `protocol: ${protocol}
url: http://127.0.0.1:9/fulfil
mode: async
async:
  responseTimeout: 1m
  correlation: ${protocol === 'rest' ? '{ header: X-Correlation-Id }' : `{ responseXPath: "//*[local-name()='RequestId']" }`}
  callback:
    auth: ${auth}
    delivered: [COMPLETED]
    failed: [FAILED]
`;
}

const CONFIG: TestConfig = {
  // A small budget, so that strangers holding a callback's whole maxBodySize (1 MB) would fill it.
  gateway: gatewayYaml(`    maxBodySize: 64KB\n    maxBytesBeforeCredentials: 16KB\n    bodyBudget: 256KB\n    bodyWait: 300ms\n  webhooks:\n    bodyBudget: 8MB`),
  connectors: {
    'signed-cb.yaml': asyncConnector("{ type: standard-webhooks, secret: '${env:CB_WHSEC}' }"),
    'basic-cb.yaml': asyncConnector("{ type: basic, username: wms, password: '${env:CB_PASSWORD}' }"),
    'token-cb.yaml': asyncConnector("{ type: username-token, username: wms, password: '${env:CB_PASSWORD}' }", 'soap'),
  },
  triggerPoints: 'triggerPoints: []\n',
};

const BASIC = `Basic ${Buffer.from(`wms:${PASSWORD}`).toString('base64')}`;
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

function soapCallback(ns: string, correlationId: string, status = 'COMPLETED'): string {
  return `<env:Envelope xmlns:env="${ns}"><env:Body><cb:DeliveryResponse xmlns:cb="urn:om-connector-gateway:callback"><cb:CorrelationId>${correlationId}</cb:CorrelationId><cb:Status>${status}</cb:Status></cb:DeliveryResponse></env:Body></env:Envelope>`;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Sends only the headers of a request that declares a body, and waits for the answer. */
function headersOnly(url: string, headers: Record<string, string>, declared: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(declared) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe(`POST /callbacks/{connector}: hostile until authenticated (${backendName()})`, () => {
  let gw: TestGateway;
  const url = (connector: string) => `${gw.url}/callbacks/${connector}`;
  const events = async () => (await gw.gateway.store.browse.events({ sources: ['callback'] }, { limit: 1000 })).rows;
  const audit = async (action: string) => {
    await gw.gateway.store.audit.flushRefusals();
    return (await gw.gateway.store.browse.audit({ actions: [action] }, { limit: 1000 })).rows;
  };
  const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    gw = await startGateway(CONFIG, { env: ENV });
  });
  after(async () => {
    await gw.stop();
  });

  it("slow strangers' callback bodies hold no more of the shared body budget than strangers' pushes, signed ones only the signed-body budget: OM's push is still accepted", async () => {
    const held = async () => Number(/omgw_push_body_bytes\{kind="held"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    const signedHeld = async () => Number(/omgw_signed_body_bytes\{kind="held"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    const strangers: ClientRequest[] = [];
    const answered: number[] = [];
    const open = (connector: string, headers: Record<string, string>, first: string): void => {
      // Chunked (no declared length), one byte sent, the rest never: the repro of a slow sender.
      const req = request(url(connector), { method: 'POST', headers }, (res) => {
        answered.push(res.statusCode ?? 0);
        res.resume();
      });
      req.on('error', () => undefined);
      req.write(first);
      strangers.push(req);
    };
    try {
      // Well-formed, current Standard Webhooks headers with a made-up signature: only the body can refuse them.
      for (let i = 0; i < 8; i++) {
        open('signed-cb', { 'content-type': 'application/json', 'webhook-id': `msg_slow_${i}`, 'webhook-timestamp': String(now()), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` }, '{');
      }
      // SOAP callbacks whose UsernameToken would come in a Header that never closes.
      for (let i = 0; i < 4; i++) open('token-cb', { 'content-type': 'text/xml' }, '<');
      await until('the strangers to hold their shares', async () => (await held()) >= 4 * ALLOWANCE && (await signedHeld()) >= SIGNED_BUDGET);
      expect(await held(), 'each stranger holds at most maxBytesBeforeCredentials of the push budget').to.equal(4 * ALLOWANCE);
      // A chunked signed body may be as large as the connector's maxBodySize: that is what it holds.
      expect(await signedHeld(), 'the signed ones hold the signed-body budget, all of it').to.equal(SIGNED_BUDGET);
      expect(answered, 'no stranger was turned away busy').to.deep.equal([]);
      // One more signed callback finds no room: refused at once, not waiting (a genuine sender sends it again).
      const busy = JSON.stringify({ correlationId: 'slow-2', status: 'COMPLETED' });
      const refused = await fetch(url('signed-cb'), { method: 'POST', body: busy, headers: { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_busy', now(), busy) } });
      expect(refused.status).to.equal(503);
      expect(refused.headers.get('retry-after')).to.equal('1');
      expect(((await refused.json()) as { code: string }).code).to.equal('GATEWAY_BUSY');

      const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-CB-1' } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
      const res = await postSoap(`${gw.url}/soap/business-events`, push);
      expect(res.status, res.body).to.equal(202);
      // An authenticated callback reads its whole size beside them too.
      const ok = await post(url('basic-cb'), JSON.stringify({ correlationId: 'slow-1', status: 'COMPLETED' }), { 'content-type': 'application/json', authorization: BASIC });
      expect(ok.status, ok.text).to.equal(200);
    } finally {
      for (const req of strangers) req.destroy();
    }
    await until('the strangers to let go of the budgets', async () => (await held()) === 0 && (await signedHeld()) === 0);
    const retried = JSON.stringify({ correlationId: 'slow-2', status: 'COMPLETED' });
    const ok = await post(url('signed-cb'), retried, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_busy_again', now(), retried) });
    expect(ok.status, ok.text).to.equal(200);
  });

  it("refuses a signed callback from its headers alone (missing, malformed, a stale timestamp) before any body byte; reads one up to the connector's maxBodySize, past the pushes' pre-credential allowance", async () => {
    const json = { 'content-type': 'application/json' };
    const eventsBefore = (await events()).length;
    // The bodies are declared and never sent: the answers need none of them.
    const missing = await headersOnly(url('signed-cb'), json, 100);
    expect(missing.status).to.equal(401);
    expect(JSON.parse(missing.text)).to.deep.equal({ code: 'AUTH_FAILED', message: 'authentication failed: signature refused: missing header(s): webhook-id, webhook-timestamp, webhook-signature' });
    const stale = signedHeaders(WHSEC, 'msg_stale', now() - 3600, '{}');
    expect((await headersOnly(url('signed-cb'), { ...json, ...stale }, 100)).status).to.equal(401);
    expect((await headersOnly(url('signed-cb'), { ...json, ...stale, 'webhook-timestamp': 'soon' }, 100)).status).to.equal(401);
    expect(await events()).to.have.length(eventsBefore);
    // A signed body is read whole before the sender is known, from the signed-body budget: larger
    // than 64 KB (and than maxBytesBeforeCredentials), within maxBodySize, it is accepted.
    const large = JSON.stringify({ correlationId: 'c-large', status: 'COMPLETED', pad: 'x'.repeat(100 * 1024) });
    const accepted = await post(url('signed-cb'), large, { ...json, ...signedHeaders(WHSEC, 'msg_large', now(), large) });
    expect(accepted.status, accepted.text).to.equal(200);
    expect(JSON.parse(accepted.text)).to.include({ outcome: 'unmatched' });
    expect(await events()).to.have.length(eventsBefore + 1);
    // Over maxBodySize: 413 from the declared length, and streamed without one.
    const tooLarge = 'x'.repeat(MAX_BODY + 1);
    expect((await headersOnly(url('signed-cb'), { ...json, ...signedHeaders(WHSEC, 'msg_too_large', now(), tooLarge) }, tooLarge.length)).status).to.equal(413);
    const streamed = await fetch(url('signed-cb'), {
      method: 'POST',
      headers: { ...json, ...signedHeaders(WHSEC, 'msg_too_large_streamed', now(), tooLarge) },
      body: new Blob([tooLarge]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).to.equal(413);
    expect(await events()).to.have.length(eventsBefore + 1);
  });

  it('recognises a signed callback sent again (the same webhook-id) as a duplicate that stores nothing, valid or invalid', async () => {
    const eventsBefore = (await events()).length;
    const body = JSON.stringify({ correlationId: 'nobody-sent-this', status: 'COMPLETED' });
    const answers: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 3; i++) {
      // A sender's retry: the same message id, a new timestamp and signature.
      const res = await post(url('signed-cb'), body, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_replayed', now() + i, body) });
      expect(res.status).to.equal(200);
      answers.push(JSON.parse(res.text) as Record<string, unknown>);
    }
    expect(answers.map((a) => a.outcome)).to.deep.equal(['unmatched', 'duplicate', 'duplicate']);
    expect(answers[1]).to.deep.equal({ eventId: null, outcome: 'duplicate', deliveryId: null });
    expect(await events()).to.have.length(eventsBefore + 1);
    // Another message with the same content is another callback.
    expect(JSON.parse((await post(url('signed-cb'), body, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_other', now(), body) })).text)).to.include({ outcome: 'unmatched' });
    expect(await events()).to.have.length(eventsBefore + 2);

    const invalid = JSON.stringify({ correlationId: 'c-odd', status: 'MAYBE' });
    const first = await post(url('signed-cb'), invalid, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_invalid', now(), invalid) });
    expect(first.status).to.equal(422);
    for (let i = 1; i <= 2; i++) {
      const again = await post(url('signed-cb'), invalid, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_invalid', now() + i, invalid) });
      expect(again.status).to.equal(200);
      expect(JSON.parse(again.text)).to.include({ outcome: 'duplicate' });
    }
    const invalids = (await audit('callback.received')).filter((r) => r.result === 'invalid');
    expect(invalids, 'one audit record for the invalid message, however often it comes').to.have.length(1);
  });

  it("answers 422 with the service's reason for a status value it does not know", async () => {
    const res = await post(url('basic-cb'), JSON.stringify({ correlationId: 'c-1', status: 'MAYBE' }), { 'content-type': 'application/json', authorization: BASIC });
    expect(res.status).to.equal(422);
    expect(JSON.parse(res.text)).to.deep.equal({ code: 'CALLBACK_INVALID', message: 'status "MAYBE" is in neither delivered (COMPLETED) nor failed (FAILED)' });
  });

  it('refuses at the edge a correlation id or status too long or with a control character (422 naming the field), storing only a bounded refusal', async () => {
    const eventsBefore = (await events()).length;
    const cases: Array<[Record<string, string>, string]> = [
      [{ correlationId: 'c'.repeat(60_000), status: 'COMPLETED' }, "the callback's correlation id is 60000 characters long: at most 200 are accepted"],
      [{ correlationId: 'c-\u0000-1', status: 'COMPLETED' }, "the callback's correlation id contains a control character"],
      [{ correlationId: 'c-2', status: 'COMPLETED\u0000' }, "the callback's status contains a control character"],
      [{ correlationId: 'c-3', status: 'S'.repeat(201) }, "the callback's status is 201 characters long: at most 200 are accepted"],
    ];
    for (const [body, message] of cases) {
      const res = await post(url('basic-cb'), JSON.stringify(body), { 'content-type': 'application/json', authorization: BASIC });
      expect(res.status, message).to.equal(422);
      expect(JSON.parse(res.text)).to.deep.equal({ code: 'CALLBACK_INVALID', message });
    }
    // A SOAP callback: the same check, answered with a Fault.
    const soap = await post(url('basic-cb'), soapCallback(SOAP11, 'c'.repeat(300)), { 'content-type': 'text/xml', authorization: BASIC });
    expect(soap.status).to.equal(422);
    expect(soap.text).to.include('<omgw:code>CALLBACK_INVALID</omgw:code>').and.include('correlation id is 300 characters long');
    expect(await events()).to.have.length(eventsBefore);
    const refused = (await audit('callback.rejected')).filter((r) => r.result === 'callback_invalid');
    expect(refused, 'folded per source and minute').to.have.length(1);
    expect(JSON.stringify(refused).length, 'bounded').to.be.lessThan(2048);
  });

  it('answers a SOAP callback in the SOAP version of its envelope', async () => {
    for (const [contentType, ns] of [['text/xml', SOAP12], ['application/soap+xml', SOAP11], ['text/xml', SOAP11]] as const) {
      const res = await post(url('basic-cb'), soapCallback(ns, `v-${ns.length}-${contentType.length}`), { 'content-type': contentType, authorization: BASIC });
      expect(res.status, res.text).to.equal(200);
      expect(res.text).to.include(`xmlns:env="${ns}"`).and.include('<cb:Outcome>unmatched</cb:Outcome>');
      expect(res.type).to.match(ns === SOAP12 ? /^application\/soap\+xml/ : /^text\/xml/);
    }
  });

  it("counts refusals in omgw_callbacks_total by connector and a closed set of outcomes; an unknown connector's name is never a label", async () => {
    const count = async (connector: string, outcome: string) => Number(new RegExp(`omgw_callbacks_total\\{connector="${connector}",outcome="${outcome}"\\} (\\d+)`).exec(await metrics())?.[1] ?? 0);
    const before = await count('basic-cb', 'auth_failed');
    await post(url('basic-cb'), '{}', { 'content-type': 'application/json', authorization: 'Basic d21zOndyb25n' });
    await post(url('basic-cb'), '{}', { 'content-type': 'application/json' });
    expect(await count('basic-cb', 'auth_failed')).to.equal(before + 2);
    await post(url('basic-cb'), 'hello', { 'content-type': 'text/plain', authorization: BASIC });
    expect(await count('basic-cb', 'unsupported_media_type')).to.be.greaterThan(0);
    await post(url('basic-cb'), '{"correlationId":', { 'content-type': 'application/json', authorization: BASIC });
    expect(await count('basic-cb', 'malformed')).to.be.greaterThan(0);
    const invalid = await count('basic-cb', 'invalid');
    await post(url('basic-cb'), JSON.stringify({ correlationId: 'c\u0001', status: 'COMPLETED' }), { 'content-type': 'application/json', authorization: BASIC });
    expect(await count('basic-cb', 'invalid')).to.equal(invalid + 1);
    const large = 'x'.repeat(MAX_BODY + 1);
    await post(url('signed-cb'), large, { 'content-type': 'application/json', ...signedHeaders(WHSEC, 'msg_metrics', now(), large) });
    expect(await count('signed-cb', 'too_large')).to.be.greaterThan(0);
    await post(url('no-such-connector'), '{}', { 'content-type': 'application/json' });
    expect(await metrics()).to.not.include('no-such-connector');
  });
});
