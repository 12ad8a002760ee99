/**
 * Streaming parser for Oracle Fusion OM `pushPayload` SOAP requests.
 *
 * One pass over the body: bytes are counted and decoded as they arrive, the raw text is screened for
 * DOCTYPE/ENTITY declarations, then fed to saxes (strict, namespace-aware). The SOAP envelope is checked
 * as it streams (root, Header, Body, the `results` operation element), the WS-Security UsernameToken is
 * picked out of the Header, and every `OrderHeader` inside `results` is built into an XmlRecord.
 * No DOM is built; the decoded text is kept only to produce the redacted copy of the envelope.
 */
import { TextDecoder } from 'node:util';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { GatewayError } from '../../domain/errors.ts';
import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import { addChild, asComplex, isWhitespace, TEXT_KEY } from './xml-record.ts';

export type SoapVersion = '1.1' | '1.2';

export interface UsernameToken {
  username: string;
  /** Text content of wsse:Password (null when the token has no Password element). */
  password: string | null;
  /**
   * From the Password's Type attribute: 'text' or 'digest' for the two OASIS URIs, 'text' without a
   * Type (the profile's default), null for anything else (refused: never guessed).
   */
  passwordType: 'text' | 'digest' | null;
  /** Text of wsse:Nonce as sent (base64). */
  nonce: string | null;
  /** Text of wsu:Created inside the UsernameToken. */
  created: string | null;
}

export interface ParseLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
  /**
   * Bytes that may arrive before the credentials have been checked (the Envelope's start and its
   * Header). Until `onCredentials` has returned, a sender is a stranger: what it can make the
   * gateway read and hold is this much.
   */
  maxBytesBeforeCredentials?: number;
  /** Attributes on one element, and in the whole document. */
  maxAttributes?: number;
  maxTotalAttributes?: number;
  /** Characters in an element or attribute name, and in one text node or attribute value. */
  maxNameLength?: number;
  maxTextLength?: number;
}

/** Limits that a caller leaves out: generous for OM payloads, small next to maxBytes' default. */
const DEFAULT_PARSE_LIMITS = {
  maxBytesBeforeCredentials: 64 * 1024,
  maxAttributes: 64,
  maxTotalAttributes: 100_000,
  maxNameLength: 256,
  maxTextLength: 1024 * 1024,
} as const;

/**
 * Told the credentials when the SOAP Header closes or, in an Envelope without a Header, when the Body
 * opens: before any element of the Body is parsed or any event built. It throws to refuse the push,
 * and parsing stops there. A UsernameToken that comes after the Body is never seen.
 */
export type CredentialsCheck = (token: UsernameToken | null) => void;

export interface ParsedPush {
  soapVersion: SoapVersion;
  usernameToken: UsernameToken | null;
  /** One entry per OrderHeader in document order (empty when parsePush was given `onHeader`). */
  headers: XmlRecord[];
  /** The whole envelope as text, with the content of every wsse:Password element replaced by "***". */
  redactedXml: string;
  byteLength: number;
}

const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
const OM_RESULTS_NS =
  'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const PASSWORD_TEXT_URI = `${TOKEN_PROFILE}#PasswordText`;
const PASSWORD_DIGEST_URI = `${TOKEN_PROFILE}#PasswordDigest`;
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

const REDACTED = '***';

// Element contexts (what an open element is, given where it sits).
const C_IGNORE = 0;
const C_ENVELOPE = 1;
const C_HEADER = 2;
const C_SECURITY = 3;
const C_TOKEN = 4;
const C_USERNAME = 5;
const C_PASSWORD = 6;
const C_NONCE = 7;
const C_CREATED = 8;
const C_BODY = 9;
const C_RESULTS = 10;
const C_ORDER_HEADER = 11;
const C_TREE = 12;

interface Frame {
  ctx: number;
  local: string;
  nil: boolean;
  /** Whether text events are appended to `text`. */
  collect: boolean;
  text: string;
  /** Child elements seen so far (TREE / ORDER_HEADER frames only); null while the element is a leaf. */
  rec: XmlRecord | null;
}

interface TokenBuilder {
  username: string | null;
  password: string | null;
  passwordType: 'text' | 'digest' | null;
  nonce: string | null;
  created: string | null;
}

const DOCTYPE_MARK = '<!DOCTYPE';
const ENTITY_MARK = '<!ENTITY';
/** Characters of the previous chunk kept to find a mark split across chunks. */
const CARRY = DOCTYPE_MARK.length - 1;
const MAX_DETAIL = 160;
/** Longest stretch of parsing (and event building, through onHeader) between two turns of the event loop. */
const SLICE_MS = 2;

/**
 * Parses a pushPayload request body as it streams in. Throws GatewayError with codes
 * PAYLOAD_TOO_LARGE, XML_INVALID_ENCODING, XML_DOCTYPE_FORBIDDEN, XML_MALFORMED, XML_TOO_DEEP,
 * XML_TOO_MANY_ELEMENTS, SOAP_NOT_ENVELOPE, SOAP_EMPTY_BODY or SOAP_UNKNOWN_OPERATION.
 *
 * With `onHeader`, each OrderHeader goes to it as soon as it has been parsed (with its position)
 * and `headers` stays empty: a push of hundreds of headers then never holds all their trees at once.
 */
export async function parsePush(
  body: AsyncIterable<Buffer | Uint8Array | string>,
  limits: ParseLimits,
  onHeader?: (header: XmlRecord, position: number) => void,
  onCredentials?: CredentialsCheck,
): Promise<ParsedPush> {
  const { maxBytes, maxDepth, maxElements } = limits;
  const maxBytesBeforeCredentials = limits.maxBytesBeforeCredentials ?? DEFAULT_PARSE_LIMITS.maxBytesBeforeCredentials;
  const maxAttributes = limits.maxAttributes ?? DEFAULT_PARSE_LIMITS.maxAttributes;
  const maxTotalAttributes = limits.maxTotalAttributes ?? DEFAULT_PARSE_LIMITS.maxTotalAttributes;
  const maxNameLength = limits.maxNameLength ?? DEFAULT_PARSE_LIMITS.maxNameLength;
  const maxTextLength = limits.maxTextLength ?? DEFAULT_PARSE_LIMITS.maxTextLength;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parser = new SaxesParser({ xmlns: true });

  const parts: string[] = [];
  let carry = '';
  let byteLength = 0;

  const frames: Frame[] = [];
  let depth = 0;
  let elementCount = 0;
  let soapNs = '';
  let sawHeader = false;
  let sawBody = false;
  let bodyChildSeen = false;
  let token: TokenBuilder | null = null;
  const headers: XmlRecord[] = [];
  let headerCount = 0;

  // Whether the credentials have been checked; without a check to call, a caller has done it already.
  let credentialsChecked = onCredentials === undefined;
  const checkCredentials = (): void => {
    if (credentialsChecked) return;
    credentialsChecked = true;
    onCredentials?.(tokenOf(token));
  };
  let elementAttributes = 0;
  let totalAttributes = 0;

  // Password redaction: [contentStart, closeTagEnd] pairs of positions in the decoded text.
  const redactions: number[] = [];
  let passwordDepth = 0;
  let passwordStart = 0;

  // Only five handlers are registered, on purpose. saxes stores handlers with computed-key writes
  // (`this[name] = handler`) on an object that already has many fields; from the seventh handler on,
  // V8 turns the parser into a dictionary-mode object and every `this.i` / `this.chunk` read in the
  // tokenizer becomes a hash lookup (measured: about 5x slower). So: no 'error' handler (saxes then
  // throws, and writeToParser maps the error), no 'xmldecl' handler (parser.xmlDecl is read when the
  // root opens), no 'doctype' handler (the raw scan in feed() refuses DOCTYPE before saxes sees it).

  // Text of a leaf is kept exactly. Once an element has children, only non-whitespace text is kept
  // (indentation is dropped without building strings); it ends up under TEXT_KEY.
  const onText = (t: string): void => {
    if (t.length > maxTextLength) throw tooLong('text', maxTextLength, parser.line);
    const f = frames[depth - 1];
    if (f !== undefined && f.collect && (f.rec === null || !isWhitespace(t))) {
      f.text += t;
      if (f.text.length > maxTextLength) throw tooLong('text', maxTextLength, parser.line);
    }
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  // Attributes arrive one by one before their element's opentag: counted as they come, so an element
  // with a million attributes is refused at the first one over the limit, not after saxes holds them all.
  parser.on('attribute', (attr) => {
    if (++elementAttributes > maxAttributes) {
      throw new GatewayError('XML_TOO_MANY_ATTRIBUTES', `an element has more than the limit of ${maxAttributes} attributes (at line ${parser.line})`);
    }
    if (++totalAttributes > maxTotalAttributes) {
      throw new GatewayError('XML_TOO_MANY_ATTRIBUTES', `XML has more than the limit of ${maxTotalAttributes} attributes (at line ${parser.line})`);
    }
    if (attr.name.length > maxNameLength) throw tooLong('name', maxNameLength, parser.line);
    if (attr.value.length > maxTextLength) throw tooLong('attribute value', maxTextLength, parser.line);
  });

  parser.on('opentag', (tag: SaxesTagNS) => {
    elementAttributes = 0;
    if (tag.name.length > maxNameLength) throw tooLong('name', maxNameLength, parser.line);
    depth++;
    if (depth > maxDepth) {
      throw new GatewayError(
        'XML_TOO_DEEP',
        `XML nesting exceeds the limit of ${maxDepth} levels (at line ${parser.line})`,
      );
    }
    elementCount++;
    if (elementCount > maxElements) {
      throw new GatewayError(
        'XML_TOO_MANY_ELEMENTS',
        `XML has more than the limit of ${maxElements} elements (at line ${parser.line})`,
      );
    }
    const uri = tag.uri;
    const local = tag.local;

    if (local === 'Password' && !tag.isSelfClosing) {
      if (passwordDepth === 0) passwordStart = parser.position;
      passwordDepth++;
    }

    let ctx = C_IGNORE;
    let collect = false;
    const parent = depth === 1 ? undefined : frames[depth - 2];
    if (parent === undefined) {
      checkDeclaredEncoding(parser.xmlDecl.encoding);
      if (local !== 'Envelope' || (uri !== SOAP11_NS && uri !== SOAP12_NS)) {
        throw new GatewayError(
          'SOAP_NOT_ENVELOPE',
          `root element is ${qname(uri, local)}; expected a SOAP 1.1 or SOAP 1.2 Envelope`,
        );
      }
      soapNs = uri;
      ctx = C_ENVELOPE;
    } else {
      switch (parent.ctx) {
        case C_TREE:
        case C_ORDER_HEADER:
          if (parent.rec === null) {
            parent.rec = {};
            if (isWhitespace(parent.text)) parent.text = '';
          }
          ctx = C_TREE;
          collect = true;
          break;
        case C_RESULTS:
          if (local === 'OrderHeader') {
            ctx = C_ORDER_HEADER;
            collect = true;
          }
          break;
        case C_ENVELOPE:
          if (uri === soapNs) {
            if (local === 'Body') {
              if (sawBody) {
                throw new GatewayError('SOAP_NOT_ENVELOPE', 'the SOAP Envelope has more than one Body');
              }
              sawBody = true;
              // Without a Header, the credentials (if any) came by HTTP: checked before the Body is read.
              checkCredentials();
              ctx = C_BODY;
            } else if (local === 'Header' && !sawHeader && !sawBody) {
              sawHeader = true;
              ctx = C_HEADER;
            }
          }
          break;
        case C_HEADER:
          if (local === 'Security' && uri === WSSE_NS) ctx = C_SECURITY;
          break;
        case C_SECURITY:
          if (local === 'UsernameToken' && uri === WSSE_NS && token === null) {
            token = { username: null, password: null, passwordType: null, nonce: null, created: null };
            ctx = C_TOKEN;
          }
          break;
        case C_TOKEN:
          if (uri === WSSE_NS) {
            if (local === 'Username') ctx = C_USERNAME;
            else if (local === 'Password') {
              ctx = C_PASSWORD;
              if (token !== null && token.password === null) {
                token.passwordType = passwordTypeOf(tag);
              }
            } else if (local === 'Nonce') ctx = C_NONCE;
            else if (local === 'Created') ctx = C_CREATED; // tolerated: some clients qualify Created with wsse
          } else if (uri === WSU_NS && local === 'Created') {
            ctx = C_CREATED;
          }
          collect = ctx !== C_IGNORE;
          break;
        case C_BODY:
          if (!bodyChildSeen) {
            bodyChildSeen = true;
            if (local !== 'results' || uri !== OM_RESULTS_NS) {
              throw new GatewayError(
                'SOAP_UNKNOWN_OPERATION',
                `unknown operation element ${qname(uri, local)} in the SOAP Body; expected ${qname(OM_RESULTS_NS, 'results')}`,
              );
            }
            ctx = C_RESULTS;
          }
          break;
        default:
          break;
      }
    }

    let f = frames[depth - 1];
    if (f === undefined) {
      f = { ctx, local, nil: false, collect, text: '', rec: null };
      frames[depth - 1] = f;
    } else {
      f.ctx = ctx;
      f.local = local;
      f.nil = false;
      f.collect = collect;
      f.text = '';
      f.rec = null;
    }
    if (ctx === C_TREE || ctx === C_ORDER_HEADER) f.nil = isNil(tag);
  });

  parser.on('closetag', (tag: SaxesTagNS) => {
    if (tag.local === 'Password' && !tag.isSelfClosing && passwordDepth > 0) {
      passwordDepth--;
      if (passwordDepth === 0) redactions.push(passwordStart, parser.position);
    }
    const f = frames[depth - 1];
    if (f !== undefined) {
      switch (f.ctx) {
        case C_TREE: {
          const parent = frames[depth - 2];
          if (parent !== undefined && parent.rec !== null) addChild(parent.rec, f.local, valueOf(f));
          break;
        }
        case C_ORDER_HEADER:
          if (onHeader) onHeader(asComplex(valueOf(f)), headerCount++);
          else headers.push(asComplex(valueOf(f)));
          break;
        case C_USERNAME:
          if (token !== null && token.username === null) token.username = f.text;
          break;
        case C_PASSWORD:
          if (token !== null && token.password === null) token.password = f.text;
          break;
        case C_NONCE:
          if (token !== null && token.nonce === null) token.nonce = f.text;
          break;
        case C_CREATED:
          if (token !== null && token.created === null) token.created = f.text;
          break;
        case C_HEADER:
          checkCredentials();
          break;
        case C_BODY:
          if (!bodyChildSeen) throw new GatewayError('SOAP_EMPTY_BODY', 'the SOAP Body is empty');
          break;
        case C_ENVELOPE:
          checkCredentials();
          if (!sawBody) throw new GatewayError('SOAP_EMPTY_BODY', 'the SOAP Envelope has no Body');
          break;
        default:
          break;
      }
      f.text = '';
      f.rec = null;
    }
    depth--;
  });

  const feed = (text: string): void => {
    if (text.length === 0) return;
    if (text.indexOf('\u0000') !== -1) {
      throw new GatewayError(
        'XML_INVALID_ENCODING',
        'request body contains NUL characters (UTF-16 or UTF-32?); only UTF-8 is accepted',
      );
    }
    // Refuse DOCTYPE/ENTITY on the raw text, before saxes sees (and accumulates) the declaration.
    if (
      text.indexOf(DOCTYPE_MARK) !== -1 ||
      text.indexOf(ENTITY_MARK) !== -1 ||
      (carry.length !== 0 && hasMark(carry + text.slice(0, CARRY)))
    ) {
      throw new GatewayError('XML_DOCTYPE_FORBIDDEN', 'DOCTYPE and ENTITY declarations are not allowed');
    }
    carry = text.length >= CARRY ? text.slice(text.length - CARRY) : (carry + text).slice(-CARRY);
    parts.push(text);
    writeToParser(parser, text);
  };

  // A body that has already arrived comes out of the iterator without a turn of the event loop in
  // between chunks: give other requests one whenever this one has held the thread for a slice.
  let sliceStart = performance.now();
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    byteLength += bytes.byteLength;
    if (byteLength > maxBytes) {
      // Leaving the loop by throwing calls the iterator's return(): nothing more is read.
      throw new GatewayError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${maxBytes} bytes`);
    }
    if (!credentialsChecked && byteLength > maxBytesBeforeCredentials) {
      // Read no further than the allowance until the credentials have been checked.
      const allowed = bytes.byteLength - (byteLength - maxBytesBeforeCredentials);
      feed(decodeChunk(decoder, bytes.subarray(0, allowed)));
      if (!credentialsChecked) {
        throw new GatewayError(
          'AUTH_FAILED',
          `no credentials within the first ${maxBytesBeforeCredentials} bytes: the SOAP Header with its UsernameToken must come before the Body`,
        );
      }
      feed(decodeChunk(decoder, bytes.subarray(allowed)));
    } else {
      feed(decodeChunk(decoder, bytes));
    }
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  feed(decodeChunk(decoder, undefined));
  writeToParser(parser, null);

  checkCredentials();
  if (!sawBody) throw new GatewayError('SOAP_EMPTY_BODY', 'the SOAP Envelope has no Body');

  const xml = parts.length === 1 ? (parts[0] ?? '') : parts.join('');
  return {
    soapVersion: soapNs === SOAP12_NS ? '1.2' : '1.1',
    usernameToken: tokenOf(token),
    headers,
    redactedXml: redact(xml, redactions),
    byteLength,
  };
}

// ---------------------------------------------------------------------------------------------------------

function tokenOf(t: TokenBuilder | null): UsernameToken | null {
  if (t === null) return null;
  return { username: t.username ?? '', password: t.password, passwordType: t.passwordType, nonce: t.nonce, created: t.created };
}

function tooLong(what: 'name' | 'text' | 'attribute value', max: number, line: number): GatewayError {
  return new GatewayError('XML_TOO_LONG', `an XML ${what} is longer than the limit of ${max} characters (at line ${line})`);
}

function decodeChunk(decoder: TextDecoder, bytes: Uint8Array | undefined): string {
  try {
    return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
  } catch (err) {
    throw new GatewayError('XML_INVALID_ENCODING', 'request body is not valid UTF-8; only UTF-8 is accepted', {
      cause: err,
    });
  }
}

function writeToParser(parser: SaxesParser<{ xmlns: true }>, text: string | null): void {
  try {
    parser.write(text);
  } catch (err) {
    // GatewayErrors come from our handlers; anything else is saxes reporting a well-formedness error
    // (it throws from fail() when no error handler is set), at the position it stopped.
    if (err instanceof GatewayError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw malformed(parser.line, parser.column, msg, err);
  }
}

function checkDeclaredEncoding(enc: string | undefined): void {
  if (enc !== undefined && !isUtf8Label(enc)) {
    throw new GatewayError(
      'XML_INVALID_ENCODING',
      `XML declaration says encoding="${clip(enc, 40)}"; only UTF-8 is accepted`,
    );
  }
}

function malformed(line: number, column: number, message: string, cause?: unknown): GatewayError {
  // saxes prefixes its messages with "line:column: "; we put our own position in front.
  const detail = clip(message.replace(/^\d+:\d+: /, ''), MAX_DETAIL);
  return new GatewayError(
    'XML_MALFORMED',
    `malformed XML at ${line}:${column + 1}: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

function hasMark(s: string): boolean {
  return s.indexOf(DOCTYPE_MARK) !== -1 || s.indexOf(ENTITY_MARK) !== -1;
}

function isUtf8Label(enc: string): boolean {
  const e = enc.trim().toLowerCase();
  return e === 'utf-8' || e === 'utf8';
}

/** Shortens untrusted text for an error message and removes control characters. */
function clip(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function qname(uri: string, local: string): string {
  return `{${clip(uri, 120)}}${clip(local, 80)}`;
}

function isNil(tag: SaxesTagNS): boolean {
  const attrs = tag.attributes;
  for (const key in attrs) {
    const a = attrs[key];
    if (a !== undefined && a.local === 'nil' && a.uri === XSI_NS) {
      const v = a.value.trim();
      return v === 'true' || v === '1';
    }
  }
  return false;
}

function passwordTypeOf(tag: SaxesTagNS): 'text' | 'digest' | null {
  const attrs = tag.attributes;
  let type: string | undefined;
  for (const key in attrs) {
    const a = attrs[key];
    if (a !== undefined && a.local === 'Type' && a.uri === '') {
      type = a.value;
      break;
    }
  }
  if (type === undefined) return 'text';
  const v = type.trim();
  if (v === PASSWORD_TEXT_URI) return 'text';
  if (v === PASSWORD_DIGEST_URI) return 'digest';
  return null;
}

function valueOf(f: Frame): XmlValue {
  if (f.nil) return null;
  const rec = f.rec;
  if (rec === null) return f.text;
  if (f.text.length !== 0) rec[TEXT_KEY] = f.text;
  return rec;
}

/**
 * Replaces the content of each recorded Password element. A range is [contentStart, closeTagEnd];
 * the close tag `</p:Password >` holds no other '<', so its start is the last '<' before its end.
 */
function redact(xml: string, ranges: number[]): string {
  if (ranges.length === 0) return xml;
  let out = '';
  let last = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const start = ranges[i] ?? 0;
    const closeEnd = ranges[i + 1] ?? 0;
    const closeStart = xml.lastIndexOf('<', closeEnd - 1);
    if (closeStart < start) continue;
    out += xml.slice(last, start);
    out += closeStart > start ? REDACTED : '';
    last = closeStart;
  }
  return out + xml.slice(last);
}
