/**
 * Builds realistic Oracle Fusion Order Management pushes (`pushPayload` requests) for tests,
 * benchmarks and the sandbox's emulated OM.
 *
 * The payload follows what Oracle's XSL maps fill per event code (specs/oracle-om/NOTES.md §2.3):
 * only those elements, in the schema's sequence order, under the namespace of `results`. Ids are
 * 15-digit Fusion-style ids derived from the order (system, number) and the line number, so the
 * same input always gives the same bytes. Envelopes imitate three kinds of SOAP client (§3.4 and
 * DESIGN §6): a plain one, Oracle's own SOA client, and a Perl SOAP::Lite-style client.
 *
 * Pure functions: no I/O. The only impurity is that, unless `now` (or an explicit nonce/created)
 * is given, WS-Security nonces, timestamps and WS-Addressing message ids come from the clock and
 * `crypto.randomBytes`, as they would for a real client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { passwordDigest } from '../connectors/auth/ws-security.ts';
import { digestOf } from './om-push/order-ids.ts';
import { buildResults, XSI_NS, type PushHeaderInput } from './om-push/results.ts';
import { escapeXmlText } from '../domain/xml-escape.ts';

// The order ids and the `results` payload are made in om-push/; this module wraps them in an
// envelope the way each kind of client does, and is what tests, benchmarks and the CLI import.
export { sandboxOrderIds, type PushOrder } from './om-push/order-ids.ts';
export { buildResults, OM_PAYLOAD_NS, PUSH_EVENT_CODES, type PushEventCode, type PushHeaderInput } from './om-push/results.ts';
export type SecurityStyle =
  | { kind: 'none' }
  | { kind: 'text'; username: string; password: string }
  | { kind: 'digest'; username: string; password: string; nonce?: Buffer; created?: string };

export interface PushOptions {
  /** Default '1.1'. */
  soapVersion?: '1.1' | '1.2';
  /** Default none. */
  security?: SecurityStyle;
  /** Default 'plain'. */
  style?: 'oracle' | 'plain' | 'perl';
  /** Namespace prefix for the payload, default 'ns1'; '' puts the payload in the default namespace. */
  prefix?: string;
  /** The endpoint URL, used for wsa:To in 'oracle' style. Default http://localhost:8080/soap/business-events. */
  address?: string;
  /** Indent the envelope and payload with two spaces (not for 'perl'). Default false: compact, as OM sends. */
  pretty?: boolean;
  /**
   * The client's clock. When given, every value that would otherwise be random or clock-based
   * (Created, Timestamp, Nonce, wsa:MessageID, wsu:Id) is derived from it and the payload, so the
   * whole envelope is reproducible byte for byte.
   */
  now?: Date;
}

export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENVELOPE_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const PASSWORD_TEXT_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
export const BASE64_ENCODING_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const WSA_NS = 'http://www.w3.org/2005/08/addressing';
const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const SOAP11_ENCODING = 'http://schemas.xmlsoap.org/soap/encoding/';
const SOAP12_ENCODING = 'http://www.w3.org/2003/05/soap-encoding';
const SOAP_ACTION = 'pushPayload';
const DEFAULT_ADDRESS = 'http://localhost:8080/soap/business-events';
const TIMESTAMP_TTL_MS = 300_000;

// ------------------------------------------------------------------------------------------------
// Envelope

/** HTTP headers a client sends with a push of this SOAP version. */
export function pushHttpHeaders(options: Pick<PushOptions, 'soapVersion'> = {}): Record<string, string> {
  return options.soapVersion === '1.2'
    ? { 'content-type': `application/soap+xml; charset=UTF-8; action="${SOAP_ACTION}"` }
    : { 'content-type': 'text/xml; charset=UTF-8', soapaction: `"${SOAP_ACTION}"` };
}

function uuidFrom(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Lines of markup with their nesting depth; joined with indentation when pretty, else run together. */
type Markup = Array<[depth: number, text: string]>;

function securityBlock(
  security: SecurityStyle,
  style: 'oracle' | 'plain' | 'perl',
  clock: Date,
  entropy: (label: string, size: number) => Buffer,
): Markup {
  const createdAt = clock.toISOString();
  const out: Markup = [];
  if (style === 'oracle') {
    out.push(
      [0, `<wsu:Timestamp wsu:Id="TS-${entropy('ts', 8).toString('hex')}">`],
      [1, `<wsu:Created>${createdAt}</wsu:Created>`],
      [1, `<wsu:Expires>${new Date(clock.getTime() + TIMESTAMP_TTL_MS).toISOString()}</wsu:Expires>`],
      [0, `</wsu:Timestamp>`],
    );
  }
  if (security.kind === 'none') return out;

  let passwordType = PASSWORD_TEXT_TYPE;
  let password = security.password;
  let nonce: Buffer | undefined;
  let created: string | undefined;
  if (security.kind === 'digest') {
    nonce = security.nonce ?? entropy('nonce', 16);
    created = security.created ?? createdAt;
    passwordType = PASSWORD_DIGEST_TYPE;
    password = passwordDigest(nonce, created, security.password);
  } else if (style === 'oracle') {
    // Oracle's client sends Nonce and Created even with a plain-text password.
    nonce = entropy('nonce', 16);
    created = createdAt;
  }
  out.push(
    [0, `<wsse:UsernameToken wsu:Id="UsernameToken-${entropy('ut', 8).toString('hex')}">`],
    [1, `<wsse:Username>${escapeXmlText(security.username)}</wsse:Username>`],
    [1, `<wsse:Password Type="${passwordType}">${escapeXmlText(password)}</wsse:Password>`],
  );
  if (nonce !== undefined) {
    out.push([1, `<wsse:Nonce EncodingType="${BASE64_ENCODING_TYPE}">${nonce.toString('base64')}</wsse:Nonce>`]);
  }
  if (created !== undefined) out.push([1, `<wsu:Created>${escapeXmlText(created)}</wsu:Created>`]);
  out.push([0, `</wsse:UsernameToken>`]);
  return out;
}

/**
 * A whole SOAP envelope carrying `buildResults(headers, prefix)` in its Body.
 * - 'plain': `soapenv:` prefix, a wsse:Security header only when security is set.
 * - 'oracle': Oracle XDK-style XML declaration, `env:` prefix, WS-Addressing To/Action/MessageID/
 *   ReplyTo, and wsse:Security (mustUnderstand="1") with a wsu:Timestamp; a PasswordText token
 *   also carries Nonce and Created, as Oracle's client sends them.
 * - 'perl': SOAP::Lite-style envelope with xsi/xsd/soapenc declarations, `soap:encodingStyle` on
 *   the Envelope and mustUnderstand="1" on wsse:Security.
 * Compact unless `pretty` is set ('perl' is always compact, as SOAP::Lite writes it).
 */
export function buildPush(headers: PushHeaderInput[], options: PushOptions = {}): string {
  const version = options.soapVersion ?? '1.1';
  const style = options.style ?? 'plain';
  const pretty = (options.pretty ?? false) && style !== 'perl';
  const results = buildResults(headers, options.prefix ?? 'ns1', { pretty });

  const fixed = options.now !== undefined;
  const clock = options.now ?? new Date();
  const entropy = (label: string, size: number): Buffer =>
    fixed ? digestOf(label, clock.toISOString(), results).subarray(0, size) : randomBytes(size);

  const env = style === 'oracle' ? 'env' : style === 'perl' ? 'soap' : 'soapenv';
  const envNs = version === '1.2' ? SOAP12_ENVELOPE_NS : SOAP11_ENVELOPE_NS;
  const encoding = version === '1.2' ? SOAP12_ENCODING : SOAP11_ENCODING;

  const header: Markup = [];
  if (style === 'oracle') {
    const messageId = fixed ? uuidFrom(entropy('msgid', 16)) : randomUUID();
    header.push(
      [0, `<wsa:To>${escapeXmlText(options.address ?? DEFAULT_ADDRESS)}</wsa:To>`],
      [0, `<wsa:Action>${SOAP_ACTION}</wsa:Action>`],
      [0, `<wsa:MessageID>urn:uuid:${messageId}</wsa:MessageID>`],
      [0, `<wsa:ReplyTo>`],
      [1, `<wsa:Address>${WSA_ANONYMOUS}</wsa:Address>`],
      [0, `</wsa:ReplyTo>`],
    );
  }
  const security = securityBlock(options.security ?? { kind: 'none' }, style, clock, entropy);
  if (security.length > 0) {
    const mustUnderstand = style === 'plain' ? '' : ` ${env}:mustUnderstand="1"`;
    header.push(
      [0, `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"${mustUnderstand}>`],
      ...security.map(([d, t]): [number, string] => [d + 1, t]),
      [0, `</wsse:Security>`],
    );
  }

  let declaration = '';
  let envelopeAttributes = ` xmlns:${env}="${envNs}"`;
  if (style === 'oracle') {
    declaration = `<?xml version = '1.0' encoding = 'UTF-8'?>`;
    envelopeAttributes += ` xmlns:wsa="${WSA_NS}"`;
  } else if (style === 'perl') {
    declaration = `<?xml version="1.0" encoding="UTF-8"?>`;
    envelopeAttributes =
      ` xmlns:xsi="${XSI_NS}" xmlns:soapenc="${encoding}" xmlns:xsd="${XSD_NS}"` +
      ` ${env}:encodingStyle="${encoding}" xmlns:${env}="${envNs}"`;
  }

  const doc: Markup = [[0, `<${env}:Envelope${envelopeAttributes}>`]];
  if (header.length > 0) {
    doc.push([1, `<${env}:Header>`], ...header.map(([d, t]): [number, string] => [d + 2, t]), [1, `</${env}:Header>`]);
  }
  doc.push([1, `<${env}:Body>`]);
  if (pretty) {
    for (const line of results.split('\n')) doc.push([2, line]);
  } else {
    doc.push([2, results]);
  }
  doc.push([1, `</${env}:Body>`], [0, `</${env}:Envelope>`]);

  const body = pretty ? doc.map(([d, t]) => '  '.repeat(d) + t).join('\n') : doc.map(([, t]) => t).join('');
  if (declaration === '') return body;
  return declaration + (pretty ? '\n' : '') + body;
}

/**
 * The benchmark push: one OrderAttributeUpdate header with 3 lines, each fulfilment line with a
 * shipment detail (tracking, waybill, quantity); flexfields on the first line. About 3.5 KB with
 * the defaults (compact, SOAP 1.1, no security).
 */
export function realisticPush(options: PushOptions & { orderNumber?: string } = {}): string {
  const { orderNumber, ...pushOptions } = options;
  return buildPush(
    [
      {
        eventCode: 'OrderAttributeUpdate',
        order: { sourceOrderSystem: 'LEG', sourceOrderNumber: orderNumber ?? 'SO-100234', lines: 3 },
      },
    ],
    pushOptions,
  );
}
