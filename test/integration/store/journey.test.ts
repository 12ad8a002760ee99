import { expect } from 'chai';
import type { ShipBobOrderRecord } from '../../../src/domain/shipbob-change.ts';
import type { Store } from '../../../src/store/index.ts';
import { backendName, type TestDatabase } from '../../helpers/backend.ts';
import { shipbobOrderRecord, type Seeder } from '../../helpers/seed.ts';
import { closeSeededStore, openSeededStore } from '../../helpers/store.ts';

describe(`the read model of an order's journey (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;

  const record = (overrides: Partial<ShipBobOrderRecord>): ShipBobOrderRecord => shipbobOrderRecord(seed.now, overrides);

  beforeEach(async () => {
    ({ database, store, seed } = await openSeededStore());
  });
  afterEach(async () => closeSeededStore(database, store));

  it('lists the source systems of the events, each once, in order', async () => {
    expect(await store.journey.sourceSystems()).to.deep.equal([]);
    for (let i = 0; i < 3; i++) await seed.event({ orderKey: `LEG:SO-${i}` });
    await seed.event({ source: 'shipbob', orderKey: 'shipbob:1' });
    // Events of other systems, and of none (webhooks, polled purchase orders).
    const tables = database.tables();
    await tables('events').update({ source_system: null }).where({ source: 'shipbob' });
    const other = await seed.event({ orderKey: 'EBS:SO-9' });
    await tables('events').update({ source_system: 'EBS' }).where({ id: other });
    expect(await store.journey.sourceSystems()).to.deep.equal(['EBS', 'LEG']);
  });

  it('gives the newest events, deliveries and attempts up to a limit, oldest first, saying when there were more', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await seed.event({ orderKey: i % 2 === 0 ? 'LEG:SO-1' : 'SO-1' }));
      seed.tick();
    }
    await seed.event({ orderKey: 'LEG:SO-2' });
    const three = await store.journey.events(['LEG:SO-1', 'SO-1'], 3);
    expect(three).to.deep.include({ more: true });
    expect(three.rows.map((e) => e.id)).to.deep.equal(ids.slice(2));
    expect((await store.journey.events(['LEG:SO-1', 'SO-1'], 5)).more).to.equal(false);
    expect((await store.journey.events(['LEG:SO-1'], 5, ['fusion-po'])).rows).to.deep.equal([]);
    expect(await store.journey.keysWithEvents(['SO-1', 'LEG:SO-1', 'LEG:SO-404'])).to.have.deep.members([
      { orderKey: 'SO-1', source: 'oracle-om', sourceSystem: 'LEG' },
      { orderKey: 'LEG:SO-1', source: 'oracle-om', sourceSystem: 'LEG' },
    ]);

    const parked = await seed.delivery({ connector: 'shipbob', state: 'parked', eventId: ids[0] });
    const delivered = await seed.delivery({ connector: 'fusion', state: 'delivered', eventId: ids[1] });
    const deliveries = await store.journey.deliveries(ids, 1);
    expect(deliveries.more).to.equal(true);
    expect(deliveries.rows.map((d) => d.id)).to.deep.equal([delivered]);
    const attempts = await store.journey.attempts([parked, delivered], 10);
    expect(attempts.rows.map((a) => [a.deliveryId, a.number, a.connector])).to.deep.equal([
      [parked, 1, 'shipbob'],
      [parked, 2, 'shipbob'],
      [delivered, 1, 'fusion'],
      [delivered, 2, 'fusion'],
    ]);
    expect(await store.journey.operatorActions([parked], 10)).to.deep.equal({ rows: [], more: false });
  });

  it('finds ShipBob orders by order key, reference id and ShipBob order id', async () => {
    await store.shipbobOrders.save(record({}));
    await store.shipbobOrders.save(record({ referenceId: 'PO-7:55', orderKey: 'PO-7', lineKey: 'po-schedule:55', shipbobOrderId: '100000002' }));
    const refs = async (by: Parameters<Store['journey']['shipbobOrders']>[0]) => (await store.journey.shipbobOrders(by)).map((r) => r.referenceId).sort();
    expect(await refs({ orderKeys: ['LEG:SO-1'] })).to.deep.equal(['LEG:SO-1:3001']);
    expect(await refs({ referenceIds: ['PO-7:55'] })).to.deep.equal(['PO-7:55']);
    expect(await refs({ shipbobOrderIds: ['100000002'], orderKeys: ['LEG:SO-1'] })).to.deep.equal(['LEG:SO-1:3001', 'PO-7:55']);
    expect(await refs({})).to.deep.equal([]);
  });
});
