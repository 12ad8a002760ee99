import { expect } from 'chai';
import type { ShipBobOrderRecord } from '../../../src/domain/shipbob-change.ts';
import { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';

describe(`what was sent for each ShipBob order (${backendName()})`, () => {
  const T0 = 1_700_000_000_000;
  let database: TestDatabase;
  let stores: Store[];

  const record = (overrides: Partial<ShipBobOrderRecord> = {}): ShipBobOrderRecord => ({
    connector: 'shipbob',
    referenceId: 'LEG:SO-1:300100000000011',
    orderKey: 'LEG:SO-1',
    lineKey: 'fulfillment-line:300100000000011',
    shipbobOrderId: '100000001',
    shipmentId: '200000001',
    quantities: { TShirtBlueM: 2, 'LIGHT-ROAST': 1 },
    addressHash: 'f'.repeat(64),
    cancelled: false,
    cancelRequestedAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  });

  beforeEach(async () => {
    database = createTestDatabase();
    const options = { url: database.url, ...(database.schema ? { schema: database.schema } : {}) };
    stores = [new Store(options), new Store(options)];
    await stores[0]?.migrate();
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    await database.dispose();
  });

  it('gives back a record as saved, to another instance too, and null for an order it does not know', async () => {
    const [mine, other] = stores as [Store, Store];
    expect(await mine.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011')).to.equal(null);
    await mine.shipbobOrders.save(record());
    expect(await other.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011')).to.deep.equal(record());
    // The key is the connector and the reference id: another ShipBob account keeps its own.
    expect(await other.shipbobOrders.get('shipbob-eu', 'LEG:SO-1:300100000000011')).to.equal(null);
    await mine.shipbobOrders.save(record({ connector: 'shipbob-eu', shipbobOrderId: '7', shipmentId: null, orderKey: null }));
    expect(await other.shipbobOrders.get('shipbob-eu', 'LEG:SO-1:300100000000011')).to.deep.include({ shipbobOrderId: '7', shipmentId: null, orderKey: null });
    expect((await other.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011'))?.shipbobOrderId).to.equal('100000001');
  });

  it('finds the order of a Fusion line, for an event whose order key does not make the reference id', async () => {
    const [mine, other] = stores as [Store, Store];
    expect(await other.shipbobOrders.findByLine('shipbob', 'fulfillment-line:300100000000011')).to.equal(null);
    await mine.shipbobOrders.save(record());
    await mine.shipbobOrders.save(record({ referenceId: 'PO-1:300100000000011', lineKey: 'po-schedule:300100000000011', shipbobOrderId: '100000002' }));
    expect((await other.shipbobOrders.findByLine('shipbob', 'fulfillment-line:300100000000011'))?.referenceId).to.equal('LEG:SO-1:300100000000011');
    expect((await other.shipbobOrders.findByLine('shipbob', 'po-schedule:300100000000011'))?.shipbobOrderId).to.equal('100000002');
    expect(await other.shipbobOrders.findByLine('shipbob-eu', 'fulfillment-line:300100000000011')).to.equal(null);
  });

  it('writes a change over the record, keeping when it was first made', async () => {
    const [mine, other] = stores as [Store, Store];
    await mine.shipbobOrders.save(record());
    await other.shipbobOrders.save(record({ quantities: { TShirtBlueM: 1, 'LIGHT-ROAST': 1 }, addressHash: 'e'.repeat(64), cancelled: true, createdAt: T0 + 5_000, updatedAt: T0 + 5_000 }));
    expect(await mine.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011')).to.deep.equal(
      record({ quantities: { TShirtBlueM: 1, 'LIGHT-ROAST': 1 }, addressHash: 'e'.repeat(64), cancelled: true, createdAt: T0, updatedAt: T0 + 5_000 }),
    );
  });

  it('keeps when the gateway asked ShipBob to cancel, apart from the cancellation ShipBob confirmed', async () => {
    const [mine, other] = stores as [Store, Store];
    await mine.shipbobOrders.save(record());
    // Written before the request goes out, while ShipBob has confirmed nothing yet.
    await mine.shipbobOrders.save(record({ cancelRequestedAt: T0 + 5_000, updatedAt: T0 + 5_000 }));
    expect(await other.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011')).to.deep.include({ cancelRequestedAt: T0 + 5_000, cancelled: false });
    await other.shipbobOrders.save(record({ cancelRequestedAt: T0 + 5_000, cancelled: true, updatedAt: T0 + 6_000 }));
    expect(await mine.shipbobOrders.get('shipbob', 'LEG:SO-1:300100000000011')).to.deep.equal(record({ cancelRequestedAt: T0 + 5_000, cancelled: true, updatedAt: T0 + 6_000 }));
  });

  it("finds the order a webhook names by its reference id, whatever the connector, and checks ShipBob's order id when given", async () => {
    const [mine, other] = stores as [Store, Store];
    expect(await other.shipbobOrders.findForWebhook('LEG:SO-1:300100000000011', null)).to.equal(null);
    await mine.shipbobOrders.save(record({ connector: 'shipbob-eu', cancelRequestedAt: T0 + 1 }));
    expect(await other.shipbobOrders.findForWebhook('LEG:SO-1:300100000000011', '100000001')).to.deep.equal(record({ connector: 'shipbob-eu', cancelRequestedAt: T0 + 1 }));
    expect((await other.shipbobOrders.findForWebhook('LEG:SO-1:300100000000011', null))?.connector).to.equal('shipbob-eu');
    // The same reference id at another ShipBob order is not this record.
    expect(await other.shipbobOrders.findForWebhook('LEG:SO-1:300100000000011', '100000002')).to.equal(null);
    expect(await other.shipbobOrders.findForWebhook('LEG:SO-1:300100000000012', '100000001')).to.equal(null);
  });

  it('keeps reference ids as long as ShipBob allows and quantities of any item name', async () => {
    const [mine] = stores as [Store];
    const long = `PREFIX-${'9'.repeat(277)}:300100000000011`;
    expect(long.length).to.equal(300);
    const quantities = { 'SKU "quoted", with: punctuation': 3, 'ÜMLAUT-✓': 1 };
    await mine.shipbobOrders.save(record({ referenceId: long, quantities }));
    expect(await mine.shipbobOrders.get('shipbob', long)).to.deep.include({ referenceId: long, quantities });
  });
});
