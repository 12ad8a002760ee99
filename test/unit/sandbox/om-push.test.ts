import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
// A namespace import: soap is CommonJS with __esModule set, so its default import is undefined under tsx.
import * as soap from 'soap';
import {
  buildPush,
  buildResults,
  PUSH_EVENT_CODES,
  pushHttpHeaders,
  realisticPush,
  type PushEventCode,
  type PushOptions,
} from '../../../src/sandbox/om-push.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PAYLOAD_NS = 'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const WSA = 'http://www.w3.org/2005/08/addressing';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD = 'http://www.w3.org/2001/XMLSchema';
const DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const TEXT_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const BASE64_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

// ---------------------------------------------------------------------------------------------
// A small namespace-aware tree over fast-xml-parser's ordered output.

interface El {
  ns: string;
  local: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
  scope: Map<string, string>;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

type Ordered = Record<string, unknown>;

function toTree(xml: string): El {
  expect(XMLValidator.validate(xml), 'well-formed').to.equal(true);
  const roots = build(parser.parse(xml) as Ordered[], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
  expect(roots).to.have.length(1);
  return roots[0] as El;
}

function build(nodes: Ordered[], parentScope: Map<string, string>): El[] {
  const out: El[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined || name.startsWith('?') || name === '#text') continue;
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    const scope = new Map(parentScope);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'xmlns') scope.set('', v);
      else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
    }
    const [prefix, local] = name.includes(':') ? (name.split(':') as [string, string]) : ['', name];
    const ns = scope.get(prefix);
    if (ns === undefined) throw new Error(`undeclared prefix ${prefix} on ${name}`);
    const content = node[name] as Ordered[];
    const text = content
      .filter((c) => '#text' in c)
      .map((c) => String(c['#text']))
      .join('');
    out.push({ ns, local, attrs, children: build(content, scope), text, scope });
  }
  return out;
}

function child(el: El, ns: string, local: string): El {
  const found = el.children.filter((c) => c.ns === ns && c.local === local);
  expect(found, `${local} under ${el.local}`).to.have.length(1);
  return found[0] as El;
}

function attr(el: El, ns: string, local: string): string | undefined {
  for (const [k, v] of Object.entries(el.attrs)) {
    const [prefix, name] = k.includes(':') ? (k.split(':') as [string, string]) : ['', k];
    if (name === local && prefix !== '' && prefix !== 'xmlns' && el.scope.get(prefix) === ns) return v;
  }
  return undefined;
}

function bodyPayload(envelope: El): El {
  const body = child(envelope, envelope.ns, 'Body');
  expect(body.children).to.have.length(1);
  return body.children[0] as El;
}

// ---------------------------------------------------------------------------------------------
// What Oracle's XSL maps fill per event code (NOTES §2.3), by level.

type Level = 'header' | 'line' | 'fline' | 'details' | 'effs';
const LEVEL_OF_CHILD: Record<string, Level> = {
  OrderHeader: 'header',
  OrderLine: 'line',
  OrderFulfillmentLine: 'fline',
  OrderFulfillmentLineDetails: 'details',
  OrderFulfillmentLineEFFs: 'effs',
};
const TYPE_OF_LEVEL: Record<Level, string> = {
  header: 'OrderHeader',
  line: 'OrderLine',
  fline: 'OrderFulfillmentLine',
  details: 'OrderFulfillmentLineDetails',
  effs: 'OrderFulfillmentLineEFFs',
};

const HEADER_IDS = ['SourceOrderSystem', 'SourceOrderId', 'SourceOrderNumber', 'OrchestrationOrderNumber', 'OrchestrationOrderId'];
const LINE_IDS = ['OrchestrationOrderLineId', 'OrchestrationOrderLineNumber', 'SourceOrderLineId', 'SourceOrderLineNumber'];

const FILLED: Record<PushEventCode, Partial<Record<Level, string[]>>> = {
  FlineStatusUpdate: {
    header: ['EventCode', 'SourceOrderSystem', 'SourceOrderId', 'SourceOrderNumber', 'StatusCodeOldValue', 'StatusCodeNewValue', 'OrderLine'],
    line: ['OrchestrationOrderLineNumber', 'StatusCodeOldValue', 'StatusCodeNewValue', 'OrderFulfillmentLine'],
    fline: ['SourceOrderScheduleId', 'OrchestrationOrderLineId', 'FulfillmentOrderLineId', 'StatusCodeOldValue', 'StatusCodeNewValue'],
  },
  FlineClosed: {
    header: ['EventCode', 'SourceOrderNumber', 'OrchestrationOrderId', 'OrderLine'],
    line: ['OrchestrationOrderLineId', 'OpenFlagNewValue', 'OpenFlagOldValue', 'OrderFulfillmentLine'],
    fline: ['FulfillmentOrderLineId', 'CancelFlagOldValue', 'CancelFlagNewValue'],
  },
  OrderHeaderStatusUpdate: {
    header: ['EventCode', ...HEADER_IDS, 'CustomerId', 'StatusPriorValue', 'StatusNewValue'],
  },
  HOLD: {
    header: ['EventCode', ...HEADER_IDS, 'CustomerId', 'HoldCode', 'HoldComments', 'OrderLine'],
    line: [...LINE_IDS, 'HoldCode', 'HoldComments', 'OrderFulfillmentLine'],
    fline: ['SourceOrderScheduleId', 'FulfillmentOrderLineId', 'FulfillmentOrderLineNumber', 'HoldCode', 'HoldComments', 'ItemId', 'InventoryOrganizationId'],
  },
  JEOPARDY: {
    header: ['OrderLine'],
    line: ['EventCode', ...LINE_IDS, 'SourceOrderSystem', 'SourceOrderId', 'SourceOrderScheduleId', 'OrderFulfillmentLine'],
    fline: ['FulfillmentOrderLineId', 'FulfillmentOrderLineNumber', 'ItemId', 'InventoryOrganizationId', 'JeopardyPriority'],
  },
  SPLIT: {
    header: ['EventCode', ...HEADER_IDS, 'CustomerId', 'OrderLine'],
    line: [...LINE_IDS, 'PreSplitOrderedQuantity', 'ItemId', 'InventoryOrganizationId', 'OrderFulfillmentLine'],
    fline: ['FulfillmentOrderLineId', 'FulfillmentOrderLineNumber', 'ShippedQuantity', 'OrderedQuantity'],
  },
  OrderAttributeUpdate: {
    header: ['EventCode', ...HEADER_IDS, 'OrderLine'],
    line: ['OrchestrationOrderLineId', 'OrchestrationOrderLineNumber', 'OrderFulfillmentLine'],
    fline: [
      'FulfillmentOrderLineId', 'ActualShipDateNew', 'ActualShipDateOld', 'ShipModeOfTransportNew', 'ShipModeOfTransportOld',
      'OrderFulfillmentLineDetails', 'OrderFulfillmentLineEFFs',
    ],
    details: ['FulfillmentOrderLineDetailId', 'TaskType', 'WaybillNumber', 'TrackingNumber', 'Quantity', 'OrderFulfillmentLineEFFs'],
    effs: ['ContextCode', 'SegmentCode', 'SegmentCharOldValue', 'SegmentCharNewValue', 'SegmentNumOldValue', 'SegmentNumNewValue'],
  },
  OcResponse: {
    header: ['EventCode', 'SourceOrderSystem', 'SourceOrderNumber', 'CompensationStatus', 'CompensationMessage', 'OrderLine'],
    line: ['SourceOrderLineId', 'OrderFulfillmentLine'],
    fline: ['FulfillmentOrderLineId'],
  },
};

/** Every node of the payload tree with its level. */
function nodesByLevel(results: El): Array<{ level: Level; el: El }> {
  const out: Array<{ level: Level; el: El }> = [];
  const walk = (el: El): void => {
    for (const c of el.children) {
      const level = LEVEL_OF_CHILD[c.local];
      if (level !== undefined) {
        out.push({ level, el: c });
        walk(c);
      }
    }
  };
  walk(results);
  return out;
}

/** Sequence order of each complex type, read from our XSD. */
function xsdSequences(): Record<string, string[]> {
  const schema = toTree(readFileSync(path.join(ROOT, 'wsdl/business-events-payload.xsd'), 'utf8'));
  const out: Record<string, string[]> = {};
  for (const type of schema.children.filter((c) => c.local === 'complexType')) {
    out[type.attrs['name'] ?? '?'] = child(type, XSD, 'sequence').children.map((e) => e.attrs['name'] ?? '?');
  }
  return out;
}

const headers = (eventCode: PushEventCode, lines = 2) => [{ eventCode, order: { sourceOrderNumber: 'SO-100234', lines } }];

// ---------------------------------------------------------------------------------------------

describe('sandbox/om-push', () => {
  const sequences = xsdSequences();

  describe('buildResults per event code', () => {
    for (const code of PUSH_EVENT_CODES) {
      it(`${code}: well-formed, only the elements Oracle's map fills, in schema order`, () => {
        const results = toTree(buildResults(headers(code, 2)));
        expect(results.ns).to.equal(PAYLOAD_NS);
        expect(results.local).to.equal('results');
        expect(results.children.map((c) => c.local)).to.deep.equal(['OrderHeader']);

        const nodes = nodesByLevel(results);
        const seen: Partial<Record<Level, Set<string>>> = {};
        for (const { level, el } of nodes) {
          const names = el.children.map((c) => c.local);
          for (const c of el.children) expect(c.ns, `${c.local} namespace`).to.equal(PAYLOAD_NS);
          const leaves = names.filter((n) => LEVEL_OF_CHILD[n] === undefined);
          expect(new Set(leaves).size, `no repeated leaf in ${level}`).to.equal(leaves.length);
          const expected = FILLED[code][level];
          expect(expected, `${code} has no ${level} level`).to.not.equal(undefined);
          for (const n of names) expect(expected, `${code} ${level}`).to.include(n);
          // schema sequence order
          const order = sequences[TYPE_OF_LEVEL[level]] ?? [];
          const positions = names.map((n) => order.indexOf(n));
          expect(positions.every((p) => p >= 0)).to.equal(true);
          expect(positions, `${code} ${level} order`).to.deep.equal([...positions].sort((a, b) => a - b));
          const set = (seen[level] ??= new Set());
          for (const n of names) set.add(n);
        }
        for (const [level, expected] of Object.entries(FILLED[code]) as Array<[Level, string[]]>) {
          expect([...(seen[level] ?? [])], `${code} ${level}`).to.have.members(expected);
        }
      });
    }

    it('JEOPARDY carries EventCode on OrderLine and leaves the header empty but for its lines', () => {
      const header = child(toTree(buildResults(headers('JEOPARDY', 3))), PAYLOAD_NS, 'OrderHeader');
      expect(header.children.map((c) => c.local)).to.deep.equal(['OrderLine', 'OrderLine', 'OrderLine']);
      for (const line of header.children) expect(child(line, PAYLOAD_NS, 'EventCode').text).to.equal('JEOPARDY');
    });

    it('every other event carries EventCode on the header', () => {
      for (const code of PUSH_EVENT_CODES.filter((c) => c !== 'JEOPARDY')) {
        const header = child(toTree(buildResults(headers(code))), PAYLOAD_NS, 'OrderHeader');
        expect(child(header, PAYLOAD_NS, 'EventCode').text).to.equal(code);
        for (const line of header.children.filter((c) => c.local === 'OrderLine')) {
          expect(line.children.some((c) => c.local === 'EventCode')).to.equal(false);
        }
      }
    });

    it('OrderAttributeUpdate: complete New/Old pairs (empty side nil), shipping details and flexfields', () => {
      const results = toTree(buildResults(headers('OrderAttributeUpdate', 3)));
      const flines = nodesByLevel(results).filter((n) => n.level === 'fline');
      expect(flines).to.have.length(3);
      for (const { el } of flines) {
        const names = el.children.map((c) => c.local);
        for (const n of names.filter((x) => /(New|Old)$/.test(x))) {
          const other = n.endsWith('New') ? `${n.slice(0, -3)}Old` : `${n.slice(0, -3)}New`;
          expect(names, `pair of ${n}`).to.include(other);
        }
        const oldShip = child(el, PAYLOAD_NS, 'ActualShipDateOld');
        expect(attr(oldShip, XSI, 'nil')).to.equal('true');
        expect(child(el, PAYLOAD_NS, 'ActualShipDateNew').text).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
        const details = child(el, PAYLOAD_NS, 'OrderFulfillmentLineDetails');
        expect(child(details, PAYLOAD_NS, 'TrackingNumber').text).to.match(/^1Z[0-9A-F]{16}$/);
        expect(child(details, PAYLOAD_NS, 'WaybillNumber').text).to.match(/^WB\d{8}$/);
        expect(child(details, PAYLOAD_NS, 'Quantity').text).to.match(/^\d+$/);
      }
      const first = flines[0]?.el as El;
      expect(child(child(first, PAYLOAD_NS, 'OrderFulfillmentLineDetails'), PAYLOAD_NS, 'OrderFulfillmentLineEFFs').children.length).to.be.greaterThan(2);
      expect(child(first, PAYLOAD_NS, 'OrderFulfillmentLineEFFs').children.length).to.be.greaterThan(2);
    });

    it('uses 15-digit ids, derived per order and line, and honours a given orchestrationOrderId', () => {
      const idFields = new Set([
        'OrchestrationOrderId', 'CustomerId', 'OrchestrationOrderLineId', 'FulfillmentOrderLineId', 'ItemId',
        'InventoryOrganizationId', 'FulfillmentOrderLineDetailId',
      ]);
      const ids = (code: PushEventCode, number: string): string[] =>
        nodesByLevel(toTree(buildResults([{ eventCode: code, order: { sourceOrderNumber: number, lines: 3 } }])))
          .flatMap(({ el }) => el.children)
          .filter((c) => idFields.has(c.local))
          .map((c) => c.text);
      for (const code of PUSH_EVENT_CODES) {
        for (const id of ids(code, 'SO-1')) expect(id).to.match(/^[1-9]\d{14}$/);
      }
      // the same order and line give the same ids in every event; another order gives others
      const holdFlines = ids('HOLD', 'SO-1');
      const splitFlines = ids('SPLIT', 'SO-1');
      expect(holdFlines.filter((i) => splitFlines.includes(i))).to.not.be.empty;
      expect(ids('HOLD', 'SO-2').filter((i) => holdFlines.includes(i) && !i.startsWith('300000'))).to.be.empty;

      const given = toTree(
        buildResults([{ eventCode: 'FlineClosed', order: { sourceOrderNumber: 'SO-1', orchestrationOrderId: '300100099999999' } }]),
      );
      expect(child(child(given, PAYLOAD_NS, 'OrderHeader'), PAYLOAD_NS, 'OrchestrationOrderId').text).to.equal('300100099999999');
    });

    it('applies statusFrom/statusTo and keeps them as text', () => {
      const status = toTree(
        buildResults([{ eventCode: 'OrderHeaderStatusUpdate', order: { sourceOrderNumber: 'A', statusFrom: 'OPEN', statusTo: 'PROCESSING' } }]),
      );
      const header = child(status, PAYLOAD_NS, 'OrderHeader');
      expect(child(header, PAYLOAD_NS, 'StatusPriorValue').text).to.equal('OPEN');
      expect(child(header, PAYLOAD_NS, 'StatusNewValue').text).to.equal('PROCESSING');
      const fline = nodesByLevel(
        toTree(buildResults([{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: 'A', statusFrom: 'PICKED', statusTo: 'PACKED' } }])),
      ).find((n) => n.level === 'fline')?.el as El;
      expect(child(fline, PAYLOAD_NS, 'StatusCodeOldValue').text).to.equal('PICKED');
      expect(child(fline, PAYLOAD_NS, 'StatusCodeNewValue').text).to.equal('PACKED');
    });

    it('puts several headers in one results, and escapes text', () => {
      const xml = buildResults([
        { eventCode: 'HOLD', order: { sourceOrderNumber: 'A&B<1>' } },
        { eventCode: 'SPLIT', order: { sourceOrderNumber: 'C' } },
      ]);
      const results = toTree(xml);
      expect(results.children.map((c) => c.local)).to.deep.equal(['OrderHeader', 'OrderHeader']);
      expect(child(results.children[0] as El, PAYLOAD_NS, 'SourceOrderNumber').text).to.equal('A&B<1>');
    });

    it('supports other prefixes and the default namespace', () => {
      for (const prefix of ['inp', 'ns4', '']) {
        const xml = buildResults(headers('FlineStatusUpdate'), prefix);
        const results = toTree(xml);
        expect(results.ns).to.equal(PAYLOAD_NS);
        expect(xml.startsWith(prefix === '' ? '<results xmlns=' : `<${prefix}:results xmlns:${prefix}=`)).to.equal(true);
      }
      expect(() => buildResults(headers('HOLD'), 'bad prefix')).to.throw(RangeError);
      expect(() => buildResults(headers('HOLD'), 'xmlfoo')).to.throw(RangeError);
    });

    it('rejects a bad line count', () => {
      for (const lines of [0, -1, 1.5, Number.NaN]) {
        expect(() => buildResults([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'A', lines } }])).to.throw(RangeError);
      }
    });

    it('pretty and compact forms carry the same content', () => {
      const strip = (el: El): unknown => ({ n: el.local, t: el.text, c: el.children.map(strip) });
      const compact = buildResults(headers('OrderAttributeUpdate', 3));
      const pretty = buildResults(headers('OrderAttributeUpdate', 3), 'ns1', { pretty: true });
      expect(compact).to.not.include('\n');
      expect(pretty).to.include('\n  <ns1:OrderHeader>');
      expect(strip(toTree(pretty))).to.deep.equal(strip(toTree(compact)));
    });

    it('gives the same bytes for the same input', () => {
      for (const code of PUSH_EVENT_CODES) {
        expect(buildResults(headers(code, 3))).to.equal(buildResults(headers(code, 3)));
      }
    });
  });

  describe('buildPush', () => {
    const nonce = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
    const created = '2025-05-01T10:00:00.000Z';
    const digest: PushOptions['security'] = { kind: 'digest', username: 'OM_CONNECTOR_USER', password: 'S3cr3t&"pass', nonce, created };

    function token(envelope: El): El {
      const security = child(child(envelope, envelope.ns, 'Header'), WSSE, 'Security');
      return child(security, WSSE, 'UsernameToken');
    }

    it('defaults to a plain SOAP 1.1 envelope without a header', () => {
      const envelope = toTree(buildPush(headers('FlineStatusUpdate')));
      expect(envelope.ns).to.equal(SOAP11);
      expect(envelope.local).to.equal('Envelope');
      expect(envelope.children.map((c) => c.local)).to.deep.equal(['Body']);
      expect(bodyPayload(envelope).local).to.equal('results');
      expect(bodyPayload(envelope).ns).to.equal(PAYLOAD_NS);
    });

    it('writes SOAP 1.2 envelopes', () => {
      for (const style of ['plain', 'oracle', 'perl'] as const) {
        const envelope = toTree(buildPush(headers('HOLD'), { soapVersion: '1.2', style, security: digest }));
        expect(envelope.ns).to.equal(SOAP12);
        expect(bodyPayload(envelope).local).to.equal('results');
      }
    });

    it('computes a PasswordDigest that verifies independently', () => {
      for (const style of ['plain', 'oracle', 'perl'] as const) {
        const ut = token(toTree(buildPush(headers('HOLD'), { security: digest, style })));
        const password = child(ut, WSSE, 'Password');
        expect(password.attrs['Type']).to.equal(DIGEST_TYPE);
        const nonceEl = child(ut, WSSE, 'Nonce');
        expect(nonceEl.attrs['EncodingType']).to.equal(BASE64_TYPE);
        expect(nonceEl.text).to.equal(nonce.toString('base64'));
        expect(child(ut, WSU, 'Created').text).to.equal(created);
        expect(child(ut, WSSE, 'Username').text).to.equal('OM_CONNECTOR_USER');

        const expected = createHash('sha1')
          .update(nonce)
          .update(created, 'utf8')
          .update('S3cr3t&"pass', 'utf8')
          .digest('base64');
        expect(password.text).to.equal(expected);
        // node-soap's own implementation agrees
        expect(password.text).to.equal(soap.passwordDigest(nonce.toString('base64'), created, 'S3cr3t&"pass'));
      }
    });

    it('creates a random nonce and a current Created when none is given, and the digest still verifies', () => {
      const before = Date.now();
      const ut = token(toTree(buildPush(headers('HOLD'), { security: { kind: 'digest', username: 'u', password: 'p' } })));
      const n = Buffer.from(child(ut, WSSE, 'Nonce').text, 'base64');
      const c = child(ut, WSU, 'Created').text;
      expect(n).to.have.length(16);
      expect(Date.parse(c)).to.be.within(before - 1000, Date.now() + 1000);
      const expected = createHash('sha1').update(Buffer.concat([n, Buffer.from(c), Buffer.from('p')])).digest('base64');
      expect(child(ut, WSSE, 'Password').text).to.equal(expected);
      const again = token(toTree(buildPush(headers('HOLD'), { security: { kind: 'digest', username: 'u', password: 'p' } })));
      expect(child(again, WSSE, 'Nonce').text).to.not.equal(child(ut, WSSE, 'Nonce').text);
    });

    it('plain style: PasswordText only, no mustUnderstand, no Nonce', () => {
      const envelope = toTree(buildPush(headers('HOLD'), { security: { kind: 'text', username: 'u', password: 'p<&>' } }));
      const header = child(envelope, SOAP11, 'Header');
      expect(header.children.map((c) => c.local)).to.deep.equal(['Security']);
      expect(attr(header.children[0] as El, SOAP11, 'mustUnderstand')).to.equal(undefined);
      const ut = token(envelope);
      expect(ut.children.map((c) => c.local)).to.deep.equal(['Username', 'Password']);
      expect(child(ut, WSSE, 'Password').attrs['Type']).to.equal(TEXT_TYPE);
      expect(child(ut, WSSE, 'Password').text).to.equal('p<&>');
    });

    it("oracle style: WS-Addressing, Timestamp, mustUnderstand, and Nonce/Created even with PasswordText", () => {
      const xml = buildPush(headers('FlineStatusUpdate'), {
        style: 'oracle',
        security: { kind: 'text', username: 'u', password: 'p' },
        address: 'https://gw.example.com/soap/business-events',
      });
      expect(xml.startsWith("<?xml version = '1.0' encoding = 'UTF-8'?>")).to.equal(true);
      const envelope = toTree(xml);
      const header = child(envelope, SOAP11, 'Header');
      expect(header.children.map((c) => `${c.ns === WSA ? 'wsa' : 'wsse'}:${c.local}`)).to.deep.equal([
        'wsa:To', 'wsa:Action', 'wsa:MessageID', 'wsa:ReplyTo', 'wsse:Security',
      ]);
      expect(child(header, WSA, 'To').text).to.equal('https://gw.example.com/soap/business-events');
      expect(child(header, WSA, 'Action').text).to.equal('pushPayload');
      expect(child(header, WSA, 'MessageID').text).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(child(child(header, WSA, 'ReplyTo'), WSA, 'Address').text).to.equal('http://www.w3.org/2005/08/addressing/anonymous');
      const security = child(header, WSSE, 'Security');
      expect(attr(security, SOAP11, 'mustUnderstand')).to.equal('1');
      const timestamp = child(security, WSU, 'Timestamp');
      const tsCreated = Date.parse(child(timestamp, WSU, 'Created').text);
      expect(Date.parse(child(timestamp, WSU, 'Expires').text) - tsCreated).to.equal(300_000);
      const ut = token(envelope);
      expect(ut.children.map((c) => c.local)).to.deep.equal(['Username', 'Password', 'Nonce', 'Created']);
      expect(child(ut, WSSE, 'Password').attrs['Type']).to.equal(TEXT_TYPE);
    });

    it('oracle style without credentials still sends the Timestamp', () => {
      const envelope = toTree(buildPush(headers('HOLD'), { style: 'oracle' }));
      const security = child(child(envelope, SOAP11, 'Header'), WSSE, 'Security');
      expect(security.children.map((c) => c.local)).to.deep.equal(['Timestamp']);
    });

    it("perl style: soap:encodingStyle on the Envelope and mustUnderstand=\"1\" on wsse:Security", () => {
      for (const version of ['1.1', '1.2'] as const) {
        const ns = version === '1.1' ? SOAP11 : SOAP12;
        const envelope = toTree(buildPush(headers('SPLIT'), { style: 'perl', soapVersion: version, security: { kind: 'text', username: 'u', password: 'p' } }));
        expect(attr(envelope, ns, 'encodingStyle')).to.match(/^http:\/\/.*encoding\/?$/);
        expect(envelope.scope.get('xsi')).to.equal(XSI);
        expect(envelope.scope.get('xsd')).to.equal(XSD);
        expect(attr(child(child(envelope, ns, 'Header'), WSSE, 'Security'), ns, 'mustUnderstand')).to.equal('1');
      }
    });

    it('gives identical bytes for identical input when the clock and nonce are fixed', () => {
      for (const style of ['plain', 'oracle', 'perl'] as const) {
        const options: PushOptions = { style, security: digest, now: new Date(created) };
        expect(buildPush(headers('OrderAttributeUpdate', 3), options)).to.equal(buildPush(headers('OrderAttributeUpdate', 3), options));
      }
      const textOracle: PushOptions = { style: 'oracle', security: { kind: 'text', username: 'u', password: 'p' }, now: new Date(created) };
      expect(buildPush(headers('HOLD'), textOracle)).to.equal(buildPush(headers('HOLD'), textOracle));
      expect(buildPush(headers('HOLD'))).to.equal(buildPush(headers('HOLD')));
    });

    it('pushHttpHeaders matches the SOAP version', () => {
      expect(pushHttpHeaders()).to.deep.equal({ 'content-type': 'text/xml; charset=UTF-8', soapaction: '"pushPayload"' });
      expect(pushHttpHeaders({ soapVersion: '1.2' })['content-type']).to.match(/^application\/soap\+xml;.*action="pushPayload"/);
    });
  });

  describe('realisticPush', () => {
    it('is one OrderAttributeUpdate header with 3 lines and shipping details, 2-4 KB', () => {
      const xml = realisticPush();
      const size = Buffer.byteLength(xml);
      expect(size).to.be.within(2048, 4096);
      const results = bodyPayload(toTree(xml));
      const header = child(results, PAYLOAD_NS, 'OrderHeader');
      expect(child(header, PAYLOAD_NS, 'EventCode').text).to.equal('OrderAttributeUpdate');
      const nodes = nodesByLevel(results);
      expect(nodes.filter((n) => n.level === 'line')).to.have.length(3);
      expect(nodes.filter((n) => n.level === 'details')).to.have.length(3);
    });

    it('takes an order number and push options, and stays well-formed in every style', () => {
      for (const style of ['plain', 'oracle', 'perl'] as const) {
        for (const soapVersion of ['1.1', '1.2'] as const) {
          const xml = realisticPush({ orderNumber: 'SO-777', style, soapVersion, security: { kind: 'text', username: 'u', password: 'p' } });
          const header = child(bodyPayload(toTree(xml)), PAYLOAD_NS, 'OrderHeader');
          expect(child(header, PAYLOAD_NS, 'SourceOrderNumber').text).to.equal('SO-777');
        }
      }
    });
  });
});
