import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { register as globalRegistry } from 'prom-client';
import { buildPush, type PushEventCode } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { FakeTarget } from '../../helpers/target.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

/** Every metric this gateway documents (README "Metrics"). */
const DOCUMENTED = [
  ['omgw_pushes_received_total', 'counter'],
  ['omgw_webhooks_received_total', 'counter'],
  ['omgw_events_received_total', 'counter'],
  ['omgw_delivery_attempts_total', 'counter'],
  ['omgw_delivery_attempt_duration_seconds', 'histogram'],
  ['omgw_deliveries', 'gauge'],
  ['omgw_queue_depth', 'gauge'],
  ['omgw_queue_oldest_due_age_seconds', 'gauge'],
  ['omgw_parked_deliveries', 'gauge'],
  ['omgw_parked_deliveries_by_reason', 'gauge'],
  ['omgw_connector_circuit_state', 'gauge'],
  ['omgw_connector_online', 'gauge'],
  ['omgw_recovery_runs_total', 'counter'],
  ['omgw_recovery_deliveries_total', 'counter'],
  ['omgw_recovery_last_run_timestamp_seconds', 'gauge'],
  ['omgw_recovery_last_run_deliveries', 'gauge'],
  ['omgw_retention_removed_total', 'counter'],
  ['omgw_poller_lag_seconds', 'gauge'],
  ['omgw_poll_runs_total', 'counter'],
  ['omgw_metrics_store_errors_total', 'counter'],
  ['omgw_push_body_bytes', 'gauge'],
  ['omgw_signed_body_bytes', 'gauge'],
  ['omgw_instances', 'gauge'],
  ['omgw_instance_heartbeat_age_seconds', 'gauge'],
  ['omgw_instance_leases', 'gauge'],
  ['omgw_instance_oldest_lease_age_seconds', 'gauge'],
] as const;

interface Scrape {
  contentType: string;
  text: string;
  types: Map<string, string>;
  /** `name{a="1",b="2"}` (labels sorted) → value. */
  samples: Map<string, number>;
}

/** A strict reader of the Prometheus text format (0.0.4): every line is a comment or a sample. */
function parseExposition(text: string): Pick<Scrape, 'types' | 'samples'> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    // Values as Go's ParseFloat reads them (prom-client writes NaN as "Nan").
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    samples.set(`${m[1]}${labels.length ? `{${labels.join(',')}}` : ''}`, Number(m[4]));
  }
  return { types, samples };
}

describe(`/metrics (${backendName()})`, () => {
  let target: FakeTarget;
  let clock: ManualClock;
  let gw: TestGateway;

  beforeEach(async () => {
    target = await new FakeTarget().start();
    target.answer = (req) => (req.path.includes('BAD') ? { status: 400, body: 'refused' } : { status: 200, body: '{}' });
    clock = new ManualClock();
  });
  afterEach(async () => {
    await gw?.stop();
    await target.close();
  });

  async function start(delivery: boolean): Promise<void> {
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: delivery ? '  enabled: true\n  pollInterval: 1s' : '  enabled: false' }),
        connectors: { 'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /crm/{{orderKey}}\nordering: none\n` },
        triggerPoints: 'triggerPoints:\n  - name: all\n    eventCodes: [HOLD, SPLIT]\n    connectors: [crm]\n',
      },
      { clock, random: () => 0.5 },
    );
  }

  async function scrape(): Promise<Scrape> {
    gw.gateway.metrics?.invalidate();
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    return { contentType: res.headers.get('content-type') ?? '', text, ...parseExposition(text) };
  }

  async function push(order: string, code: PushEventCode = 'HOLD', creds: { kind: 'text'; username: string; password: string } = security): Promise<number> {
    const body = buildPush([{ eventCode: code, order: { sourceOrderNumber: order } }], { security: creds });
    return (await postSoap(`${gw.url}/soap/business-events`, body)).status;
  }

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (await check()) return;
      await sleep(15);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('serves every documented metric in the Prometheus text format, in a registry of its own', async () => {
    await start(true);
    const s = await scrape();
    expect(s.contentType).to.match(/^text\/plain; version=0\.0\.4/);
    for (const [name, type] of DOCUMENTED) expect(s.types.get(name), name).to.equal(type);
    expect(s.types.get('process_cpu_user_seconds_total')).to.equal('counter');
    // Configured connectors have series from the start, at zero.
    expect(s.samples.get('omgw_parked_deliveries{connector="crm"}')).to.equal(0);
    expect(s.samples.get('omgw_deliveries{connector="crm",state="pending"}')).to.equal(0);
    expect(s.samples.get('omgw_connector_circuit_state{connector="crm"}')).to.equal(0);
    expect(s.samples.get('omgw_connector_online{connector="crm"}')).to.equal(1);
    expect(s.samples.get('omgw_recovery_last_run_timestamp_seconds')).to.equal(0);
    // The instance serving them, live, holding nothing (test/e2e/instances.test.ts has two).
    const self = gw.gateway.instanceId;
    expect([s.samples.get('omgw_instances{state="live"}'), s.samples.get('omgw_instances{state="stale"}'), s.samples.get('omgw_instances{state="stopped"}')]).to.deep.equal([1, 0, 0]);
    expect(s.samples.get(`omgw_instance_heartbeat_age_seconds{instance="${self}"}`)).to.equal(0);
    expect(s.samples.get(`omgw_instance_leases{instance="${self}"}`)).to.equal(0);
    expect(s.samples.get(`omgw_instance_oldest_lease_age_seconds{instance="${self}"}`)).to.equal(0);
    // prom-client's global registry is left alone.
    expect(await globalRegistry.metrics()).to.not.include('omgw_');
  });

  it('moves with pushes, events, attempts, parked deliveries, the circuit and recovery runs', async () => {
    await start(true);
    expect(await push('SO-OK')).to.equal(202);
    expect(await push('SO-BAD', 'SPLIT')).to.equal(202);
    expect(await push('SO-X', 'HOLD', { ...security, password: 'wrong' })).to.equal(401);
    await until('two attempts', async () => (await scrape()).samples.get('omgw_delivery_attempt_duration_seconds_count{connector="crm",outcome="delivered"}') === 1 &&
      (await scrape()).samples.get('omgw_delivery_attempts_total{connector="crm",outcome="parked"}') === 1);

    let s = await scrape();
    expect(s.samples.get('omgw_pushes_received_total{result="accepted"}')).to.equal(2);
    expect(s.samples.get('omgw_pushes_received_total{result="auth_failed"}')).to.equal(1);
    expect(s.samples.get('omgw_events_received_total{event_code="HOLD",source="oracle-om",status="routed"}')).to.equal(1);
    expect(s.samples.get('omgw_events_received_total{event_code="SPLIT",source="oracle-om",status="routed"}')).to.equal(1);
    expect(s.samples.get('omgw_delivery_attempts_total{connector="crm",outcome="delivered"}')).to.equal(1);
    expect(s.samples.get('omgw_delivery_attempt_duration_seconds_bucket{connector="crm",le="+Inf",outcome="parked"}')).to.equal(1);
    expect(s.samples.get('omgw_deliveries{connector="crm",state="delivered"}')).to.equal(1);
    expect(s.samples.get('omgw_deliveries{connector="crm",state="parked"}')).to.equal(1);
    expect(s.samples.get('omgw_parked_deliveries{connector="crm"}')).to.equal(1);
    expect(s.samples.get('omgw_parked_deliveries_by_reason{connector="crm",reason="permanent_error"}')).to.equal(1);
    expect(s.samples.get('omgw_parked_deliveries_by_reason{connector="crm",reason="change_refused"}')).to.equal(0);

    // The same content again is a duplicate.
    expect(await push('SO-OK')).to.equal(202);
    s = await scrape();
    expect(s.samples.get('omgw_events_received_total{event_code="HOLD",source="oracle-om",status="duplicate"}')).to.equal(1);

    // A recovery run: counted here, and the latest run read from the store.
    target.answer = () => ({ status: 200, body: '{}' });
    const outcome = await gw.gateway.jobs?.recovery.runNow({ actor: 'test' });
    expect(outcome?.status).to.equal('ran');
    await until('the replayed delivery delivered', async () => (await scrape()).samples.get('omgw_deliveries{connector="crm",state="delivered"}') === 2);
    s = await scrape();
    expect(s.samples.get('omgw_recovery_runs_total{state="finished",trigger="manual"}')).to.equal(1);
    expect(s.samples.get('omgw_recovery_deliveries_total{result="replayed"}')).to.equal(1);
    expect(s.samples.get('omgw_recovery_last_run_deliveries{kind="selected"}')).to.equal(1);
    expect(s.samples.get('omgw_recovery_last_run_deliveries{kind="delivered"}')).to.equal(1);
    expect(s.samples.get('omgw_recovery_last_run_timestamp_seconds')).to.equal(clock.now() / 1000);

    // The circuit and maintenance state, as every instance sees them in the store.
    await gw.gateway.store.connectorStates.transitionCircuit('crm', ['closed'], 'open', clock.now() + 60_000, clock.now());
    await gw.gateway.store.connectorStates.setAdminState('crm', 'offline', clock.now(), { id: '01KAAAAAAAAAAAAAAAAAAAAAAA', at: clock.now(), direction: 'admin', action: 'connector.offline', result: 'ok' });
    s = await scrape();
    expect(s.samples.get('omgw_connector_circuit_state{connector="crm"}')).to.equal(2);
    expect(s.samples.get('omgw_connector_online{connector="crm"}')).to.equal(0);

    // Pollers and webhook receivers report through the same object.
    gw.gateway.metrics?.setPollerLag('fusion-po', 42);
    gw.gateway.metrics?.recordWebhook('shipbob', 'accepted');
    s = await scrape();
    expect(s.samples.get('omgw_poller_lag_seconds{poller="fusion-po"}')).to.equal(42);
    expect(s.samples.get('omgw_webhooks_received_total{result="accepted",source="shipbob"}')).to.equal(1);
  });

  it('reports queue depth and the age of the oldest due delivery per connector', async () => {
    await start(false); // no worker: deliveries stay pending
    expect(await push('SO-1')).to.equal(202);
    clock.advance(10_000);
    expect(await push('SO-2')).to.equal(202);
    clock.advance(30_000);
    const s = await scrape();
    expect(s.samples.get('omgw_queue_depth{connector="crm"}')).to.equal(2);
    expect(s.samples.get('omgw_queue_oldest_due_age_seconds{connector="crm"}')).to.equal(40);
    expect(s.samples.get('omgw_deliveries{connector="crm",state="pending"}')).to.equal(2);
  });

  it('reads the store at most once per cache period, however often it is scraped', async () => {
    await start(false);
    await fetch(`${gw.url}/metrics`);
    expect(await push('SO-1')).to.equal(202);
    const cached = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
    expect(cached.samples.get('omgw_queue_depth{connector="crm"}'), 'within the cache period').to.equal(0);
    // Counters are not cached.
    expect(cached.samples.get('omgw_pushes_received_total{result="accepted"}')).to.equal(1);
    expect((await scrape()).samples.get('omgw_queue_depth{connector="crm"}'), 'after the cache is dropped').to.equal(1);
  });
});
