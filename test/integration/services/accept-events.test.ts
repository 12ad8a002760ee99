import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadConfig, type GatewayConfig } from '../../../src/config/load.ts';
import { GatewayError } from '../../../src/domain/errors.ts';
import { createIdGenerator } from '../../../src/domain/ids.ts';
import { createLogger } from '../../../src/log.ts';
import type { EventToAccept } from '../../../src/services/accept-events.ts';
import { createServices, openStore, type Services } from '../../../src/services/index.ts';
import type { Store } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { gatewayYaml, testEnv, writeConfig } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

const HOUR = 3_600_000;

const GATEWAY = gatewayYaml(`    dedupeWindow: 1h
  webhooks:
    shipbob:
      secrets:
        - \${env:TEST_SHIPBOB_WEBHOOK_SECRET}
      dedupeWindow: 2h
`);

const TRIGGER_POINTS = `triggerPoints:
  - name: shipping
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    when:
      - field: StatusCodeNewValue
        in: [AWAIT_SHIPPING]
    connectors: [shipbob]
  - name: status
    eventCodes: [FlineStatusUpdate]
    connectors: [crm, shipbob]
  - name: shipbob-status
    source: shipbob
    eventCodes: [order.shipped]
    connectors: [crm]
  - name: purchase-orders
    source: fusion-po
    eventCodes: [PurchaseOrderChanged]
    connectors: [otm]
`;

/** An OM status update as the SOAP path hands it over (the payload and hash are the test's own). */
function omEvent(order: string, status: string, overrides: Partial<EventToAccept> = {}): EventToAccept {
  const fields = { EventCode: 'FlineStatusUpdate', SourceOrderNumber: order, StatusCodeNewValue: status };
  return {
    eventCode: 'FlineStatusUpdate',
    orderKey: `GPR:${order}`,
    sourceSystem: 'GPR',
    position: 0,
    fields,
    payload: JSON.stringify(fields),
    raw: null,
    dedupeScope: 'oracle-om:/soap/business-events',
    contentHash: `hash-${order}-${status}`,
    ...overrides,
  };
}

/**
 * The one way events are accepted, whatever path they came in by: routed by the trigger points into
 * deliveries, stored with their audit records, recognised as duplicates within their source's dedupe
 * window, a store failure typed STORE_UNAVAILABLE, and the delivery worker woken when there is work.
 */
describe(`AcceptEvents: routing, dedupe, store failures, waking the worker (${backendName()})`, () => {
  let database: TestDatabase;
  let configDir: string;
  let config: GatewayConfig;
  let store: Store;
  let services: Services;
  let clock: ManualClock;
  let wakes: number;

  beforeEach(async () => {
    database = createTestDatabase();
    configDir = writeConfig({ gateway: GATEWAY, triggerPoints: TRIGGER_POINTS });
    config = await loadConfig(configDir, testEnv(database, { TEST_SHIPBOB_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}` }));
    store = openStore(config, { schema: database.schema });
    await store.migrate();
    clock = new ManualClock();
    wakes = 0;
    services = createServices(() => config, {
      store,
      clock,
      logger: createLogger({ level: 'silent', secrets: () => config.secrets }),
      newId: createIdGenerator(() => clock.now()),
      instanceId: 'accept-events-test',
      notify: () => {
        wakes++;
      },
    });
  });
  afterEach(async () => {
    await services.close();
    await store.close();
    rmSync(configDir, { recursive: true, force: true });
    await database.dispose();
  });

  async function deliveriesOf(eventId: string): Promise<Array<[string, string | null, string | null, string]>> {
    const detail = await services.views.showEvent(eventId);
    return (detail?.deliveries ?? []).map((d) => [d.connector, d.triggerPoint, d.orderKey, d.state] as [string, string | null, string | null, string]).sort();
  }

  it('creates one pending delivery per routed connector, with the order key and the first trigger point naming it, and wakes the worker once', async () => {
    const outcome = await services.accept.accept({
      source: 'oracle-om',
      receivedAt: clock.now(),
      requestId: 'req-1',
      events: [omEvent('1', 'AWAIT_SHIPPING'), omEvent('2', 'SHIPPED', { position: 1 }), omEvent('3', 'X', { eventCode: 'HOLD', position: 2 })],
    });
    expect(outcome.pushId).to.equal(null);
    expect(outcome.events.map((e) => [e.eventCode, e.status, e.deliveries])).to.deep.equal([
      ['FlineStatusUpdate', 'routed', 2],
      ['FlineStatusUpdate', 'routed', 2],
      ['HOLD', 'unrouted', 0],
    ]);
    const [first, second, third] = outcome.events.map((e) => e.id);
    expect(await deliveriesOf(first ?? '')).to.deep.equal([
      ['crm', 'status', 'GPR:1', 'pending'],
      ['shipbob', 'shipping', 'GPR:1', 'pending'],
    ]);
    expect(await deliveriesOf(second ?? '')).to.deep.equal([
      ['crm', 'status', 'GPR:2', 'pending'],
      ['shipbob', 'status', 'GPR:2', 'pending'],
    ]);
    expect(await deliveriesOf(third ?? '')).to.deep.equal([]);
    const event = await services.views.showEvent(first ?? '');
    expect(event?.event).to.include({ source: 'oracle-om', orderKey: 'GPR:1', sourceSystem: 'GPR', status: 'routed', position: 0 });
    expect(event?.audit.map((a) => [a.action, a.result, a.requestId])).to.deep.equal([['event.received', 'routed', 'req-1']]);
    expect(wakes).to.equal(1);
  });

  it('routes only to the scoped connector, and does not wake the worker when nothing is to be delivered', async () => {
    const scoped = await services.accept.accept({
      source: 'oracle-om',
      receivedAt: clock.now(),
      connectorScope: 'crm',
      requestId: null,
      events: [omEvent('4', 'AWAIT_SHIPPING')],
    });
    expect(await deliveriesOf(scoped.events[0]?.id ?? '')).to.deep.equal([['crm', 'status', 'GPR:4', 'pending']]);
    expect(wakes).to.equal(1);

    const unrouted = await services.accept.accept({
      source: 'oracle-om',
      receivedAt: clock.now(),
      connectorScope: 'otm',
      requestId: null,
      events: [omEvent('5', 'AWAIT_SHIPPING')],
    });
    expect(unrouted.events.map((e) => e.status)).to.deep.equal(['unrouted']);
    expect(wakes).to.equal(1);
  });

  it('routes each source by its own trigger points', async () => {
    const webhook = await services.accept.accept({
      source: 'shipbob',
      receivedAt: clock.now(),
      requestId: null,
      events: [{ eventCode: 'order.shipped', orderKey: 'shipbob:7', sourceSystem: null, position: 0, fields: {}, payload: '{}', raw: '{}', dedupeScope: 'shipbob-webhook', contentHash: 'msg_1' }],
    });
    const po = await services.accept.accept({
      source: 'fusion-po',
      receivedAt: clock.now(),
      requestId: null,
      events: [{ eventCode: 'PurchaseOrderChanged', orderKey: 'PO-1', sourceSystem: null, position: 3, fields: {}, payload: '{}', raw: null, dedupeScope: 'fusion-po', contentHash: 'po-1' }],
    });
    expect(await deliveriesOf(webhook.events[0]?.id ?? '')).to.deep.equal([['crm', 'shipbob-status', 'shipbob:7', 'pending']]);
    expect(await deliveriesOf(po.events[0]?.id ?? '')).to.deep.equal([['otm', 'purchase-orders', 'PO-1', 'pending']]);
    expect(wakes).to.equal(2);
  });

  it("recognises a duplicate within its source's dedupe window (no delivery, no wake-up), and takes it again once the window has passed", async () => {
    const accept = (events: EventToAccept[]) => services.accept.accept({ source: 'oracle-om', receivedAt: clock.now(), requestId: null, events });
    const [original] = (await accept([omEvent('6', 'SHIPPED')])).events;
    expect(wakes).to.equal(1);

    clock.advance(HOUR - 1);
    const again = await accept([omEvent('6', 'SHIPPED')]);
    expect(again.events.map((e) => [e.status, e.duplicateOf, e.deliveries])).to.deep.equal([['duplicate', original?.id, 0]]);
    expect(await deliveriesOf(again.events[0]?.id ?? '')).to.deep.equal([]);
    expect(wakes).to.equal(1);

    // The SOAP window is 1h; the webhook window (2h) is another source's and does not apply.
    clock.advance(2);
    const later = await accept([omEvent('6', 'SHIPPED')]);
    expect(later.events.map((e) => [e.status, e.deliveries])).to.deep.equal([['routed', 2]]);
    expect(wakes).to.equal(2);
  });

  it('adds events to a batch one at a time and stores them with the push envelope; a nonce used before is AUTH_FAILED', async () => {
    const push = {
      path: '/soap/business-events',
      soapVersion: '1.1',
      contentType: 'text/xml',
      headers: { 'content-type': 'text/xml' },
      raw: '<Envelope/>',
      rawSize: 11,
      authMethod: 'ws-security',
      authUser: 'om',
      remoteAddr: '127.0.0.1',
    };
    const nonce = { key: 'nonce-1', expiresAt: clock.now() + HOUR };
    const batch = services.accept.begin({ source: 'oracle-om', receivedAt: clock.now(), connectorScope: null });
    batch.add(omEvent('8', 'SHIPPED'));
    batch.add(omEvent('9', 'SHIPPED', { position: 1 }));
    expect(batch.size).to.equal(2);
    const outcome = await batch.submit({ push, nonce, requestId: 'req-8' });
    expect(outcome.pushId).to.be.a('string');
    const event = await services.views.showEvent(outcome.events[1]?.id ?? '');
    expect(event?.push).to.include({ id: outcome.pushId, path: '/soap/business-events', eventCount: 2, authUser: 'om', requestId: 'req-8', raw: '<Envelope/>' });
    expect(event?.event).to.include({ pushId: outcome.pushId, position: 1 });
    await expectRejected(batch.submit({ requestId: null }), (err) => expect(err).to.not.be.instanceOf(GatewayError));

    const replay = services.accept.begin({ source: 'oracle-om', receivedAt: clock.now() });
    replay.add(omEvent('10', 'SHIPPED'));
    await expectRejected(replay.submit({ push, nonce, requestId: 'req-9' }), (err) => {
      expect(err).to.be.instanceOf(GatewayError);
      expect(err).to.include({ code: 'AUTH_FAILED', party: 'Client' });
    });
    expect((await services.views.listEvents({ orderKey: 'GPR:10' }, { limit: 10 })).items).to.deep.equal([]);
    expect(wakes).to.equal(1);
  });

  it('a store failure is STORE_UNAVAILABLE with nothing stored and no wake-up; the same events are accepted once the store is back', async () => {
    // The failure is simulated on the test's own connection: the events table is renamed away and back.
    await database.tables().schema.renameTable('events', 'events_away');
    const input = { source: 'shipbob' as const, receivedAt: clock.now(), requestId: 'req-10', events: [{ eventCode: 'order.shipped', orderKey: 'shipbob:11', sourceSystem: null, position: 0, fields: {}, payload: '{}', raw: '{}', dedupeScope: 'shipbob-webhook', contentHash: 'msg_11' }] };
    try {
      await expectRejected(services.accept.accept(input), (err) => {
        expect(err).to.be.instanceOf(GatewayError);
        expect(err).to.include({ code: 'STORE_UNAVAILABLE', party: 'Server', status: 500, message: 'the webhook could not be stored; send it again later' });
        expect((err as GatewayError).cause).to.be.instanceOf(Error);
      });
    } finally {
      await database.tables().schema.renameTable('events_away', 'events');
    }
    expect(wakes).to.equal(0);
    const retry = await services.accept.accept(input);
    expect(retry.events.map((e) => [e.status, e.deliveries])).to.deep.equal([['routed', 1]]);
    expect(wakes).to.equal(1);
  });
});

async function expectRejected(promise: Promise<unknown>, check: (err: unknown) => void): Promise<void> {
  let failed = false;
  try {
    await promise;
  } catch (err) {
    failed = true;
    check(err);
  }
  expect(failed, 'expected a rejection').to.equal(true);
}
