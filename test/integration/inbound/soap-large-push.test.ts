import { expect } from 'chai';
import { buildPush, type PushHeaderInput } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

/** OrderHeaders in a push the ingest writer stores in several parts (test/unit/store/ingest-writer.test.ts). */
const LARGE = 100;

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
    const count = LARGE;
    const small = buildPush(headers('SMALL', 1), { security });
    const [large, other] = await Promise.all([
      postSoap(endpoint(), buildPush(headers('BIG', count), { security })),
      postSoap(endpoint(), small),
    ]);
    expect(large.status, large.body).to.equal(202);
    expect(other.status, other.body).to.equal(202);

    const store = gw.gateway.store;
    expect((await store.status()).pushes).to.equal(2);
    const pushIds = [...new Set((await store.browse.events({}, { limit: 1000 })).rows.map((e) => e.pushId ?? ''))];
    const pushes = (await Promise.all(pushIds.map((id) => store.browse.push(id)))).sort((a, b) => (b?.eventCount ?? 0) - (a?.eventCount ?? 0));
    expect(pushes.map((p) => p?.eventCount)).to.deep.equal([count, 1]);
    const bigPush = pushes[0]?.id;
    const events = (await store.browse.events({ pushId: bigPush }, { limit: 1000 })).rows.sort((a, b) => a.position - b.position);
    expect(events).to.have.length(count);
    expect(events.map((e) => e.position)).to.deep.equal(Array.from({ length: count }, (_, i) => i));
    expect(events[count - 1]?.orderKey).to.equal(`LEG:BIG-${String(count - 1).padStart(4, '0')}`);
    expect(new Set(events.map((e) => e.status))).to.deep.equal(new Set(['routed']));
    const audits = (await store.browse.audit({ actions: ['event.received'] }, { limit: 1000 })).rows;
    expect(audits).to.have.length(count + 1);
    // An event of the last part, stored without the push row, still names its push.
    const last = `BIG-${String(count - 1).padStart(4, '0')}`;
    expect(JSON.parse(audits.find((a) => a.detail?.includes(last))?.detail ?? '').pushId).to.equal(bigPush);
  });

  it('recognises the stored part of a push sent again as duplicates and stores the rest', async () => {
    const count = LARGE;
    const stored = 40;
    const all = headers('RESEND', count);
    // As if the gateway had stopped part-way through the push: its first events are already stored.
    expect((await postSoap(endpoint(), buildPush(all.slice(0, stored), { security }))).status).to.equal(202);
    const again = await postSoap(endpoint(), buildPush(all, { security }));
    expect(again.status, again.body).to.equal(202);
    const statuses = new Map<string, number>();
    for (const { status, count: n } of (await gw.gateway.store.status()).events) statuses.set(status, (statuses.get(status) ?? 0) + n);
    expect(Object.fromEntries(statuses)).to.deep.equal({
      routed: count,
      duplicate: stored,
    });
  });
});
