import { expect } from 'chai';
import type { Delivery } from '../../../src/domain/delivery.ts';
import type { CallbackInput, CallbackResult } from '../../../src/services/callbacks.ts';
import type { Services } from '../../../src/services/index.ts';
import type { EventToAccept } from '../../../src/services/accept-events.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { everything } from '../../helpers/pages.ts';
import { FakeTarget, type ReceivedRequest } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

const HOUR = 3_600_000;

/** An async target: the gateway sends, the target answers 202 and calls back later (here: the test). */
function fulfilmentYaml(url: string, extra = '', correlation = 'header: X-Correlation-Id', protocol = 'rest'): string {
  return `protocol: ${protocol}
url: ${url}
path: /orders
mode: async
retry:
  schedule: [5s]
  jitter: 0
  maxAttempts: 3
${extra}async:
  responseTimeout: 1h
  correlation:
    ${correlation}
  callback:
    auth:
      type: bearer
      token: \${env:TEST_CALLBACK_TOKEN}
    messagePath: detail.message
    delivered: [COMPLETED]
    failed: [FAILED]
`;
}

const TRIGGER_POINTS = `triggerPoints:
  - name: fulfilment
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    connectors: [fulfilment]
  - name: fulfilment-results
    source: callback
    eventCodes: [CallbackReceived]
    when:
      - field: outcome
        in: [completed, late]
    connectors: [crm]
`;

function omEvent(order: string, status: string): EventToAccept {
  const fields = { EventCode: 'FlineStatusUpdate', SourceOrderNumber: order, StatusCodeNewValue: status };
  return {
    eventCode: 'FlineStatusUpdate',
    orderKey: `GPR:${order}`,
    sourceSystem: 'GPR',
    position: 0,
    fields,
    payload: JSON.stringify(fields),
    raw: null,
    dedupeScope: 'oracle-om:/soap/business-events',
    contentHash: `hash-${order}-${status}-${Math.random()}`,
  };
}

function callback(correlationId: string | undefined, status: string | undefined, message?: string): CallbackInput {
  const body: Record<string, unknown> = {};
  if (correlationId !== undefined) body.correlationId = correlationId;
  if (status !== undefined) body.status = status;
  if (message !== undefined) body.detail = { message };
  const raw = Buffer.from(JSON.stringify(body));
  return { connector: 'fulfilment', format: 'json', raw, contentType: 'application/json', body };
}

describe(`services: callbacks of async connectors (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let crm: FakeTarget;
  let gw: TestGateway;
  let clock: ManualClock;
  let services: Services;

  async function start(extra = '', correlation?: string, protocol?: string): Promise<void> {
    clock = new ManualClock();
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s' }),
        connectors: { 'fulfilment.yaml': fulfilmentYaml(target.url, extra, correlation, protocol), 'crm.yaml': `protocol: rest\nurl: ${crm.url}\n` },
        triggerPoints: TRIGGER_POINTS,
      },
      { clock, random: () => 0.5, env: { TEST_CALLBACK_TOKEN: 'callback-token-31c9' } },
    );
    const s = gw.gateway.services;
    if (!s) throw new Error('the gateway has no services');
    services = s;
  }

  beforeEach(async () => {
    target = await new FakeTarget().start();
    target.answer = () => ({ status: 202, body: '{"accepted":true}' });
    crm = await new FakeTarget().start();
  });
  afterEach(async () => {
    await gw.stop();
    await target.close();
    await crm.close();
  });

  /** Accepts one OM event routed to the async connector; returns its delivery's id. */
  async function push(order: string, status = 'AWAIT_SHIPPING'): Promise<string> {
    const outcome = await services.accept.accept({ source: 'oracle-om', receivedAt: clock.now(), requestId: null, events: [omEvent(order, status)] });
    const [event] = outcome.events;
    const [delivery] = await gw.gateway.store.browse.deliveriesOfEvents([event?.id ?? '']);
    if (!delivery) throw new Error('no delivery made');
    return delivery.id;
  }
  async function delivery(id: string): Promise<Delivery> {
    const d = await gw.gateway.store.browse.delivery(id);
    if (!d) throw new Error(`no delivery ${id}`);
    return d;
  }
  /**
   * Waits for a delivery's state, waking the worker as it looks: a cycle that began before the test
   * moved the clock sleeps from the moved time, and only a wake-up (as a NOTIFY would) brings it round.
   */
  async function inState(id: string, state: Delivery['state']): Promise<Delivery> {
    await until(`delivery ${id} ${state}`, async () => {
      gw.gateway.worker?.notify();
      return (await delivery(id)).state === state;
    });
    return delivery(id);
  }
  const callbackEvents = () => everything((page) => gw.gateway.store.browse.events({ sources: ['callback'] }, page));
  const callbackAudits = () => everything((page) => gw.gateway.store.browse.audit({ actions: ['callback.received'] }, page));
  const header = (r: ReceivedRequest | undefined, name: string): unknown => r?.headers[name];

  it('completes a delivery awaiting its response: delivered, the callback stored, routed, audited and counted', async () => {
    await start();
    const id = await push('SO-1');
    const awaiting = await inState(id, 'awaiting_response');
    const [sent] = await target.waitForRequests(1);
    expect(awaiting.correlationId).to.be.a('string');
    expect(header(sent, 'x-correlation-id')).to.equal(awaiting.correlationId);
    expect(awaiting).to.include({ attemptCount: 1, responseDueAt: clock.now() + HOUR, leaseOwner: null, respondedAt: null });

    const gauges = (await gw.gateway.metrics?.scrape())?.body ?? '';
    expect(gauges).to.include('omgw_deliveries{connector="fulfilment",state="awaiting_response"} 1');
    expect(gauges).to.include('omgw_delivery_attempts_total{connector="fulfilment",outcome="accepted"} 1');

    clock.advance(90_000);
    const result = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'COMPLETED'));
    expect(result).to.include({ outcome: 'completed', deliveryId: id, completedAs: 'delivered', message: null });

    const done = await delivery(id);
    expect(done).to.include({ state: 'delivered', respondedAt: clock.now(), deliveredAt: clock.now(), responseDueAt: null, correlationId: awaiting.correlationId });
    const attempts = await gw.gateway.store.browse.attemptsOf([id]);
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['accepted', 'delivered']);
    expect(JSON.parse(attempts[1]?.requestSummary ?? '{}')).to.deep.include({ callback: { eventId: result.eventId, format: 'json', contentType: 'application/json', correlationId: awaiting.correlationId, status: 'COMPLETED' } });

    const [event] = await callbackEvents();
    expect(event).to.include({ id: result.eventId, source: 'callback', eventCode: 'CallbackReceived', orderKey: 'GPR:SO-1', status: 'routed' });
    expect(JSON.parse(event?.payload ?? '{}')).to.include({ outcome: 'completed', completedAs: 'delivered', deliveryId: id, correlationId: awaiting.correlationId });
    // Routed on like any event: the CRM gets the result.
    const [forwarded] = await crm.waitForRequests(1);
    expect(JSON.parse(forwarded?.body ?? '{}')).to.have.nested.property('data.outcome', 'completed');

    // The order's journey shows the callback beside the delivery it completed.
    const journey = await services.journey.find('GPR:SO-1');
    const entries = journey?.timeline ?? [];
    expect(entries.find((e) => e.kind === 'event' && e.eventId === result.eventId)).to.include({ role: 'callback', source: 'callback' });
    const [audit] = await callbackAudits();
    expect(audit).to.include({ direction: 'in', connector: 'fulfilment', deliveryId: id, eventId: result.eventId, result: 'completed' });

    const metrics = (await gw.gateway.metrics?.scrape())?.body ?? '';
    expect(metrics).to.include('omgw_callbacks_total{connector="fulfilment",outcome="completed"} 1');
    expect(metrics).to.include('omgw_callback_response_seconds_sum{connector="fulfilment"} 90');
  });

  it('parks a delivery whose callback reports a failure, with its message', async () => {
    await start();
    const id = await push('SO-2');
    const awaiting = await inState(id, 'awaiting_response');
    const result = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'FAILED', 'out of stock'));
    expect(result).to.include({ outcome: 'completed', completedAs: 'failed' });
    const parked = await delivery(id);
    expect(parked).to.include({ state: 'parked', parkedReason: 'response_failed', lastError: 'callback FAILED: out of stock', respondedAt: clock.now() });
    const attempts = await gw.gateway.store.browse.attemptsOf([id]);
    expect(attempts.map((a) => [a.outcome, a.errorMessage])).to.deep.equal([['accepted', null], ['parked', 'callback FAILED: out of stock']]);
  });

  it('sends again when no response comes by the deadline, with the same correlation id and idempotency key, and completes on the next response', async () => {
    await start();
    const id = await push('SO-3');
    const first = await inState(id, 'awaiting_response');
    clock.advance(HOUR + 1);
    const retrying = await inState(id, 'retrying');
    expect(retrying.lastError).to.match(/^no response: no response by the deadline/);
    expect(retrying.nextAttemptAt).to.equal(clock.now() + 5_000);
    const [expired] = await everything((page) => gw.gateway.store.browse.audit({ actions: ['delivery.no_response'] }, page));
    expect(expired).to.include({ deliveryId: id, result: 'retry' });

    clock.advance(5_000);
    const again = await inState(id, 'awaiting_response');
    const [one, two] = await target.waitForRequests(2);
    expect(header(two, 'x-correlation-id')).to.equal(first.correlationId);
    expect(header(two, 'idempotency-key')).to.equal(header(one, 'idempotency-key'));
    expect(again).to.include({ correlationId: first.correlationId, attemptCount: 2, attemptsInCycle: 2, responseDueAt: clock.now() + HOUR });

    const result = await services.callbacks.accept(callback(first.correlationId ?? '', 'COMPLETED'));
    expect(result).to.include({ outcome: 'completed', completedAs: 'delivered' });
    expect((await delivery(id)).state).to.equal('delivered');
  });

  it('parks no_response when the retry rules give up, and a late response still completes the delivery', async () => {
    await start('');
    const id = await push('SO-4');
    const first = await inState(id, 'awaiting_response');
    // Three attempts, each unanswered.
    for (let attempt = 1; attempt < 3; attempt++) {
      clock.advance(HOUR + 1);
      await inState(id, 'retrying');
      clock.advance(5_000);
      await until(`attempt ${attempt + 1}`, async () => {
        gw.gateway.worker?.notify();
        return (await delivery(id)).attemptCount === attempt + 1 && (await delivery(id)).state === 'awaiting_response';
      });
    }
    clock.advance(HOUR + 1);
    const parked = await inState(id, 'parked');
    expect(parked).to.include({ parkedReason: 'no_response', responseDueAt: null, correlationId: first.correlationId });
    expect(parked.lastError).to.match(/^gave up after 3 attempts; last error: no response: no response by the deadline/);

    const result = await services.callbacks.accept(callback(first.correlationId ?? '', 'COMPLETED'));
    expect(result).to.include({ outcome: 'late', deliveryId: id, completedAs: 'delivered' });
    expect(await delivery(id)).to.include({ state: 'delivered', parkedReason: null, lastError: null });
  });

  it('changes nothing for a duplicate response', async () => {
    await start();
    const id = await push('SO-5');
    const awaiting = await inState(id, 'awaiting_response');
    const first = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'COMPLETED'));
    const done = await delivery(id);
    await crm.waitForRequests(1);
    clock.advance(1_000);
    const repeated = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'FAILED'));
    expect(repeated).to.deep.equal({ eventId: null, outcome: 'duplicate', deliveryId: id, completedAs: null, message: null });
    expect(await delivery(id)).to.deep.equal(done);
    expect((await callbackEvents()).map((e) => e.id)).to.deep.equal([first.eventId]);
    expect(await gw.gateway.store.browse.attemptsOf([id])).to.have.length(2);
    const crmDeliveries = await everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['crm'] }, page));
    expect(crmDeliveries).to.have.length(1);
  });

  it('stores and flags a response for an unknown or finished correlation id, and refuses one without an id or a known status', async () => {
    await start();
    const unknown = await services.callbacks.accept(callback('no-such-id', 'COMPLETED'));
    expect(unknown).to.include({ outcome: 'unmatched', deliveryId: null, completedAs: null });
    expect(unknown.eventId).to.be.a('string');

    const id = await push('SO-6');
    const awaiting = await inState(id, 'awaiting_response');
    await services.deliveries.discard({ ids: [id] }, { actor: 'test', reason: 'cancelled' });
    const finished = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'COMPLETED'));
    expect(finished).to.include({ outcome: 'unmatched', deliveryId: id, completedAs: null });
    expect((await delivery(id)).state).to.equal('discarded');

    const events = await callbackEvents();
    expect(events.map((e) => [e.id, e.orderKey, e.status])).to.deep.equal([
      [unknown.eventId, null, 'unrouted'],
      [finished.eventId, 'GPR:SO-6', 'unrouted'],
    ]);
    const audits = await callbackAudits();
    expect(audits.map((a) => [a.result, JSON.parse(a.detail ?? '{}').flagged])).to.deep.equal([
      ['unmatched', true],
      ['unmatched', true],
    ]);

    const noId: CallbackResult = await services.callbacks.accept(callback(undefined, 'COMPLETED'));
    expect(noId).to.deep.equal({ eventId: null, outcome: 'invalid', deliveryId: null, completedAs: null, message: 'the callback has no correlation id at correlationId' });
    const badStatus = await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'MAYBE'));
    expect(badStatus.outcome).to.equal('invalid');
    expect(badStatus.message).to.equal('status "MAYBE" is in neither delivered (COMPLETED) nor failed (FAILED)');
    expect(await callbackEvents()).to.have.length(2);
    const metrics = (await gw.gateway.metrics?.scrape())?.body ?? '';
    expect(metrics).to.include('omgw_callbacks_total{connector="fulfilment",outcome="unmatched"} 2');
    expect(metrics).to.include('omgw_callbacks_total{connector="fulfilment",outcome="invalid"} 2');
  });

  it('keeps a later event of the order waiting while one awaits its response (strict ordering)', async () => {
    await start();
    const first = await push('SO-7', 'AWAIT_SHIPPING');
    const second = await push('SO-7', 'SHIPPED');
    const awaiting = await inState(first, 'awaiting_response');
    // The worker goes round twice more (a whole cycle after the first one's answer) and leaves the second alone.
    const cycles = async (n: number): Promise<void> => {
      let seen = 0;
      const worker = gw.gateway.worker;
      await new Promise<void>((resolve) => {
        const onCycle = (): void => {
          // Each cycle ends asleep on the test's clock: woken again until n have run.
          if (++seen < n) return worker?.notify();
          worker?.off('cycle', onCycle);
          resolve();
        };
        worker?.on('cycle', onCycle);
        worker?.notify();
      });
    };
    await cycles(2);
    expect((await delivery(second)).state).to.equal('pending');
    expect(target.requests).to.have.length(1);
    expect(await gw.gateway.store.deliveries.blockedKeys('fulfilment')).to.deep.equal([
      { connector: 'fulfilment', orderKey: 'GPR:SO-7', blockedBy: first, blockerState: 'awaiting_response', waiting: 1 },
    ]);

    await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'COMPLETED'));
    await inState(second, 'awaiting_response');
    const [, next] = await target.waitForRequests(2);
    expect(JSON.parse(next?.body ?? '{}')).to.have.nested.property('data.StatusCodeNewValue', 'SHIPPED');
  });

  it('reads the correlation id from a JSON answer; an accepted answer without one parks as a mapping error', async () => {
    await start('', 'responsePath: data.requestId');
    target.answer = (_req, i) => (i === 0 ? { status: 202, body: '{"data":{"requestId":"R-100"}}' } : { status: 202, body: '{"data":{}}' });
    const id = await push('SO-8');
    const awaiting = await inState(id, 'awaiting_response');
    expect(awaiting.correlationId).to.equal('R-100');
    expect(header(target.requests[0], 'x-correlation-id')).to.equal(undefined);
    expect(await services.callbacks.accept(callback('R-100', 'COMPLETED'))).to.include({ outcome: 'completed', deliveryId: id });

    const other = await push('SO-9');
    const parked = await inState(other, 'parked');
    expect(parked).to.include({ parkedReason: 'transform_error', correlationId: null });
    expect(parked.lastError).to.include('the target accepted the request, but its answer has no correlation id at data.requestId');
    const [attempt] = await gw.gateway.store.browse.attemptsOf([other]);
    expect(attempt).to.include({ outcome: 'parked', responseStatus: 202, errorClass: 'transform' });
  });

  it('a re-send that reads a new correlation id from the answer: a late callback with the first id completes the delivery; one with the second then is flagged and changes nothing', async () => {
    await start('', 'responsePath: data.requestId');
    // Each request gets an id of its own from the target.
    target.answer = (_req, i) => ({ status: 202, body: JSON.stringify({ data: { requestId: `R-${i + 1}` } }) });
    const id = await push('SO-14');
    expect((await inState(id, 'awaiting_response')).correlationId).to.equal('R-1');
    clock.advance(HOUR + 1);
    await inState(id, 'retrying');
    clock.advance(5_000);
    const resent = await inState(id, 'awaiting_response');
    expect(resent).to.include({ correlationId: 'R-2', attemptCount: 2 });

    clock.advance(60_000);
    const late = await services.callbacks.accept(callback('R-1', 'COMPLETED'));
    expect(late).to.include({ outcome: 'completed', deliveryId: id, completedAs: 'delivered', message: null });
    const done = await delivery(id);
    expect(done).to.include({ state: 'delivered', respondedAt: clock.now(), deliveredAt: clock.now(), responseDueAt: null, correlationId: 'R-2' });
    const attempts = await gw.gateway.store.browse.attemptsOf([id]);
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['accepted', 'accepted', 'delivered']);
    expect(JSON.parse(attempts[2]?.requestSummary ?? '{}')).to.have.nested.property('callback.correlationId', 'R-1');
    await crm.waitForRequests(1);

    clock.advance(1_000);
    const second = await services.callbacks.accept(callback('R-2', 'FAILED', 'too late'));
    expect(second).to.include({ outcome: 'unmatched', deliveryId: id, completedAs: null });
    expect(second.message).to.equal('a callback with another correlation id completed the delivery (delivered): nothing awaits this response');
    expect(await delivery(id)).to.deep.equal(done);
    expect(await gw.gateway.store.browse.attemptsOf([id])).to.have.length(3);
    const audits = await callbackAudits();
    expect(audits.map((a) => [a.result, a.deliveryId, JSON.parse(a.detail ?? '{}').flagged])).to.deep.equal([
      ['completed', id, false],
      ['unmatched', id, true],
    ]);
    expect((await callbackEvents()).map((e) => e.id)).to.deep.equal([late.eventId, second.eventId]);
    // The first id's callback again is a duplicate: nothing is stored.
    expect(await services.callbacks.accept(callback('R-1', 'COMPLETED'))).to.deep.equal({ eventId: null, outcome: 'duplicate', deliveryId: id, completedAs: null, message: null });
    expect(await callbackEvents()).to.have.length(2);
    const crmDeliveries = await everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['crm'] }, page));
    expect(crmDeliveries).to.have.length(1);
  });

  it('reads the correlation id from a SOAP answer by its element; a Fault is no acceptance', async () => {
    await start('', `responseXPath: "//*[local-name()='RequestId']"`, 'soap');
    const envelope = (body: string): string => `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
    target.answer = (_req, i) =>
      i === 0
        ? { status: 200, headers: { 'content-type': 'text/xml' }, body: envelope('<ack:Accepted xmlns:ack="urn:fulfilment"><ack:RequestId>W-1</ack:RequestId></ack:Accepted>') }
        : { status: 500, headers: { 'content-type': 'text/xml' }, body: envelope('<soap:Fault><faultcode>soap:Client</faultcode><faultstring>unknown item</faultstring></soap:Fault>') };
    const id = await push('SO-10');
    expect((await inState(id, 'awaiting_response')).correlationId).to.equal('W-1');
    const faulted = await push('SO-11');
    expect(await inState(faulted, 'parked')).to.include({ parkedReason: 'permanent_error', correlationId: null });
  });

  it('replays a delivery awaiting its response: sent again with the same correlation id, and a response then completes it', async () => {
    await start();
    const id = await push('SO-12');
    const awaiting = await inState(id, 'awaiting_response');
    const replayed = await services.deliveries.replay({ ids: [id] }, { actor: 'test' });
    expect(replayed.changed).to.equal(1);
    const again = await until('sent again', async () => {
      gw.gateway.worker?.notify();
      return target.requests.length === 2 && (await delivery(id)).state === 'awaiting_response';
    }).then(() => delivery(id));
    expect(header(target.requests[1], 'x-correlation-id')).to.equal(awaiting.correlationId);
    expect(again).to.include({ correlationId: awaiting.correlationId, attemptCount: 2, attemptsInCycle: 1 });
    expect(await services.callbacks.accept(callback(awaiting.correlationId ?? '', 'COMPLETED'))).to.include({ outcome: 'completed' });
  });

  it('the recovery run replays a delivery parked no_response like any parked one', async () => {
    await start();
    const id = await push('SO-13');
    await inState(id, 'awaiting_response');
    // Three unanswered attempts park it.
    for (let attempt = 1; attempt <= 3; attempt++) {
      clock.advance(HOUR + 1);
      await until(`expired ${attempt}`, async () => {
        gw.gateway.worker?.notify();
        const d = await delivery(id);
        return attempt < 3 ? d.state === 'retrying' : d.state === 'parked';
      });
      if (attempt < 3) {
        clock.advance(5_000);
        await until(`re-sent ${attempt}`, async () => {
          gw.gateway.worker?.notify();
          return (await delivery(id)).state === 'awaiting_response';
        });
      }
    }
    expect((await delivery(id)).parkedReason).to.equal('no_response');
    const run = await services.recovery.runNow({ actor: 'test' });
    expect(run).to.deep.include({ status: 'ran' });
    await until('re-sent by the recovery run', async () => {
      gw.gateway.worker?.notify();
      return target.requests.length === 4 && (await delivery(id)).state === 'awaiting_response';
    });
    expect(new Set(target.requests.map((r) => header(r, 'x-correlation-id'))).size).to.equal(1);
  });
});
