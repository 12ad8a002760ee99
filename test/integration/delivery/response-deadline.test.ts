import { expect } from 'chai';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { Seeder } from '../../helpers/seed.ts';
import { until } from '../../helpers/until.ts';

/**
 * A reload may turn an async connector sync, or remove it, while its deliveries await their
 * responses. Their callbacks are then refused (404: no async connector has that name), but the
 * deliveries still expire by their stored deadline: the connector's retry rules send them again (as
 * the connector is now), and one no longer configured parks no_response. None waits forever.
 */
describe(`the deadline sweep after a connector stopped being async (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 200ms' }),
      // crm is sync now (it was async when its delivery was sent); the unreachable URL keeps its re-send retrying.
      connectors: { 'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\nretry:\n  maxAttempts: 5\n' },
      triggerPoints: 'triggerPoints: []\n',
    });
  });
  after(async () => {
    await gw.stop();
  });

  it("expires awaiting deliveries of a connector made sync (retry rules) or removed (parked no_response); their callbacks are 404", async () => {
    const seed = new Seeder(gw.database.tables(), Date.now());
    const past = Date.now() - 60_000;
    const synced = await seed.delivery({ connector: 'crm', state: 'awaiting_response', attempts: 1, correlationId: 'c-crm', responseDueAt: past });
    const removed = await seed.delivery({ connector: 'gone', state: 'awaiting_response', attempts: 1, correlationId: 'c-gone', responseDueAt: past });
    const expiries = async () => (await gw.gateway.store.browse.audit({ actions: ['delivery.no_response'] }, { limit: 100 })).rows;
    await until('both deliveries to expire', async () => (await expiries()).length === 2);
    const byDelivery = new Map((await expiries()).map((r) => [r.deliveryId, r.result]));
    expect(byDelivery.get(synced)).to.equal('retry');
    expect(byDelivery.get(removed)).to.equal('parked');
    const gone = await gw.gateway.store.deliveries.get(removed);
    expect([gone?.state, gone?.parkedReason]).to.deep.equal(['parked', 'no_response']);
    expect(gone?.lastError).to.include('connector gone is no longer configured');
    expect((await gw.gateway.store.deliveries.get(synced))?.state).to.not.equal('awaiting_response');

    for (const name of ['crm', 'gone']) {
      const res = await fetch(`${gw.url}/callbacks/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ correlationId: `c-${name}`, status: 'COMPLETED' }) });
      expect(res.status).to.equal(404);
    }
  });
});
