import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Delivery } from '../../src/domain/delivery.ts';
import type { StoredEvent } from '../../src/domain/event.ts';
import { main } from '../../src/main.ts';
import { startFusionSandboxServer, type FusionRecord, type RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import { backendName } from '../helpers/backend.ts';
import { gatewayYaml, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { loadShipBobSpec, skipWithoutShipBobSpec } from '../helpers/shipbob-openapi.ts';
import { until } from '../helpers/until.ts';
import { signedHeaders } from '../helpers/webhook-signing.ts';

/**
 * Every ShipBob milestone back to Fusion, with the example config's own connectors, trigger points,
 * templates and value maps (config/), the connectors pointed at an emulated Fusion of the test's.
 * Webhooks are signed and sent here, as ShipBob sends them: topic in x-webhook-topic, the shipment
 * (Orders.ShipmentViewModel) as the body of the shipment topics.
 */

const CONFIG = fileURLToPath(new URL('../../config', import.meta.url));
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const FUSION_PASSWORD = 'fusion-pw-milestones-41c7';
const ENV = { TEST_WEBHOOK_SECRET: SECRET, FUSION_PASSWORD };
const HOLDS_PATH = '/sandbox/fusion/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub/action/applyHold';
const RECEIPTS_PATH = '/sandbox/fusion/fscmRestApi/resources/11.13.18.05/receivingReceiptRequests';

/** The example's Fusion connectors, aimed at the test's emulated Fusion. */
function exampleConnectors(fusionUrl: string): Record<string, string> {
  const files = readdirSync(join(CONFIG, 'connectors')).filter((f) => /^fusion.*\.yaml$/.test(f));
  expect(files).to.include.members(['fusion.yaml', 'fusion-holds.yaml', 'fusion-receipts.yaml']);
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(CONFIG, 'connectors', f), 'utf8').replace('${server:url}/sandbox/fusion', fusionUrl)]));
}

interface TriggerPoint {
  source?: string;
  eventCodes: string[];
}

/** The example's trigger points for ShipBob webhooks, as written in config/trigger-points.yaml. */
function exampleShipBobPoints(): TriggerPoint[] {
  const all = parseYaml(readFileSync(join(CONFIG, 'trigger-points.yaml'), 'utf8')) as { triggerPoints: TriggerPoint[] };
  return all.triggerPoints.filter((p) => p.source === 'shipbob');
}

function exampleMappings(): Record<string, string> {
  return Object.fromEntries(readdirSync(join(CONFIG, 'mappings')).map((f) => [f, readFileSync(join(CONFIG, 'mappings', f), 'utf8')]));
}

type StatusDetail = { id: number; name: string; description: string; inventory_id: null; exception_fulfillment_center_id: number | null; extra_information: null };

/** A ShipBob shipment (Orders.ShipmentViewModel) of order `orderId`, 2 units of one product. */
function shipment(orderId: number, reference: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: orderId + 100_000_000,
    order_id: orderId,
    reference_id: reference,
    recipient: { name: 'Jamie Rivera', full_name: 'Jamie Rivera', address: { address1: '1200 Harbor Way', city: 'Oakland', state: 'CA', zip_code: '94607', country: 'US' }, email: null, phone_number: null },
    created_date: '2026-12-01T09:00:00+00:00',
    last_update_at: '2026-12-02T10:00:00+00:00',
    last_tracking_update_at: null,
    status: 'Processing',
    status_details: [],
    location: { id: 156, name: 'Cicero (IL)' },
    tracking: null,
    products: [
      {
        id: 41,
        reference_id: 'TShirtBlueM',
        name: 'T-Shirt Blue M',
        sku: 'TShirtBlueM',
        inventory_items: [{ id: 77, name: 'T-Shirt Blue M', quantity: 2, quantity_committed: 2, lot: null, expiration_date: null, serial_numbers: [], is_dangerous_goods: false }],
      },
    ],
    delivery_date: null,
    ...over,
  };
}

const ON_HOLD: StatusDetail = { id: 16, name: 'InvalidAddress', description: 'Address could not be validated', inventory_id: null, exception_fulfillment_center_id: null, extra_information: null };
const OUT_OF_STOCK: StatusDetail = { id: 2, name: 'OutOfStock', description: 'Out of stock', inventory_id: null, exception_fulfillment_center_id: 156, extra_information: null };

describe(`ShipBob milestones → Fusion write-backs, the example config (${backendName()})`, function () {
  this.timeout(60_000);
  let fusion: RunningFusionSandbox;
  let gw: TestGateway;
  let seq = 0;

  before(async () => {
    fusion = await startFusionSandboxServer({ username: 'omgw.integration', password: FUSION_PASSWORD });
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 50ms' }).replace(
          'logging:',
          `  webhooks:\n    shipbob:\n      secrets: ['\${env:TEST_WEBHOOK_SECRET}']\nlogging:`,
        ),
        connectors: exampleConnectors(fusion.url),
        triggerPoints: stringifyYaml({ triggerPoints: exampleShipBobPoints() }),
        mappings: exampleMappings(),
      },
      { env: ENV },
    );
  });
  after(async () => {
    await gw?.stop();
    await fusion?.close();
  });

  async function send(topic: string, body: string | Record<string, unknown>, secret = SECRET): Promise<number> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const id = `msg_milestone_${Date.now().toString(36)}_${seq++}`;
    const res = await fetch(`${gw.url}/webhooks/shipbob`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-topic': topic, ...signedHeaders(secret, id, Math.floor(Date.now() / 1000), text) },
      body: text,
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** The stored event of this order and topic once each of its deliveries is delivered or parked. */
  async function settled(orderId: number, topic: string): Promise<{ event: StoredEvent; deliveries: Delivery[] }> {
    let found: { event: StoredEvent; deliveries: Delivery[] } | null = null;
    await until(`the ${topic} webhook of order ${orderId} to settle`, async () => {
      const [event] = (await gw.gateway.store.browse.events({ orderKey: `shipbob:${orderId}`, eventCodes: [topic] }, { limit: 10 })).rows;
      if (!event) return false;
      const deliveries = await gw.gateway.store.browse.deliveriesOfEvents([event.id]);
      found = { event, deliveries };
      return deliveries.every((d) => d.state === 'delivered' || d.state === 'parked');
    });
    if (!found) throw new Error('unreachable');
    return found;
  }

  /** What Fusion recorded at `path` since `from` (an index into received()). */
  function receivedSince(from: number, path: string): FusionRecord[] {
    return fusion.received().slice(from).filter((r) => r.path === path);
  }

  it("routes every order topic of ShipBob's 2026-01 webhooks, which have no tracking topic", function () {
    skipWithoutShipBobSpec(this);
    const schema = loadShipBobSpec().components.schemas['Webhooks.Topics'] as { enum: string[] };
    const orderTopics = schema.enum.filter((t) => t.startsWith('order.'));
    expect(orderTopics).to.have.members(['order.shipped', 'order.shipment.delivered', 'order.shipment.exception', 'order.shipment.on_hold', 'order.shipment.cancelled']);
    expect(exampleShipBobPoints().flatMap((p) => p.eventCodes)).to.have.members(orderTopics);
    expect(schema.enum.filter((t) => t.includes('tracking'))).to.deep.equal([]);
  });

  it('holds the fulfilment line in Order Management when ShipBob puts its shipment on hold, in exception or cancels it', async () => {
    const from = fusion.received().length;
    const cases = [
      { topic: 'order.shipment.on_hold', orderId: 100_001, line: '300100545547301', status: 'OnHold', details: [ON_HOLD], code: 'SHIPBOB_ON_HOLD', comments: ' is OnHold (InvalidAddress: Address could not be validated)' },
      { topic: 'order.shipment.exception', orderId: 100_002, line: '300100545547302', status: 'Exception', details: [OUT_OF_STOCK], code: 'SHIPBOB_EXCEPTION', comments: ' is Exception (OutOfStock: Out of stock)' },
      { topic: 'order.shipment.cancelled', orderId: 100_003, line: '300100545547303', status: 'Cancelled', details: [], code: 'SHIPBOB_CANCELLED', comments: ' is Cancelled' },
    ];
    for (const c of cases) {
      expect(await send(c.topic, shipment(c.orderId, `LEG:SO-501:${c.line}`, { status: c.status, status_details: c.details }))).to.equal(204);
      const { event, deliveries } = await settled(c.orderId, c.topic);
      expect(event.status).to.equal('routed');
      expect(deliveries.map((d) => [d.connector, d.state])).to.deep.equal([['fusion-holds', 'delivered']]);
    }
    const holds = receivedSince(from, HOLDS_PATH);
    expect(holds.map((r) => r.body)).to.deep.equal(
      cases.map((c) => ({
        holdRequests: [
          {
            SourceTransactionSystem: 'LEG',
            SourceTransactionId: 'SO-501',
            FulfillLineId: c.line,
            HoldCode: c.code,
            HoldComments: `ShipBob shipment ${c.orderId + 100_000_000} of order ${c.orderId}${c.comments}`,
          },
        ],
      })),
    );
    // What a planner sees on the line: the hold.
    const res = await fetch(`${fusion.url}/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub/LEG:SO-501/child/lines/300100545547302/child/holds`, {
      headers: { authorization: `Basic ${Buffer.from(`omgw.integration:${FUSION_PASSWORD}`).toString('base64')}` },
    });
    const lineHolds = (await res.json()) as { items: Array<{ HoldCode: string }> };
    expect(lineHolds.items.map((h) => h.HoldCode)).to.deep.equal(['SHIPBOB_EXCEPTION']);
  });

  it('receives a delivered shipment in Fusion, against the fulfilment line or the purchase order schedule it was made for', async () => {
    const from = fusion.received().length;
    expect(await send('order.shipment.delivered', shipment(100_011, 'LEG:SO-502:300100545547311', { status: 'Completed', delivery_date: '2026-12-03T15:20:00+00:00' }))).to.equal(204);
    expect((await settled(100_011, 'order.shipment.delivered')).deliveries.map((d) => [d.connector, d.state])).to.deep.equal([['fusion-receipts', 'delivered']]);
    expect(await send('order.shipment.delivered', shipment(100_012, 'PO-1001:300100700000011', { status: 'Completed', delivery_date: '2026-12-04T09:00:00+00:00' }))).to.equal(204);
    expect((await settled(100_012, 'order.shipment.delivered')).deliveries.map((d) => [d.connector, d.state])).to.deep.equal([['fusion-receipts', 'delivered']]);

    expect(receivedSince(from, RECEIPTS_PATH).map((r) => r.body)).to.deep.equal([
      {
        ShipmentNumber: '100011',
        Comments: 'ShipBob shipment 100100011 of order 100011 delivered',
        lines: [{ TransactionType: 'RECEIVE', AutoTransactCode: 'DELIVER', Quantity: 2, TransactionDate: '2026-12-03T15:20:00+00:00', SourceOrderKey: 'LEG:SO-502', FulfillLineId: '300100545547311' }],
      },
      {
        ShipmentNumber: '100012',
        Comments: 'ShipBob shipment 100100012 of order 100012 delivered',
        lines: [
          {
            TransactionType: 'RECEIVE',
            AutoTransactCode: 'DELIVER',
            Quantity: 2,
            TransactionDate: '2026-12-04T09:00:00+00:00',
            ReceiptSourceCode: 'VENDOR',
            SourceDocumentCode: 'PO',
            DocumentNumber: 'PO-1001',
            POLineLocationId: '300100700000011',
          },
        ],
      },
    ]);
  });

  it('stores, and writes nowhere, a hold, an exception or a cancellation of an order made for a purchase order (Fusion has no place for them)', async () => {
    const from = fusion.received().length;
    const topics = ['order.shipment.on_hold', 'order.shipment.exception', 'order.shipment.cancelled'];
    for (const [i, topic] of topics.entries()) {
      expect(await send(topic, shipment(100_021 + i, 'PO-1002:300100700000021', { status: 'OnHold', status_details: [ON_HOLD] }))).to.equal(204);
      const { event, deliveries } = await settled(100_021 + i, topic);
      expect([event.status, deliveries.length]).to.deep.equal(['unrouted', 0]);
    }
    expect(fusion.received().length).to.equal(from);
  });

  it('stores every milestone of an order the gateway did not create without writing it to Fusion, as it does order.shipped', async () => {
    const from = fusion.received().length;
    const foreign = (orderId: number): Record<string, unknown> => shipment(orderId, `shopify-${orderId}`, { status: 'Completed', delivery_date: '2026-12-03T15:20:00+00:00' });
    const webhooks: Array<[string, Record<string, unknown>]> = [
      ['order.shipped', { id: 100_030, reference_id: 'shopify-100030', order_number: '#1030', status: 'Fulfilled', tags: [], shipments: [foreign(100_030)] }],
      ['order.shipment.delivered', foreign(100_031)],
      ['order.shipment.on_hold', foreign(100_032)],
      ['order.shipment.exception', foreign(100_033)],
      ['order.shipment.cancelled', foreign(100_034)],
    ];
    for (const [i, [topic, body]] of webhooks.entries()) {
      expect(await send(topic, body), topic).to.equal(204);
      const { event, deliveries } = await settled(100_030 + i, topic);
      expect([topic, event.status, deliveries.length]).to.deep.equal([topic, 'unrouted', 0]);
    }
    expect(fusion.received().length).to.equal(from);
  });

  it('refuses a malformed or unsigned milestone webhook as it refuses order.shipped, and a shipment Fusion cannot take parks like a shipped order it cannot take', async () => {
    const from = fusion.received().length;
    const stored = async (): Promise<number> => (await gw.gateway.store.browse.events({ sources: ['shipbob'] }, { limit: 1000 })).rows.length;
    const before = await stored();
    for (const topic of ['order.shipped', 'order.shipment.on_hold', 'order.shipment.delivered']) {
      expect(await send(topic, '{"id": 100040, "reference_id": "LEG:SO-503:3001'), topic).to.equal(400);
      expect(await send(topic, shipment(100_040, 'LEG:SO-503:3001'), `whsec_${randomBytes(24).toString('base64')}`), topic).to.equal(401);
    }
    expect(await stored()).to.equal(before);

    // Signed and JSON, but nothing shipped in it: Fusion refuses a receipt, like a notice, without a quantity.
    const empty = { products: [], status: 'Completed', delivery_date: '2026-12-03T15:20:00+00:00' };
    expect(await send('order.shipped', { id: 100_041, reference_id: 'LEG:SO-503:300100545547341', order_number: '#1041', tags: [], shipments: [shipment(100_041, 'LEG:SO-503:300100545547341', empty)] })).to.equal(204);
    expect(await send('order.shipment.delivered', shipment(100_042, 'LEG:SO-503:300100545547342', empty))).to.equal(204);
    const [shipped] = (await settled(100_041, 'order.shipped')).deliveries;
    const [delivered] = (await settled(100_042, 'order.shipment.delivered')).deliveries;
    for (const d of [shipped, delivered]) {
      expect(d?.state).to.equal('parked');
      expect(d?.parkedReason).to.equal(shipped?.parkedReason);
    }
    const attempts = await gw.gateway.store.browse.attemptsOf([shipped?.id ?? '', delivered?.id ?? '']);
    expect(attempts.map((a) => [a.responseStatus, a.responseSnippet?.includes('lines[0].Quantity is required.')])).to.deep.equal([
      [400, true],
      [400, true],
    ]);
    expect(fusion.received().length).to.equal(from);
  });

  it('takes the hold code from mappings/shipbob-holds.yaml: a topic it lacks parks, and an entry, a reload and a replay write the hold', async () => {
    const mapFile = join(gw.configDir, 'mappings', 'shipbob-holds.yaml');
    const example = readFileSync(mapFile, 'utf8');
    try {
      writeFileSync(mapFile, 'kind: status-map\nentries:\n  order.shipment.on_hold: SHIPBOB_ON_HOLD\n');
      expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
      expect(await send('order.shipment.exception', shipment(100_051, 'LEG:SO-504:300100545547351', { status: 'Exception', status_details: [OUT_OF_STOCK] }))).to.equal(204);
      const [parked] = (await settled(100_051, 'order.shipment.exception')).deliveries;
      expect([parked?.state, parked?.parkedReason, parked?.lastError]).to.deep.equal([
        'parked',
        'transform_error',
        'transform error: no entry for "order.shipment.exception" in mappings/shipbob-holds.yaml',
      ]);

      writeFileSync(mapFile, 'kind: status-map\nentries:\n  order.shipment.on_hold: SHIPBOB_ON_HOLD\n  order.shipment.exception: CREDIT_CHECK\n');
      expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
      const from = fusion.received().length;
      const out: string[] = [];
      const code = await main(['replay', '--id', parked?.id ?? '', '--reason', 'hold code mapped', '--config', gw.configDir], { out: (t) => out.push(t), err: (t) => out.push(t) }, testEnv(gw.database, ENV));
      expect(code, out.join('\n')).to.equal(0);
      gw.gateway.worker?.notify();
      await until('the replayed hold to reach Fusion', () => receivedSince(from, HOLDS_PATH).length === 1);
      const body = receivedSince(from, HOLDS_PATH)[0]?.body as { holdRequests: Array<{ HoldCode: string; FulfillLineId: string }> };
      expect(body.holdRequests.map((h) => [h.HoldCode, h.FulfillLineId])).to.deep.equal([['CREDIT_CHECK', '300100545547351']]);
    } finally {
      writeFileSync(mapFile, example);
      await gw.gateway.reload();
    }
  });
});
