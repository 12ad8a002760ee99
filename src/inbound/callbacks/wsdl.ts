/**
 * The WSDL of one async connector's SOAP callback (`GET /callbacks/{connector}?wsdl`): what a target
 * that answers in SOAP calls to report the outcome of a request the gateway sent it. Document/literal,
 * SOAP 1.1, one operation `deliveryResponse`: request element `DeliveryResponse` (CorrelationId,
 * Status, Message?, Detail? of any content), response element `CallbackAck` (EventId?, Outcome,
 * DeliveryId?). The schema is the same for every connector; the service's name, its address (the URL
 * the WSDL was fetched from) and, for a connector whose callbacks carry a WS-Security UsernameToken,
 * the policy that says so differ.
 */

/** The namespace of the callback's elements (requests are dispatched on the element, not on SOAPAction). */
export const CALLBACK_NS = 'urn:om-connector-gateway:callback';
export const CALLBACK_REQUEST_ELEMENT = 'DeliveryResponse';
const SOAP_ACTION = `${CALLBACK_NS}/deliveryResponse`;

const WSP_NS = 'http://www.w3.org/ns/ws-policy';
const SP_NS = 'http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';

export interface CallbackWsdlOptions {
  connector: string;
  /** The URL clients post callbacks to: where the WSDL was fetched, without its query. */
  address: string;
  /** The connector's callbacks carry a UsernameToken in the SOAP Header (auth type username-token). */
  usernameToken: boolean;
}

export function callbackWsdl(options: CallbackWsdlOptions): string {
  const service = `${serviceName(options.connector)}CallbackService`;
  const policy = options.usernameToken
    ? `
  <wsp:Policy wsu:Id="UsernameTokenPolicy">
    <wsp:Documentation>Each callback carries a WS-Security UsernameToken (PasswordText or PasswordDigest with Nonce and Created) in the SOAP Header.</wsp:Documentation>
    <sp:SupportingTokens>
      <wsp:Policy>
        <sp:UsernameToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient"/>
      </wsp:Policy>
    </sp:SupportingTokens>
  </wsp:Policy>`
    : '';
  const policyRef = options.usernameToken ? '\n    <wsp:PolicyReference URI="#UsernameTokenPolicy"/>' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="${service}"
    targetNamespace="${CALLBACK_NS}"
    xmlns:tns="${CALLBACK_NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:wsp="${WSP_NS}"
    xmlns:sp="${SP_NS}"
    xmlns:wsu="${WSU_NS}">
  <wsdl:documentation>Later answers of the async connector "${escapeXml(options.connector)}" to the OM Connector Gateway: one DeliveryResponse per request the gateway sent, matched by its correlation id.</wsdl:documentation>${policy}
  <wsdl:types>
    <xsd:schema targetNamespace="${CALLBACK_NS}" elementFormDefault="qualified">
      <xsd:element name="${CALLBACK_REQUEST_ELEMENT}">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="CorrelationId" type="xsd:string"/>
            <xsd:element name="Status" type="xsd:string"/>
            <xsd:element name="Message" type="xsd:string" minOccurs="0"/>
            <xsd:element name="Detail" minOccurs="0">
              <xsd:complexType>
                <xsd:sequence>
                  <xsd:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
                </xsd:sequence>
              </xsd:complexType>
            </xsd:element>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="CallbackAck">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="EventId" type="xsd:string" minOccurs="0"/>
            <xsd:element name="Outcome" type="xsd:string"/>
            <xsd:element name="DeliveryId" type="xsd:string" minOccurs="0"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="DeliveryResponseRequest">
    <wsdl:part name="parameters" element="tns:${CALLBACK_REQUEST_ELEMENT}"/>
  </wsdl:message>
  <wsdl:message name="DeliveryResponseAck">
    <wsdl:part name="parameters" element="tns:CallbackAck"/>
  </wsdl:message>
  <wsdl:portType name="DeliveryCallback">
    <wsdl:operation name="deliveryResponse">
      <wsdl:input message="tns:DeliveryResponseRequest"/>
      <wsdl:output message="tns:DeliveryResponseAck"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="DeliveryCallbackSoap11" type="tns:DeliveryCallback">${policyRef}
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="deliveryResponse">
      <soap:operation soapAction="${SOAP_ACTION}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="${service}">
    <wsdl:port name="DeliveryCallbackPort" binding="tns:DeliveryCallbackSoap11">
      <soap:address location="${escapeXml(options.address)}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}

/** An NCName from a connector name (lower-case letters, digits, `.`, `_`, `-`): `fulfilment-eu` → `FulfilmentEu`. */
function serviceName(connector: string): string {
  const words = connector.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  const name = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z]/.test(name) ? name : `C${name}`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;'));
}
