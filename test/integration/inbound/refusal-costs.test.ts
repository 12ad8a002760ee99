import { expect } from 'chai';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import type { AuditRecord } from '../../../src/domain/audit.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

/**
 * What a refusal costs the gateway: bounded audit records (clipped, folded per source and minute),
 * slower answers to repeated failed logins, and nothing a browser could sniff. Time is a manual clock:
 * nothing here waits in real time.
 */
const TOKEN = 'admin-token-77e1c0d2b4';
const CONFIG = { gateway: `${gatewayYaml()}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n` };
const ENV = { TEST_ADMIN_TOKEN: TOKEN };
const wrong = (username = SOAP_USER) => buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-W' } }], { security: { kind: 'text', username, password: 'not-it' } });
const good = (eventCode: 'HOLD' | 'SPLIT' = 'HOLD') => buildPush([{ eventCode, order: { sourceOrderNumber: `SO-${eventCode}` } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });

/** The characters of every text field of the audit records (read through the store). */
function textLength(rows: AuditRecord[]): number {
  return rows.reduce((n, row) => n + Object.values(row).reduce((m: number, v) => m + (typeof v === 'string' ? v.length : 0), 0), 0);
}

/** Whether a promise has settled by now (after pending I/O callbacks ran), without waiting for it. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done;
}

describe(`refusals cost the sender more than the gateway (${backendName()})`, () => {
  let gw: TestGateway;
  let clock: ManualClock;
  const endpoint = () => `${gw.url}/soap/business-events`;
  const refusals = () => gw.gateway.store.audit.list({ action: 'push.rejected', limit: 1_000 });

  beforeEach(async () => {
    clock = new ManualClock();
    gw = await startGateway(CONFIG, { clock, env: ENV });
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('a 10 MB username leaves under 1 KB of audit record', async () => {
    const res = await postSoap(endpoint(), wrong('u'.repeat(10_000_000)));
    expect(res.status).to.equal(401);
    await gw.gateway.store.audit.flushRefusals();
    const rows = await refusals();
    expect(rows).to.have.length(1);
    expect(textLength(rows)).to.be.lessThan(1_024);
    // Refused before the token was read whole: no credentials within maxBytesBeforeCredentials.
    expect(JSON.parse(rows[0]!.detail ?? '{}')).to.include({ username: null, count: 1 });
  });

  it('a username within maxBytesBeforeCredentials is kept clipped to 200 characters', async () => {
    const res = await postSoap(endpoint(), wrong('u'.repeat(50_000)));
    expect(res.status).to.equal(401);
    await gw.gateway.store.audit.flushRefusals();
    const rows = await refusals();
    expect(rows).to.have.length(1);
    expect(textLength(rows)).to.be.lessThan(1_024);
    expect(JSON.parse(rows[0]!.detail ?? '{}')).to.include({ username: `${'u'.repeat(200)}…`, count: 1 });
  });

  it('an unknown connector name in the path leaves under 1 KB, and the request log keeps 200 characters of it', async () => {
    // Node refuses a request line over its 16 KB header limit (431) before the gateway sees it; a
    // 1 MB name never reaches the audit trail, and the longest that does is clipped.
    const huge = await postSoap(`${endpoint()}/${'c'.repeat(1_000_000)}`, good()).catch(() => null);
    if (huge) expect(huge.status).to.equal(431);
    const name = 'c'.repeat(15_000);
    const res = await postSoap(`${endpoint()}/${name}`, good());
    expect(res.status).to.equal(404);
    expect(res.body.length, 'the fault quotes the name clipped').to.be.lessThan(1_024);
    await gw.gateway.store.audit.flushRefusals();
    const rows = await refusals();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ result: 'unknown_connector', connector: null });
    expect(textLength(rows)).to.be.lessThan(1_024);
    gw.gateway.logger.flush();
    const line = gw.logs.find((l) => l.includes('"msg":"request"') && l.includes('/soap/business-events/ccc'));
    expect(line).to.be.a('string');
    expect(line!.length).to.be.lessThan(1_024);
  });

  it('50 refusals from one source in one minute are one record, whose count is 50 once the minute has closed', async () => {
    // Refused before any credential is looked at (so no login delay): the content type is wrong.
    for (let i = 0; i < 50; i++) {
      expect((await postSoap(endpoint(), '{}', { 'content-type': 'application/json' })).status).to.equal(415);
      clock.advance(1_000); // all within the clock minute 12:00
    }
    let rows = await refusals();
    expect(rows).to.have.length(1);
    expect(JSON.parse(rows[0]!.detail ?? '{}')).to.include({ count: 1, remoteAddr: '127.0.0.1' });
    // The gateway's own timer writes the count when the minute closes: it then sleeps until the next.
    clock.set(Date.UTC(2026, 10, 23, 12, 1, 0) + 1);
    await clock.sleeping((ms) => ms === 60_000);
    rows = await refusals();
    expect(rows).to.have.length(1);
    expect(JSON.parse(rows[0]!.detail ?? '{}')).to.include({ count: 50, lastAt: Date.UTC(2026, 10, 23, 12, 0, 49) });
  });

  it('delays a SOAP 401 after 10 failures from one source, 250 ms doubling, and a good push resets it', async () => {
    for (let i = 0; i < 10; i++) expect((await postSoap(endpoint(), wrong())).status).to.equal(401);
    for (const ms of [250, 500, 1_000]) {
      const answer = postSoap(endpoint(), wrong());
      await clock.sleeping((d) => d === ms);
      expect(await settled(answer), `answered before ${ms} ms`).to.equal(false);
      clock.advance(ms);
      expect((await answer).status).to.equal(401);
    }
    expect((await postSoap(endpoint(), good())).status).to.equal(202);
    const before = clock.now();
    for (let i = 0; i < 10; i++) expect((await postSoap(endpoint(), wrong())).status).to.equal(401);
    expect(clock.now()).to.equal(before);
  });

  it('does not delay pushes and admin calls that offer no credentials at all (they guess nothing)', async () => {
    const bare = good().replace(/<wsse:Security[\s\S]*<\/wsse:Security>/, '');
    expect(bare).to.not.include('UsernameToken');
    const before = clock.now();
    for (let i = 0; i < 20; i++) expect((await postSoap(endpoint(), bare)).status).to.equal(401);
    for (let i = 0; i < 20; i++) expect((await fetch(`${gw.url}/admin/api/connectors`)).status).to.equal(401);
    expect(clock.now()).to.equal(before);
  });

  it('delays an admin API 401 after 10 wrong tokens from one source, and the right token resets it', async () => {
    const call = (token: string) => fetch(`${gw.url}/admin/api/connectors`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 10; i++) expect((await call('wrong-token')).status).to.equal(401);
    const answer = call('wrong-token');
    await clock.sleeping((d) => d === 250);
    expect(await settled(answer)).to.equal(false);
    clock.advance(250);
    expect((await answer).status).to.equal(401);
    expect((await call(TOKEN)).status).to.equal(200);
    for (let i = 0; i < 10; i++) expect((await call('wrong-token')).status).to.equal(401);
  });

  it('sends X-Content-Type-Options: nosniff with JSON, SOAP faults, the WSDL, metrics and the console', async () => {
    const answers = await Promise.all([
      fetch(`${gw.url}/healthz`),
      fetch(`${gw.url}/no/such/route`),
      fetch(`${gw.url}/admin/api/connectors`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      fetch(endpoint(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<hello/>' }),
      fetch(`${endpoint()}?wsdl`),
      fetch(`${gw.url}/metrics`),
      fetch(`${gw.url}/admin`),
      fetch(`${gw.url}/admin/js/main.js`),
    ]);
    expect(answers.map((r) => r.status)).to.deep.equal([200, 404, 200, 500, 200, 200, 200, 200]);
    for (const r of answers) expect(r.headers.get('x-content-type-options'), r.url).to.equal('nosniff');
  });

  it('counts an event code no one defined under event_code="other" in the metrics', async () => {
    const madeUp = good('SPLIT').replace(/>SPLIT</g, '>MadeUpCode<');
    expect(madeUp).to.include('MadeUpCode');
    expect((await postSoap(endpoint(), madeUp)).status).to.equal(202);
    expect((await postSoap(endpoint(), good('HOLD'))).status).to.equal(202);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).to.match(/omgw_events_received_total\{[^}]*event_code="other"[^}]*\} 1/);
    expect(metrics).to.match(/omgw_events_received_total\{[^}]*event_code="HOLD"[^}]*\} 1/);
    expect(metrics).to.not.include('MadeUpCode');
  });
});
