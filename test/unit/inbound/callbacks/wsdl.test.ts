import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { CALLBACK_NS, callbackWsdl } from '../../../../src/inbound/callbacks/wsdl.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: false });

type Node = Record<string, unknown>;

function parse(xml: string): Node {
  return (parser.parse(xml) as Node)['wsdl:definitions'] as Node;
}

describe('callbackWsdl', () => {
  it('describes deliveryResponse, document/literal SOAP 1.1, served at the given address', () => {
    const doc = parse(callbackWsdl({ connector: 'fulfilment-eu', address: 'http://127.0.0.1:8080/callbacks/fulfilment-eu', usernameToken: false }));
    expect(doc['@targetNamespace']).to.equal(CALLBACK_NS);
    const service = doc['wsdl:service'] as Node;
    expect(service['@name']).to.equal('FulfilmentEuCallbackService');
    const port = service['wsdl:port'] as Node;
    expect((port['soap:address'] as Node)['@location']).to.equal('http://127.0.0.1:8080/callbacks/fulfilment-eu');
    const binding = doc['wsdl:binding'] as Node;
    expect((binding['soap:binding'] as Node)['@style']).to.equal('document');
    expect((binding['wsdl:operation'] as Node)['@name']).to.equal('deliveryResponse');
    const elements = ((doc['wsdl:types'] as Node)['xsd:schema'] as Node)['xsd:element'] as Node[];
    expect(elements.map((e) => e['@name'])).to.deep.equal(['DeliveryResponse', 'CallbackAck']);
    const fields = (((elements[0] as Node)['xsd:complexType'] as Node)['xsd:sequence'] as Node)['xsd:element'] as Node[];
    expect(fields.map((f) => [f['@name'], f['@minOccurs'] ?? '1'])).to.deep.equal([
      ['CorrelationId', '1'],
      ['Status', '1'],
      ['Message', '0'],
      ['Detail', '0'],
    ]);
    expect(doc['wsp:Policy']).to.equal(undefined);
  });

  it('notes the UsernameToken policy, and escapes the address', () => {
    const xml = callbackWsdl({ connector: 'wms', address: 'http://h/callbacks/wms?"<x>', usernameToken: true });
    const doc = parse(xml);
    expect((doc['wsp:Policy'] as Node)['@wsu:Id']).to.equal('UsernameTokenPolicy');
    expect(((doc['wsdl:binding'] as Node)['wsp:PolicyReference'] as Node)['@URI']).to.equal('#UsernameTokenPolicy');
    expect(xml).to.include('location="http://h/callbacks/wms?&quot;&lt;x&gt;"');
  });
});
