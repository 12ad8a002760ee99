import { expect } from 'chai';
import type { ShipBobOrderRecord } from '../../../src/domain/shipbob-change.ts';
import type { Store } from '../../../src/store/index.ts';
import { backendName, type TestDatabase } from '../../helpers/backend.ts';
import { shipbobOrderRecord, type Seeder } from '../../helpers/seed.ts';
import { closeSeededStore, openSeededStore } from '../../helpers/store.ts';

const SHIPPED = ['order.shipped', 'order_shipped'];

describe(`the read model of the flow funnel (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;

  /** A ShipBob order of line 3001 of LEG:SO-1, with its shipment 200000001. */
  const record = (overrides: Partial<ShipBobOrderRecord>): ShipBobOrderRecord => shipbobOrderRecord(seed.now, { shipmentId: '200000001', ...overrides });

  beforeEach(async () => {
    ({ database, store, seed } = await openSeededStore());
  });
  afterEach(async () => closeSeededStore(database, store));

  it("gives each ShipBob order with the first time a shipped webhook named it and the first write-back of one, computed in SQL", async () => {
    const t0 = seed.now;
    await store.shipbobOrders.save(record({}));
    await store.shipbobOrders.save(record({ referenceId: 'PO-1:77', orderKey: 'PO-1', lineKey: 'po-schedule:77', shipbobOrderId: '100000002', shipmentId: null }));
    seed.tick(60_000);
    const shipped = await seed.event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob:100000001' });
    const t1 = seed.now;
    seed.tick(60_000);
    await seed.delivery({ connector: 'fusion', state: 'delivered', eventId: shipped, eventCode: 'order.shipped' });
    const t2 = seed.now;
    seed.tick(60_000);
    // A later replay of the webhook, a duplicate, and a webhook of another topic change nothing.
    await seed.event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob:100000001' });
    const dup = await seed.event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob-ref:PO-1:77' });
    await database.tables()('events').update({ status: 'duplicate' }).where({ id: dup });
    await seed.event({ source: 'shipbob', eventCode: 'order.shipment.on_hold', orderKey: 'shipbob:100000002' });

    const byCreation = await store.funnel.shipbobOrders({ createdFrom: t0, createdTo: t0 + 1 }, SHIPPED, 10);
    expect(byCreation.more).to.equal(false);
    expect(byCreation.rows.map((o) => [o.referenceId, o.shippedAt, o.writtenBackAt])).to.deep.equal([
      ['LEG:SO-1:3001', t1, t2],
      ['PO-1:77', null, null],
    ]);
    expect((await store.funnel.shipbobOrders({ createdFrom: t0 + 1, createdTo: t0 + 10 }, SHIPPED, 10)).rows).to.deep.equal([]);
    expect((await store.funnel.shipbobOrders({ orderKeys: ['PO-1'] }, SHIPPED, 10)).rows.map((o) => o.referenceId)).to.deep.equal(['PO-1:77']);
    expect((await store.funnel.shipbobOrders({ shipbobOrderIds: ['100000001'] }, SHIPPED, 10)).rows.map((o) => o.referenceId)).to.deep.equal(['LEG:SO-1:3001']);
    expect((await store.funnel.shipbobOrders({ referenceIds: ['PO-1:77', 'LEG:SO-1:3001'] }, SHIPPED, 1))).to.deep.include({ more: true });

    // A webhook naming the order by reference id only (no ShipBob order id in its payload) counts too.
    seed.tick();
    await seed.event({ source: 'shipbob', eventCode: 'order_shipped', orderKey: 'shipbob-ref:PO-1:77' });
    const t3 = seed.now;
    expect((await store.funnel.shipbobOrders({ orderKeys: ['PO-1'] }, SHIPPED, 10)).rows[0]?.shippedAt).to.equal(t3);

    expect((await store.funnel.webhookKeysReceived(SHIPPED, t1, t3 + 1, 10)).rows).to.deep.equal(['shipbob-ref:PO-1:77', 'shipbob:100000001']);
    expect(await store.funnel.webhookKeysReceived(SHIPPED, t1 + 1, t3, 10)).to.deep.equal({ rows: ['shipbob:100000001'], more: false });
    expect(await store.funnel.knownShipments(['200000001', '999'])).to.deep.equal(new Set(['200000001']));
  });

  it('reads OM events received in [from, to), and the events of given orders, up to a limit', async () => {
    const from = seed.now;
    for (let i = 0; i < 3; i++) {
      await seed.event({ eventCode: 'FlineStatusUpdate', orderKey: `LEG:SO-${i}`, payload: { n: i } });
      seed.tick();
    }
    await seed.event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob:1' });
    const all = await store.funnel.omEventsReceived(from, seed.now, 10);
    expect(all.rows.map((e) => [e.orderKey, e.receivedAt, JSON.parse(e.payload)])).to.deep.equal([0, 1, 2].map((i) => [`LEG:SO-${i}`, from + i * 1000, { n: i }]));
    expect(await store.funnel.omEventsReceived(from, from + 1000, 10)).to.deep.include({ more: false });
    expect((await store.funnel.omEventsReceived(from, from + 1000, 10)).rows).to.have.length(1);
    expect(await store.funnel.omEventsReceived(from, seed.now, 2)).to.deep.include({ more: true });
    expect((await store.funnel.omEventsOfOrders(['LEG:SO-2', 'LEG:SO-0'], seed.now, 10)).rows.map((e) => e.orderKey)).to.deep.equal(['LEG:SO-0', 'LEG:SO-2']);
    expect((await store.funnel.omEventsOfOrders(['LEG:SO-2'], from + 2000, 10)).rows).to.deep.equal([]);
  });

  it('counts per minute the pushes from OM, the deliveries that reached delivered, the attempts that failed, and the deliveries not finished', async () => {
    const minute = 60_000;
    const start = Math.floor(seed.now / minute) * minute;
    seed.now = start + 5_000;
    // Two pushes (the second holding two events), an event of no push (a webhook).
    await seed.event({ eventCode: 'FlineStatusUpdate', withPush: true });
    const second = await seed.event({ eventCode: 'FlineStatusUpdate', withPush: true });
    const pushId = ((await database.tables()('events').where({ id: second }).first()) as { push_id: string }).push_id;
    await database.tables()('events').update({ push_id: pushId, position: 1 }).where({ id: await seed.event({ eventCode: 'FlineStatusUpdate' }) });
    expect(((await database.tables()('events').where({ push_id: pushId })) as unknown[]).length).to.equal(2);
    await seed.event({ source: 'shipbob', eventCode: 'order.shipped', orderKey: 'shipbob:1' });
    seed.now = start + 2 * minute + 59_999;
    // Two attempts each: one retry then delivered; two retries; a retry then parked.
    await seed.delivery({ connector: 'shipbob', state: 'delivered' });
    await seed.delivery({ connector: 'shipbob', state: 'retrying' });
    await seed.delivery({ connector: 'shipbob', state: 'parked' });
    await seed.delivery({ connector: 'shipbob', state: 'pending' });
    await seed.delivery({ connector: 'shipbob', state: 'discarded' });
    // An async connector's request accepted by its target (no failure), completed by its callback a minute later.
    const async = await seed.delivery({ connector: 'otm', state: 'awaiting_response', attempts: 1 });
    await database.tables()('attempts').update({ outcome: 'accepted', error_class: null, error_message: null, response_status: 202 }).where({ delivery_id: async });
    // The callback's completion, as the store records it: the delivery delivered, with an attempt row of that outcome.
    await database.tables()('deliveries').update({ state: 'delivered', delivered_at: start + 3 * minute + 1 }).where({ id: async });
    await database.tables()('attempts').insert({
      id: 'CALLBACKATTEMPT0000000000X',
      delivery_id: async,
      number: 2,
      started_at: start + 3 * minute + 1,
      duration_ms: 0,
      request_summary: '{}',
      response_status: null,
      response_headers: null,
      response_snippet: '{"status":"COMPLETED"}',
      error_class: null,
      error_message: null,
      outcome: 'delivered',
    });
    const buckets = await store.funnel.throughput(start, start + 4 * minute, minute);
    expect(buckets).to.deep.equal([
      { at: start, pushes: 2, deliveries: 0, failures: 0 },
      { at: start + 2 * minute, pushes: 0, deliveries: 1, failures: 5 },
      { at: start + 3 * minute, pushes: 0, deliveries: 1, failures: 0 },
    ]);
    expect(await store.funnel.throughput(start + 4 * minute, start + 5 * minute, minute)).to.deep.equal([]);
    // pending, retrying, parked (and each seeded delivery's own event is no delivery).
    expect(await store.funnel.queueDepth()).to.equal(3);
  });
});
