import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttemptReport } from '../../src/delivery/worker.ts';
import { RATE_MARGIN_MS } from '../../src/domain/rate.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import type { RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { PRODUCTS, startOrderFlow, type OrderFlow } from '../helpers/order-flow.ts';

/** rateLimit: { requests: 2, per: 1m } with the default margin: how long a send holds its place. */
const WINDOW = 60_000 + RATE_MARGIN_MS;

/**
 * A ShipBob delivery is several requests (one order per fulfilment line), and ShipBob's limit counts
 * requests. Time is a manual clock shared by the gateway and the emulated ShipBob, so the test knows
 * when each request was sent in the gateway's time.
 */
describe(`ShipBob's rate limit counts every request of a delivery (${backendName()})`, function () {
  this.timeout(30_000);
  let clock: ManualClock;
  let flow: OrderFlow;
  let shipbob: RunningShipBobSandbox;
  let gw: TestGateway;

  beforeEach(async () => {
    clock = new ManualClock();
    flow = await startOrderFlow({
      clock,
      shipbobNow: () => clock.now(),
      pollInterval: '1s',
      poller: false,
      topics: [],
      shipbobConnector: { timeout: '90s', orderType: 'DTC', rateLimit: '{ requests: 2, per: 1m }' },
      mappings: { 'products.yaml': `${PRODUCTS}  OMGW-CAP-BLK: DARK-ROAST\n` },
    });
    ({ shipbob, gw } = flow);
  });
  afterEach(async () => flow?.close());

  const attempt = (): Promise<AttemptReport> =>
    new Promise((resolve) => gw.gateway.worker?.once('attempt', (a: AttemptReport) => resolve(a)));

  it('sends the orders of one delivery no faster than the window allows, in one attempt', async () => {
    const start = clock.now();
    const creates: number[] = [];
    shipbob.sandbox.on('request', (r: { method: string; path: string; at: string }) => {
      if (r.method === 'POST' && r.path.endsWith('/order')) creates.push(Date.parse(r.at) - start);
    });
    const order = { sourceOrderNumber: 'SO-RL1', lines: 3, statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' };
    const push = buildPush([{ eventCode: 'FlineStatusUpdate', order }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
    const done = attempt();
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);

    // Two places in the window: the worker's for the delivery (its first order), one more for the
    // second order. The third order's place frees when the first two leave the window (2 a minute,
    // plus the margin): the delivery waits for it.
    const first = await Promise.race([clock.sleeping((ms) => ms === WINDOW).then(() => 'waiting'), done.then(() => 'finished')]);
    expect(first, `orders created at ${creates.join(', ')} ms`).to.equal('waiting');
    expect(creates).to.deep.equal([0, 0]);
    clock.advance(WINDOW);

    const report = await done;
    expect(report.outcome).to.equal('delivered');
    expect(creates).to.deep.equal([0, 0, WINDOW]);
    expect(shipbob.sandbox.state.orders.size).to.equal(3);
    const attempts = (await gw.gateway.store.browse.attempts({}, { limit: 100 })).rows;
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['delivered']);
  });

  it('ends the attempt as a timeout, sending nothing more, when no place would free within the connector timeout', async () => {
    writeShipBobTimeout(gw, '10s');
    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    const order = { sourceOrderNumber: 'SO-RL2', lines: 3, statusFrom: 'SCHEDULED', statusTo: 'AWAIT_SHIPPING' };
    const push = buildPush([{ eventCode: 'FlineStatusUpdate', order }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
    const done = attempt();
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);

    const report = await done;
    expect(report.outcome).to.equal('retry');
    expect(report.errorClass, JSON.stringify(report)).to.equal('timeout');
    expect(shipbob.sandbox.state.orders.size).to.equal(2);
    const [delivery] = (await gw.gateway.store.browse.deliveries({ connectors: ['shipbob'] }, { limit: 100 })).rows;
    if (!delivery) throw new Error('no ShipBob delivery');
    expect(delivery.state).to.equal('retrying');
    expect(delivery.lastError).to.match(/no place in the rate window \(2 per 60000 ms\) came free within the timeout of 10000 ms/);
    // The next attempt is not due before the place frees: the retry waits at least until then.
    expect(delivery.nextAttemptAt - clock.now()).to.be.at.least(WINDOW);
  });
});

function writeShipBobTimeout(gw: TestGateway, timeout: string): void {
  const path = join(gw.configDir, 'connectors', 'shipbob.yaml');
  writeFileSync(path, readFileSync(path, 'utf8').replace('timeout: 90s', `timeout: ${timeout}`));
}
