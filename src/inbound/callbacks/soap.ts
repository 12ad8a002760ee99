/**
 * A SOAP callback read with the gateway's streaming SOAP parser (src/inbound/soap/envelope.ts: the
 * same limits, DOCTYPE refusal, UTF-8 check and UsernameToken pick-up as OM's pushes), its Body
 * holding one `DeliveryResponse` (wsdl.ts); and the `CallbackAck` answered to it.
 */
import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import { parsePush, type CredentialsCheck, type ParseLimits, type SoapVersion } from '../soap/envelope.ts';
import { soapContentType } from '../soap/fault.ts';
import { CALLBACK_NS, CALLBACK_REQUEST_ELEMENT } from './wsdl.ts';

/** The fields of a DeliveryResponse as the callback service takes them. */
export interface SoapCallbackFields {
  correlationId: string;
  status: string;
  message?: string;
}

export interface ReadSoapCallback {
  soapVersion: SoapVersion;
  fields: SoapCallbackFields;
  /** The envelope as received, with every wsse:Password's content replaced by `***`. */
  redacted: Buffer;
}

/**
 * Parses a SOAP callback as it streams in. `onCredentials` (a UsernameToken connector) is told the
 * token when the Header closes, before any of the Body is parsed. Throws GatewayError for every
 * refusal (the codes of parsePush; SOAP_UNKNOWN_OPERATION for a Body that is not a DeliveryResponse).
 */
export async function readSoapCallback(
  body: AsyncIterable<Buffer | Uint8Array | string>,
  limits: ParseLimits,
  onCredentials?: CredentialsCheck,
): Promise<ReadSoapCallback> {
  const parsed = await parsePush(body, limits, undefined, onCredentials, { uri: CALLBACK_NS, local: CALLBACK_REQUEST_ELEMENT, item: null });
  const record = parsed.headers[0] ?? {};
  const message = leaf(record, 'Message');
  return {
    soapVersion: parsed.soapVersion,
    fields: { correlationId: leaf(record, 'CorrelationId') ?? '', status: leaf(record, 'Status') ?? '', ...(message !== null ? { message } : {}) },
    redacted: Buffer.from(parsed.redactedXml, 'utf8'),
  };
}

/** A leaf's text (trimmed), or null when absent, nil or not a leaf. */
function leaf(record: XmlRecord, name: string): string | null {
  const value: XmlValue | undefined = Object.hasOwn(record, name) ? record[name] : undefined;
  return typeof value === 'string' ? value.trim() : null;
}

/** The SOAP answer to an accepted callback, after the commit. */
export function callbackAck(version: SoapVersion, ack: { eventId: string | null; outcome: string; deliveryId: string | null }): { contentType: string; body: string } {
  const env = version === '1.2' ? 'http://www.w3.org/2003/05/soap-envelope' : 'http://schemas.xmlsoap.org/soap/envelope/';
  const field = (name: string, value: string | null): string => (value === null ? '' : `<cb:${name}>${escapeXml(value)}</cb:${name}>`);
  return {
    contentType: soapContentType(version),
    body:
      `<?xml version="1.0" encoding="UTF-8"?>` +
      `<env:Envelope xmlns:env="${env}"><env:Body>` +
      `<cb:CallbackAck xmlns:cb="${CALLBACK_NS}">${field('EventId', ack.eventId)}${field('Outcome', ack.outcome)}${field('DeliveryId', ack.deliveryId)}</cb:CallbackAck>` +
      `</env:Body></env:Envelope>`,
  };
}

/** The SOAP version a request speaks, from its Content-Type (the envelope's namespace is checked while parsing). */
export function soapVersionOf(contentType: string): SoapVersion {
  return /application\/soap\+xml/i.test(contentType) ? '1.2' : '1.1';
}

function escapeXml(text: string): string {
  return text.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}
