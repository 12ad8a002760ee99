import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { XMLParser } from 'fast-xml-parser';
import { buildSchemas, type ConnectorConfig } from '../../../src/config/schema.ts';
import {
  buildRestRequest,
  sendRest,
  type RawResponse,
  type SendFn,
} from '../../../src/connectors/senders/rest.ts';
import { buildSoapRequest, sendSoap } from '../../../src/connectors/senders/soap.ts';
import { TransformError, type OutboundRequest, type TransformOutput } from '../../../src/connectors/types.ts';

const SOAP11_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope';

// ---------------------------------------------------------------------------------------------------------
// A real target on 127.0.0.1:0 that records requests and answers as each test scripts it.

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

interface Target {
  url: string;
  received: Received[];
  answer: (req: Received) => Answer;
  /** Resolves when a request has arrived (for the 'hang' answer). */
  arrived: Promise<void>;
  close(): Promise<void>;
}

async function startTarget(answer: (req: Received) => Answer = () => ({ status: 200 })): Promise<Target> {
  let signalArrived: () => void = () => {};
  const target: Target = {
    url: '',
    received: [],
    answer,
    arrived: new Promise<void>((resolve) => (signalArrived = resolve)),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      target.received.push(received);
      signalArrived();
      const a = target.answer(received);
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return target;
}

/** The transport the real HTTP client will provide, built on fetch: errors carry errorClass. */
function fetchSend(timeoutMs = 5_000): SendFn {
  return async (req: OutboundRequest): Promise<RawResponse> => {
    const started = performance.now();
    try {
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => (headers[name] = value));
      return { status: res.status, headers, body, durationMs: Math.round(performance.now() - started) };
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      const message = timedOut ? `no answer within ${timeoutMs} ms` : `${err instanceof Error ? err.message : String(err)}${cause}`;
      throw Object.assign(new Error(message), { errorClass: timedOut ? 'timeout' : 'network' });
    }
  };
}

/** The gateway's clock, fixed: the senders read a Retry-After date against it, never the wall clock. */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const now = (): number => NOW;

const schemas = buildSchemas({ env: {}, baseDir: tmpdir() });

function restConnector(url: string, overrides: Record<string, unknown> = {}): ConnectorConfig {
  return schemas.connector.parse({ name: 'crm', protocol: 'rest', url, ...overrides });
}

function soapConnector(url: string, version: '1.1' | '1.2', action?: string): ConnectorConfig {
  return schemas.connector.parse({
    name: 'otm',
    protocol: 'soap',
    url,
    path: '/GC3Services/TransmissionService/call',
    soap: action === undefined ? { version } : { version, action },
    transform: 'otm-transmission',
  });
}

const JSON_OUTPUT: TransformOutput = {
  body: JSON.stringify({ eventId: 'evt_1', eventCode: 'FlineStatusUpdate', data: { note: 'café ✓' } }),
  contentType: 'application/json',
};

const VARS = { orderKey: 'LEG_OPS:R13/10045 x', eventCode: 'FlineStatusUpdate', 'delivery.id': 'dlv_01' };

const OTM_BODY =
  '<tran:publish xmlns:tran="http://xmlns.oracle.com/apps/otm/TransmissionService" xmlns:v6="http://xmlns.oracle.com/apps/otm/transmission/v6.4">' +
  '<v6:Transmission><v6:TransmissionHeader><v6:SenderTransmissionNo>dlv_01</v6:SenderTransmissionNo></v6:TransmissionHeader>' +
  '<v6:TransmissionBody><v6:GLogXMLElement/></v6:TransmissionBody></v6:Transmission></tran:publish>';
const XML_OUTPUT: TransformOutput = { body: OTM_BODY, contentType: 'application/xml; charset=utf-8' };

const SECURITY =
  '<wsse:Security soap:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">' +
  '<wsse:UsernameToken><wsse:Username>ATL.INTEGRATION</wsse:Username>' +
  '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">s3cret</wsse:Password>' +
  '</wsse:UsernameToken></wsse:Security>';

function fault11(code: string, message: string): string {
  return (
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11_ENV_NS}"><SOAP-ENV:Body><SOAP-ENV:Fault>` +
    `<faultcode>SOAP-ENV:${code}</faultcode><faultstring xml:lang="en">${message}</faultstring>` +
    '<detail><x:Info xmlns:x="urn:x">more</x:Info></detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>'
  );
}

function fault12(code: string, texts: string): string {
  return (
    `<env:Envelope xmlns:env="${SOAP12_ENV_NS}"><env:Body><env:Fault>` +
    `<env:Code><env:Value>env:${code}</env:Value></env:Code><env:Reason>${texts}</env:Reason>` +
    '</env:Fault></env:Body></env:Envelope>'
  );
}

const envelopeParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, processEntities: false });

// ---------------------------------------------------------------------------------------------------------

describe('connectors/senders (real local HTTP servers)', function () {
  let target: Target;
  const send = fetchSend();

  beforeEach(async () => {
    target = await startTarget();
  });
  afterEach(async () => {
    await target.close();
  });

  describe('REST', () => {
    it('2xx: delivered; the target gets the body, Content-Type, User-Agent and Idempotency-Key', async () => {
      target.answer = () => ({ status: 201, headers: { 'content-type': 'application/json', location: '/x/1' }, body: '{"id":1}' });
      const connector = restConnector(target.url, { path: '/order-status' });
      const request = buildRestRequest(connector, JSON_OUTPUT, VARS, 'dlv_01');
      const result = await sendRest({ connector, request, send, now });

      expect(result).to.include({ ok: true, status: 201, errorClass: null, errorMessage: null, faultParty: null, retryAfterMs: null });
      expect(result.bodySnippet).to.equal('{"id":1}');
      expect(result.headers.location).to.equal('/x/1');
      expect(result.durationMs).to.be.a('number').and.at.least(0);
      expect(result.request).to.deep.equal({
        method: 'POST',
        url: `${target.url}/order-status`,
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'om-connector-gateway', 'Idempotency-Key': 'dlv_01' },
        bodyBytes: Buffer.byteLength(JSON_OUTPUT.body, 'utf8'),
      });

      const got = target.received[0];
      expect(got?.method).to.equal('POST');
      expect(got?.path).to.equal('/order-status');
      expect(got?.body).to.equal(JSON_OUTPUT.body);
      expect(got?.headers['content-type']).to.equal('application/json');
      expect(got?.headers['user-agent']).to.equal('om-connector-gateway');
      expect(got?.headers['idempotency-key']).to.equal('dlv_01');
    });

    it('4xx: errorClass http with the status, no retry hint', async () => {
      target.answer = () => ({ status: 422, headers: { 'content-type': 'application/json' }, body: '{"error":"unknown order"}' });
      const connector = restConnector(target.url);
      const result = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, null), send, now });
      expect(result).to.include({ ok: false, status: 422, errorClass: 'http', errorMessage: 'HTTP 422', retryAfterMs: null, faultParty: null });
      expect(result.bodySnippet).to.equal('{"error":"unknown order"}');
      expect(target.received[0]?.headers).to.not.have.property('idempotency-key');
    });

    it('5xx: errorClass http; the body snippet is cut at 2 KB of UTF-8', async () => {
      const big = 'é'.repeat(3000); // 6000 bytes
      target.answer = () => ({ status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: big });
      const connector = restConnector(target.url);
      const result = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'), send, now });
      expect(result).to.include({ ok: false, status: 503, errorClass: 'http' });
      expect(Buffer.byteLength(result.bodySnippet ?? '', 'utf8')).to.equal(2048);
      expect(result.bodySnippet).to.equal('é'.repeat(1024));
    });

    it('429 with Retry-After in seconds → retryAfterMs', async () => {
      target.answer = () => ({ status: 429, headers: { 'retry-after': '120' }, body: 'slow down' });
      const connector = restConnector(target.url);
      const result = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'), send, now });
      expect(result).to.include({ ok: false, status: 429, errorClass: 'http', retryAfterMs: 120_000 });
    });

    it('503 with Retry-After as an HTTP-date, and x-retry-after', async () => {
      const at = new Date(NOW + 90_000).toUTCString();
      target.answer = () => ({ status: 503, headers: { 'retry-after': at } });
      const connector = restConnector(target.url);
      const dated = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'), send, now });
      // Read against the injected clock, not the wall clock.
      expect(dated.retryAfterMs).to.equal(90_000);

      target.answer = () => ({ status: 429, headers: { 'x-retry-after': '7' } });
      const custom = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'), send, now });
      expect(custom.retryAfterMs).to.equal(7_000);
    });

    it('fills {{placeholders}} in the path (URL-encoded) and headers (as is), from vars and pathVars', async () => {
      const connector = restConnector(`${target.url}/api/`, {
        method: 'PUT',
        path: '/orders/{{orderKey}}/events/{{ eventCode }}?tenant={{tenant}}',
        headers: { 'X-Order': '{{orderKey}}', 'X-Static': 'yes', 'user-agent': 'custom-agent/1' },
        idempotencyKey: { header: 'X-Request-Id' },
      });
      const output: TransformOutput = { ...JSON_OUTPUT, pathVars: { tenant: 'acme & co', orderKey: 'ignored: event value wins' } };
      const request = buildRestRequest(connector, output, VARS, 'dlv_01');
      const result = await sendRest({ connector, request, send, now });
      expect(result.ok).to.equal(true);
      const got = target.received[0];
      expect(got?.method).to.equal('PUT');
      expect(got?.path).to.equal('/api/orders/LEG_OPS%3AR13%2F10045%20x/events/FlineStatusUpdate?tenant=acme%20%26%20co');
      expect(got?.headers['x-order']).to.equal('LEG_OPS:R13/10045 x');
      expect(got?.headers['x-static']).to.equal('yes');
      expect(got?.headers['user-agent']).to.equal('custom-agent/1');
      expect(got?.headers['x-request-id']).to.equal('dlv_01');
      expect(got?.headers).to.not.have.property('idempotency-key');
    });

    it('idempotency header "" sends none; GET sends no body', async () => {
      const connector = restConnector(target.url, { method: 'GET', idempotencyKey: { header: '' } });
      const request = buildRestRequest(connector, JSON_OUTPUT, VARS, 'dlv_01');
      expect(request.body).to.equal(null);
      const result = await sendRest({ connector, request, send, now });
      expect(result.ok).to.equal(true);
      expect(result.request.bodyBytes).to.equal(0);
      expect(target.received[0]?.headers).to.not.have.property('idempotency-key');
      expect(target.received[0]?.headers).to.not.have.property('content-type');
    });

    it('a missing placeholder value, a dot segment, or a header line break is a TransformError', () => {
      const missing = restConnector(target.url, { path: '/orders/{{nope}}' });
      expect(() => buildRestRequest(missing, JSON_OUTPUT, VARS, null)).to.throw(TransformError, /no value for \{\{nope\}\}/);
      const dots = restConnector(target.url, { path: '/orders/{{orderKey}}/x' });
      expect(() => buildRestRequest(dots, JSON_OUTPUT, { orderKey: '..' }, null)).to.throw(TransformError, /segment/);
      const header = restConnector(target.url, { headers: { 'X-Order': '{{orderKey}}' } });
      expect(() => buildRestRequest(header, JSON_OUTPUT, { orderKey: 'a\r\nX-Evil: 1' }, null)).to.throw(TransformError, /line break/);
    });
  });

  describe('SOAP', () => {
    function parseEnvelope(body: string): Record<string, Record<string, unknown>> {
      return envelopeParser.parse(body) as Record<string, Record<string, unknown>>;
    }

    it('SOAP 1.1: text/xml, quoted SOAPAction, envelope with the security header; 200 empty is delivered', async () => {
      const action = 'http://xmlns.oracle.com/apps/otm/TransmissionService/publish';
      const connector = soapConnector(target.url, '1.1', action);
      const request = buildSoapRequest(connector, XML_OUTPUT, SECURITY);
      const result = await sendSoap({ connector, request, send, now });
      expect(result).to.include({ ok: true, status: 200, errorClass: null, bodySnippet: null, faultParty: null });

      const got = target.received[0];
      expect(got?.method).to.equal('POST');
      expect(got?.path).to.equal('/GC3Services/TransmissionService/call');
      expect(got?.headers['content-type']).to.equal('text/xml; charset=utf-8');
      expect(got?.headers.soapaction).to.equal(`"${action}"`);
      expect(got?.headers['user-agent']).to.equal('om-connector-gateway');
      const doc = parseEnvelope(got?.body ?? '');
      const envelope = doc['soap:Envelope'] ?? {};
      expect(envelope['@_xmlns:soap']).to.equal(SOAP11_ENV_NS);
      const header = envelope['soap:Header'] as Record<string, Record<string, unknown>>;
      const token = header['wsse:Security']?.['wsse:UsernameToken'] as Record<string, unknown>;
      expect(token['wsse:Username']).to.equal('ATL.INTEGRATION');
      const body = envelope['soap:Body'] as Record<string, Record<string, unknown>>;
      expect(Object.keys(body)).to.deep.equal(['tran:publish']);
      expect(body['tran:publish']?.['v6:Transmission']).to.be.an('object');
    });

    it('SOAP 1.2: application/soap+xml with the action parameter, no SOAPAction, no Header without security', async () => {
      target.answer = () => ({ status: 202 });
      const connector = soapConnector(target.url, '1.2', 'urn:publish');
      const request = buildSoapRequest(connector, { ...XML_OUTPUT, body: `<?xml version="1.0"?>\n${OTM_BODY}` }, null);
      const result = await sendSoap({ connector, request, send, now });
      expect(result).to.include({ ok: true, status: 202 });
      const got = target.received[0];
      expect(got?.headers['content-type']).to.equal('application/soap+xml; charset=utf-8; action="urn:publish"');
      expect(got?.headers).to.not.have.property('soapaction');
      const envelope = parseEnvelope(got?.body ?? '')['soap:Envelope'] ?? {};
      expect(envelope['@_xmlns:soap']).to.equal(SOAP12_ENV_NS);
      expect(envelope).to.not.have.property('soap:Header');
      expect(Object.keys(envelope['soap:Body'] as object)).to.deep.equal(['tran:publish']);
      expect(got?.body.match(/<\?xml/g)).to.have.length(1);
    });

    it('200 with an ordinary response body is delivered', async () => {
      target.answer = () => ({
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<S:Envelope xmlns:S="${SOAP11_ENV_NS}"><S:Body><otm:TransmissionAck xmlns:otm="${'http://xmlns.oracle.com/apps/otm/transmission/v6.4'}"><otm:ReferenceTransmissionNo>1234</otm:ReferenceTransmissionNo></otm:TransmissionAck></S:Body></S:Envelope>`,
      });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const result = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(result).to.include({ ok: true, status: 200, errorClass: null });
      expect(result.bodySnippet).to.contain('ReferenceTransmissionNo');
    });

    it('500 with a Client fault: soap_fault, party Client, faultstring (entities decoded) as the message', async () => {
      target.answer = () => ({ status: 500, headers: { 'content-type': 'text/xml' }, body: fault11('Client', 'Order &lt;R13-10045&gt; &amp; release unknown') });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const result = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(result).to.include({
        ok: false,
        status: 500,
        errorClass: 'soap_fault',
        faultParty: 'Client',
        errorMessage: 'Order <R13-10045> & release unknown',
      });
    });

    it('500 with a Server fault: party Server; a dotted or unknown code is Server too', async () => {
      target.answer = () => ({ status: 500, body: fault11('Server', 'database unavailable') });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const server = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(server).to.include({ errorClass: 'soap_fault', faultParty: 'Server', errorMessage: 'database unavailable' });

      target.answer = () => ({ status: 500, body: fault11('Client.Authentication', 'bad password') });
      const dotted = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(dotted).to.include({ errorClass: 'soap_fault', faultParty: 'Client' });

      target.answer = () => ({ status: 500, body: fault11('MustUnderstand', 'header not understood') });
      const other = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(other).to.include({ errorClass: 'soap_fault', faultParty: 'Server' });
    });

    it('SOAP 1.2 faults: env:Sender is Client, env:Receiver is Server, the English Reason/Text is the message', async () => {
      const connector = soapConnector(target.url, '1.2', 'urn:publish');
      target.answer = () => ({
        status: 500,
        body: fault12('Sender', '<env:Text xml:lang="de">Ungültig</env:Text><env:Text xml:lang="en">Invalid release</env:Text>'),
      });
      const sender = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, null), send, now });
      expect(sender).to.include({ errorClass: 'soap_fault', faultParty: 'Client', errorMessage: 'Invalid release' });

      target.answer = () => ({ status: 500, body: fault12('Receiver', `<env:Text xml:lang="en">${'x'.repeat(800)}</env:Text>`) });
      const receiver = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, null), send, now });
      expect(receiver).to.include({ errorClass: 'soap_fault', faultParty: 'Server' });
      expect(receiver.errorMessage).to.have.length(500);
    });

    it('200 carrying a Fault is a fault, not a delivery', async () => {
      target.answer = () => ({ status: 200, headers: { 'content-type': 'text/xml' }, body: fault11('Client', 'duplicate transmission') });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const result = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(result).to.include({ ok: false, status: 200, errorClass: 'soap_fault', faultParty: 'Client', errorMessage: 'duplicate transmission' });
    });

    it('a Fault element outside the envelope namespace is not a fault', async () => {
      target.answer = () => ({
        status: 200,
        body: `<S:Envelope xmlns:S="${SOAP11_ENV_NS}"><S:Body><x:Fault xmlns:x="urn:app"><faultcode>Client</faultcode></x:Fault></S:Body></S:Envelope>`,
      });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const result = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(result).to.include({ ok: true, errorClass: null });
    });

    it('a response with a DOCTYPE is refused without expanding entities', async () => {
      target.answer = () => ({
        status: 200,
        body: `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><S:Envelope xmlns:S="${SOAP11_ENV_NS}"><S:Body><S:Fault><faultcode>S:Client</faultcode><faultstring>&b;</faultstring></S:Fault></S:Body></S:Envelope>`,
      });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const result = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(result).to.include({ ok: false, status: 200, errorClass: 'http', faultParty: null });
      expect(result.errorMessage).to.match(/DOCTYPE/);
      expect(result.errorMessage).to.not.contain('aaaa');
    });

    it('500 without a Fault, and 503 with one, are http errors', async () => {
      target.answer = () => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<html><body>Internal error</body></html>' });
      const connector = soapConnector(target.url, '1.1', 'publish');
      const plain = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(plain).to.include({ ok: false, status: 500, errorClass: 'http', errorMessage: 'HTTP 500', faultParty: null });

      target.answer = () => ({ status: 503, headers: { 'retry-after': '30' }, body: fault11('Server', 'maintenance') });
      const busy = await sendSoap({ connector, request: buildSoapRequest(connector, XML_OUTPUT, SECURITY), send, now });
      expect(busy).to.include({ errorClass: 'http', status: 503, retryAfterMs: 30_000, errorMessage: 'HTTP 503: maintenance' });
    });

    it('a transform output that is not XML is a TransformError', () => {
      const connector = soapConnector(target.url, '1.1', 'publish');
      expect(() => buildSoapRequest(connector, JSON_OUTPUT, null)).to.throw(TransformError, /did not produce XML/);
    });
  });

  describe('no answer', () => {
    it('a closed port is errorClass network', async () => {
      const closed = await startTarget();
      const url = closed.url;
      await closed.close();
      const connector = restConnector(url);
      const result = await sendRest({ connector, request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'), send, now });
      expect(result).to.include({ ok: false, status: null, errorClass: 'network', bodySnippet: null, retryAfterMs: null });
      expect(result.errorMessage).to.match(/ECONNREFUSED/);
      expect(result.request.url).to.equal(`${url}/`);

      const soap = soapConnector(url, '1.1', 'publish');
      const soapResult = await sendSoap({ connector: soap, request: buildSoapRequest(soap, XML_OUTPUT, SECURITY), send, now });
      expect(soapResult).to.include({ ok: false, status: null, errorClass: 'network' });
    });

    it('a target that never answers is errorClass timeout', async () => {
      const silent = await startTarget(() => 'hang');
      try {
        const connector = restConnector(silent.url);
        const result = await sendRest({
          connector,
          request: buildRestRequest(connector, JSON_OUTPUT, VARS, 'k'),
          send: fetchSend(300),
          now,
        });
        expect(result).to.include({ ok: false, status: null, errorClass: 'timeout' });
        expect(result.durationMs).to.be.at.least(250);
        expect(silent.received).to.have.length(1);
      } finally {
        await silent.close();
      }
    });

    it('a transport error without errorClass counts as network; a TimeoutError as timeout', async () => {
      const connector = restConnector(target.url);
      const request = buildRestRequest(connector, JSON_OUTPUT, VARS, 'k');
      const plain = await sendRest({ connector, request, send: () => Promise.reject(new Error('socket hang up')), now });
      expect(plain).to.include({ errorClass: 'network', errorMessage: 'socket hang up' });
      const dom = await sendRest({
        connector,
        request,
        send: () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
        now,
      });
      expect(dom.errorClass).to.equal('timeout');
    });
  });

  describe('Retry-After (read by domain/retry.ts on the injected clock)', () => {
    it('a sign or garbage is no hint; the first readable of Retry-After and X-Retry-After counts', async () => {
      const connector = restConnector(target.url);
      const request = buildRestRequest(connector, JSON_OUTPUT, VARS, 'k');
      for (const [headers, expected] of [
        [{ 'retry-after': '-5' }, null],
        [{ 'retry-after': 'soon' }, null],
        [{ 'retry-after': 'Thu, 15 Jan 2026 11:00:00 GMT' }, 0],
        [{ 'retry-after': 'garbage', 'x-retry-after': '3' }, 3_000],
      ] as const) {
        target.answer = () => ({ status: 503, headers: { ...headers } });
        const result = await sendRest({ connector, request, send, now });
        expect(result.retryAfterMs, JSON.stringify(headers)).to.equal(expected);
      }
    });
  });
});
