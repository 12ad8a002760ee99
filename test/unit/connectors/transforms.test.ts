import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { buildSchemas, type ConnectorConfig } from '../../../src/config/schema.ts';
import { createTransformRegistry, type TransformRegistry } from '../../../src/connectors/transforms/index.ts';
import { BUILTIN_TRANSFORMS, loadMappings, validateTransformName, type MappingSet } from '../../../src/config/mappings.ts';
import { TransformError, type Transform, type TransformInput, type TransformOutput } from '../../../src/connectors/types.ts';
import type { XmlRecord } from '../../../src/domain/event.ts';
import { parsePush } from '../../../src/inbound/soap/envelope.ts';
import { parseJsonRecord } from '../../../src/inbound/webhooks/json.ts';
import { chunksOf } from '../../helpers/chunks.ts';
import { mappingsFrom } from '../../helpers/mappings.ts';

// ---------------------------------------------------------------------------------------------------------
// Parsed events as src/inbound/soap/envelope.ts builds them (fields per specs/oracle-om/NOTES.md §2.3):
// OrderLine / OrderFulfillmentLine always arrays, xsi:nil as null, a repeated leaf as [{ '#text': v }].

function flineStatusUpdate(): XmlRecord {
  return {
    EventCode: 'FlineStatusUpdate',
    SourceOrderSystem: 'LEG_OPS',
    SourceOrderId: '300000123456789012',
    SourceOrderNumber: 'R13-10045',
    StatusCodeOldValue: 'OPEN',
    StatusCodeNewValue: 'PROCESSING',
    OrderLine: [
      {
        OrchestrationOrderLineNumber: '1',
        StatusCodeOldValue: 'AWAIT_SHIPPING',
        StatusCodeNewValue: 'SHIPPED',
        OrderFulfillmentLine: [
          {
            SourceOrderScheduleId: '1',
            OrchestrationOrderLineId: '300000123456790001',
            FulfillmentOrderLineId: '300000123456791001',
            StatusCodeOldValue: 'AWAIT_SHIPPING',
            StatusCodeNewValue: 'SHIPPED',
          },
          {
            SourceOrderScheduleId: '2',
            OrchestrationOrderLineId: '300000123456790001',
            FulfillmentOrderLineId: '300000123456791002',
            StatusCodeOldValue: null,
            StatusCodeNewValue: 'BACKORDERED',
          },
        ],
      },
      {
        OrchestrationOrderLineNumber: '2',
        StatusCodeOldValue: 'AWAIT_SCHEDULING',
        StatusCodeNewValue: 'AWAIT_SHIPPING',
        OrderFulfillmentLine: [
          {
            SourceOrderScheduleId: '1',
            OrchestrationOrderLineId: '300000123456790002',
            FulfillmentOrderLineId: '300000123456791003',
            StatusCodeOldValue: 'SCHEDULED',
            StatusCodeNewValue: 'AWAIT_SHIPPING',
          },
        ],
      },
    ],
  };
}

/** HOLD, with a repeated HoldComments leaf (one of them nil) and a comment that needs escaping. */
function hold(): XmlRecord {
  return {
    EventCode: 'HOLD',
    SourceOrderSystem: 'LEG_OPS',
    SourceOrderId: '300000123456789055',
    SourceOrderNumber: 'R13-10046',
    OrchestrationOrderNumber: '10046',
    OrchestrationOrderId: '300000123456789056',
    CustomerId: '300000001234567',
    HoldCode: 'CREDIT_CHECK',
    HoldComments: [{ '#text': 'Credit limit < order total & review' }, { '#text': 'second comment' }, { '#text': null }],
    OrderLine: [
      {
        OrchestrationOrderLineId: '300000123456790010',
        OrchestrationOrderLineNumber: '1',
        HoldCode: 'CREDIT_CHECK',
        HoldComments: 'line hold',
        SourceOrderLineId: '1',
        SourceOrderLineNumber: '1',
        OrderFulfillmentLine: [
          {
            SourceOrderScheduleId: '1',
            FulfillmentOrderLineId: '300000123456791010',
            FulfillmentOrderLineNumber: '1',
            HoldCode: 'SHIP_HOLD',
            HoldComments: null,
            ItemId: '300000009988776',
            InventoryOrganizationId: '300000000204',
          },
        ],
      },
    ],
  };
}

/** JEOPARDY: the header has no fields; the event code and order sit on the line. */
function jeopardy(): XmlRecord {
  return {
    OrderLine: [
      {
        EventCode: 'JEOPARDY',
        OrchestrationOrderLineId: '300000123456790005',
        OrchestrationOrderLineNumber: '1',
        SourceOrderSystem: 'LEG_OPS',
        SourceOrderId: '300000123456789077',
        OrderFulfillmentLine: [
          { FulfillmentOrderLineId: '300000123456791005', ItemId: '300000009988776', JeopardyPriority: 'HIGH' },
        ],
      },
    ],
  };
}

const schemas = buildSchemas({ env: {}, baseDir: tmpdir() });

function connector(overrides: Record<string, unknown> = {}): ConnectorConfig {
  return schemas.connector.parse({ name: 'crm', protocol: 'rest', url: 'https://crm.example.com/api', ...overrides });
}

const RECEIVED_AT = Date.UTC(2026, 0, 15, 9, 30, 0, 123);

function input(payload: XmlRecord, event: Partial<TransformInput['event']> = {}, delivery: Partial<TransformInput['delivery']> = {}): TransformInput {
  return {
    event: {
      id: 'evt_01JH7Q',
      source: 'oracle-om',
      eventCode: 'FlineStatusUpdate',
      orderKey: 'LEG_OPS:R13-10045',
      receivedAt: RECEIVED_AT,
      payload,
      ...event,
    },
    delivery: { id: 'dlv_01JH7R', idempotencyKey: 'dlv_01JH7R', attempt: 1, ...delivery },
    connector: connector(),
  };
}

function mustGet(registry: TransformRegistry, name: string): Transform {
  const t = registry.get(name);
  if (t === null) throw new Error(`no transform ${name}`);
  return t;
}

async function run(registry: TransformRegistry, name: string, i: TransformInput): Promise<TransformOutput> {
  return await mustGet(registry, name)(i);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const nsParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, removeNSPrefix: false });

// ---------------------------------------------------------------------------------------------------------

const registry = createTransformRegistry({ mappings: await mappingsFrom() });

describe('connectors/transforms', () => {

  describe('registry', () => {
    it('has the built-ins, and null for unknown names and missing templates', () => {
      expect(registry.names()).to.deep.equal([...BUILTIN_TRANSFORMS]);
      for (const name of BUILTIN_TRANSFORMS) expect(registry.get(name)).to.be.a('function');
      expect(registry.get('csv')).to.equal(null);
      expect(registry.get('jsonata:nope')).to.equal(null);
      expect(registry.get('jsonata:')).to.equal(null);
    });
  });

  describe('canonical-json', () => {
    it('FlineStatusUpdate: envelope fields, lines and fulfilment lines as arrays, nil as null', async () => {
      const out = await run(registry, 'canonical-json', input(flineStatusUpdate()));
      expect(out.contentType).to.equal('application/json');
      const body = JSON.parse(out.body) as Record<string, unknown>;
      expect(Object.keys(body)).to.deep.equal(['eventId', 'source', 'eventCode', 'orderKey', 'receivedAt', 'deliveryId', 'data']);
      expect(body.eventId).to.equal('evt_01JH7Q');
      expect(body.source).to.equal('oracle-om');
      expect(body.eventCode).to.equal('FlineStatusUpdate');
      expect(body.orderKey).to.equal('LEG_OPS:R13-10045');
      expect(body.receivedAt).to.equal('2026-01-15T09:30:00.123Z');
      expect(body.deliveryId).to.equal('dlv_01JH7R');
      // Unchanged: no wrappers in this event, ids stay strings.
      expect(body.data).to.deep.equal(flineStatusUpdate());
      const data = body.data as { OrderLine: Array<{ OrderFulfillmentLine: Array<Record<string, unknown>> }> };
      expect(data.OrderLine[0]?.OrderFulfillmentLine[1]?.StatusCodeOldValue).to.equal(null);
      expect(data.OrderLine[1]?.OrderFulfillmentLine).to.have.length(1);
    });

    it('HOLD: a repeated leaf becomes an array of strings (and nulls)', async () => {
      const out = await run(registry, 'canonical-json', input(hold(), { eventCode: 'HOLD', orderKey: 'LEG_OPS:R13-10046' }));
      const data = (JSON.parse(out.body) as { data: Record<string, unknown> }).data;
      expect(data.HoldComments).to.deep.equal(['Credit limit < order total & review', 'second comment', null]);
      expect(data.CustomerId).to.equal('300000001234567');
      const line = (data.OrderLine as Array<Record<string, unknown>>)[0];
      expect(line?.HoldComments).to.equal('line hold');
      expect((line?.OrderFulfillmentLine as Array<Record<string, unknown>>)[0]?.HoldComments).to.equal(null);
    });

    it('data: unwraps #text wrappers at any depth, keeps mixed content and __proto__ as plain keys', async () => {
      const payload: XmlRecord = JSON.parse(
        '{"A":[{"#text":"x"},{"#text":"y"}],"B":{"#text":"only"},"C":{"#text":"mixed","D":"d"},"E":[{"F":"1"},{"F":"2"}],"G":{},"__proto__":"p"}',
      ) as XmlRecord;
      const out = await run(registry, 'canonical-json', input(payload));
      // An element called __proto__ written as a key shows that it stayed an own property.
      expect(out.body).to.contain('"__proto__":"p"');
      const clean = (JSON.parse(out.body) as { data: Record<string, unknown> }).data;
      expect(clean.A).to.deep.equal(['x', 'y']);
      expect(clean.B).to.equal('only');
      expect(clean.C).to.deep.equal({ '#text': 'mixed', D: 'd' });
      expect(clean.E).to.deep.equal([{ F: '1' }, { F: '2' }]);
      expect(clean.G).to.deep.equal({});
    });

    it('data: turns the wrappers of a ShipBob webhook record back into values, nested arrays kept as #array', async () => {
      const record = parseJsonRecord('{"a":{"b":[{"c":"1"},{"c":"2"}]},"tags":["x",2,null],"m":[[1,2],[]],"e":[],"o":{}}', { maxDepth: 64 });
      const out = await run(registry, 'canonical-json', input(record, { source: 'shipbob' }));
      expect((JSON.parse(out.body) as { data: unknown }).data).to.deep.equal({
        a: { b: [{ c: '1' }, { c: '2' }] },
        tags: ['x', '2', null],
        m: [{ '#array': ['1', '2'] }, { '#array': [] }],
        e: [],
        o: {},
      });
    });

    it('a receivedAt that is not a time is a TransformError', async () => {
      const err = await rejection(Promise.resolve().then(() => run(registry, 'canonical-json', input(hold(), { receivedAt: Number.NaN }))));
      expect(err).to.be.instanceOf(TransformError);
    });
  });

  describe('om-results-xml', () => {
    async function roundTrip(payload: XmlRecord): Promise<{ xml: string; parsed: XmlRecord }> {
      const out = await run(registry, 'om-results-xml', input(payload));
      const envelope = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${out.body}</soapenv:Body></soapenv:Envelope>`;
      const push = await parsePush(chunksOf(envelope), { maxBytes: 1 << 20, maxDepth: 64, maxElements: 10_000 });
      expect(push.headers).to.have.length(1);
      return { xml: out.body, parsed: push.headers[0] as XmlRecord };
    }

    it('FlineStatusUpdate: an OM results document the gateway parses back to the same event', async () => {
      const { xml, parsed } = await roundTrip(flineStatusUpdate());
      expect(parsed).to.deep.equal(flineStatusUpdate());
      expect(xml).to.match(
        /^<ns1:results xmlns:ns1="http:\/\/xmlns\.oracle\.com\/apps\/scm\/doo\/decomposition\/DooDecompositionOrderStatusUpdateComposite" xmlns:xsi="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance"><ns1:OrderHeader>/,
      );
      expect(xml).to.contain('<ns1:StatusCodeOldValue xsi:nil="true"/>');
      // Elements in the payload's key order.
      const order = ['EventCode', 'SourceOrderSystem', 'SourceOrderId', 'SourceOrderNumber', 'StatusCodeOldValue', 'OrderLine'];
      const positions = order.map((n) => xml.indexOf(`<ns1:${n}>`));
      expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
      expect(xml.match(/<ns1:OrderFulfillmentLine>/g)).to.have.length(3);
    });

    it('HOLD: repeated leaves as sibling elements, nil and escaping', async () => {
      const { xml, parsed } = await roundTrip(hold());
      expect(parsed).to.deep.equal(hold());
      expect(xml).to.contain(
        '<ns1:HoldComments>Credit limit &lt; order total &amp; review</ns1:HoldComments><ns1:HoldComments>second comment</ns1:HoldComments><ns1:HoldComments xsi:nil="true"/>',
      );
    });

    it('declares xsi only when a value is nil; empty elements are written empty', async () => {
      const out = await run(registry, 'om-results-xml', input({ EventCode: 'SPLIT', OrderLine: [{}] }));
      expect(out.body).to.equal(
        '<ns1:results xmlns:ns1="http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite"><ns1:OrderHeader><ns1:EventCode>SPLIT</ns1:EventCode><ns1:OrderLine/></ns1:OrderHeader></ns1:results>',
      );
    });

    it('a value XML cannot carry, or a key that is no element name, is a TransformError', async () => {
      const bad1 = await rejection(Promise.resolve().then(() => run(registry, 'om-results-xml', input({ EventCode: 'A\u0001B' }))));
      expect(bad1).to.be.instanceOf(TransformError);
      const bad2 = await rejection(Promise.resolve().then(() => run(registry, 'om-results-xml', input({ 'bad name': 'x' }))));
      expect(bad2).to.be.instanceOf(TransformError);
    });
  });

  describe('otm-transmission', () => {
    function release(body: string): { doc: Record<string, unknown>; refnums: Array<[string, string]> } {
      const doc = nsParser.parse(body) as Record<string, unknown>;
      const publish = doc['tran:publish'] as Record<string, unknown>;
      const rel = (((publish['v6:Transmission'] as Record<string, unknown>)['v6:TransmissionBody'] as Record<string, unknown>)[
        'v6:GLogXMLElement'
      ] as Record<string, unknown>)['v6:Release'] as Record<string, unknown>;
      const raw = rel['v6:ReleaseRefnum'];
      const list = (Array.isArray(raw) ? raw : [raw]) as Array<Record<string, Record<string, Record<string, string>>>>;
      const refnums = list.map((r): [string, string] => [
        String(r['v6:ReleaseRefnumQualifierGid']?.['v6:Gid']?.['v6:Xid']),
        String(r['v6:ReleaseRefnumValue']),
      ]);
      return { doc: { publish, rel }, refnums };
    }

    it('FlineStatusUpdate: publish / Transmission frame, SenderTransmissionNo, status values', async () => {
      const out = await run(registry, 'otm-transmission', input(flineStatusUpdate(), {}, { idempotencyKey: 'idem-42' }));
      expect(out.body).to.match(/^<tran:publish xmlns:tran="([^"]+)" xmlns:v6="([^"]+)">/);
      expect(out.body)
        .to.contain('xmlns:tran="http://xmlns.oracle.com/apps/otm/TransmissionService"')
        .and.contain('xmlns:v6="http://xmlns.oracle.com/apps/otm/transmission/v6.4"');
      const { doc, refnums } = release(out.body);
      const publish = doc.publish as Record<string, Record<string, Record<string, string>>>;
      expect(publish['v6:Transmission']?.['v6:TransmissionHeader']?.['v6:SenderTransmissionNo']).to.equal('idem-42');
      const rel = doc.rel as Record<string, unknown>;
      expect(rel['v6:ReleaseGid']).to.deep.equal({ 'v6:Gid': { 'v6:Xid': 'LEG_OPS:R13-10045' } });
      expect(rel['v6:TransactionCode']).to.equal('IU');
      expect(refnums).to.deep.equal([
        ['OM_EVENT_CODE', 'FlineStatusUpdate'],
        ['OM_ORDER_STATUS', 'PROCESSING'],
        ['OM_LINE_STATUS', 'SHIPPED'],
        ['OM_LINE_STATUS', 'AWAIT_SHIPPING'],
        ['OM_FLINE_STATUS', 'SHIPPED'],
        ['OM_FLINE_STATUS', 'BACKORDERED'],
        ['OM_FLINE_STATUS', 'AWAIT_SHIPPING'],
      ]);
    });

    it('HOLD and JEOPARDY: hold codes from every level, jeopardy priority; delivery id without a key', async () => {
      const h = await run(registry, 'otm-transmission', input(hold(), { eventCode: 'HOLD', orderKey: 'LEG_OPS:R13-10046' }, { idempotencyKey: null }));
      expect(release(h.body).refnums).to.deep.equal([
        ['OM_EVENT_CODE', 'HOLD'],
        ['OM_HOLD_CODE', 'CREDIT_CHECK'],
        ['OM_HOLD_CODE', 'SHIP_HOLD'],
      ]);
      expect(h.body).to.contain('<v6:SenderTransmissionNo>dlv_01JH7R</v6:SenderTransmissionNo>');
      const j = await run(registry, 'otm-transmission', input(jeopardy(), { eventCode: 'JEOPARDY', orderKey: 'LEG_OPS:300000123456789077' }));
      expect(release(j.body).refnums).to.deep.equal([
        ['OM_EVENT_CODE', 'JEOPARDY'],
        ['OM_JEOPARDY_PRIORITY', 'HIGH'],
      ]);
    });

    it('escapes values, and an event without an order key is a TransformError', async () => {
      const out = await run(registry, 'otm-transmission', input(hold(), { eventCode: 'HOLD', orderKey: 'A&B<C' }));
      expect(out.body).to.contain('<v6:Xid>A&amp;B&lt;C</v6:Xid>');
      const err = await rejection(Promise.resolve().then(() => run(registry, 'otm-transmission', input(hold(), { orderKey: null }))));
      expect(err).to.be.instanceOf(TransformError);
      expect((err as Error).message).to.match(/order key/);
    });
  });

  describe('mappings and jsonata:<name>', () => {
    let configDir: string;
    let mappings: MappingSet;
    let jsonataRegistry: TransformRegistry;

    before(async () => {
      configDir = await mkdtemp(join(tmpdir(), 'omgw-mappings-'));
      const dir = join(configDir, 'mappings');
      await mkdir(dir);
      await writeFile(
        join(dir, 'order-status.jsonata'),
        `{
  "order": orderKey,
  "event": eventCode,
  "at": receivedAt,
  "lines": [data.OrderLine.{ "line": OrchestrationOrderLineNumber, "status": StatusCodeNewValue,
             "fulfilment": [OrderFulfillmentLine.FulfillmentOrderLineId] }],
  "comments": data.HoldComments
}`,
      );
      await writeFile(join(dir, 'broken.jsonata'), '{ "order": orderKey, ');
      await writeFile(join(dir, 'runtime.jsonata'), '$number(data.SourceOrderNumber)');
      await writeFile(join(dir, 'nothing.jsonata'), 'data.NoSuchElement');
      await writeFile(
        join(dir, 'acme-products.yaml'),
        'kind: product-map\ncustomer: acme\nentries:\n  300000009988776123: SKU-RED-01\n  "00042": "1.10"\n',
      );
      await writeFile(join(dir, 'acme-locations.yml'), 'kind: location-map\nentries: { "300000000204": FC-NJ }\n');
      await writeFile(join(dir, 'not-yaml.yaml'), 'kind: product-map\nentries: [a, b\n');
      await writeFile(
        join(dir, 'bad-shape.yaml'),
        'kind: sku-map\ncolor: red\nentries:\n  A: [1, 2]\n  B: { c: d }\n  C:\n  D: fine\n',
      );
      await writeFile(join(dir, 'no-entries.yaml'), 'kind: location-map\n');
      await writeFile(join(dir, 'README.md'), 'ignored');
      mappings = await loadMappings(configDir);
      jsonataRegistry = createTransformRegistry({ mappings });
    });

    after(async () => {
      await rm(configDir, { recursive: true, force: true });
    });

    it('loads templates and maps, and reports each bad file with its file and key', () => {
      expect(mappings.templateNames()).to.deep.equal(['broken', 'nothing', 'order-status', 'runtime']);
      expect(mappings.mapNames()).to.deep.equal(['acme-locations', 'acme-products']);
      expect(mappings.map('acme-products')).to.include({ kind: 'product-map', customer: 'acme' });
      expect(mappings.map('acme-locations')?.customer).to.equal(null);
      const problems = mappings.problems.map((p) => `${p.file} | ${p.key}`);
      expect(problems).to.deep.equal([
        'mappings/bad-shape.yaml | color',
        'mappings/bad-shape.yaml | kind',
        'mappings/bad-shape.yaml | entries.A',
        'mappings/bad-shape.yaml | entries.B',
        'mappings/bad-shape.yaml | entries.C',
        'mappings/broken.jsonata | ',
        'mappings/no-entries.yaml | entries',
        'mappings/not-yaml.yaml | ',
      ]);
      const byFile = (file: string) => mappings.problems.filter((p) => p.file === file).map((p) => p.reason);
      expect(byFile('mappings/broken.jsonata')[0]).to.match(/^not a valid JSONata expression: /);
      expect(byFile('mappings/not-yaml.yaml')[0]).to.match(/^not valid YAML at line \d+, column \d+: /);
      expect(byFile('mappings/bad-shape.yaml')).to.include('unknown key').and.include('must be one of product-map, location-map, status-map');
      expect(byFile('mappings/no-entries.yaml')).to.deep.equal(['is required']);
    });

    it('lookup keeps keys and values as written (long ids, leading zeros, decimals)', () => {
      expect(mappings.lookup('acme-products', '300000009988776123')).to.equal('SKU-RED-01');
      expect(mappings.lookup('acme-products', '00042')).to.equal('1.10');
      expect(mappings.lookup('acme-locations', '300000000204')).to.equal('FC-NJ');
      expect(mappings.lookup('acme-products', 'missing')).to.equal(null);
      expect(mappings.lookup('bad-shape', 'D')).to.equal(null);
      expect(mappings.lookup('nope', 'x')).to.equal(null);
    });

    it('a config folder without mappings/ is an empty set without problems', async () => {
      const empty = await loadMappings(join(configDir, 'does-not-exist'));
      expect(empty.templateNames()).to.deep.equal([]);
      expect(empty.problems).to.deep.equal([]);
    });

    it('registry lists jsonata:<name> per template and returns the same compiled transform', () => {
      expect(jsonataRegistry.names()).to.deep.equal([
        ...BUILTIN_TRANSFORMS,
        'jsonata:broken',
        'jsonata:nothing',
        'jsonata:order-status',
        'jsonata:runtime',
      ]);
      expect(jsonataRegistry.get('jsonata:order-status')).to.equal(jsonataRegistry.get('jsonata:order-status'));
    });

    it('evaluates against the canonical-json object; the result is JSON', async () => {
      const out = await run(jsonataRegistry, 'jsonata:order-status', input(flineStatusUpdate()));
      expect(out.contentType).to.equal('application/json');
      expect(JSON.parse(out.body)).to.deep.equal({
        order: 'LEG_OPS:R13-10045',
        event: 'FlineStatusUpdate',
        at: '2026-01-15T09:30:00.123Z',
        lines: [
          { line: '1', status: 'SHIPPED', fulfilment: ['300000123456791001', '300000123456791002'] },
          { line: '2', status: 'AWAIT_SHIPPING', fulfilment: ['300000123456791003'] },
        ],
      });
      // The same shape canonical-json sends: repeated leaves are plain strings.
      const h = await run(jsonataRegistry, 'jsonata:order-status', input(hold(), { eventCode: 'HOLD' }));
      expect((JSON.parse(h.body) as { comments: unknown }).comments).to.deep.equal([
        'Credit limit < order total & review',
        'second comment',
        null,
      ]);
    });

    it('a compile error, a runtime error and an undefined result are TransformErrors with the message', async () => {
      const compile = await rejection(run(jsonataRegistry, 'jsonata:broken', input(flineStatusUpdate())));
      expect(compile).to.be.instanceOf(TransformError);
      expect((compile as Error).message).to.match(/^jsonata:broken: not a valid JSONata expression: /);
      // Compiled once: the second call fails the same way.
      const again = await rejection(run(jsonataRegistry, 'jsonata:broken', input(flineStatusUpdate())));
      expect((again as Error).message).to.equal((compile as Error).message);

      const runtime = await rejection(run(jsonataRegistry, 'jsonata:runtime', input(flineStatusUpdate())));
      expect(runtime).to.be.instanceOf(TransformError);
      expect((runtime as Error).message).to.match(/^jsonata:runtime: Unable to cast value to a number: "R13-10045"/);

      const nothing = await rejection(run(jsonataRegistry, 'jsonata:nothing', input(flineStatusUpdate())));
      expect(nothing).to.be.instanceOf(TransformError);
      expect((nothing as Error).message).to.equal('jsonata:nothing: the expression produced no value for this event');
    });

    it('$mapValue reads a value map; a missing key or map is a TransformError naming the file', async () => {
      const withMaps = createTransformRegistry({
        mappings: await mappingsFrom({
          'holds.yaml': 'kind: status-map\nentries:\n  order.shipment.on_hold: SHIPBOB_ON_HOLD\n  "42": by-number\n',
          'hold.jsonata': '{ "code": $mapValue("holds", eventCode), "number": $mapValue("holds", 42) }',
          'other-map.jsonata': '$mapValue("nope", eventCode)',
          'not-a-name.jsonata': '$mapValue(data, eventCode)',
        }),
      });
      const shipbob = (eventCode: string): TransformInput => input({ id: '1' }, { source: 'shipbob', eventCode });
      const out = await run(withMaps, 'jsonata:hold', shipbob('order.shipment.on_hold'));
      expect(JSON.parse(out.body)).to.deep.equal({ code: 'SHIPBOB_ON_HOLD', number: 'by-number' });

      const missingKey = await rejection(run(withMaps, 'jsonata:hold', shipbob('order.shipment.exception')));
      expect(missingKey).to.be.instanceOf(TransformError);
      expect((missingKey as Error).message).to.equal('no entry for "order.shipment.exception" in mappings/holds.yaml');
      const missingMap = await rejection(run(withMaps, 'jsonata:other-map', shipbob('order.shipment.on_hold')));
      expect((missingMap as Error).message).to.equal('$mapValue: no value map mappings/nope.yaml');
      const notAName = await rejection(run(withMaps, 'jsonata:not-a-name', shipbob('order.shipment.on_hold')));
      expect(notAName).to.be.instanceOf(TransformError);
      expect((notAName as Error).message).to.match(/^\$mapValue: no value map named /);
    });

    it('validateTransformName: built-ins and existing templates pass; others say why', () => {
      expect(validateTransformName('canonical-json', mappings)).to.equal(null);
      expect(validateTransformName('otm-transmission', mappings)).to.equal(null);
      expect(validateTransformName('jsonata:order-status', mappings)).to.equal(null);
      expect(validateTransformName('jsonata:missing', mappings)).to.equal('no template mappings/missing.jsonata for "jsonata:missing"');
      expect(validateTransformName('jsonata:', mappings)).to.match(/names no template/);
      expect(validateTransformName('xslt', mappings)).to.match(/^unknown transform "xslt"/);
    });
  });
});
