import { expect } from 'chai';
import { once } from 'node:events';
import type { Io } from '../../src/cli/output.ts';
import type { DeliveryWorker } from '../../src/delivery/worker.ts';
import { main } from '../../src/main.ts';
import { pushHttpHeaders } from '../../src/sandbox/om-push.ts';
import type { Attempt, Delivery } from '../../src/domain/delivery.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { FakeTarget } from '../helpers/target.ts';
import { allPages, authYaml, dumpDatabase, freePort, relDatabase, relGatewayYaml } from './support/gateway.ts';
import { pushBody } from './support/push-client.ts';
import { scan, SECRET_ENV } from './support/secrets.ts';
import { SIZE } from './support/size.ts';
import { report } from './support/summary.ts';

/**
 * Issue 8, item 2: a target down for a while, in three ways one after the other: refusing
 * connections, then accepting and never answering, then answering 503; then back. On a controlled
 * clock (the breaker's 30 s cool-down and the retry schedule pass in no time; the network failures
 * are real). Deliveries retry by the schedule, the ones that use up their attempts park, the circuit
 * opens (held deliveries are not charged attempts) and closes after a good probe; everything not
 * parked is delivered when the target is back, and `omgw replay` delivers the parked ones, in order.
 * The connector's timeout runs on the wall clock: it ends the hanging phase's attempts, and must not
 * end those the target answers at once (a busy machine delays an answer by more than a few hundred
 * ms now and then; a late 200 taken for a timeout is sent again, and counted as delivered twice).
 */

const SCHEDULE = [5_000, 30_000];
const MAX_ATTEMPTS = 3;
const COOL_DOWN = 30_000;

describe(`reliability 2: target outage (${backendName()}, ${SIZE.label})`, function () {
  this.timeout(120_000);

  let gw: TestGateway | undefined;
  let target: FakeTarget | undefined;
  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  it('retries by the schedule, parks, opens and closes the circuit, delivers everything not parked on return, and the parked ones after a replay', async () => {
    const clock = new ManualClock(Date.now());
    const port = await freePort(); // nothing listens there yet: connections are refused
    gw = await startGateway(
      {
        gateway: relGatewayYaml({ delivery: '  enabled: true\n  pollInterval: 1s\n  leaseMargin: 60s' }),
        connectors: {
          'crm.yaml': `protocol: rest
url: http://127.0.0.1:${port}
path: /crm
timeout: 2s
concurrency: 4
retry:
  schedule: [${SCHEDULE.map((ms) => `${ms}ms`).join(', ')}]
  jitter: 0
  maxAttempts: ${MAX_ATTEMPTS}
${authYaml('api-key')}`,
        },
        triggerPoints: 'triggerPoints:\n  - name: status\n    eventCodes: [FlineStatusUpdate]\n    connectors: [crm]\n',
      },
      { database: relDatabase(), clock, random: () => 0.5, env: SECRET_ENV },
    );
    const g = gw;
    const store = g.gateway.store;
    const worker = g.gateway.worker as DeliveryWorker;
    const circuit = async (): Promise<string> => {
      const crm = (await store.connectorStates.all()).find((c) => c.connector === 'crm');
      if (!crm) throw new Error('no state for connector crm');
      return crm.circuit;
    };
    const circuits: string[] = [];
    let attemptsSeen = 0;
    worker.on('attempt', () => attemptsSeen++);
    /** The `claimed` of a cycle that started after this call (the first one seen may have started before). */
    const freshCycle = async (): Promise<number> => {
      for (let i = 0; i < 2; i++) {
        const cycled = once(worker, 'cycle') as Promise<[{ claimed: number }]>;
        worker.notify();
        const [{ claimed }] = await cycled;
        if (i === 1) return claimed;
      }
      return 0;
    };
    /** Lets the worker run until nothing more is due at this clock time and nothing is in flight. */
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 500; i++) {
        while (worker.inFlight > 0) await once(worker, 'settled');
        const seen = attemptsSeen;
        const claimed = await freshCycle();
        if (claimed === 0 && worker.inFlight === 0 && attemptsSeen === seen) {
          const c = await circuit();
          if (circuits.at(-1) !== c) circuits.push(c);
          return;
        }
      }
      throw new Error('the worker did not settle');
    };
    const advance = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await settle();
    };
    const answers: Array<{ at: number; phase: string }> = [];
    let phase = 'refusing';
    const push = async (order: string, seq: number): Promise<void> => {
      const body = pushBody([{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: order, statusFrom: `S${seq - 1}`, statusTo: `S${seq}` } }]);
      const res = await postSoap(`${g.url}/soap/business-events`, body, pushHttpHeaders());
      expect(res.status, res.body).to.equal(202);
    };
    /** Every delivery, oldest first. */
    const deliveries = async (): Promise<Delivery[]> => (await allPages((page) => store.browse.deliveries({}, page))).reverse();

    // 1. Refusing connections: orders P (two events each) fail twice, by the schedule.
    const P = ['SO-P1', 'SO-P2', 'SO-P3'];
    for (const o of P) for (const seq of [1, 2]) await push(o, seq);
    const t0 = clock.now();
    await settle();
    await advance(SCHEDULE[0] as number);

    // 2. Accepting and never answering: the third attempt times out and P's heads park.
    target = await new FakeTarget().start(port);
    const t = target;
    t.answer = () => {
      answers.push({ at: clock.now(), phase });
      return phase === 'hanging' ? 'hang' : phase === '503' ? { status: 503, body: '{"error":"maintenance"}' } : { status: 200, body: '{"ok":true}' };
    };
    phase = 'hanging';
    await advance(SCHEDULE[1] as number);
    const parkedHeads = (await deliveries()).filter((d) => d.state === 'parked');

    // Orders B (several events each) arrive during the outage: the circuit opens on them and holds them.
    const B = Array.from({ length: SIZE.outageOrders }, (_, i) => `SO-B${String(i).padStart(3, '0')}`);
    const B_EVENTS = 3;
    for (let seq = 1; seq <= B_EVENTS; seq++) for (const o of B) await push(o, seq);
    await settle();
    const openedAt = clock.now();
    const afterOpen = await deliveries();
    const requestsWhenOpened = t.requests.length;
    await advance(COOL_DOWN / 2); // still open: nothing is sent, nothing is charged
    const chargedWhileOpen = (await deliveries()).reduce((n, d) => n + d.attemptCount, 0) - afterOpen.reduce((n, d) => n + d.attemptCount, 0);
    const sentWhileOpen = t.requests.length - requestsWhenOpened;

    // 3. Answering 503: the half-open probe fails and the circuit opens again.
    phase = '503';
    await advance(COOL_DOWN / 2);
    const probes503 = answers.filter((a) => a.phase === '503').length;

    // 4. Back: the next probe succeeds, the circuit closes, everything not parked goes out in order.
    phase = 'up';
    await advance(COOL_DOWN);
    for (let i = 0; i < 10 && (await deliveries()).some((d) => ['pending', 'retrying', 'on_hold'].includes(d.state) && !(d.orderKey ?? '').startsWith('LEG:SO-P')); i++) {
      await advance(1_000);
    }
    const beforeReplay = await deliveries();
    const parkedBefore = beforeReplay.filter((d) => d.state === 'parked');
    const blockedBehindParked = beforeReplay.filter((d) => d.state !== 'delivered' && d.state !== 'parked');
    const notParkedNotDelivered = blockedBehindParked.filter((d) => !parkedBefore.some((p) => p.orderKey === d.orderKey && p.id < d.id));

    // 5. The parked ones: `omgw replay`, as an operator would run it.
    const out: string[] = [];
    const io: Io = { out: (s) => void out.push(s), err: (s) => void out.push(s) };
    const env = testEnv(g.database, { ...SECRET_ENV, USER: 'reliability' });
    const dry = await main(['replay', '--state', 'parked', '--connector', 'crm', '--dry-run', '--config', g.configDir], io, env);
    const code = await main(['replay', '--state', 'parked', '--connector', 'crm', '--reason', 'target back after outage', '--config', g.configDir], io, env);
    for (let i = 0; i < 10 && (await deliveries()).some((d) => d.state !== 'delivered'); i++) await advance(1_000);
    const final = await deliveries();

    // Figures.
    const attempts = (await allPages((page) => store.browse.attempts({}, page))).sort((a, b) => a.deliveryId.localeCompare(b.deliveryId) || a.number - b.number);
    const byDelivery = new Map<string, Attempt[]>();
    for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
    const scheduleBreaks: string[] = [];
    for (const [id, list] of byDelivery) {
      let inCycle = 0;
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as Attempt;
        const cur = list[i] as Attempt;
        if (prev.outcome === 'parked') {
          inCycle = 0; // a replay starts a new cycle
          continue;
        }
        inCycle++;
        const due = SCHEDULE[Math.min(inCycle, SCHEDULE.length) - 1] as number;
        const gap = cur.startedAt - prev.startedAt;
        if (gap < due) scheduleBreaks.push(`${id}: attempt ${cur.number} ${gap} ms after the previous one; the schedule says ${due} ms`);
      }
    }
    const requestsByKey = new Map<string, number>();
    for (const r of t.requests) requestsByKey.set(String(r.headers['idempotency-key']), (requestsByKey.get(String(r.headers['idempotency-key'])) ?? 0) + 1);
    // A refused connection never reaches the target: count attempts that got there.
    const reached = attempts.filter((a) => a.errorClass !== 'network');
    const unchargedMismatch = final.filter((d) => (requestsByKey.get(d.id) ?? 0) !== reached.filter((a) => a.deliveryId === d.id).length);
    const successes = t.requests.filter((_, i) => answers[i]?.phase === 'up');
    const successKeys = successes.map((r) => String(r.headers['idempotency-key']));
    const duplicates = successKeys.length - new Set(successKeys).size;
    const lost = final.filter((d) => d.state !== 'delivered' || !successKeys.includes(d.id));
    const orderBreaks: string[] = [];
    const lastSeq = new Map<string, number>();
    for (const r of successes) {
      const body = JSON.parse(r.body) as { orderKey: string; data: { OrderLine: Array<{ StatusCodeNewValue: string }> } };
      const seq = Number(body.data.OrderLine[0]?.StatusCodeNewValue.slice(1));
      if (seq !== (lastSeq.get(body.orderKey) ?? 0) + 1) orderBreaks.push(`${body.orderKey}: #${seq} after #${lastSeq.get(body.orderKey) ?? 0}`);
      lastSeq.set(body.orderKey, seq);
    }
    g.gateway.logger.flush();
    const logs = g.logs.join('\n');
    const leaks = [...scan('outage', 'logs', logs), ...scan('outage', 'cli output', out.join('\n')), ...scan('outage', 'database', await dumpDatabase(g.database))];
    const wrong = scheduleBreaks.length + orderBreaks.length + notParkedNotDelivered.length + unchargedMismatch.length + (sentWhileOpen > 0 ? 1 : 0) + (chargedWhileOpen > 0 ? 1 : 0);

    report('2 outage: refused, hanging, 503, back', {
      tried: final.length,
      lost: lost.length,
      duplicated: duplicates,
      wrong,
      leaked: leaks.length,
      notes:
        `${final.length} deliveries; ${parkedBefore.length} parked after ${MAX_ATTEMPTS} attempts (refused, refused, timeout), ${blockedBehindParked.length} waiting behind them, the rest delivered on return; ` +
        `circuit ${circuits.join(' > ')}; ${sentWhileOpen} sent and ${chargedWhileOpen} charged while open; ${probes503} probe(s) during 503; ${scheduleBreaks.length} schedule breaks; replay exit ${code}; ${t.requests.length} requests at the target`,
    });

    expect(clock.now() - t0, 'the outage lasted on the controlled clock').to.be.greaterThan(SCHEDULE[1] as number);
    expect(parkedHeads.map((d) => [d.orderKey, d.attemptsInCycle, d.parkedReason])).to.deep.equal(P.map((o) => [`LEG:${o}`, MAX_ATTEMPTS, 'attempts_exhausted']));
    expect(scheduleBreaks, 'retries earlier than the schedule').to.deep.equal([]);
    expect(circuits, 'the circuit opened and closed').to.include('open');
    expect(circuits.at(-1)).to.equal('closed');
    expect(logs).to.include('circuit opened').and.include('circuit closed');
    expect(openedAt).to.be.greaterThan(t0);
    expect(sentWhileOpen, 'requests while the circuit was open').to.equal(0);
    expect(chargedWhileOpen, 'attempts charged while the circuit was open').to.equal(0);
    expect(probes503, 'one probe while the target answered 503').to.equal(1);
    expect(unchargedMismatch.map((d) => d.id), 'attempts charged without a request').to.deep.equal([]);
    expect(parkedBefore.map((d) => d.orderKey).sort(), 'parked before the replay').to.deep.equal(P.map((o) => `LEG:${o}`));
    expect(notParkedNotDelivered.map((d) => `${d.orderKey} ${d.state}`), 'not parked and not blocked, yet not delivered').to.deep.equal([]);
    expect(blockedBehindParked.map((d) => d.orderKey).sort(), 'waiting behind a parked head').to.deep.equal(P.map((o) => `LEG:${o}`));
    expect([dry, code], 'replay exit codes').to.deep.equal([0, 0]);
    expect(lost.map((d) => `${d.orderKey} ${d.state}`), 'not delivered at the end').to.deep.equal([]);
    expect(final).to.have.length(P.length * 2 + B.length * B_EVENTS);
    expect(duplicates, 'delivered twice').to.equal(0);
    expect(orderBreaks, 'order per key').to.deep.equal([]);
    expect(leaks).to.deep.equal([]);
  });
});
