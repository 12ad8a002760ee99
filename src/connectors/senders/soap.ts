import { XMLParser } from 'fast-xml-parser';
import type { ConnectorConfig } from '../../config/schema.ts';
import { TransformError, type OutboundRequest, type SendResult, type TransformOutput } from '../types.ts';
import {
  attempt,
  BODY_SNIPPET_BYTES,
  buildHeaders,
  buildUrl,
  httpErrorMessage,
  NO_SECRETS,
  responseResult,
  setHeader,
  type SendInput,
} from './rest.ts';

/**
 * SOAP sender: wraps a transform's XML in a document/literal envelope (SOAP 1.1 or 1.2), and reads
 * the target's answer: 2xx without a Fault is delivered; a Fault (in a 2xx, 400 or 500 answer) is a
 * `soap_fault` whose party (Client: permanent, Server: retry) comes from the fault code; any other
 * non-2xx answer is an `http` error. Responses are parsed with entity processing off, and a response
 * with a DOCTYPE is refused unparsed.
 */

const SOAP11_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope';

export type SoapVersion = '1.1' | '1.2';

export interface SoapFault {
  version: SoapVersion;
  /** faultcode (1.1) or Code/Value (1.2) as written, e.g. `soap:Client`, `env:Receiver`. */
  code: string;
  party: 'Client' | 'Server';
  /** faultstring (1.1) or Reason/Text (1.2), entities decoded, at most 500 characters. */
  message: string;
}

/** Bodies larger than this are not searched for a Fault. */
const MAX_PARSE_CHARS = 1024 * 1024;
const XML_DECLARATION = /^\s*<\?xml\b[^>]*\?>\s*/;

/** What a WSDL's binding says of an operation, in place of the connector's soap.version and soap.action. */
export interface SoapBinding {
  version: SoapVersion;
  action: string;
}

/**
 * A POST of `<soap:Envelope>` with `securityHeader` (a wsse:Security block, or null for no Header) in
 * soap:Header and the transform's XML as the only content of soap:Body.
 * SOAP 1.1: `Content-Type: text/xml; charset=utf-8` and `SOAPAction: "<action>"`;
 * SOAP 1.2: `Content-Type: application/soap+xml; charset=utf-8; action="<action>"`.
 * `vars` fill `{{name}}` placeholders in the connector's path and headers, as for REST.
 * Throws TransformError when the transform's output is not XML or a placeholder has no value.
 */
export function buildSoapRequest(
  connector: ConnectorConfig,
  transformOutput: TransformOutput,
  securityHeader: string | null,
  vars: Record<string, string> = {},
  binding?: SoapBinding,
): OutboundRequest {
  const version: SoapVersion = binding?.version ?? connector.soap?.version ?? '1.1';
  const action = binding?.action ?? connector.soap?.action ?? '';
  const content = transformOutput.body.replace(XML_DECLARATION, '');
  if (!content.trimStart().startsWith('<')) {
    throw new TransformError(`transform "${connector.transform}" did not produce XML for the SOAP body`);
  }
  const values = { ...(transformOutput.pathVars ?? {}), ...vars };
  const url = buildUrl(connector, values);
  const headers = buildHeaders(connector, values, {});
  const quotedAction = `"${action.replace(/["\\]/g, '\\$&')}"`;
  if (version === '1.1') {
    setHeader(headers, 'Content-Type', 'text/xml; charset=utf-8');
    setHeader(headers, 'SOAPAction', quotedAction);
  } else {
    setHeader(headers, 'Content-Type', `application/soap+xml; charset=utf-8${action === '' ? '' : `; action=${quotedAction}`}`);
  }
  const ns = version === '1.1' ? SOAP11_ENV_NS : SOAP12_ENV_NS;
  const header = securityHeader === null ? '' : `<soap:Header>${securityHeader}</soap:Header>`;
  const body =
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${ns}">${header}<soap:Body>${content}</soap:Body></soap:Envelope>`;
  return { method: 'POST', url, headers, body };
}

export interface SoapSendInput extends SendInput {
  /**
   * Reads a delivered answer (a WSDL connector: node-soap, with the WSDL's schema) into JSON, which
   * is kept as the attempt's snippet in place of the raw XML; null keeps the XML.
   */
  readAnswer?: (body: string) => unknown;
}

export async function sendSoap(input: SoapSendInput): Promise<SendResult> {
  const { request, send } = input;
  const scrubber = input.scrubber ?? NO_SECRETS;
  const outcome = await attempt(request, send, scrubber);
  if ('error' in outcome) return outcome.error;
  const response = outcome.response;
  const { status } = response;
  const success = status >= 200 && status < 300;
  const result = (o: Parameters<typeof responseResult>[2]): SendResult => responseResult(request, response, o, input.now(), scrubber);

  if (hasDoctype(response.body)) {
    return result({
      ok: false,
      errorClass: 'http',
      errorMessage: `${success ? '' : `${httpErrorMessage(status)}: `}the response has a DOCTYPE declaration; refused without parsing it`,
      faultParty: null,
    });
  }
  // The fault text uncut: responseResult scrubs it before it cuts it.
  const fault = readSoapFault(response.body);
  if (fault !== null && (success || status === 500 || status === 400)) {
    return result({ ok: false, errorClass: 'soap_fault', errorMessage: fault.message, faultParty: fault.party });
  }
  if (success) {
    const delivered = result({ ok: true, errorClass: null, errorMessage: null, faultParty: null });
    const answer = input.readAnswer && response.body !== '' ? input.readAnswer(response.body) : null;
    if (answer === null || answer === undefined) return delivered;
    return { ...delivered, bodySnippet: scrubber.clipBytes(JSON.stringify(answer), BODY_SNIPPET_BYTES) };
  }
  const message = fault === null ? httpErrorMessage(status) : `${httpErrorMessage(status)}: ${fault.message}`;
  return result({ ok: false, errorClass: 'http', errorMessage: message, faultParty: null });
}

function hasDoctype(body: string): boolean {
  return /<!DOCTYPE|<!ENTITY/i.test(body);
}

/**
 * The Fault in a SOAP 1.1 or 1.2 response body, message uncut, or null (no Fault, not SOAP, not XML,
 * too large, or a DOCTYPE). Namespace-aware: Envelope, Body and Fault must be in the envelope
 * namespace, whatever their prefix.
 */
function readSoapFault(body: string): SoapFault | null {
  if (body.length > MAX_PARSE_CHARS || !body.includes('Fault') || hasDoctype(body)) return null;
  let doc: unknown;
  try {
    doc = parser().parse(body);
  } catch {
    return null;
  }
  if (!isNode(doc)) return null;
  const root = children(doc, new Map()).find((c) => c.local === 'Envelope');
  if (root === undefined || (root.ns !== SOAP11_ENV_NS && root.ns !== SOAP12_ENV_NS)) return null;
  const envNs = root.ns;
  const soapBody = children(root.node, root.scope).find((c) => c.local === 'Body' && c.ns === envNs);
  if (soapBody === undefined) return null;
  const fault = children(soapBody.node, soapBody.scope).find((c) => c.local === 'Fault' && c.ns === envNs);
  if (fault === undefined) return null;
  const parts = children(fault.node, fault.scope);

  if (envNs === SOAP11_ENV_NS) {
    const code = textOf(parts.find((c) => c.local === 'faultcode')?.node);
    const reason = textOf(parts.find((c) => c.local === 'faultstring')?.node);
    return makeFault('1.1', code, reason);
  }
  const codeEl = parts.find((c) => c.local === 'Code' && c.ns === envNs);
  const code = codeEl && textOf(children(codeEl.node, codeEl.scope).find((c) => c.local === 'Value')?.node);
  const reasonEl = parts.find((c) => c.local === 'Reason' && c.ns === envNs);
  const texts = reasonEl ? children(reasonEl.node, reasonEl.scope).filter((c) => c.local === 'Text') : [];
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the parser gives attributes as text
  const english = texts.find((t) => isNode(t.node) && /^en\b/i.test(String(t.node['@_xml:lang'] ?? '')));
  const reason = textOf((english ?? texts[0])?.node);
  return makeFault('1.2', code ?? null, reason);
}

function makeFault(version: SoapVersion, code: string | null, reason: string | null): SoapFault {
  const written = code ?? '';
  // `soap:Client`, `Client.Authentication`, `env:Sender`: the party is the first dotted part of the local name.
  const local = written.slice(written.lastIndexOf(':') + 1).split('.')[0] ?? '';
  const party = local === 'Client' || local === 'Sender' ? 'Client' : 'Server';
  const message = reason !== null && reason !== '' ? reason : written !== '' ? written : 'SOAP Fault';
  return { version, code: written, party, message };
}

// ------------------------------------------------------------------------------------------------
// Reading fast-xml-parser's output with namespaces

type Node = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;
interface Child {
  local: string;
  ns: string;
  node: unknown;
  scope: Scope;
}

let sharedParser: XMLParser | null = null;

function parser(): XMLParser {
  sharedParser ??= new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
  });
  return sharedParser;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The element children of `node` (repeated ones expanded), each with its namespace resolved. */
function children(node: unknown, parentScope: Scope): Child[] {
  if (!isNode(node)) return [];
  const scope = scopeOf(node, parentScope);
  const out: Child[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue;
    const colon = key.indexOf(':');
    const prefix = colon === -1 ? '' : key.slice(0, colon);
    const local = colon === -1 ? key : key.slice(colon + 1);
    for (const item of Array.isArray(value) ? value : [value]) {
      const ns = (isNode(item) ? scopeOf(item, scope) : scope).get(prefix) ?? '';
      out.push({ local, ns, node: item, scope });
    }
  }
  return out;
}

/** Namespace declarations of an element (`@_xmlns`, `@_xmlns:p`) on top of its parent's. */
function scopeOf(node: Node, parent: Scope): Scope {
  let scope: Map<string, string> | null = null;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value !== 'string') continue;
    const prefix = key === '@_xmlns' ? '' : key.startsWith('@_xmlns:') ? key.slice('@_xmlns:'.length) : null;
    if (prefix === null) continue;
    scope ??= new Map(parent);
    scope.set(prefix, decodeEntities(value));
  }
  return scope ?? parent;
}

function textOf(node: unknown): string | null {
  if (typeof node === 'string') return decodeEntities(node).trim();
  if (Array.isArray(node)) return textOf(node[0]);
  if (isNode(node)) {
    const t = node['#text'];
    return typeof t === 'string' ? decodeEntities(t).trim() : '';
  }
  return null;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The five predefined entities and character references; anything else stays as written. */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return PREDEFINED[ref] ?? whole;
  });
}
