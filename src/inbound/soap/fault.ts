import type { FaultParty } from '../../domain/errors.ts';
import { escapeXmlText } from '../../domain/xml-escape.ts';
import type { SoapVersion } from './envelope.ts';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const OMGW = 'urn:om-connector-gateway:fault';

/** A SOAP Fault in the version the request used; the detail carries the gateway's stable error code. */
export function buildFault(version: SoapVersion, party: FaultParty, code: string, message: string): string {
  const msg = escapeXmlText(message);
  if (version === '1.2') {
    const value = party === 'Client' ? 'env:Sender' : 'env:Receiver';
    return (
      `<?xml version="1.0" encoding="UTF-8"?>` +
      `<env:Envelope xmlns:env="${SOAP12}"><env:Body><env:Fault>` +
      `<env:Code><env:Value>${value}</env:Value></env:Code>` +
      `<env:Reason><env:Text xml:lang="en">${msg}</env:Text></env:Reason>` +
      `<env:Detail><omgw:error xmlns:omgw="${OMGW}"><omgw:code>${escapeXmlText(code)}</omgw:code></omgw:error></env:Detail>` +
      `</env:Fault></env:Body></env:Envelope>`
    );
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><soap:Fault>` +
    `<faultcode>soap:${party}</faultcode>` +
    `<faultstring xml:lang="en">${msg}</faultstring>` +
    `<detail><omgw:error xmlns:omgw="${OMGW}"><omgw:code>${escapeXmlText(code)}</omgw:code></omgw:error></detail>` +
    `</soap:Fault></soap:Body></soap:Envelope>`
  );
}

export function soapContentType(version: SoapVersion): string {
  return version === '1.2' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8';
}

/**
 * The HTTP status of a fault: statuses with their own meaning (401, 404, 413, 415, 503) are kept; other
 * sender faults are 500 in SOAP 1.1 (its HTTP binding answers every fault with 500) and 400 in 1.2.
 */
export function faultStatus(version: SoapVersion, party: FaultParty, status: number): number {
  if ([401, 404, 413, 415, 503].includes(status)) return status;
  if (party === 'Server') return 500;
  return version === '1.2' ? 400 : 500;
}
