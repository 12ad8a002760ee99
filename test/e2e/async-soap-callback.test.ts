import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { passwordDigest } from '../../src/connectors/auth/ws-security.ts';
import type { Delivery } from '../../src/domain/delivery.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { backendName } from '../helpers/backend.ts';
import { startAsyncWmsGateway, WMS_CALLBACK_PASSWORD, WMS_CALLBACK_USER, wmsDeliveryOf } from '../helpers/async-wms.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, type TestGateway } from '../helpers/gateway.ts';
import { everything } from '../helpers/pages.ts';
import { FakeTarget, type ReceivedRequest } from '../helpers/target.ts';
import { until } from '../helpers/until.ts';

/**
 * SOAP callbacks through a whole gateway: an async connector whose target answers later with a SOAP
 * DeliveryResponse carrying a WS-Security UsernameToken (PasswordText, or PasswordDigest with Nonce
 * and Created), acknowledged with a CallbackAck once committed; a PasswordDigest token is good once
 * (its nonce is claimed with the callback); and a Python zeep client built from the WSDL the gateway
 * serves for the connector.
 */

const PYTHON = '/usr/bin/python3';
const ZEEP_SCRIPT = fileURLToPath(new URL('./clients/zeep_callback.py', import.meta.url));
const CALLBACK_USER = WMS_CALLBACK_USER;
const CALLBACK_PASSWORD = WMS_CALLBACK_PASSWORD;
const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';

type Token = { kind: 'text'; password: string } | { kind: 'digest'; password: string; nonce: Buffer; created: string };

function usernameToken(token: Token): string {
  if (token.kind === 'text') {
    return `<wsse:UsernameToken><wsse:Username>${CALLBACK_USER}</wsse:Username><wsse:Password Type="${TOKEN_PROFILE}#PasswordText">${token.password}</wsse:Password></wsse:UsernameToken>`;
  }
  return (
    `<wsse:UsernameToken><wsse:Username>${CALLBACK_USER}</wsse:Username>` +
    `<wsse:Password Type="${TOKEN_PROFILE}#PasswordDigest">${passwordDigest(token.nonce, token.created, token.password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${token.nonce.toString('base64')}</wsse:Nonce>` +
    `<wsu:Created>${token.created}</wsu:Created></wsse:UsernameToken>`
  );
}

function soapCallback(token: Token, correlationId: string, status: string): string {
  return (
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>` +
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}">${usernameToken(token)}</wsse:Security></soapenv:Header>` +
    `<soapenv:Body><cb:DeliveryResponse xmlns:cb="urn:om-connector-gateway:callback"><cb:CorrelationId>${correlationId}</cb:CorrelationId>` +
    `<cb:Status>${status}</cb:Status><cb:Message>picked and packed</cb:Message></cb:DeliveryResponse></soapenv:Body></soapenv:Envelope>`
  );
}

const digestToken = (): Token => ({ kind: 'digest', password: CALLBACK_PASSWORD, nonce: randomBytes(16), created: new Date().toISOString() });

/** The fields of a CallbackAck (or of a Fault: faultstring and the gateway's error code), by their local names. */
function ackFields(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of xml.matchAll(/<(?:[\w-]+:)?(EventId|Outcome|DeliveryId|faultstring|code)(?:\s[^>]*)?>([^<]*)</g)) out[m[1] as string] = m[2] as string;
  return out;
}

function zeepAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import zeep'], { stdio: 'ignore' }).status === 0;
}

describe(`SOAP callbacks of an async connector through a gateway (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let gw: TestGateway;

  before(async () => {
    target = await new FakeTarget().start();
    target.answer = () => ({ status: 202, body: '{"accepted":true}' });
    gw = await startAsyncWmsGateway(target.url, { callbackAuth: 'username-token', retry: false });
  });
  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  const deliveryOf = (orderKey: string): Promise<Delivery | undefined> => wmsDeliveryOf(gw, orderKey);

  /** Pushes an order's event and returns the correlation id the target received, once its delivery awaits the response. */
  async function awaiting(order: string): Promise<{ correlationId: string; delivery: Delivery }> {
    const seen = target.requests.length;
    const res = await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: order } }], { security }));
    expect(res.status, res.body).to.equal(202);
    const req = (await target.waitForRequests(seen + 1)).slice(seen).find((r: ReceivedRequest) => r.path.endsWith(order)) ?? target.requests[seen];
    await until(`${order} awaiting_response`, async () => (await deliveryOf(`LEG:${order}`))?.state === 'awaiting_response', 15_000);
    const delivery = (await deliveryOf(`LEG:${order}`)) as Delivery;
    const correlationId = String(req?.headers['x-correlation-id'] ?? '');
    expect(delivery.correlationId).to.equal(correlationId);
    return { correlationId, delivery };
  }

  const post = async (body: string): Promise<{ status: number; text: string; type: string }> => {
    const res = await fetch(`${gw.url}/callbacks/wms`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:om-connector-gateway:callback/deliveryResponse"' }, body });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
  };
  const callbackEvents = () => everything((page) => gw.gateway.store.browse.events({ sources: ['callback'] }, page));

  for (const kind of ['text', 'digest'] as const) {
    it(`accepts a callback with a ${kind === 'text' ? 'PasswordText' : 'PasswordDigest'} UsernameToken: a CallbackAck after the commit, the delivery completed`, async () => {
      const order = `SO-SOAPCB-${kind}`;
      const { correlationId, delivery } = await awaiting(order);
      const token: Token = kind === 'text' ? { kind, password: CALLBACK_PASSWORD } : digestToken();
      const res = await post(soapCallback(token, correlationId, 'COMPLETED'));
      expect(res.status, res.text).to.equal(200);
      expect(res.type).to.match(/^text\/xml/);
      expect(res.text).to.match(/<cb:CallbackAck xmlns:cb="urn:om-connector-gateway:callback">/);
      const ack = ackFields(res.text);
      expect(ack).to.deep.include({ Outcome: 'completed', DeliveryId: delivery.id });
      // Committed before the answer: the event and the completion are there now.
      expect((await deliveryOf(`LEG:${order}`))?.state).to.equal('delivered');
      const event = (await callbackEvents()).find((e) => e.id === ack.EventId);
      expect(event).to.include({ source: 'callback', eventCode: 'CallbackReceived', orderKey: `LEG:${order}` });
      // The password is never kept: the envelope is stored with it masked.
      expect(event?.raw).to.not.include(CALLBACK_PASSWORD);
    });
  }

  it('refuses a PasswordDigest token used before (401 SOAP Fault), storing nothing but the refusal', async () => {
    const first = await awaiting('SO-SOAPCB-R1');
    const second = await awaiting('SO-SOAPCB-R2');
    const token = digestToken();
    const ok = await post(soapCallback(token, first.correlationId, 'COMPLETED'));
    expect(ok.status, ok.text).to.equal(200);
    const eventsBefore = (await callbackEvents()).length;
    await gw.gateway.store.audit.flushRefusals();
    const refusalsBefore = (await gw.gateway.store.browse.audit({ actions: ['callback.rejected'] }, { limit: 1000 })).rows.length;

    // The token captured and replayed: the same envelope, and the same token on another delivery's callback.
    for (const body of [soapCallback(token, first.correlationId, 'COMPLETED'), soapCallback(token, second.correlationId, 'FAILED')]) {
      const replay = await post(body);
      expect(replay.status, replay.text).to.equal(401);
      const fault = ackFields(replay.text);
      expect(fault.code).to.equal('AUTH_FAILED');
      expect(fault.faultstring).to.match(/nonce was used before/);
    }
    expect(await callbackEvents()).to.have.length(eventsBefore);
    expect((await deliveryOf('LEG:SO-SOAPCB-R2'))?.state).to.equal('awaiting_response');
    await gw.gateway.store.audit.flushRefusals();
    const refusals = (await gw.gateway.store.browse.audit({ actions: ['callback.rejected'] }, { limit: 1000 })).rows;
    expect(refusals.length).to.be.greaterThan(refusalsBefore);
    expect(refusals[0]).to.include({ connector: 'wms', result: 'auth_failed' });

    // A fresh token is accepted as ever.
    const fresh = await post(soapCallback(digestToken(), second.correlationId, 'FAILED'));
    expect(ackFields(fresh.text)).to.deep.include({ Outcome: 'completed', DeliveryId: second.delivery.id });
    expect((await deliveryOf('LEG:SO-SOAPCB-R2'))?.state).to.equal('parked');
  });

  describe('a Python zeep client built from GET /callbacks/{connector}?wsdl', () => {
    before(function () {
      if (!zeepAvailable()) {
        console.log('    (skipped: Python zeep is not installed; `apt-get install python3-zeep` enables these tests)');
        this.skip();
      }
    });

    for (const digest of ['0', '1']) {
      it(`calls deliveryResponse with a ${digest === '1' ? 'PasswordDigest' : 'PasswordText'} UsernameToken and reads the CallbackAck`, async () => {
        const order = `SO-ZEEPCB-${digest}`;
        const { correlationId, delivery } = await awaiting(order);
        const { stdout } = await promisify(execFile)(PYTHON, [ZEEP_SCRIPT, `${gw.url}/callbacks/wms`, CALLBACK_USER, CALLBACK_PASSWORD, digest, correlationId, 'COMPLETED']);
        const [outcome, eventId, deliveryId] = stdout.trim().split('\n');
        expect([outcome, deliveryId]).to.deep.equal(['completed', delivery.id]);
        expect((await deliveryOf(`LEG:${order}`))?.state).to.equal('delivered');
        const event = (await callbackEvents()).find((e) => e.id === eventId);
        expect(JSON.parse(event?.payload ?? '{}')).to.deep.include({ correlationId, status: 'COMPLETED', message: 'answered by zeep' });
      });
    }
  });
});
