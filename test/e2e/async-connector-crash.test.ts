import { expect } from 'chai';
import { backendName, type TestDatabase } from '../helpers/backend.ts';
import { CallbackTarget } from '../helpers/callback-target.ts';
import { everything } from '../helpers/pages.ts';
import { until } from '../helpers/until.ts';
import { freePort, GatewayProcess, openStore, relDatabase, relEnv, relGatewayYaml } from '../reliability/support/gateway.ts';
import { PushClient, pushBody } from '../reliability/support/push-client.ts';
import { asyncCallbackFigures, asyncConnectorYaml, CALLBACK_ENV, CALLBACK_AUTHORIZATION } from '../reliability/support/async-target.ts';

/**
 * Issue 21: a SIGKILL of the gateway while callbacks arrive loses none that was acknowledged. A
 * gateway child process delivers to an async connector whose target accepts each request and calls
 * back at once, many callbacks in flight; the gateway is killed twice mid-stream and restarted; the
 * target sends again every callback that got no 2xx. At the end every acknowledged callback is
 * stored, every delivery ended as its callback said, and none was completed twice.
 */

const ORDERS = 120;
const PER_PUSH = 10;
/** A fifth of the orders' callbacks report a failure. */
const failing = (orderKey: string): boolean => Number(/(\d+)$/.exec(orderKey)?.[1] ?? 0) % 5 === 0;

describe(`an async connector killed while callbacks arrive (${backendName()})`, function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let gw: GatewayProcess;
  let target: CallbackTarget;

  before(() => {
    db = relDatabase();
  });
  after(async () => {
    await gw?.stop().catch(() => null);
    gw?.dispose();
    await target?.close();
    await db?.dispose();
  });

  it('loses no acknowledged callback; every delivery ends as its callback said, completed once', async () => {
    const port = await freePort();
    target = await new CallbackTarget({
      connector: 'wms',
      gatewayUrl: () => `http://127.0.0.1:${port}`,
      authorization: CALLBACK_AUTHORIZATION,
      statusOf: (req) => (failing((JSON.parse(req.body) as { orderKey: string }).orderKey) ? 'FAILED' : 'COMPLETED'),
      concurrency: 16,
      retryDelayMs: 50,
    }).start();
    gw = new GatewayProcess(
      {
        gateway: relGatewayYaml({ port, delivery: '  enabled: true\n  pollInterval: 100ms\n  leaseMargin: 500ms\n  maxInFlight: 64' }),
        connectors: { 'wms.yaml': asyncConnectorYaml(target.url, '/wms') },
        triggerPoints: 'triggerPoints:\n  - name: status\n    eventCodes: [FlineStatusUpdate]\n    connectors: [wms]\n',
      },
      relEnv(db, CALLBACK_ENV),
    );
    await gw.start();

    const client = new PushClient(`http://127.0.0.1:${port}`, 4);
    const orders = Array.from({ length: ORDERS }, (_, i) => `SO-AK${String(i).padStart(4, '0')}`);
    for (let i = 0; i < ORDERS; i += PER_PUSH) {
      const res = await client.post('/soap/business-events', pushBody(orders.slice(i, i + PER_PUSH).map((o) => ({ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: o } }))));
      expect(res.status, res.body).to.equal(202);
    }
    await client.close();

    // Two kills, each once a share of the callbacks has been acknowledged and others are on their way
    // (on a busy machine the target may have answered every callback it had before the gateway sends
    // the next request: then the kill waits for that request).
    const outstandingAtKill: number[] = [];
    const callbackMoved = (): Promise<void> =>
      new Promise((resolve) => {
        const moved = (): void => {
          target.off('acked', moved).off('request', moved);
          resolve();
        };
        target.on('acked', moved).on('request', moved);
      });
    for (const share of [1 / 3, 2 / 3]) {
      while ((target.acked.length < Math.floor(ORDERS * share) || target.outstanding === 0) && target.acked.length < ORDERS) await callbackMoved();
      outstandingAtKill.push(target.outstanding);
      await gw.kill();
      await gw.start();
    }

    const store = openStore(db);
    try {
      const wmsDeliveries = () => everything((page) => store.browse.deliveries({ connectors: ['wms'] }, page));
      await until(
        'every delivery finished and every callback acknowledged',
        async () => target.outstanding === 0 && (await wmsDeliveries()).filter((d) => d.state === 'delivered' || d.state === 'parked').length === ORDERS,
        120_000,
      );
      const stopCode = await gw.stop();

      const figures = await asyncCallbackFigures(store, target);
      expect(outstandingAtKill.every((n) => n > 0), `callbacks outstanding at each kill: ${outstandingAtKill.join(', ')}`).to.equal(true);
      expect(target.unacknowledged, 'callbacks that got no 2xx and were sent again').to.be.greaterThan(0);
      expect(figures.deliveries, 'async deliveries').to.equal(ORDERS);
      expect(figures.lostCallbacks, 'acknowledged callbacks not stored').to.deep.equal([]);
      expect(figures.wrongEnds, 'deliveries not ended as their callback said').to.deep.equal([]);
      expect(figures.completedTwice, 'deliveries completed twice').to.deep.equal([]);
      expect(figures.unexpectedOutcomes, 'callbacks answered other than completed, late or duplicate').to.deep.equal([]);
      expect(figures.failed, 'deliveries parked by a failure callback').to.equal(orders.filter((o) => failing(o)).length);
      expect(gw.crashLines(), 'crash lines in the output').to.deep.equal([]);
      expect(gw.unexpectedExits, 'exits we did not cause').to.equal(0);
      expect(stopCode, 'graceful stop').to.equal(0);
    } finally {
      await store.close();
    }
  });
});
