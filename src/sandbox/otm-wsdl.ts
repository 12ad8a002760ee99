/**
 * The WSDL 1.1 of the sandbox OTM TransmissionService: what it accepts (`publish`, a Transmission
 * in OTM's v6.4 document namespace, document/literal over SOAP 1.1) and what it answers (a
 * `publishResponse` holding a TransmissionAck). Served at `GET .../TransmissionService/call?wsdl`,
 * so `omgw connector test` and SOAP toolkits can read the service as they would a real OTM's.
 *
 * The schema names the Transmission frame the sandbox checks (TransmissionHeader,
 * TransmissionBody/GLogXMLElement) and leaves the GLog content open (`xsd:any`, lax): OTM's full
 * GLog schema is thousands of types, and the sandbox records whatever Release an OTM mapping writes.
 */
import { escapeXmlAttribute } from '../domain/xml-escape.ts';

export const OTM_SERVICE_NS = 'http://xmlns.oracle.com/apps/otm/TransmissionService';
export const OTM_DOCUMENT_NS = 'http://xmlns.oracle.com/apps/otm/transmission/v6.4';
const OTM_PUBLISH_ACTION = `${OTM_SERVICE_NS}/publish`;

/** The WSDL with its soap:address set to `address` (the URL it was fetched from, without the query). */
export function otmTransmissionWsdl(address: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="TransmissionService"
    targetNamespace="${OTM_SERVICE_NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tran="${OTM_SERVICE_NS}"
    xmlns:v6="${OTM_DOCUMENT_NS}">
  <wsdl:types>
    <xsd:schema targetNamespace="${OTM_DOCUMENT_NS}" elementFormDefault="qualified">
      <xsd:element name="Transmission" type="v6:TransmissionType"/>
      <xsd:element name="TransmissionAck" type="v6:TransmissionAckType"/>
      <xsd:complexType name="TransmissionType">
        <xsd:sequence>
          <xsd:element name="TransmissionHeader" type="v6:TransmissionHeaderType"/>
          <xsd:element name="TransmissionBody" type="v6:TransmissionBodyType"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="TransmissionHeaderType">
        <xsd:sequence>
          <xsd:element name="SenderTransmissionNo" type="xsd:string" minOccurs="0"/>
          <xsd:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="TransmissionBodyType">
        <xsd:sequence>
          <xsd:element name="GLogXMLElement" type="v6:GLogXMLElementType" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="GLogXMLElementType">
        <xsd:sequence>
          <xsd:any namespace="##any" processContents="lax" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="TransmissionAckType">
        <xsd:sequence>
          <xsd:element name="EchoedTransmissionHeader" minOccurs="0">
            <xsd:complexType>
              <xsd:sequence>
                <xsd:element name="TransmissionHeader" type="v6:TransmissionHeaderType"/>
              </xsd:sequence>
            </xsd:complexType>
          </xsd:element>
          <xsd:element name="ReferenceTransmissionNo" type="xsd:string" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>
    </xsd:schema>
    <xsd:schema targetNamespace="${OTM_SERVICE_NS}" elementFormDefault="qualified">
      <xsd:import namespace="${OTM_DOCUMENT_NS}"/>
      <xsd:element name="publish">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element ref="v6:Transmission"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="publishResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element ref="v6:TransmissionAck"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="publishRequest">
    <wsdl:part name="parameters" element="tran:publish"/>
  </wsdl:message>
  <wsdl:message name="publishResponse">
    <wsdl:part name="parameters" element="tran:publishResponse"/>
  </wsdl:message>
  <wsdl:portType name="TransmissionServicePortType">
    <wsdl:operation name="publish">
      <wsdl:input message="tran:publishRequest"/>
      <wsdl:output message="tran:publishResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="TransmissionServiceSoapBinding" type="tran:TransmissionServicePortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="publish">
      <soap:operation soapAction="${OTM_PUBLISH_ACTION}"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="TransmissionService">
    <wsdl:port name="TransmissionServicePort" binding="tran:TransmissionServiceSoapBinding">
      <soap:address location="${escapeXmlAttribute(address)}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
