import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { buildPush, pushHttpHeaders, PUSH_EVENT_CODES, type PushOptions } from '../../../src/sandbox/om-push.ts';
import type { AuditCriteria } from '../../../src/store/browse.ts';
import { backendName } from '../../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';

const text = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

function push(code: Parameters<typeof buildPush>[0][number]['eventCode'], order: string, options: PushOptions = {}) {
  return buildPush([{ eventCode: code, order: { sourceOrderNumber: order, lines: 2 } }], { security: text, ...options });
}

describe(`SOAP pushes stored before the acknowledgement (${backendName()})`, () => {
  let gw: TestGateway;
  const endpoint = () => `${gw.url}/soap/business-events`;
  const store = () => gw.gateway.store;
  /** Every stored event, delivery and audit record, oldest first. */
  const events = async () => (await store().browse.events({}, { limit: 1000 })).rows.reverse();
  const deliveries = async () => (await store().browse.deliveries({}, { limit: 1000 })).rows.reverse();
  const audit = async (criteria: AuditCriteria = {}) => (await store().browse.audit(criteria, { limit: 1000 })).rows.reverse();
  const pushCount = async () => (await store().status()).pushes;

  beforeEach(async () => {
    gw = await startGateway();
  });
  afterEach(async () => {
    await gw.stop();
  });

  for (const code of PUSH_EVENT_CODES) {
    it(`stores a ${code} push and answers an empty 202`, async () => {
      const res = await postSoap(endpoint(), push(code, `SO-${code}`), pushHttpHeaders());
      expect(res.status, res.body).to.equal(202);
      expect(res.body).to.equal('');
      const [event, ...more] = await events();
      expect(more).to.have.length(0);
      expect(event?.eventCode).to.equal(code);
      // Oracle's FlineClosed map leaves out SourceOrderSystem: the key is the order number alone.
      expect(event?.orderKey).to.equal(code === 'FlineClosed' ? `SO-${code}` : `LEG:SO-${code}`);
      const payload = JSON.parse(event?.payload ?? '');
      if (code === 'OrderHeaderStatusUpdate') expect(payload.OrderLine).to.equal(undefined);
      else expect(payload.OrderLine).to.be.an('array').with.length(2);
      expect(await pushCount()).to.equal(1);
      const stored = await store().browse.push(event?.pushId ?? '');
      expect(stored?.raw).to.be.a('string').and.not.include(SOAP_PASSWORD);
    });
  }

  it('stores a push without OrderHeaders with an audit record of its own, and no event', async () => {
    const res = await postSoap(endpoint(), buildPush([], { security: text }), pushHttpHeaders());
    expect(res.status, res.body).to.equal(202);
    expect(await events()).to.have.length(0);
    expect(await pushCount()).to.equal(1);
    const records = await audit();
    // The push's audit record has the push's id.
    const stored = await store().browse.push(records[0]?.id ?? '');
    expect(stored?.eventCount).to.equal(0);
    expect(records.map((a) => [a.id, a.action, a.result, a.direction])).to.deep.equal([[stored?.id, 'push.received', 'empty', 'in']]);
    expect(JSON.parse(records[0]?.detail ?? '')).to.deep.equal({ pushId: stored?.id, path: '/soap/business-events', events: 0 });
  });

  it('routes by trigger points: one pending delivery per selected connector, unrouted otherwise', async () => {
    const shipping = buildPush(
      [{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: 'SO-1', statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' } }],
      { security: text },
    );
    expect((await postSoap(endpoint(), shipping)).status).to.equal(202);
    const routed = (await deliveries()).sort((a, b) => a.connector.localeCompare(b.connector));
    expect(routed.map((d) => [d.connector, d.state, d.triggerPoint])).to.deep.equal([
      ['crm', 'pending', 'status'],
      ['shipbob', 'pending', 'shipping'],
    ]);

    const unknownCode = push('FlineStatusUpdate', 'SO-2').replace(/>FlineStatusUpdate</g, '>SomethingNew<');
    expect((await postSoap(endpoint(), unknownCode)).status).to.equal(202);
    const [ev] = (await store().browse.events({ eventCodes: ['SomethingNew'] }, { limit: 1000 })).rows;
    expect(ev?.status).to.equal('unrouted');
    expect(await store().browse.deliveriesOfEvents([ev?.id ?? ''])).to.have.length(0);
  });

  it('stores one event per OrderHeader and keeps ids above 2^53 exactly', async () => {
    const body = buildPush(
      [
        { eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-A', orchestrationOrderId: '300100072403436123456' } },
        { eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-B' } },
        { eventCode: 'SPLIT', order: { sourceOrderNumber: 'SO-C' } },
      ],
      { security: text },
    );
    expect((await postSoap(endpoint(), body)).status).to.equal(202);
    const stored = (await events()).sort((a, b) => a.position - b.position);
    expect(stored.map((e) => e.orderKey)).to.deep.equal(['LEG:SO-A', 'LEG:SO-B', 'LEG:SO-C']);
    expect(JSON.parse(stored[0]?.payload ?? '').OrchestrationOrderId).to.equal('300100072403436123456');
    expect((await store().browse.deliveries({ connectors: ['otm'] }, { limit: 1000 })).rows).to.have.length(3);
  });

  it('accepts SOAP 1.2, PasswordDigest, Oracle-style and Perl-style envelopes, and HTTP Basic', async () => {
    const variants: Array<[string, string, Record<string, string>]> = [
      ['1.2 text', push('HOLD', 'SO-12', { soapVersion: '1.2' }), pushHttpHeaders({ soapVersion: '1.2' })],
      ['digest', push('HOLD', 'SO-D', { security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD } }), pushHttpHeaders()],
      ['1.2 digest', push('HOLD', 'SO-D12', { soapVersion: '1.2', security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD } }), pushHttpHeaders({ soapVersion: '1.2' })],
      ['oracle', push('HOLD', 'SO-O', { style: 'oracle' }), pushHttpHeaders()],
      ['perl', push('HOLD', 'SO-P', { style: 'perl' }), pushHttpHeaders()],
      [
        'basic',
        push('HOLD', 'SO-B', { security: { kind: 'none' } }),
        { ...pushHttpHeaders(), authorization: `Basic ${Buffer.from(`${SOAP_USER}:${SOAP_PASSWORD}`).toString('base64')}` },
      ],
    ];
    for (const [name, body, headers] of variants) {
      const res = await postSoap(endpoint(), body, headers);
      expect(res.status, `${name}: ${res.body}`).to.equal(202);
    }
    expect(await events()).to.have.length(variants.length);
  });

  it('refuses bad credentials with a SOAP Fault and an audit record, storing nothing', async () => {
    const cases: Array<[string, string, Record<string, string>]> = [
      ['wrong password', push('HOLD', 'X1', { security: { kind: 'text', username: SOAP_USER, password: 'nope' } }), {}],
      ['unknown user', push('HOLD', 'X2', { security: { kind: 'text', username: 'someone', password: SOAP_PASSWORD } }), {}],
      ['no credentials', push('HOLD', 'X3', { security: { kind: 'none' } }), {}],
      ['bad digest', push('HOLD', 'X4', { security: { kind: 'digest', username: SOAP_USER, password: 'nope' } }), {}],
      [
        'stale Created',
        push('HOLD', 'X5', { security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD, created: new Date(Date.now() - 3_600_000).toISOString() } }),
        {},
      ],
      ['wrong basic', push('HOLD', 'X6', { security: { kind: 'none' } }), { authorization: `Basic ${Buffer.from(`${SOAP_USER}:x`).toString('base64')}` }],
    ];
    for (const [name, body, headers] of cases) {
      const res = await postSoap(endpoint(), body, headers);
      expect(res.status, name).to.equal(401);
      expect(res.body, name).to.include('<faultcode>soap:Client</faultcode>').and.include('AUTH_FAILED');
    }
    expect(await events()).to.have.length(0);
    expect(await pushCount()).to.equal(0);
    // One source and result: one record per clock minute, whose count is written at flush.
    await gw.gateway.store.audit.flushRefusals();
    const refusals = await audit({ actions: ['push.rejected'], results: ['auth_failed'] });
    expect(refusals.length).to.be.within(1, 2);
    expect(refusals.reduce((n, a) => n + (JSON.parse(a.detail ?? '') as { count: number }).count, 0)).to.equal(cases.length);
    for (const a of refusals) expect(a.detail).to.not.include(SOAP_PASSWORD);
  });

  it('refuses a PasswordDigest nonce the second time', async () => {
    const body = push('HOLD', 'SO-N', {
      security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD, nonce: randomBytes(16), created: new Date().toISOString() },
    });
    expect((await postSoap(endpoint(), body)).status).to.equal(202);
    const again = await postSoap(endpoint(), body);
    expect(again.status).to.equal(401);
    expect(again.body).to.include('nonce');
    expect(await events()).to.have.length(1);
  });

  it('refuses a captured digest token replayed with any textual variant of its nonce, whatever the body', async () => {
    const captured = push('HOLD', 'SO-R', {
      security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD, nonce: Buffer.from('0123456789abcdef'), created: new Date().toISOString() },
    });
    expect((await postSoap(endpoint(), captured)).status).to.equal(202);
    const nonce = /<wsse:Nonce[^>]*>([^<]+)<\/wsse:Nonce>/.exec(captured)?.[1] ?? '';
    expect(nonce).to.equal('MDEyMzQ1Njc4OWFiY2RlZg==');
    const variants = [`${nonce}=`, nonce.replace(/=+$/, ''), `${nonce} `, `\n${nonce}`, `${nonce.slice(0, 8)}\r\n${nonce.slice(8)}`, nonce.replace(/g==$/, 'h==')];
    for (const variant of variants) {
      const replay = captured.replace(nonce, variant).replace('SO-R', `SO-R-${variants.indexOf(variant)}`);
      const res = await postSoap(endpoint(), replay);
      expect(res.status, JSON.stringify(variant)).to.equal(401);
      expect(res.body).to.include('AUTH_FAILED');
    }
    expect(await events()).to.have.length(1);
  });

  it('records the same event content on the same path as a duplicate, with no new deliveries', async () => {
    const body = push('FlineStatusUpdate', 'SO-DUP');
    expect((await postSoap(endpoint(), body)).status).to.equal(202);
    expect((await postSoap(endpoint(), body)).status).to.equal(202);
    // Same content written differently (another prefix, Oracle-style headers) is the same event.
    expect((await postSoap(endpoint(), push('FlineStatusUpdate', 'SO-DUP', { prefix: 'inp', style: 'oracle' }))).status).to.equal(202);
    const stored = await events();
    expect(stored.map((e) => e.status)).to.deep.equal(['routed', 'duplicate', 'duplicate']);
    expect(stored[1]?.duplicateOf).to.equal(stored[0]?.id);
    expect(await deliveries()).to.have.length(1);
    // The same content on a connector-scoped path is a different inbound path: not a duplicate.
    expect((await postSoap(`${endpoint()}/crm`, body)).status).to.equal(202);
    const scoped = (await events()).filter((e) => e.connectorScope === 'crm');
    expect(scoped.map((e) => e.status)).to.deep.equal(['routed']);
  });

  it('limits routing to one connector on /soap/business-events/{connector} and faults an unknown one', async () => {
    const body = buildPush(
      [{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: 'SO-S', statusTo: 'AWAIT_SHIPPING' } }],
      { security: text },
    );
    expect((await postSoap(`${endpoint()}/shipbob`, body)).status).to.equal(202);
    expect((await deliveries()).map((d) => d.connector)).to.deep.equal(['shipbob']);
    const res = await postSoap(`${endpoint()}/nosuch`, body);
    expect(res.status).to.equal(404);
    expect(res.body).to.include('UNKNOWN_CONNECTOR').and.include('nosuch');
  });

  it('serves the WSDL with soap:address set to the URL it was fetched from', async () => {
    const res = await fetch(`${endpoint()}?wsdl`);
    expect(res.status).to.equal(200);
    const wsdl = await res.text();
    expect(wsdl).to.include(`location="${endpoint()}"`);
    expect(wsdl).to.include('pushPayload');
    const forwarded = await fetch(`${endpoint()}?WSDL`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.example.com' } });
    // trustProxy is off in this config: forwarded headers are ignored.
    expect(await forwarded.text()).to.include(`location="${endpoint()}"`);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).to.equal(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.include({ status: 'ready' });
  });
});
