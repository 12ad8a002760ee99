/**
 * The WSDL 1.1 of the sandbox warehouse ShipmentService: a target known only by its WSDL, as
 * warehouse and carrier systems are. Its schema has nested types in two namespaces (the service's
 * request element, and the shipment, address and line types of a types namespace), a repeated line
 * and optional elements; document/literal over SOAP 1.1. Served at `GET .../ShipmentService?wsdl`;
 * the example connector `warehouse` reads it (soap.wsdl) and its mapping yields CreateShipment's input.
 */
import { escapeXmlAttribute } from '../domain/xml-escape.ts';

export const WAREHOUSE_SERVICE_NS = 'urn:example:sandbox:warehouse';
const WAREHOUSE_TYPES_NS = 'urn:example:sandbox:warehouse:types';

/** The WSDL with its soap:address set to `address` (the URL it was fetched from, without the query). */
export function warehouseWsdl(address: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="ShipmentService"
    targetNamespace="${WAREHOUSE_SERVICE_NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:wh="${WAREHOUSE_SERVICE_NS}"
    xmlns:wt="${WAREHOUSE_TYPES_NS}">
  <wsdl:types>
    <xsd:schema targetNamespace="${WAREHOUSE_TYPES_NS}" elementFormDefault="qualified">
      <xsd:complexType name="Address">
        <xsd:sequence>
          <xsd:element name="name" type="xsd:string"/>
          <xsd:element name="line1" type="xsd:string"/>
          <xsd:element name="line2" type="xsd:string" minOccurs="0"/>
          <xsd:element name="city" type="xsd:string"/>
          <xsd:element name="postalCode" type="xsd:string"/>
          <xsd:element name="country" type="xsd:string"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="ShipmentLine">
        <xsd:sequence>
          <xsd:element name="sku" type="xsd:string"/>
          <xsd:element name="quantity" type="xsd:decimal"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Shipment">
        <xsd:sequence>
          <xsd:element name="reference" type="xsd:string"/>
          <xsd:element name="shipTo" type="wt:Address"/>
          <xsd:element name="line" type="wt:ShipmentLine" maxOccurs="unbounded"/>
          <xsd:element name="instructions" type="xsd:string" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>
    </xsd:schema>
    <xsd:schema targetNamespace="${WAREHOUSE_SERVICE_NS}" elementFormDefault="qualified">
      <xsd:import namespace="${WAREHOUSE_TYPES_NS}"/>
      <xsd:element name="CreateShipment">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="requestId" type="xsd:string"/>
            <xsd:element name="shipment" type="wt:Shipment"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="CreateShipmentResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="confirmationId" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="CreateShipmentRequest"><wsdl:part name="parameters" element="wh:CreateShipment"/></wsdl:message>
  <wsdl:message name="CreateShipmentResponse"><wsdl:part name="parameters" element="wh:CreateShipmentResponse"/></wsdl:message>
  <wsdl:portType name="ShipmentPortType">
    <wsdl:operation name="CreateShipment">
      <wsdl:input message="wh:CreateShipmentRequest"/>
      <wsdl:output message="wh:CreateShipmentResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="ShipmentSoapBinding" type="wh:ShipmentPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="CreateShipment">
      <soap:operation soapAction="${WAREHOUSE_SERVICE_NS}/CreateShipment"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="ShipmentService">
    <wsdl:port name="ShipmentServicePort" binding="wh:ShipmentSoapBinding">
      <soap:address location="${escapeXmlAttribute(address)}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
