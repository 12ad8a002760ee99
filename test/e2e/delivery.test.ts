import { expect } from 'chai';
import { once } from 'node:events';
import type { AttemptReport, DeliveryWorker } from '../../src/delivery/worker.ts';
import type { Delivery } from '../../src/domain/delivery.ts';
import { main } from '../../src/main.ts';
import { buildPush, type PushEventCode } from '../../src/sandbox/om-push.ts';
import { backendName } from '../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { FakeTarget } from '../helpers/target.ts';
import { everything } from '../helpers/pages.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
const API_KEY = 'crm-api-key-4f2d9a';

interface Setup {
  mappings?: Record<string, string>;
  connector?: string;
  extraConnectors?: Record<string, string>;
  triggerPoints?: string;
}

/** One REST connector "crm" pointing at a fake target; all OM events route to it. */
async function setup(target: FakeTarget, clock: ManualClock, s: Setup = {}): Promise<TestGateway> {
  return startGateway(
    {
      gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s\n  leaseMargin: 30s' }),
      connectors: {
        'crm.yaml':
          s.connector ??
          `protocol: rest
url: ${target.url}
path: /orders/{{orderKey}}
auth:
  type: api-key
  key: \${env:TEST_CRM_KEY}
retry:
  maxAttempts: 4
`,
        ...s.extraConnectors,
      },
      triggerPoints:
        s.triggerPoints ??
        `triggerPoints:
  - name: all
    eventCodes: ['*']
    connectors: [crm]
`,
      ...(s.mappings ? { mappings: s.mappings } : {}),
    },
    { clock, random: () => 0.5, env: { TEST_CRM_KEY: API_KEY } },
  );
}

function worker(gw: TestGateway): DeliveryWorker {
  const w = gw.gateway.worker;
  if (!w) throw new Error('delivery worker is not running');
  return w;
}

/** Runs `trigger` and resolves with the next attempt the worker records. */
async function nextAttempt(gw: TestGateway, trigger: () => unknown): Promise<AttemptReport> {
  const done = once(worker(gw), 'attempt') as Promise<[AttemptReport]>;
  await trigger();
  return (await done)[0];
}

/** Resolves when `n` attempts matching `predicate` have been recorded from now on. */
function attempts(gw: TestGateway, n: number, predicate: (a: AttemptReport) => boolean): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (a: AttemptReport): void => {
      if (predicate(a)) seen++;
      if (seen < n) return;
      worker(gw).off('attempt', on);
      resolve();
    };
    worker(gw).on('attempt', on);
  });
}

/** Moves the clock and has the worker look again; resolves when that cycle is over. */
async function advance(gw: TestGateway, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  const cycled = once(worker(gw), 'cycle');
  worker(gw).notify();
  await cycled;
}

async function push(gw: TestGateway, order: string, code: PushEventCode = 'HOLD', statusTo?: string): Promise<void> {
  const body = buildPush([{ eventCode: code, order: { sourceOrderNumber: order, ...(statusTo ? { statusTo } : {}) } }], { security });
  const res = await postSoap(`${gw.url}/soap/business-events`, body);
  expect(res.status, res.body).to.equal(202);
}

async function deliveryOf(gw: TestGateway, order: string): Promise<Delivery> {
  const [d] = (await gw.gateway.store.browse.deliveries({ orderKey: `LEG:${order}` }, { limit: 1 })).rows;
  if (!d) throw new Error(`no delivery of ${order}`);
  return d;
}

describe(`delivery to connectors (${backendName()})`, () => {
  let target: FakeTarget;
  let clock: ManualClock;
  let gw: TestGateway;

  beforeEach(async () => {
    target = await new FakeTarget().start();
    clock = new ManualClock();
  });
  afterEach(async () => {
    await gw?.stop();
    await target.close();
  });

  it('delivers an event as canonical JSON with the idempotency key and auth, and records the attempt and audit', async () => {
    gw = await setup(target, clock);
    const attempt = await nextAttempt(gw, () => push(gw, 'SO-OK'));
    expect(attempt.outcome).to.equal('delivered');
    const [req] = target.requests;
    const d = await deliveryOf(gw, 'SO-OK');
    expect(req?.path).to.equal('/orders/LEG%3ASO-OK');
    expect(req?.headers['x-api-key']).to.equal(API_KEY);
    expect(req?.headers['idempotency-key']).to.equal(d.id);
    const body = JSON.parse(req?.body ?? '{}');
    expect(body).to.include({ eventCode: 'HOLD', orderKey: 'LEG:SO-OK', deliveryId: d.id });
    expect(body.data.SourceOrderNumber).to.equal('SO-OK');
    expect(d.state).to.equal('delivered');
    const attempts = await gw.gateway.store.browse.attemptsOf([d.id]);
    expect(attempts).to.have.length(1);
    expect(attempts[0]?.responseStatus).to.equal(200);
    expect(attempts[0]?.requestSummary).to.not.include(API_KEY);
    const audit = await everything((page) => gw.gateway.store.browse.audit({ deliveryId: d.id, actions: ['delivery.attempt'] }, page));
    expect(audit.map((a) => [a.direction, a.result])).to.deep.equal([['out', 'delivered']]);
  });

  it('follows the retry schedule on a controlled clock, then parks when attempts are used up', async () => {
    target.answer = () => ({ status: 503, body: 'down for maintenance' });
    gw = await setup(target, clock);
    const t0 = clock.now();
    expect((await nextAttempt(gw, () => push(gw, 'SO-R'))).outcome).to.equal('retry');
    let d = await deliveryOf(gw, 'SO-R');
    expect(d.state).to.equal('retrying');
    expect(d.nextAttemptAt).to.equal(t0 + 5_000);

    await advance(gw, clock, 4_999); // not due yet
    expect(target.requests).to.have.length(1);
    expect((await nextAttempt(gw, () => advance(gw, clock, 1))).outcome).to.equal('retry');
    d = await deliveryOf(gw, 'SO-R');
    expect(d.nextAttemptAt).to.equal(clock.now() + 30_000);
    expect((await nextAttempt(gw, () => advance(gw, clock, 30_000))).outcome).to.equal('retry');
    expect((await deliveryOf(gw, 'SO-R')).nextAttemptAt).to.equal(clock.now() + 120_000);
    expect((await nextAttempt(gw, () => advance(gw, clock, 120_000))).outcome).to.equal('parked');
    d = await deliveryOf(gw, 'SO-R');
    expect(d.state).to.equal('parked');
    expect(d.parkedReason).to.equal('attempts_exhausted');
    expect(d.lastError).to.include('4 attempts').and.include('503');
    expect(target.requests).to.have.length(4);
    const attempts = await gw.gateway.store.browse.attemptsOf([d.id]);
    expect(attempts.map((a) => [a.number, a.outcome])).to.deep.equal([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'retry'],
      [4, 'parked'],
    ]);
    expect(attempts[0]?.responseSnippet).to.equal('down for maintenance');
  });

  it('retries network errors, timeouts, 408, 425, 429 and 5xx, and honours Retry-After', async () => {
    const answers: Record<string, () => ReturnType<FakeTarget['answer']>> = {
      'SO-408': () => ({ status: 408 }),
      'SO-425': () => ({ status: 425 }),
      'SO-500': () => ({ status: 500 }),
      'SO-502': () => ({ status: 502 }),
      'SO-429': () => ({ status: 429 }),
      'SO-RA': () => ({ status: 503, headers: { 'retry-after': '120' } }),
      'SO-HANG': () => 'hang',
    };
    target.answer = (req) => (answers[decodeURIComponent(req.path).split(':')[1] ?? ''] ?? (() => ({ status: 200 })))();
    // The timeout runs on the wall clock: long enough that the answers the target gives at once
    // arrive within it on a busy machine too (they must be classed http, not timeout).
    gw = await setup(target, clock, {
      connector: `protocol: rest
url: ${target.url}
path: /orders/{{orderKey}}
timeout: 2s
`,
      extraConnectors: {
        'closed.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/closed\n',
      },
      triggerPoints: `triggerPoints:
  - name: all
    eventCodes: [HOLD]
    connectors: [crm]
  - name: closed
    eventCodes: [SPLIT]
    connectors: [closed]
`,
    });
    const now = clock.now();
    for (const order of Object.keys(answers)) await nextAttempt(gw, () => push(gw, order));
    await nextAttempt(gw, () => push(gw, 'SO-NET', 'SPLIT'));
    const expectRetry = async (order: string, errorClass: string, delay: number) => {
      const d = await deliveryOf(gw, order);
      expect(d.state, order).to.equal('retrying');
      expect(d.nextAttemptAt - now, order).to.equal(delay);
      const [a] = await gw.gateway.store.browse.attemptsOf([d.id]);
      expect(a?.errorClass, order).to.equal(errorClass);
    };
    await expectRetry('SO-408', 'http', 5_000);
    await expectRetry('SO-425', 'http', 5_000);
    await expectRetry('SO-500', 'http', 5_000);
    await expectRetry('SO-502', 'http', 5_000);
    await expectRetry('SO-429', 'http', 60_000); // at least 60 s after a 429
    await expectRetry('SO-RA', 'http', 120_000); // Retry-After wins over the 5 s schedule
    await expectRetry('SO-HANG', 'timeout', 5_000);
    await expectRetry('SO-NET', 'network', 5_000);
  });

  it('parks other 4xx at once with the status in the reason', async () => {
    target.answer = (req) => ({ status: Number(decodeURIComponent(req.path).split('-').pop()), body: '{"error":"bad order"}' });
    gw = await setup(target, clock);
    for (const status of [400, 404, 422]) {
      const attempt = await nextAttempt(gw, () => push(gw, `SO-${status}`));
      expect(attempt.outcome).to.equal('parked');
      const d = await deliveryOf(gw, `SO-${status}`);
      expect(d.parkedReason).to.equal('permanent_error');
      expect(d.lastError).to.include(String(status));
    }
    expect(target.requests).to.have.length(3);
  });

  it('parks a delivery whose JSONata mapping fails, with the mapping error, without calling the target', async () => {
    gw = await setup(target, clock, {
      connector: `protocol: rest\nurl: ${target.url}\ntransform: jsonata:order\n`,
      mappings: { 'order.jsonata': '{ "order": $number(orderKey) }' },
    });
    expect((await nextAttempt(gw, () => push(gw, 'SO-MAP'))).outcome).to.equal('parked');
    const d = await deliveryOf(gw, 'SO-MAP');
    expect(d.parkedReason).to.equal('transform_error');
    expect(d.lastError).to.match(/number|convert|cast/i);
    const [a] = await gw.gateway.store.browse.attemptsOf([d.id]);
    expect(a?.errorClass).to.equal('transform');
    expect(target.requests).to.have.length(0);
  });

  it('puts deliveries on hold while the connector is offline and releases them in order when online', async () => {
    gw = await setup(target, clock);
    const cli = (args: string[]) =>
      main([...args, '--config', gw.configDir], { out: () => undefined, err: () => undefined }, testEnv(gw.database, { TEST_CRM_KEY: API_KEY }));
    expect(await cli(['connector', 'offline', 'crm'])).to.equal(0);
    for (const order of ['SO-H1', 'SO-H2', 'SO-H3']) {
      await push(gw, order);
      await advance(gw, clock, 0);
    }
    const held = await everything((page) => gw.gateway.store.browse.deliveries({}, page));
    expect(held.map((d) => [d.state, d.holdReason, d.attemptCount])).to.deep.equal([
      ['on_hold', 'offline', 0],
      ['on_hold', 'offline', 0],
      ['on_hold', 'offline', 0],
    ]);
    expect(target.requests).to.have.length(0);

    const all = target.waitForRequests(3);
    expect(await cli(['connector', 'online', 'crm'])).to.equal(0);
    worker(gw).notify();
    const received = await all;
    expect(received.map((r) => JSON.parse(r.body).orderKey)).to.have.members(['LEG:SO-H1', 'LEG:SO-H2', 'LEG:SO-H3']);
    const audit = await everything((page) => gw.gateway.store.browse.audit({ directions: ['admin'] }, page));
    expect(audit.map((a) => [a.action, a.connector])).to.deep.equal([
      ['connector.offline', 'crm'],
      ['connector.online', 'crm'],
    ]);
  });

  it('opens the circuit after repeated failures, holds deliveries without charging attempts, and closes after a good probe', async () => {
    let healthy = false;
    target.answer = () => (healthy ? { status: 200 } : { status: 503 });
    gw = await setup(target, clock, {
      connector: `protocol: rest
url: ${target.url}
ordering: none
retry:
  maxAttempts: 50
`,
    });
    // Ten consecutive failures open the circuit.
    for (let i = 1; i <= 10; i++) await nextAttempt(gw, () => push(gw, `SO-C${i}`));
    const state = (await gw.gateway.store.connectorStates.all()).find((s) => s.connector === 'crm');
    expect(state?.circuit).to.equal('open');
    const held = await everything((page) => gw.gateway.store.browse.deliveries({ states: ['on_hold'] }, page));
    expect(held.filter((d) => d.holdReason === 'circuit_open')).to.have.length(10);

    await push(gw, 'SO-C11');
    await advance(gw, clock, 10_000);
    expect(target.requests).to.have.length(10); // nothing sent while open
    const c11 = await deliveryOf(gw, 'SO-C11');
    expect(c11.state).to.equal('on_hold');
    expect(c11.attemptCount).to.equal(0);

    healthy = true;
    const delivered11 = attempts(gw, 11, (a) => a.outcome === 'delivered');
    await advance(gw, clock, 20_000); // cool-down over: one probe, then the rest
    await delivered11;
    const after = (await gw.gateway.store.connectorStates.all()).find((s) => s.connector === 'crm');
    expect(after?.circuit).to.equal('closed');
    const delivered = await everything((page) => gw.gateway.store.browse.deliveries({ states: ['delivered'] }, page));
    expect(delivered).to.have.length(11);
    // Each transition is in the audit trail once, with what it held and released.
    const transitions = (await everything((page) => gw.gateway.store.browse.audit({}, page))).filter((a) => a.action.startsWith('connector.circuit_'));
    expect(transitions.map((a) => [a.action, a.connector, a.direction])).to.deep.equal([
      ['connector.circuit_open', 'crm', 'out'],
      ['connector.circuit_half_open', 'crm', 'out'],
      ['connector.circuit_closed', 'crm', 'out'],
    ]);
    const details = transitions.map((a) => JSON.parse(a.detail ?? 'null') as Record<string, unknown>);
    expect(details[0]).to.deep.include({ held: 10, coolDownMs: 30_000, after: 'HTTP 503' });
    expect(details[1]).to.deep.equal({ released: 11 });
    expect((await deliveryOf(gw, 'SO-C11')).attemptCount).to.equal(1);
  });

  it('takes the breaker settings of the connector: fewer failures to open and a shorter cool-down', async () => {
    let healthy = false;
    target.answer = () => (healthy ? { status: 200 } : { status: 503 });
    gw = await setup(target, clock, {
      connector: `protocol: rest
url: ${target.url}
ordering: none
retry:
  maxAttempts: 50
breaker:
  consecutiveFailures: 3
  coolDown: 5s
`,
    });
    for (let i = 1; i <= 3; i++) await nextAttempt(gw, () => push(gw, `SO-B${i}`));
    const state = (await gw.gateway.store.connectorStates.all()).find((s) => s.connector === 'crm');
    expect(state?.circuit).to.equal('open');
    expect((state?.circuitUntil ?? 0) - clock.now()).to.be.within(0, 5_000);

    healthy = true;
    const delivered = attempts(gw, 3, (a) => a.outcome === 'delivered');
    await advance(gw, clock, 6_000); // past the 5 s cool-down: one probe, then the rest
    await delivered;
    expect((await gw.gateway.store.connectorStates.all()).find((s) => s.connector === 'crm')?.circuit).to.equal('closed');
    expect(target.requests).to.have.length(6);
  });

  it('sends SOAP to an OTM-style target with WS-Security and parks a SOAP Client fault', async () => {
    target.answer = (req) =>
      req.body.includes('SO-FAULT')
        ? {
            status: 500,
            headers: { 'content-type': 'text/xml' },
            body: '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Unknown release</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
          }
        : { status: 200, headers: { 'content-type': 'text/xml' }, body: '' };
    gw = await setup(target, clock, {
      connector: `protocol: soap
url: ${target.url}/GC3Services/TransmissionService/call
soap:
  action: http://xmlns.oracle.com/apps/otm/TransmissionService/publish
transform: otm-transmission
auth:
  type: ws-security
  username: ATL.INTEGRATION
  password: \${env:TEST_CRM_KEY}
  passwordType: digest
`,
    });
    expect((await nextAttempt(gw, () => push(gw, 'SO-SOAP'))).outcome).to.equal('delivered');
    const [req] = target.requests;
    expect(req?.headers['content-type']).to.include('text/xml');
    expect(req?.headers.soapaction).to.equal('"http://xmlns.oracle.com/apps/otm/TransmissionService/publish"');
    expect(req?.body).to.include('ATL.INTEGRATION').and.include('#PasswordDigest').and.include('publish').and.include('LEG:SO-SOAP');
    expect(req?.body).to.not.include(API_KEY);
    expect((await nextAttempt(gw, () => push(gw, 'SO-FAULT'))).outcome).to.equal('parked');
    const d = await deliveryOf(gw, 'SO-FAULT');
    expect(d.parkedReason).to.equal('permanent_error');
    expect(d.lastError).to.include('Unknown release');
  });

  it('refreshes an OAuth2 token on a 401 once, and no secret of any auth type reaches attempts, audit or logs', async () => {
    const tokens: string[] = [];
    target.answer = (req) => {
      if (req.path === '/token') {
        const token = `access-${tokens.length + 1}-9c1e`;
        tokens.push(token);
        return { status: 200, body: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }) };
      }
      if (req.path.startsWith('/oauth')) return req.headers.authorization === 'Bearer access-1-9c1e' ? { status: 401 } : { status: 200 };
      if (req.path.startsWith('/fail')) return { status: 503, body: `echo ${req.headers.authorization ?? ''}` };
      return { status: 200 };
    };
    const secrets = { TEST_CRM_KEY: API_KEY, BASIC_PW: 'basic-pw-71c3', BEARER: 'bearer-tok-5e0a', CLIENT_SECRET: 'client-secret-b7d2' };
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true' }),
        connectors: {
          'oauth.yaml': `protocol: rest\nurl: ${target.url}/oauth\nauth:\n  type: oauth2-client-credentials\n  tokenUrl: ${target.url}/token\n  clientId: omgw\n  clientSecret: \${env:CLIENT_SECRET}\n`,
          'basic.yaml': `protocol: rest\nurl: ${target.url}/basic\nauth:\n  type: basic\n  username: u\n  password: \${env:BASIC_PW}\n`,
          'bearer.yaml': `protocol: rest\nurl: ${target.url}/fail\nauth:\n  type: bearer\n  token: \${env:BEARER}\n`,
          'apikey.yaml': `protocol: rest\nurl: ${target.url}/key\nauth:\n  type: api-key\n  in: query\n  name: key\n  key: \${env:TEST_CRM_KEY}\n`,
        },
        triggerPoints: `triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [oauth, basic, bearer, apikey]\n`,
      },
      { clock, random: () => 0.5, env: secrets },
    );
    const four = attempts(gw, 4, () => true);
    await push(gw, 'SO-SEC');
    await four;
    const { browse } = gw.gateway.store;
    const [oauth] = (await browse.deliveries({ connectors: ['oauth'] }, { limit: 1 })).rows;
    expect(oauth?.state).to.equal('delivered');
    expect(tokens).to.deep.equal(['access-1-9c1e', 'access-2-9c1e']); // the 401 forced exactly one refresh
    expect((await browse.deliveries({ connectors: ['bearer'] }, { limit: 1 })).rows[0]?.state).to.equal('retrying');
    gw.gateway.logger.flush();

    // Every field of every attempt, audit record and delivery (the store's objects carry each column).
    const stored = await Promise.all([
      everything((page) => browse.attempts({}, page)),
      everything((page) => browse.audit({}, page)),
      everything((page) => browse.deliveries({}, page)),
    ]);
    const haystack = JSON.stringify(stored) + gw.logs.join('\n');
    for (const secret of [...Object.values(secrets), ...tokens, Buffer.from(`u:${secrets.BASIC_PW}`).toString('base64')]) {
      expect(haystack.includes(secret), `secret ${secret} found`).to.equal(false);
    }
    expect(haystack).to.include('***');
  });

  it("judges a token endpoint's failure by its status: a 503 retries, invalid_client parks as a config error", async () => {
    target.answer = (req) => {
      if (req.path === '/token-busy') return { status: 503, body: 'maintenance' };
      if (req.path === '/token-refused') return { status: 400, body: JSON.stringify({ error: 'invalid_client' }) };
      return { status: 200 };
    };
    const oauth = (path: string): string =>
      `protocol: rest\nurl: ${target.url}/orders\nauth:\n  type: oauth2-client-credentials\n  tokenUrl: ${target.url}${path}\n  clientId: omgw\n  clientSecret: \${env:CLIENT_SECRET}\n`;
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true' }),
        connectors: { 'busy.yaml': oauth('/token-busy'), 'refused.yaml': oauth('/token-refused') },
        triggerPoints: `triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [busy, refused]\n`,
      },
      { clock, random: () => 0.5, env: { CLIENT_SECRET: 'client-secret-7f10' } },
    );
    const two = attempts(gw, 2, () => true);
    await push(gw, 'SO-TOKEN');
    await two;
    const { browse } = gw.gateway.store;
    const [busy] = (await browse.deliveries({ connectors: ['busy'] }, { limit: 1 })).rows;
    expect(busy?.state).to.equal('retrying');
    expect(busy?.lastError).to.include('503');
    const [refused] = (await browse.deliveries({ connectors: ['refused'] }, { limit: 1 })).rows;
    expect(refused?.state).to.equal('parked');
    expect(refused?.parkedReason).to.equal('config_error');
    expect(refused?.lastError).to.include('invalid_client');
  });
});
