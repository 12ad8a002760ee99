import { expect } from 'chai';
import type { Delivery } from '../../src/domain/delivery.ts';
import { backendName } from '../helpers/backend.ts';
import { pushLineStatus, startAsyncWmsGateway, WMS_CALLBACK_PASSWORD, WMS_CALLBACK_USER, wmsDeliveryOf } from '../helpers/async-wms.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { everything } from '../helpers/pages.ts';
import { FakeTarget, type ReceivedRequest } from '../helpers/target.ts';
import { until } from '../helpers/until.ts';

/**
 * An async connector end to end: a real gateway, a local target that accepts each request with a 202
 * and answers later through POST /callbacks/{connector}, as the test makes it (the test is the
 * target's back office). Issue 21's acceptance list, minus the SIGKILL (test/reliability/1-crash).
 */

const BASIC = `Basic ${Buffer.from(`${WMS_CALLBACK_USER}:${WMS_CALLBACK_PASSWORD}`).toString('base64')}`;

async function callback(gw: TestGateway, body: unknown, authorization = BASIC): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/callbacks/wms`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function deliveries(gw: TestGateway): Promise<Delivery[]> {
  return everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['wms'] }, page));
}

async function delivery(gw: TestGateway, orderKey: string): Promise<Delivery> {
  const found = await wmsDeliveryOf(gw, orderKey);
  if (!found) throw new Error(`no delivery of ${orderKey}`);
  return found;
}

async function stateIs(gw: TestGateway, orderKey: string, state: string): Promise<void> {
  await until(`${orderKey} ${state}`, async () => (await delivery(gw, orderKey).catch(() => null))?.state === state, 15_000);
}

const correlationOf = (req: ReceivedRequest | undefined): string => String(req?.headers['x-correlation-id'] ?? '');

describe(`an async connector end to end (${backendName()})`, function () {
  this.timeout(60_000);
  let target: FakeTarget;
  let gw: TestGateway;

  beforeEach(async () => {
    target = await new FakeTarget().start();
    target.answer = () => ({ status: 202, body: '{"accepted":true}' });
  });
  afterEach(async () => {
    await gw?.stop();
    await target.close();
  });

  it('success: accepted, awaiting_response with the correlation id sent, delivered by the callback; the callback is an event', async () => {
    gw = await startAsyncWmsGateway(target.url);
    await pushLineStatus(gw, 'SO-A1');
    const [req] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A1', 'awaiting_response');
    const awaiting = await delivery(gw, 'LEG:SO-A1');
    expect(correlationOf(req)).to.have.length.greaterThan(0);
    expect(awaiting.correlationId).to.equal(correlationOf(req));
    const res = await callback(gw, { correlationId: correlationOf(req), status: 'COMPLETED' });
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.include({ outcome: 'completed', deliveryId: awaiting.id });
    // Acknowledged after the commit: the rows are there when the answer arrives.
    expect((await delivery(gw, 'LEG:SO-A1')).state).to.equal('delivered');
    const events = await everything((page) => gw.gateway.store.browse.events({ orderKey: 'LEG:SO-A1' }, page));
    const stored = events.find((e) => e.id === res.json.eventId);
    expect(stored?.source).to.equal('callback');
    expect(stored?.eventCode).to.equal('CallbackReceived');
  });

  it('failure response: the delivery parks with response_failed', async () => {
    gw = await startAsyncWmsGateway(target.url);
    await pushLineStatus(gw, 'SO-A2');
    const [req] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A2', 'awaiting_response');
    const res = await callback(gw, { correlationId: correlationOf(req), status: 'FAILED', message: 'out of stock' });
    expect(res.status).to.equal(200);
    const parked = await delivery(gw, 'LEG:SO-A2');
    expect([parked.state, parked.parkedReason]).to.deep.equal(['parked', 'response_failed']);
  });

  it('duplicate response changes nothing; unknown correlation id is stored and flagged; a status value it does not know is 422', async () => {
    gw = await startAsyncWmsGateway(target.url);
    await pushLineStatus(gw, 'SO-A3');
    const [req] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A3', 'awaiting_response');
    const first = await callback(gw, { correlationId: correlationOf(req), status: 'COMPLETED' });
    expect(first.json.outcome).to.equal('completed');
    const again = await callback(gw, { correlationId: correlationOf(req), status: 'FAILED' });
    expect(again.status).to.equal(200);
    expect(again.json.outcome).to.equal('duplicate');
    expect((await delivery(gw, 'LEG:SO-A3')).state).to.equal('delivered');
    const unknown = await callback(gw, { correlationId: 'nobody-sent-this', status: 'COMPLETED' });
    expect(unknown.status).to.equal(200);
    expect(unknown.json).to.deep.include({ outcome: 'unmatched', deliveryId: null });
    expect(unknown.json.eventId).to.be.a('string');
    const odd = await callback(gw, { correlationId: correlationOf(req), status: 'MAYBE' });
    expect(odd.status).to.equal(422);
  });

  it('bad callback auth: 401, nothing stored but the refusal', async () => {
    gw = await startAsyncWmsGateway(target.url);
    await pushLineStatus(gw, 'SO-A4');
    const [req] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A4', 'awaiting_response');
    const eventsBefore = await everything((page) => gw.gateway.store.browse.events({}, page));
    const res = await callback(gw, { correlationId: correlationOf(req), status: 'COMPLETED' }, `Basic ${Buffer.from('wms:wrong').toString('base64')}`);
    expect(res.status).to.equal(401);
    expect(res.json.code).to.equal('AUTH_FAILED');
    expect(await everything((page) => gw.gateway.store.browse.events({}, page))).to.have.length(eventsBefore.length);
    expect((await delivery(gw, 'LEG:SO-A4')).state).to.equal('awaiting_response');
    await gw.gateway.store.audit.flushRefusals();
    const refused = (await gw.gateway.store.browse.audit({ actions: ['callback.rejected'] }, { limit: 10 })).rows;
    expect(refused.map((r) => [r.connector, r.result])).to.deep.equal([['wms', 'auth_failed']]);
  });

  it('timeout then re-send (same correlation id and idempotency key) then success', async () => {
    gw = await startAsyncWmsGateway(target.url, { responseTimeout: '1s', retry: { maxAttempts: 3 } });
    await pushLineStatus(gw, 'SO-A5');
    const [first, second] = await target.waitForRequests(2);
    expect(correlationOf(second)).to.equal(correlationOf(first));
    expect(second?.headers['idempotency-key']).to.equal(first?.headers['idempotency-key']);
    const res = await callback(gw, { correlationId: correlationOf(first), status: 'COMPLETED' });
    expect(['completed', 'late']).to.include(res.json.outcome);
    await stateIs(gw, 'LEG:SO-A5', 'delivered');
  });

  it('late response after parking: stored, attached, and completes the delivery', async () => {
    gw = await startAsyncWmsGateway(target.url, { responseTimeout: '1s', retry: { maxAttempts: 1 } });
    await pushLineStatus(gw, 'SO-A6');
    const [req] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A6', 'parked');
    expect((await delivery(gw, 'LEG:SO-A6')).parkedReason).to.equal('no_response');
    const res = await callback(gw, { correlationId: correlationOf(req), status: 'COMPLETED' });
    expect(res.json).to.deep.include({ outcome: 'late', deliveryId: (await delivery(gw, 'LEG:SO-A6')).id });
    expect((await delivery(gw, 'LEG:SO-A6')).state).to.equal('delivered');
  });

  it('strict ordering: a later event of the order waits while the first awaits its response', async () => {
    gw = await startAsyncWmsGateway(target.url);
    await pushLineStatus(gw, 'SO-A7', 'AWAIT_SHIPPING');
    const [first] = await target.waitForRequests(1);
    await stateIs(gw, 'LEG:SO-A7', 'awaiting_response');
    await pushLineStatus(gw, 'SO-A7', 'SHIPPED');
    // The second is stored and waits: a few polls go by, and the target has seen one request.
    await until('the second delivery stored', async () => (await deliveries(gw)).filter((d) => d.orderKey === 'LEG:SO-A7').length === 2);
    const waiting = (await deliveries(gw)).filter((d) => d.orderKey === 'LEG:SO-A7' && d.state === 'pending');
    expect(waiting).to.have.length(1);
    expect(target.requests).to.have.length(1);
    await callback(gw, { correlationId: correlationOf(first), status: 'COMPLETED' });
    const [, second] = await target.waitForRequests(2);
    expect(second?.body).to.include('SHIPPED');
  });
});
