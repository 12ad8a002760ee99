import { expect } from 'chai';
import { Store } from '../../../src/store/index.ts';
import { MAX_BILLING_PAGE } from '../../../src/store/webhooks.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { Seeder } from '../../helpers/seed.ts';

describe(`ShipBobWebhookRepository.listBilling (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    database = createTestDatabase();
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await database.dispose();
  });

  it('reads one row past the largest page, so that a full page still says whether there is a next one', async () => {
    const seed = new Seeder(database.tables());
    const rows = Array.from({ length: MAX_BILLING_PAGE + 2 }, (_, i) => ({
      id: seed.newId(),
      source: 'shipbob',
      event_code: 'billing.charge.created',
      order_key: null,
      status: 'unrouted',
      received_at: seed.now + i,
      payload: JSON.stringify({ transaction_id: `tx-${i}`, amount: '1.00', currency_code: 'USD' }),
      content_hash: `h${i}`,
    }));
    await database.tables().batchInsert('events', rows, 200);
    const page = await store.shipbobWebhooks.listBilling({ limit: MAX_BILLING_PAGE + 1 });
    expect(page).to.have.length(MAX_BILLING_PAGE + 1);
    expect(await store.shipbobWebhooks.listBilling({ limit: 50_000 })).to.have.length(MAX_BILLING_PAGE + 1);
  });
});
