import { expect } from 'chai';
import { buildPush, type PushHeaderInput } from '../../../src/sandbox/om-push.ts';
import { MAX_EVENTS_PER_TRANSACTION } from '../../../src/store/ingest.ts';
import { backendName } from '../../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

function headers(prefix: string, count: number): PushHeaderInput[] {
  return Array.from({ length: count }, (_, i) => ({
    eventCode: 'OrderAttributeUpdate' as const,
    order: { sourceOrderNumber: `${prefix}-${String(i).padStart(4, '0')}`, lines: 1 },
  }));
}

/** Pushes with more OrderHeaders than one transaction takes are stored in parts, then acknowledged. */
describe(`large SOAP pushes stored in parts (${backendName()})`, () => {
  let gw: TestGateway;
  const endpoint = () => `${gw.url}/soap/business-events`;

  beforeEach(async () => {
    gw = await startGateway();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('stores every OrderHeader of a push larger than one transaction, in order, under one push row', async () => {
    const count = MAX_EVENTS_PER_TRANSACTION * 2 + 7;
    const small = buildPush(headers('SMALL', 1), { security });
    const [large, other] = await Promise.all([
      postSoap(endpoint(), buildPush(headers('BIG', count), { security })),
      postSoap(endpoint(), small),
    ]);
    expect(large.status, large.body).to.equal(202);
    expect(other.status, other.body).to.equal(202);

    const knex = gw.gateway.store.knex;
    const pushes = (await knex('pushes').select('id', 'event_count').orderBy('event_count', 'desc')) as Array<{ id: string; event_count: number }>;
    expect(pushes.map((p) => Number(p.event_count))).to.deep.equal([count, 1]);
    const bigPush = pushes[0]?.id;
    const events = (await knex('events').where({ push_id: bigPush }).orderBy('position')) as Array<{ position: number; order_key: string; status: string }>;
    expect(events).to.have.length(count);
    expect(events.map((e) => Number(e.position))).to.deep.equal(Array.from({ length: count }, (_, i) => i));
    expect(events[count - 1]?.order_key).to.equal(`LEG:BIG-${String(count - 1).padStart(4, '0')}`);
    expect(new Set(events.map((e) => e.status))).to.deep.equal(new Set(['routed']));
    const audits = await knex('audit_records').where({ action: 'event.received' });
    expect(audits).to.have.length(count + 1);
    // An event of the last part, stored without the push row, still names its push.
    const last = `BIG-${String(count - 1).padStart(4, '0')}`;
    expect(JSON.parse((audits.find((a: { detail: string }) => a.detail.includes(last)) as { detail: string }).detail).pushId).to.equal(bigPush);
  });

  it('recognises the stored part of a push sent again as duplicates and stores the rest', async () => {
    const count = MAX_EVENTS_PER_TRANSACTION + 10;
    const all = headers('RESEND', count);
    // As if the gateway had stopped after the first part: the first events are already stored.
    expect((await postSoap(endpoint(), buildPush(all.slice(0, MAX_EVENTS_PER_TRANSACTION), { security }))).status).to.equal(202);
    const again = await postSoap(endpoint(), buildPush(all, { security }));
    expect(again.status, again.body).to.equal(202);
    const knex = gw.gateway.store.knex;
    const statuses = (await knex('events').select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: number | string }>;
    expect(Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]))).to.deep.equal({
      routed: count,
      duplicate: MAX_EVENTS_PER_TRANSACTION,
    });
  });
});
