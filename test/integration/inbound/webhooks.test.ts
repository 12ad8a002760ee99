import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { signedHeaders } from '../../helpers/webhook-signing.ts';
import { webhookIdHash } from '../../../src/domain/shipbob-webhook.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, startGateway, type TestConfig, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

// Fresh secrets per run: the searches for them in logs and tables below cannot be fooled by fixtures.
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const OLD_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const UNKNOWN_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const ENV = { TEST_SHIPBOB_WEBHOOK_SECRET: SECRET, TEST_SHIPBOB_WEBHOOK_SECRET_OLD: OLD_SECRET };

const WEBHOOK_GATEWAY = gatewayYaml(`  webhooks:
    shipbob:
      secrets:
        - \${env:TEST_SHIPBOB_WEBHOOK_SECRET}
        - \${env:TEST_SHIPBOB_WEBHOOK_SECRET_OLD}
      maxBodySize: 64KB
`);

// Own connectors and trigger points: this suite does not depend on the default test connectors.
const CONNECTORS: Record<string, string> = {
  'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\n',
  'otm.yaml': 'protocol: soap\nurl: http://127.0.0.1:9/otm\n',
};

const TRIGGER_POINTS = `triggerPoints:
  - name: om-status
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    connectors: [crm]
  - name: shipbob-status
    source: shipbob
    eventCodes: [order.shipped, order.shipment.delivered, order.shipment.tracking_received]
    connectors: [crm]
  - name: shipbob-exceptions
    source: shipbob
    eventCodes: [order.shipment.exception]
    when:
      - field: status
        equals: Exception
    connectors: [otm]
`;

// NOTES §8.6 verbatim example (order.shipment.tracking_received).
const TRACKING = `{
  "event_time": "2025-10-23T15:55:09.3614767Z",
  "order_id": 100000001,
  "reference_id": "TEST101",
  "status": "LabelCreated",
  "tracking": {
    "carrier": "USPS",
    "carrier_service": "ParcelSelect",
    "tracking_id": "9261290306529427911297",
    "tracking_url": "https://tools.usps.com/go/TrackConfirmAction!input.action?tRef=qt&tLc=0&tLabels=9261290306529427911297"
  }
}`;

const WEBHOOK_CONFIG: TestConfig = { gateway: WEBHOOK_GATEWAY, connectors: CONNECTORS, triggerPoints: TRIGGER_POINTS };

interface Sent {
  status: number;
  text: string;
  json: { code?: string; message?: string } | null;
}

let seq = 0;
const newId = (): string => `msg_${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(6).toString('hex')}`;

interface SignOptions {
  id?: string;
  /** Unix seconds; default now. */
  ts?: number;
  secrets?: string | string[];
  topic?: string | null;
}

function headersFor(body: string | Buffer, options: SignOptions = {}): Record<string, string> {
  const signed = signedHeaders(options.secrets ?? SECRET, options.id ?? newId(), options.ts ?? Math.floor(Date.now() / 1000), body);
  const topic = options.topic === undefined ? 'order.shipped' : options.topic;
  return { 'content-type': 'application/json', ...signed, ...(topic === null ? {} : { 'x-webhook-topic': topic }) };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Sent> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Sent['json'] = null;
  try {
    json = text ? (JSON.parse(text) as Sent['json']) : null;
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** A body streamed without Content-Length, stopped once the gateway answers. */
function postChunked(url: string, headers: Record<string, string>, chunks: () => Generator<Buffer>): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const it = chunks();
    const pump = (): void => {
      while (!answered) {
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        sent += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
      req.destroy();
    };
    pump();
  });
}

/** Every row of every table of the gateway's database, as text: a scan for leaked secrets reads the tables themselves. */
async function dumpDatabase(gw: TestGateway): Promise<string> {
  const knex = gw.database.tables();
  const tables =
    gw.database.kind === 'sqlite'
      ? ((await knex.raw("select name from sqlite_master where type = 'table'")) as Array<{ name: string }>).map((r) => r.name)
      : ((await knex.raw('select table_name from information_schema.tables where table_schema = ?', [gw.database.schema ?? ''])) as { rows: Array<{ table_name: string }> }).rows.map(
          (r) => r.table_name,
        );
  expect(tables).to.include('events');
  const parts: string[] = [];
  for (const table of tables) parts.push(JSON.stringify(await knex(table).select()));
  return parts.join('\n');
}

describe(`ShipBob webhooks: signed, stored before the answer, deduped (${backendName()})`, () => {
  let gw: TestGateway;
  const endpoint = () => `${gw.url}/webhooks/shipbob`;
  /** Every stored event, delivery, and webhook refusal, oldest first. */
  const events = async () => (await gw.gateway.store.browse.events({}, { limit: 1000 })).rows.reverse();
  const deliveries = async () => (await gw.gateway.store.browse.deliveries({}, { limit: 1000 })).rows.reverse();
  const rejections = async () => (await gw.gateway.store.browse.audit({ actions: ['webhook.rejected'] }, { limit: 1000 })).rows.reverse();
  /** The result of each refusal: repeats within a minute fold into one record with a count, written at flush. */
  const refusedResults = async (): Promise<string[]> => {
    await gw.gateway.store.audit.flushRefusals();
    const rows = await rejections();
    return rows.flatMap((a) => Array<string>((JSON.parse(a.detail ?? '') as { count: number }).count).fill(a.result)).sort();
  };

  beforeEach(async () => {
    gw = await startGateway(WEBHOOK_CONFIG, { env: ENV });
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('stores a valid webhook as one event (raw body kept), routes it by trigger points, answers 204 after the commit', async () => {
    const res = await post(endpoint(), TRACKING, headersFor(TRACKING, { topic: 'order.shipment.tracking_received' }));
    expect(res.status, res.text).to.equal(204);
    expect(res.text).to.equal('');
    // The answer came after the commit: the rows are there as soon as it arrives.
    const [event, ...more] = await events();
    expect(more).to.have.length(0);
    expect(event).to.include({
      source: 'shipbob',
      eventCode: 'order.shipment.tracking_received',
      orderKey: 'shipbob:100000001',
      status: 'routed',
      pushId: null,
      raw: TRACKING,
    });
    const payload = JSON.parse(event?.payload ?? '');
    // Numbers keep their text; ids above 2^53 would too.
    expect(payload).to.deep.include({ order_id: '100000001', reference_id: 'TEST101', status: 'LabelCreated' });
    expect(payload.tracking.tracking_id).to.equal('9261290306529427911297');
    expect((await deliveries()).map((d) => [d.connector, d.triggerPoint, d.state, d.orderKey, d.eventCode])).to.deep.equal([
      ['crm', 'shipbob-status', 'pending', 'shipbob:100000001', 'order.shipment.tracking_received'],
    ]);
    const audit = (await gw.gateway.store.browse.audit({ eventId: event?.id ?? '' }, { limit: 1000 })).rows;
    expect(audit.map((a) => [a.action, a.direction, a.sourceSystem, a.result])).to.deep.equal([['event.received', 'in', 'shipbob', 'routed']]);
  });

  it('routes on conditions over the JSON payload (status equals Exception)', async () => {
    const exception = JSON.stringify({ id: 5, order_id: 42, status: 'Exception' });
    const onHold = JSON.stringify({ id: 6, order_id: 42, status: 'OnHold' });
    expect((await post(endpoint(), exception, headersFor(exception, { topic: 'order.shipment.exception' }))).status).to.equal(204);
    expect((await post(endpoint(), onHold, headersFor(onHold, { topic: 'order.shipment.exception' }))).status).to.equal(204);
    const rows = await events();
    expect(rows.map((e) => e.status)).to.deep.equal(['routed', 'unrouted']);
    expect((await deliveries()).map((d) => [d.connector, d.orderKey])).to.deep.equal([['otm', 'shipbob:42']]);
  });

  it('a replayed webhook-id (ShipBob retry, new timestamp and signature) is acknowledged, recorded as a duplicate, routed once', async () => {
    const id = newId();
    const now = Math.floor(Date.now() / 1000);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { id, ts: now - 60 }))).status).to.equal(204);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { id, ts: now - 60 }))).status).to.equal(204);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { id, ts: now }))).status).to.equal(204);
    // Concurrent copies of one more message: group commit must still route it once.
    const other = newId();
    const copies = await Promise.all(Array.from({ length: 6 }, () => post(endpoint(), TRACKING, headersFor(TRACKING, { id: other }))));
    expect(copies.map((c) => c.status)).to.deep.equal([204, 204, 204, 204, 204, 204]);

    const rows = await events();
    expect(rows).to.have.length(9);
    const first = await gw.gateway.store.shipbobWebhooks.findByWebhookId(id);
    expect(first.map((e) => e.status)).to.deep.equal(['routed', 'duplicate', 'duplicate']);
    expect(first[1]?.duplicateOf).to.equal(first[0]?.id);
    expect(first.every((e) => e.contentHash === webhookIdHash(id))).to.equal(true);
    const second = await gw.gateway.store.shipbobWebhooks.findByWebhookId(other);
    expect(second.filter((e) => e.status === 'routed')).to.have.length(1);
    expect(second.filter((e) => e.status === 'duplicate')).to.have.length(5);
    expect(await deliveries()).to.have.length(2);
    // The same body under another webhook-id is another message.
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING))).status).to.equal(204);
    expect(await deliveries()).to.have.length(3);
  });

  it('refuses forged, stale, future, altered, incomplete and unknown-secret webhooks: 401 JSON + audit, nothing stored', async () => {
    const body = TRACKING;
    const now = Math.floor(Date.now() / 1000);
    const good = headersFor(body);
    const without = (name: string): Record<string, string> => Object.fromEntries(Object.entries(headersFor(body)).filter(([k]) => k !== name));
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['forged signature', body, { ...good, 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` }, 'no_matching_signature'],
      ['stale timestamp', body, headersFor(body, { ts: now - 5 * 60 - 30 }), 'timestamp_too_old'],
      ['future timestamp', body, headersFor(body, { ts: now + 5 * 60 + 30 }), 'timestamp_too_new'],
      ['body altered after signing', body.replace('LabelCreated', 'Delivered'), headersFor(body), 'no_matching_signature'],
      ['body re-serialised', JSON.stringify(JSON.parse(body)), headersFor(body), 'no_matching_signature'],
      ['missing webhook-id', body, without('webhook-id'), 'missing_headers'],
      ['missing webhook-timestamp', body, without('webhook-timestamp'), 'missing_headers'],
      ['missing webhook-signature', body, without('webhook-signature'), 'missing_headers'],
      ['unknown secret', body, headersFor(body, { secrets: UNKNOWN_SECRET }), 'no_matching_signature'],
      ['signature of another id', body, { ...headersFor(body), 'webhook-id': newId() }, 'no_matching_signature'],
      ['timestamp not a number', body, { ...good, 'webhook-timestamp': 'hello' }, 'malformed_headers'],
    ];
    for (const [name, sentBody, headers, _reason] of cases) {
      const res = await post(endpoint(), sentBody, headers);
      expect(res.status, `${name}: ${res.text}`).to.equal(401);
      expect(res.json, name).to.include({ code: 'AUTH_FAILED' });
      expect(res.json?.message, name).to.be.a('string');
    }
    expect(await events()).to.have.length(0);
    expect(await deliveries()).to.have.length(0);
    expect(await refusedResults()).to.deep.equal(cases.map((c) => c[3]).sort());
    const audit = await rejections();
    for (const a of audit) {
      expect(a).to.include({ direction: 'in', sourceSystem: 'shipbob' });
      const detail = JSON.parse(a.detail ?? '');
      expect(detail.path).to.equal('/webhooks/shipbob');
      expect(detail.reason).to.be.a('string').and.not.equal('');
    }
    // The real message still goes through afterwards.
    expect((await post(endpoint(), body, good)).status).to.equal(204);
  });

  it('accepts a message signed with the old secret during a rotation, and a header with several signatures', async () => {
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { secrets: OLD_SECRET }))).status).to.equal(204);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { secrets: [UNKNOWN_SECRET, SECRET] }))).status).to.equal(204);
    expect(await events()).to.have.length(2);
  });

  it('stores and acknowledges unknown topics, a missing topic (payload topic field, else "unknown") and an empty body', async () => {
    const wro = JSON.stringify({ id: 77, status: 'Arrived' });
    expect((await post(endpoint(), wro, headersFor(wro, { topic: 'wro.box.exploded' }))).status).to.equal(204);
    const withTopic = JSON.stringify({ topic: 'return.created', id: 9 });
    expect((await post(endpoint(), withTopic, headersFor(withTopic, { topic: null }))).status).to.equal(204);
    const bare = JSON.stringify({ id: 10 });
    expect((await post(endpoint(), bare, headersFor(bare, { topic: null }))).status).to.equal(204);
    expect((await post(endpoint(), '', headersFor('', { topic: 'order.shipped' }))).status).to.equal(204);
    const rows = await events();
    expect(rows.map((e) => [e.eventCode, e.status, e.orderKey])).to.deep.equal([
      ['wro.box.exploded', 'unrouted', null],
      ['return.created', 'unrouted', null],
      ['unknown', 'unrouted', null],
      // An empty body is a message too (signed, with a topic): stored and routed like any other.
      ['order.shipped', 'routed', null],
    ]);
    expect(rows[3]).to.include({ raw: '', payload: '{}' });
    expect(gw.logs.some((l) => l.includes('unknown topic') && l.includes('wro.box.exploded'))).to.equal(true);
  });

  it('answers 400 + audit for a validly signed body that is not JSON or not UTF-8, storing nothing', async () => {
    for (const body of ['{"order_id": 1,', 'not json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])]) {
      const res = await post(endpoint(), body, headersFor(body));
      expect(res.status, res.text).to.equal(400);
      expect(res.json).to.include({ code: 'BAD_REQUEST' });
    }
    expect(await events()).to.have.length(0);
    expect(await refusedResults()).to.deep.equal(['invalid_json', 'invalid_json', 'invalid_json']);
  });

  it('answers 413 JSON + audit for a body over maxBodySize, with Content-Length and streamed without it', async () => {
    const big = JSON.stringify({ order_id: 1, filler: 'x'.repeat(70 * 1024) });
    const res = await post(endpoint(), big, headersFor(big));
    expect(res.status).to.equal(413);
    expect(res.json).to.include({ code: 'PAYLOAD_TOO_LARGE' });
    const streamed = await postChunked(endpoint(), { ...headersFor('{}'), 'content-type': 'application/json' }, function* () {
      yield Buffer.from('{"order_id": 1, "filler": "');
      for (let i = 0; i < 100 * 1024; i++) yield Buffer.alloc(1024, 0x61); // up to 100 MB, never all sent
    });
    expect(streamed.status).to.equal(413);
    expect(JSON.parse(streamed.body)).to.include({ code: 'PAYLOAD_TOO_LARGE' });
    expect(streamed.sent).to.be.lessThan(20 * 1024 * 1024);
    expect(await events()).to.have.length(0);
    expect(await refusedResults()).to.deep.equal(['payload_too_large', 'payload_too_large']);
  });

  it('answers 500 STORE_UNAVAILABLE when the store fails, and the retry of the same webhook-id is then stored (not a duplicate)', async () => {
    // The failure is simulated on the test's own connection: the events table is renamed away and back.
    const knex = gw.database.tables();
    const id = newId();
    await knex.raw('alter table events rename to events_away');
    try {
      const res = await post(endpoint(), TRACKING, headersFor(TRACKING, { id }));
      expect(res.status).to.equal(500);
      expect(res.json).to.include({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await knex.raw('alter table events_away rename to events');
    }
    const retry = await post(endpoint(), TRACKING, headersFor(TRACKING, { id }));
    expect(retry.status).to.equal(204);
    expect((await events()).map((e) => e.status)).to.deep.equal(['routed']);
  });

  it("answers 500 STORE_UNAVAILABLE when the gateway's record of the ShipBob order cannot be read, storing nothing", async () => {
    // An order topic asks shipbob_orders whether the gateway asked ShipBob to cancel the order.
    const knex = gw.database.tables();
    const id = newId();
    await knex.raw('alter table shipbob_orders rename to shipbob_orders_away');
    try {
      const res = await post(endpoint(), TRACKING, headersFor(TRACKING, { id }));
      expect(res.status).to.equal(500);
      expect(res.json).to.include({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await knex.raw('alter table shipbob_orders_away rename to shipbob_orders');
    }
    expect(await events()).to.deep.equal([]);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING, { id }))).status).to.equal(204);
    expect((await events()).map((e) => e.status)).to.deep.equal(['routed']);
  });

  it('billing topics are stored and listed for reconciliation with amount, currency, reference and time', async () => {
    const charge = '{"transaction_id":"tx-1","amount":12.50,"currency_code":"USD","charge_date":"2026-01-15","invoice_id":901,"invoice_type":"Shipping","transaction_type":"Charge","reference_id":"98765","reference_type":"Shipment"}';
    const refund = '{"transaction_id":"tx-2","amount":-4.10,"currency_code":"USD","charge_date":"2026-01-16","transaction_type":"Refund","reference_id":"98765","reference_type":"Shipment"}';
    const credit = '{"transaction_id":"tx-3","amount":100,"currency_code":"EUR","charge_date":"2026-01-17","transaction_type":"Credit","reference_id":"T-55","reference_type":"Ticket Number"}';
    const chargeId = newId();
    expect((await post(endpoint(), charge, headersFor(charge, { id: chargeId, topic: 'billing.charge.created' }))).status).to.equal(204);
    expect((await post(endpoint(), refund, headersFor(refund, { topic: 'billing.refund.created' }))).status).to.equal(204);
    expect((await post(endpoint(), credit, headersFor(credit, { topic: 'billing.credit.created' }))).status).to.equal(204);
    expect((await post(endpoint(), charge, headersFor(charge, { id: chargeId, topic: 'billing.charge.created' }))).status).to.equal(204);
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING))).status).to.equal(204);

    const list = await gw.gateway.store.shipbobWebhooks.listBilling();
    expect(list.map((b) => [b.topic, b.amount, b.currency, b.reference, b.referenceType, b.transactionId, b.occurredAt])).to.deep.equal([
      ['billing.charge.created', '12.50', 'USD', '98765', 'Shipment', 'tx-1', '2026-01-15'],
      ['billing.refund.created', '-4.10', 'USD', '98765', 'Shipment', 'tx-2', '2026-01-16'],
      ['billing.credit.created', '100', 'EUR', 'T-55', 'Ticket Number', 'tx-3', '2026-01-17'],
    ]);
    expect(list[0]).to.include({ raw: charge, invoiceId: '901', invoiceType: 'Shipping', transactionType: 'Charge', status: 'unrouted' });
    expect(list[0]?.receivedAt).to.be.a('number').within(Date.now() - 60_000, Date.now() + 1000);
    expect(await gw.gateway.store.shipbobWebhooks.listBilling({ includeDuplicates: true })).to.have.length(4);
    expect((await gw.gateway.store.shipbobWebhooks.listBilling({ topics: ['billing.refund.created', 'order.shipped'] })).map((b) => b.transactionId)).to.deep.equal(['tx-2']);
    expect(await gw.gateway.store.shipbobWebhooks.listBilling({ from: Date.now() + 60_000 })).to.have.length(0);
    const page = await gw.gateway.store.shipbobWebhooks.listBilling({ limit: 2 });
    expect(page).to.have.length(2);
    const next = await gw.gateway.store.shipbobWebhooks.listBilling({ afterId: page[1]?.eventId ?? '' });
    expect(next.map((b) => b.transactionId)).to.deep.equal(['tx-3']);
  });

  it('fuzzed headers and bodies (200 cases: random strings, huge values, many signatures) never crash it', async () => {
    let seed = 20260123;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const printable = (length: number): string => {
      let s = '';
      for (let i = 0; i < length; i++) s += String.fromCharCode(0x21 + rand(94));
      return s;
    };
    const value = (): string => {
      switch (rand(8)) {
        case 0:
          return '';
        case 1:
          return printable(1 + rand(20));
        case 2:
          return printable(2_000 + rand(6_000)); // huge, still under Node's 16 KB header limit
        case 3:
          return String(rand(2 ** 30) * (rand(2) ? 1 : 1000));
        case 4:
          return Array.from({ length: 1 + rand(250) }, () => `v${rand(3)},${randomBytes(32).toString('base64')}`).join(' ');
        case 5:
          return `v1,${printable(rand(60))}`;
        case 6:
          return `${printable(5)} ${printable(5)},${printable(5)}`;
        default:
          return String(Math.floor(Date.now() / 1000) + rand(1000) - 500);
      }
    };
    const statuses = new Map<number, number>();
    let stored = 0;
    for (let i = 0; i < 200; i++) {
      const body = rand(4) === 0 ? printable(rand(300)) : JSON.stringify({ order_id: rand(1000), n: i });
      let headers: Record<string, string>;
      if (i % 10 === 9) {
        // Validly signed, with a fuzzed topic header: stored, whatever the topic says.
        const signedBody = JSON.stringify({ order_id: i });
        headers = { ...headersFor(signedBody), 'x-webhook-topic': value() };
        const res = await post(endpoint(), signedBody, headers);
        expect(res.status, `case ${i}: ${res.text}`).to.equal(204);
        stored++;
      } else {
        headers = { 'content-type': 'application/json' };
        for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-topic']) {
          if (rand(5) !== 0) headers[name] = value();
        }
        const total = Object.values(headers).reduce((n, v) => n + v.length, 0);
        if (total > 15_000) headers['webhook-signature'] = value().slice(0, 2_000);
        const res = await post(endpoint(), body, headers);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([401, 431], `case ${i}: ${res.status} ${res.text.slice(0, 200)}`).to.include(res.status);
        if (res.status === 401) expect(res.json?.code).to.equal('AUTH_FAILED');
      }
    }
    // A header section over Node's limit is answered 431 before the gateway sees it.
    const huge = await post(endpoint(), '{}', { ...headersFor('{}'), 'x-webhook-topic': 'a'.repeat(40_000) }).catch(() => null);
    if (huge) expect(huge.status).to.equal(431);

    expect((await fetch(`${gw.url}/healthz`)).status).to.equal(200);
    const rows = await events();
    expect(rows).to.have.length(stored);
    for (const e of rows) expect(e.eventCode).to.match(/^(unknown|[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99})$/);
    expect(await refusedResults()).to.have.length(statuses.get(401) ?? 0);
    // And a real webhook still works.
    expect((await post(endpoint(), TRACKING, headersFor(TRACKING))).status).to.equal(204);
  });

  it('never writes a secret to the logs or the database', async () => {
    const variety: Array<[string, Record<string, string>]> = [
      [TRACKING, headersFor(TRACKING)],
      [TRACKING, headersFor(TRACKING, { secrets: OLD_SECRET })],
      [TRACKING, headersFor(TRACKING, { secrets: UNKNOWN_SECRET })],
      [TRACKING, headersFor(TRACKING, { ts: 1 })],
      ['{bad', headersFor('{bad')],
      ['{"amount": 1}', headersFor('{"amount": 1}', { topic: 'billing.charge.created' })],
    ];
    for (const [body, headers] of variety) await post(endpoint(), body, headers);
    const logs = gw.logs.join('\n');
    const db = await dumpDatabase(gw);
    expect(logs).to.include('/webhooks/shipbob');
    expect(db).to.include('webhook.rejected');
    for (const secret of [SECRET, OLD_SECRET]) {
      for (const form of [secret, secret.slice('whsec_'.length), JSON.stringify(secret).slice(1, -1)]) {
        expect(logs.includes(form), 'secret in logs').to.equal(false);
        expect(db.includes(form), 'secret in database').to.equal(false);
      }
    }
  });
});

describe(`ShipBob webhooks: configuration and clock (${backendName()})`, () => {
  it('answers 404 JSON when inbound.webhooks.shipbob is not configured', async () => {
    const gw = await startGateway({ connectors: CONNECTORS, triggerPoints: TRIGGER_POINTS });
    try {
      const res = await post(`${gw.url}/webhooks/shipbob`, TRACKING, headersFor(TRACKING));
      expect(res.status).to.equal(404);
      expect(res.json).to.include({ code: 'NOT_FOUND' });
      expect((await gw.gateway.store.browse.events({}, { limit: 1 })).rows).to.have.length(0);
    } finally {
      await gw.stop();
    }
  });

  it("checks the timestamp against the gateway's clock and stamps the event with it", async () => {
    const clock = new ManualClock(Date.UTC(2031, 0, 1, 12, 0, 0));
    const gw = await startGateway(WEBHOOK_CONFIG, { env: ENV, clock });
    try {
      const atGateway = Math.floor(clock.now() / 1000);
      expect((await post(`${gw.url}/webhooks/shipbob`, TRACKING, headersFor(TRACKING, { ts: atGateway - 120 }))).status).to.equal(204);
      const real = await post(`${gw.url}/webhooks/shipbob`, TRACKING, headersFor(TRACKING));
      expect(real.status).to.equal(401);
      const [event] = (await gw.gateway.store.browse.events({}, { limit: 1000 })).rows;
      expect(event?.receivedAt).to.equal(clock.now());
      const [delivery] = (await gw.gateway.store.browse.deliveries({}, { limit: 1000 })).rows;
      expect(delivery?.nextAttemptAt).to.equal(clock.now());
    } finally {
      await gw.stop();
    }
  });
});
