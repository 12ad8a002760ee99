import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Delivery } from '../../../src/domain/delivery.ts';
import { backendName } from '../../helpers/backend.ts';
import { pushLineStatus, startAsyncWmsGateway, WMS_CALLBACK_PASSWORD, WMS_CALLBACK_USER, wmsDeliveryOf } from '../../helpers/async-wms.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { everything } from '../../helpers/pages.ts';
import { until } from '../../helpers/until.ts';

/**
 * An async target quicker than the gateway: it calls back before it answers the request (it holds
 * its answer until the callback got its 2xx). The correlation id is in the store before the request
 * goes, so the callback finds the delivery in_flight and completes it (the state table's respond from
 * in_flight); the worker's record of the send, coming after, finds the delivery finished and changes
 * nothing: delivered once, never sent again.
 */

const BASIC = `Basic ${Buffer.from(`${WMS_CALLBACK_USER}:${WMS_CALLBACK_PASSWORD}`).toString('base64')}`;

interface Seen {
  path: string;
  correlationId: string;
  /** The gateway's answer to the callback sent before the request was answered. */
  callback: { status: number; body: Record<string, unknown> } | null;
}

/** A target that, for each request, posts the callback (COMPLETED) to `gatewayUrl()` and answers 202 only after its 2xx. */
async function quickTarget(gatewayUrl: () => string): Promise<{ url: string; seen: Seen[]; close(): Promise<void>; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const entry: Seen = { path: req.url ?? '', correlationId: String(req.headers['x-correlation-id'] ?? ''), callback: null };
      seen.push(entry);
      void (async () => {
        const answer = await fetch(`${gatewayUrl()}/callbacks/wms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: BASIC },
          body: JSON.stringify({ correlationId: entry.correlationId, status: 'COMPLETED' }),
        });
        entry.callback = { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
        server.emit('called-back', entry);
        res.writeHead(entry.callback.status === 200 ? 202 : 500, { 'content-type': 'application/json' });
        res.end('{"accepted":true}');
      })().catch((err: unknown) => {
        server.emit('error', err);
        res.destroy();
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe(`a callback that arrives before the worker recorded the send (${backendName()})`, function () {
  this.timeout(60_000);
  let gw: TestGateway;
  let target: Awaited<ReturnType<typeof quickTarget>>;

  before(async () => {
    target = await quickTarget(() => gw.url);
    gw = await startAsyncWmsGateway(target.url);
  });
  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  const deliveryOf = (orderKey: string): Promise<Delivery | undefined> => wmsDeliveryOf(gw, orderKey);
  const push = (order: string, statusTo: string): Promise<void> => pushLineStatus(gw, order, statusTo);

  it('completes the delivery once from in_flight; the late record of the send undoes nothing and sends nothing again', async () => {
    await push('SO-QUICK', 'AWAIT_SHIPPING');
    await until('the callback answered', () => target.seen[0]?.callback !== null && target.seen[0] !== undefined, 15_000);
    const first = target.seen[0] as Seen;
    expect(first.correlationId).to.have.length.greaterThan(0);
    const delivery = (await deliveryOf('LEG:SO-QUICK')) as Delivery;
    // Answered while the request was still open: the delivery was being sent.
    expect(first.callback).to.deep.include({ status: 200 });
    expect(first.callback?.body).to.deep.include({ outcome: 'completed', deliveryId: delivery.id });

    // The worker records the send once the target answers: an attempt of outcome accepted.
    const attempts = async () => everything((page) => gw.gateway.store.browse.attempts({ deliveryIds: [delivery.id] }, page));
    await until('the send recorded', async () => (await attempts()).some((a) => a.outcome === 'accepted'), 15_000);
    const after = (await deliveryOf('LEG:SO-QUICK')) as Delivery;
    expect(after).to.include({ state: 'delivered', correlationId: first.correlationId, responseDueAt: null });
    expect(after.respondedAt).to.be.a('number');
    expect((await attempts()).map((a) => a.outcome).sort()).to.deep.equal(['accepted', 'delivered']);

    // The worker goes on: the next event of the order (strict ordering: it waited for nothing) goes and
    // completes, and by then the first has still been sent once.
    await push('SO-QUICK', 'SHIPPED');
    await until('the second delivered', async () => {
      const all = await everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['wms'] }, page));
      return all.filter((d) => d.orderKey === 'LEG:SO-QUICK' && d.state === 'delivered').length === 2;
    }, 15_000);
    expect(target.seen.map((s) => s.correlationId).filter((c) => c === first.correlationId)).to.have.length(1);
    expect(target.seen).to.have.length(2);
    expect((await deliveryOf('LEG:SO-QUICK'))?.state).to.equal('delivered');
    const audit = await everything((page) => gw.gateway.store.browse.audit({ actions: ['callback.received'] }, page));
    expect(audit.map((a) => a.result)).to.deep.equal(['completed', 'completed']);
  });
});
