import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
// A namespace import: soap is CommonJS with __esModule set, so its default import is undefined under tsx.
import * as soap from 'soap';
import { loadWsdl, requestBaseUrl, type WsdlDocument } from '../../../../src/inbound/soap/wsdl.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const WSDL_DIR = path.join(ROOT, 'wsdl');

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP11_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const SOAP12_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const CONNECTOR_NS =
  'http://xmlns.oracle.com/apps/scm/doo/taskLayer/externalInterfaceLayer/DooTaskExternalInterfaceVirtualPartnersComposite/BusinessEventsConnector';
const PAYLOAD_NS = 'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';

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
  commentPropName: '#comment',
});

type Ordered = Record<string, unknown>;

function toTree(xml: string): El {
  const nodes = parser.parse(xml) as Ordered[];
  const roots = build(nodes, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
  const root = roots[0];
  if (roots.length !== 1 || root === undefined) throw new Error(`expected one root element, got ${roots.length}`);
  return root;
}

function build(nodes: Ordered[], parentScope: Map<string, string>): El[] {
  const out: El[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined || name.startsWith('?') || name === '#text' || name === '#comment') continue;
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

function kids(el: El, ns: string, local: string): El[] {
  return el.children.filter((c) => c.ns === ns && c.local === local);
}

function only(el: El, ns: string, local: string): El {
  const found = kids(el, ns, local);
  expect(found, `${local} under ${el.local}`).to.have.length(1);
  return found[0] as El;
}

/** Resolves a QName attribute value against the element's in-scope namespaces. */
function qname(el: El, value: string | undefined): string {
  expect(value, `QName on ${el.local}`).to.be.a('string');
  const [prefix, local] = (value as string).includes(':') ? ((value as string).split(':') as [string, string]) : ['', value as string];
  return `{${el.scope.get(prefix) ?? '?'}}${local}`;
}

// ---------------------------------------------------------------------------------------------

describe('inbound/soap/wsdl', () => {
  let doc: WsdlDocument;
  let rendered: string;
  const address = 'https://gw.example.com/soap/business-events';

  before(async () => {
    doc = await loadWsdl();
    rendered = doc.render(address);
  });

  describe('loadWsdl', () => {
    it('finds the wsdl folder from the module location, the project root or the folder itself', async () => {
      const fromRoot = await loadWsdl(ROOT);
      const fromDir = await loadWsdl(WSDL_DIR);
      expect(fromRoot.render(address)).to.equal(rendered);
      expect(fromDir.render(address)).to.equal(rendered);
    });

    it('rejects a folder without the WSDL', async () => {
      const empty = await mkdtemp(path.join(tmpdir(), 'omgw-wsdl-'));
      try {
        let error: unknown;
        try {
          await loadWsdl(empty);
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(Error);
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
    });
  });

  describe('render', () => {
    it('is well-formed XML', () => {
      expect(XMLValidator.validate(rendered)).to.equal(true);
      expect(rendered.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<wsdl:definitions')).to.equal(true);
    });

    it('replaces every address placeholder with the given address', () => {
      expect(rendered).not.to.include('{{ADDRESS}}');
      expect(rendered.split(`location="${address}"`)).to.have.length(3);
    });

    it('escapes the address for an XML attribute', () => {
      const out = doc.render('https://gw.example.com/soap/business-events?a=1&b="2"<x>');
      expect(XMLValidator.validate(out)).to.equal(true);
      expect(out).to.include('location="https://gw.example.com/soap/business-events?a=1&amp;b=&quot;2&quot;&lt;x&gt;"');
      const tree = toTree(out);
      const service = only(tree, WSDL_NS, 'service');
      for (const port of kids(service, WSDL_NS, 'port')) {
        const addr = port.children[0];
        expect(addr?.local).to.equal('address');
        expect(addr?.attrs['location']).to.equal('https://gw.example.com/soap/business-events?a=1&b="2"<x>');
      }
    });

    it('percent-encodes control characters, which XML cannot carry', () => {
      const out = doc.render('http://h/p\u0001q\nr');
      expect(XMLValidator.validate(out)).to.equal(true);
      expect(out).to.include('location="http://h/p%01q%0Ar"');
    });

    it('inlines the payload schema instead of importing it', () => {
      expect(rendered).not.to.include('schemaLocation');
      const tree = toTree(rendered);
      const types = only(tree, WSDL_NS, 'types');
      const schemas = kids(types, XSD_NS, 'schema');
      expect(schemas).to.have.length(1);
      const schema = schemas[0] as El;
      expect(schema.attrs['targetNamespace']).to.equal(PAYLOAD_NS);
      expect(schema.attrs['elementFormDefault']).to.equal('qualified');
      expect(kids(schema, XSD_NS, 'import')).to.have.length(0);
      expect(kids(schema, XSD_NS, 'element').map((e) => e.attrs['name'])).to.deep.equal(['results']);
      expect(kids(schema, XSD_NS, 'complexType').map((e) => e.attrs['name'])).to.have.members([
        'OrderHeader',
        'OrderLine',
        'OrderFulfillmentLine',
        'OrderFulfillmentLineDetails',
        'OrderFulfillmentLineEFFs',
      ]);
    });

    it("keeps Oracle's abstract contract: message, part, portType and one-way operation", () => {
      const tree = toTree(rendered);
      expect(tree.ns).to.equal(WSDL_NS);
      expect(tree.local).to.equal('definitions');
      expect(tree.attrs['targetNamespace']).to.equal(CONNECTOR_NS);

      const messages = kids(tree, WSDL_NS, 'message');
      expect(messages.map((m) => m.attrs['name'])).to.deep.equal(['BusinessEventsConnectorPayloadRequestMessage']);
      const part = only(messages[0] as El, WSDL_NS, 'part');
      expect(part.attrs['name']).to.equal('payload');
      expect(qname(part, part.attrs['element'])).to.equal(`{${PAYLOAD_NS}}results`);

      const portTypes = kids(tree, WSDL_NS, 'portType');
      expect(portTypes.map((p) => p.attrs['name'])).to.deep.equal(['BusinessEventsConnectorPayload']);
      const operation = only(portTypes[0] as El, WSDL_NS, 'operation');
      expect(operation.attrs['name']).to.equal('pushPayload');
      const input = only(operation, WSDL_NS, 'input');
      expect(qname(input, input.attrs['message'])).to.equal(`{${CONNECTOR_NS}}BusinessEventsConnectorPayloadRequestMessage`);
      expect(kids(operation, WSDL_NS, 'output')).to.have.length(0);
      expect(kids(operation, WSDL_NS, 'fault')).to.have.length(0);
    });

    it('has document/literal SOAP 1.1 and SOAP 1.2 bindings with soapAction pushPayload, and a port for each', () => {
      const tree = toTree(rendered);
      const bindings = kids(tree, WSDL_NS, 'binding');
      expect(bindings).to.have.length(2);
      const byVersion = new Map<string, El>();
      for (const binding of bindings) {
        expect(qname(binding, binding.attrs['type'])).to.equal(`{${CONNECTOR_NS}}BusinessEventsConnectorPayload`);
        const soapBinding = binding.children.find((c) => c.local === 'binding');
        expect(soapBinding?.attrs['style']).to.equal('document');
        expect(soapBinding?.attrs['transport']).to.equal('http://schemas.xmlsoap.org/soap/http');
        byVersion.set(soapBinding?.ns ?? '', binding);
        const operation = only(binding, WSDL_NS, 'operation');
        expect(operation.attrs['name']).to.equal('pushPayload');
        const soapOperation = operation.children.find((c) => c.local === 'operation');
        expect(soapOperation?.ns).to.equal(soapBinding?.ns);
        expect(soapOperation?.attrs['soapAction']).to.equal('pushPayload');
        const body = only(operation, WSDL_NS, 'input').children[0];
        expect(body?.local).to.equal('body');
        expect(body?.attrs['use']).to.equal('literal');
      }
      expect([...byVersion.keys()]).to.have.members([SOAP11_BINDING_NS, SOAP12_BINDING_NS]);

      const services = kids(tree, WSDL_NS, 'service');
      expect(services.map((s) => s.attrs['name'])).to.deep.equal(['BusinessEventsConnectorService']);
      const ports = kids(services[0] as El, WSDL_NS, 'port');
      expect(ports).to.have.length(2);
      const addressNamespaces = ports.map((port) => {
        const binding = bindings.find((b) => `{${CONNECTOR_NS}}${b.attrs['name'] ?? ''}` === qname(port, port.attrs['binding']));
        expect(binding, `binding of port ${port.attrs['name'] ?? ''}`).to.not.equal(undefined);
        const addr = port.children[0] as El;
        expect(addr.local).to.equal('address');
        expect(addr.attrs['location']).to.equal(address);
        expect(binding?.children.find((c) => c.local === 'binding')?.ns).to.equal(addr.ns);
        return addr.ns;
      });
      expect(addressNamespaces).to.have.members([SOAP11_BINDING_NS, SOAP12_BINDING_NS]);
      expect(ports.map((p) => p.attrs['name'])).to.include('BusinessEventsConnectorPayload_pt');
    });
  });

  describe('node-soap reads it', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'omgw-wsdl-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('describes pushPayload with the results element and its whole tree (served, inlined)', async () => {
      const file = path.join(dir, 'served.wsdl');
      await writeFile(file, doc.render('http://127.0.0.1:8080/soap/business-events'));
      const client = await soap.createClientAsync(file);
      const description = client.describe() as Record<string, Record<string, Record<string, { input: Record<string, unknown> }>>>;
      const service = description['BusinessEventsConnectorService'];
      expect(Object.keys(service ?? {})).to.have.members([
        'BusinessEventsConnectorPayload_pt',
        'BusinessEventsConnectorPayload_pt_soap12',
      ]);
      const input = service?.['BusinessEventsConnectorPayload_pt']?.['pushPayload']?.input;
      const header = input?.['OrderHeader[]'] as Record<string, unknown> | undefined;
      expect(header?.['EventCode']).to.equal('xs:string');
      expect(header?.['OrchestrationOrderId']).to.equal('xs:long');
      const line = header?.['OrderLine[]'] as Record<string, unknown> | undefined;
      expect(line?.['OrchestrationOrderLineNumber']).to.equal('xs:int');
      const fline = line?.['OrderFulfillmentLine[]'] as Record<string, unknown> | undefined;
      expect(fline?.['ActualShipDateNew']).to.equal('xs:dateTime');
      const details = fline?.['OrderFulfillmentLineDetails[]'] as Record<string, unknown> | undefined;
      expect(details?.['TrackingNumber']).to.equal('xs:string');
      expect(details).to.have.property('OrderFulfillmentLineEFFs[]');
      expect(fline).to.have.property('OrderFulfillmentLineEFFs[]');

      const message = client.wsdl.definitions.messages['BusinessEventsConnectorPayloadRequestMessage'] as unknown as {
        element: { $name: string; targetNamespace: string };
      };
      expect(message.element.$name).to.equal('results');
      expect(message.element.targetNamespace).to.equal(PAYLOAD_NS);
      const services = client.wsdl.definitions.services as unknown as Record<string, { ports: Record<string, { location: string }> }>;
      expect(services['BusinessEventsConnectorService']?.ports['BusinessEventsConnectorPayload_pt']?.location).to.equal(
        'http://127.0.0.1:8080/soap/business-events',
      );
    });

    it('also reads the pair on disk (WSDL importing the XSD by relative schemaLocation)', async () => {
      const client = await soap.createClientAsync(path.join(WSDL_DIR, 'business-events.wsdl'));
      const description = client.describe() as Record<string, Record<string, Record<string, { input: Record<string, unknown> }>>>;
      const input = description['BusinessEventsConnectorService']?.['BusinessEventsConnectorPayload_pt']?.['pushPayload']?.input;
      expect(input).to.have.property('OrderHeader[]');
    });
  });

  describe('payload schema (wsdl/business-events-payload.xsd)', () => {
    /**
     * Every element of NOTES §3.2, in sequence order: `name:type` for a leaf (minOccurs 0,
     * nillable, at most once), `name:ComplexType*` for a repeated child (minOccurs 0, unbounded).
     */
    const EXPECTED: Record<string, string[]> = {
      results: ['OrderHeader:OrderHeader*'],
      OrderHeader: [
        'EventCode:string', 'SourceOrderSystem:string', 'SourceOrderId:string',
        'SourceOrderNumber:string', 'OrchestrationOrderNumber:string', 'OrchestrationOrderId:long',
        'CustomerId:long', 'HoldCode:string', 'HoldComments:string', 'CompensationStatus:string',
        'CompensationMessage:string', 'StatusCodeOldValue:string', 'StatusCodeNewValue:string',
        'StatusPriorValue:string', 'StatusNewValue:string', 'OrderLine:OrderLine*',
      ],
      OrderLine: [
        'EventCode:string', 'OrchestrationOrderLineId:long', 'OrchestrationOrderLineNumber:int',
        'HoldCode:string', 'HoldComments:string', 'SourceOrderLineId:string',
        'SourceOrderLineNumber:string', 'SourceOrderSystem:string', 'SourceOrderId:string',
        'SourceOrderScheduleId:string', 'PreSplitOrderedQuantity:decimal', 'ItemId:long',
        'InventoryOrganizationId:long', 'OpenFlagNewValue:string', 'OpenFlagOldValue:string',
        'StatusCodeOldValue:string', 'StatusCodeNewValue:string',
        'OrderFulfillmentLine:OrderFulfillmentLine*',
      ],
      OrderFulfillmentLine: [
        'SourceOrderScheduleId:string', 'OrchestrationOrderLineId:long', 'FulfillmentOrderLineId:long',
        'FulfillmentOrderLineNumber:int', 'ActualShipDateNew:dateTime', 'ActualShipDateOld:dateTime',
        'BillToContactIdNew:decimal', 'BillToContactIdOld:decimal', 'BillToCustomerIdNew:decimal',
        'BillToCustomerIdOld:decimal', 'FobPointCodeNew:string', 'FobPointCodeOld:string',
        'FulfillOrgIdNew:decimal', 'FulfillOrgIdOld:decimal', 'InventoryItemIdNew:decimal',
        'InventoryItemIdOld:decimal', 'OrderedQtyNew:decimal', 'OrderedQtyOld:decimal',
        'PromiseArrivalDateNew:dateTime', 'PromiseArrivalDateOld:dateTime',
        'PromiseShipDateNew:dateTime', 'PromiseShipDateOld:dateTime', 'RequestArrivalDateNew:dateTime',
        'RequestArrivalDateOld:dateTime', 'RequestShipDateNew:dateTime', 'RequestShipDateOld:dateTime',
        'ScheduleShipDateNew:dateTime', 'ScheduleShipDateOld:dateTime',
        'ScheduleArrivalDateNew:dateTime', 'ScheduleArrivalDateOld:dateTime',
        'ShipClassOfServiceNew:string', 'ShipClassOfServiceOld:string', 'ShipModeOfTransportNew:string',
        'ShipModeOfTransportOld:string', 'ShipmentPriorityCodeNew:string',
        'ShipmentPriorityCodeOld:string', 'ShipToContactIdNew:decimal', 'ShipToContactIdOld:decimal',
        'ShipToCustomerIdNew:decimal', 'ShipToCustomerIdOld:decimal', 'ShipToSiteUseIdNew:decimal',
        'ShipToSiteUseIdOld:decimal', 'TaxClassificationCodeNew:string',
        'TaxClassificationCodeOld:string', 'TaxExemptFlagNew:string', 'TaxExemptFlagOld:string',
        'UnitSellingPriceNew:decimal', 'UnitSellingPriceOld:decimal', 'ActualCompletionDateNew:date',
        'ActualCompletionDateOld:date', 'BillToSiteUseIdNew:decimal', 'BillToSiteUseIdOld:decimal',
        'CarrierIdNew:decimal', 'CarrierIdOld:decimal', 'CustomerPoNumberNew:string',
        'CustomerPoNumberOld:string', 'DemandClassCodeNew:string', 'DemandClassCodeOld:string',
        'EarliestAcceptableShipDateNew:date', 'EarliestAcceptableShipDateOld:date',
        'EstimateFulfillmentCostNew:decimal', 'EstimateFulfillmentCostOld:decimal',
        'EstimateMarginNew:decimal', 'EstimateMarginOld:decimal', 'FulfillmentDateNew:date',
        'FulfillmentDateOld:date', 'LatestAcceptableArrivalDateNew:dateTime',
        'LatestAcceptableArrivalDateOld:dateTime', 'LatestAcceptableShipDateNew:dateTime',
        'LatestAcceptableShipDateOld:dateTime', 'RemnantFlagNew:string', 'RemnantFlagOld:string',
        'ReturnReasonCodeNew:string', 'ReturnReasonCodeOld:string', 'HoldCode:string',
        'HoldComments:string', 'ItemId:long', 'InventoryOrganizationId:long', 'ShippedQuantity:long',
        'OrderedQuantity:long', 'JeopardyPriority:string', 'StatusCodeOldValue:string',
        'StatusCodeNewValue:string', 'CancelFlagOldValue:string', 'CancelFlagNewValue:string',
        'OrderFulfillmentLineDetails:OrderFulfillmentLineDetails*',
        'OrderFulfillmentLineEFFs:OrderFulfillmentLineEFFs*',
      ],
      OrderFulfillmentLineDetails: [
        'FulfillmentOrderLineDetailId:long', 'TaskType:string', 'BillingTransactionNumber:string',
        'BillingTransactionDate:dateTime', 'BillingTransactionAmount:decimal', 'WaybillNumber:string',
        'BillOfLaddingNumber:string', 'TrackingNumber:string', 'Quantity:decimal', 'Status:string',
        'DeliveryName:string', 'RmaReceiptNumber:string', 'RmaReceiptLineNumber:string',
        'RmaReceiptDate:date', 'RmaReceiptTransactionId:long', 'CustomerTrxLineId:long',
        'OrderFulfillmentLineEFFs:OrderFulfillmentLineEFFs*',
      ],
      OrderFulfillmentLineEFFs: [
        'ContextCode:string', 'SegmentCode:string', 'SegmentCharOldValue:string',
        'SegmentCharNewValue:string', 'SegmentNumOldValue:decimal', 'SegmentNumNewValue:decimal',
        'SegmentDateOldValue:date', 'SegmentDateNewValue:date', 'SegmentTimeOldValue:dateTime',
        'SegmentTimeNewValue:dateTime',
      ],
    };

    function describeSequence(owner: El): string[] {
      const complexType = owner.local === 'complexType' ? owner : only(owner, XSD_NS, 'complexType');
      const sequence = only(complexType, XSD_NS, 'sequence');
      expect(sequence.children.every((c) => c.ns === XSD_NS && c.local === 'element')).to.equal(true);
      return sequence.children.map((element) => {
        const name = element.attrs['name'] ?? '?';
        const type = qname(element, element.attrs['type']);
        expect(element.attrs['minOccurs'], `${name} minOccurs`).to.equal('0');
        if (type.startsWith(`{${XSD_NS}}`)) {
          expect(element.attrs['nillable'], `${name} nillable`).to.equal('true');
          expect(element.attrs['maxOccurs'] ?? '1', `${name} maxOccurs`).to.equal('1');
          return `${name}:${type.slice(XSD_NS.length + 2)}`;
        }
        expect(type.startsWith(`{${PAYLOAD_NS}}`), `${name} type namespace`).to.equal(true);
        expect(element.attrs['maxOccurs'], `${name} maxOccurs`).to.equal('unbounded');
        expect(element.attrs['nillable'] ?? 'false', `${name} nillable`).to.equal('false');
        return `${name}:${type.slice(PAYLOAD_NS.length + 2)}*`;
      });
    }

    it('declares results and the five types with every element, type, occurrence and nillability of the contract', async () => {
      const xsd = await readFile(path.join(WSDL_DIR, 'business-events-payload.xsd'), 'utf8');
      expect(XMLValidator.validate(xsd)).to.equal(true);
      const schema = toTree(xsd);
      expect(schema.ns).to.equal(XSD_NS);
      expect(schema.local).to.equal('schema');
      expect(schema.attrs['targetNamespace']).to.equal(PAYLOAD_NS);
      expect(schema.attrs['elementFormDefault']).to.equal('qualified');

      const actual: Record<string, string[]> = {};
      for (const element of kids(schema, XSD_NS, 'element')) actual[element.attrs['name'] ?? '?'] = describeSequence(element);
      for (const type of kids(schema, XSD_NS, 'complexType')) actual[type.attrs['name'] ?? '?'] = describeSequence(type);
      expect(actual).to.deep.equal(EXPECTED);
    });

    it('is the same schema that is inlined in the served WSDL', () => {
      const inlined = only(only(toTree(rendered), WSDL_NS, 'types'), XSD_NS, 'schema');
      const actual: Record<string, string[]> = {};
      for (const element of kids(inlined, XSD_NS, 'element')) actual[element.attrs['name'] ?? '?'] = describeSequence(element);
      for (const type of kids(inlined, XSD_NS, 'complexType')) actual[type.attrs['name'] ?? '?'] = describeSequence(type);
      expect(actual).to.deep.equal(EXPECTED);
    });
  });

  describe('requestBaseUrl', () => {
    const cases: Array<[string, Parameters<typeof requestBaseUrl>[0], string]> = [
      ['plain HTTP with the Host header', { host: 'gw.example.com:8080', encrypted: false, trustProxy: false }, 'http://gw.example.com:8080'],
      ['TLS socket', { host: 'gw.example.com', encrypted: true, trustProxy: false }, 'https://gw.example.com'],
      [
        'forwarded headers, trusted',
        { host: '10.0.0.5:8080', encrypted: false, forwardedProto: 'https', forwardedHost: 'om.example.com', trustProxy: true },
        'https://om.example.com',
      ],
      [
        'forwarded headers, not trusted',
        { host: '10.0.0.5:8080', encrypted: false, forwardedProto: 'https', forwardedHost: 'om.example.com', trustProxy: false },
        'http://10.0.0.5:8080',
      ],
      [
        'comma lists take the first value',
        { host: 'internal:8080', encrypted: false, forwardedProto: 'https, http', forwardedHost: ' om.example.com:8443 , proxy.internal', trustProxy: true },
        'https://om.example.com:8443',
      ],
      [
        'trusted but only a forwarded proto',
        { host: 'gw.example.com', encrypted: false, forwardedProto: 'HTTPS', trustProxy: true },
        'https://gw.example.com',
      ],
      [
        'trusted proxy may downgrade to http',
        { host: 'gw.example.com', encrypted: true, forwardedProto: 'http', trustProxy: true },
        'http://gw.example.com',
      ],
      [
        'unknown forwarded proto is ignored',
        { host: 'gw.example.com', encrypted: true, forwardedProto: 'ftp', trustProxy: true },
        'https://gw.example.com',
      ],
      ['IPv6 host with port', { host: '[::1]:8443', encrypted: true, trustProxy: false }, 'https://[::1]:8443'],
      ['IPv6 host without port', { host: '[2001:db8::10]', encrypted: false, trustProxy: false }, 'http://[2001:db8::10]'],
      [
        'IPv6 forwarded host',
        { host: 'internal', encrypted: false, forwardedHost: '[2001:db8::1]:443', forwardedProto: 'https', trustProxy: true },
        'https://[2001:db8::1]:443',
      ],
      ['missing Host header', { host: undefined, encrypted: false, trustProxy: false }, 'http://localhost'],
      ['hostile Host header', { host: 'evil.example"/><x a="', encrypted: false, trustProxy: false }, 'http://localhost'],
      [
        'hostile forwarded host falls back to Host',
        { host: 'gw.example.com', encrypted: false, forwardedHost: 'a b/c', trustProxy: true },
        'http://gw.example.com',
      ],
      [
        'empty forwarded values fall back',
        { host: 'gw.example.com', encrypted: true, forwardedHost: '', forwardedProto: ' ,https', trustProxy: true },
        'https://gw.example.com',
      ],
    ];
    for (const [title, input, expected] of cases) {
      it(title, () => {
        expect(requestBaseUrl(input)).to.equal(expected);
      });
    }
  });
});
