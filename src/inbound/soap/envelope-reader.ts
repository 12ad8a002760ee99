/**
 * What the SAX events of one push are read into (src/inbound/soap/envelope.ts drives the parser): the
 * SOAP envelope checked as it streams (root, Header, Body, the `results` operation element), the
 * WS-Security UsernameToken picked out of the Header and handed to the credentials check, every
 * `OrderHeader` inside `results` built into an XmlRecord, and the element, attribute, name and text
 * limits counted as the events come.
 */
import type { SaxesParser, SaxesTagNS } from 'saxes';
import { GatewayError } from '../../domain/errors.ts';
import type { XmlRecord } from '../../domain/event.ts';
import { checkDeclaredEncoding, DEFAULT_PARSE_LIMITS, qname, tooLong, type ParseLimits } from './envelope-limits.ts';
import {
  passwordTypeOf,
  tokenOf,
  WSSE_NS,
  WSU_NS,
  type CredentialsCheck,
  type TokenBuilder,
  type UsernameToken,
} from './envelope-security.ts';
import { addChild, asComplex, isNil, isWhitespace, valueOf, type ElementContent } from './xml-record.ts';

export type SoapVersion = '1.1' | '1.2';

const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
const OM_RESULTS_NS =
  'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';

/**
 * The operation element a SOAP Body must hold, and what of it becomes records: each child named
 * `item` (OM's `results` holds one `OrderHeader` per event), or, with `item` null, the operation
 * element itself (a callback's `DeliveryResponse`).
 */
export interface SoapOperation {
  uri: string;
  local: string;
  item: string | null;
}

/** OM's pushPayload: `results`, one record per `OrderHeader`. */
const OM_PUSH_OPERATION: SoapOperation = { uri: OM_RESULTS_NS, local: 'results', item: 'OrderHeader' };

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

interface Frame extends ElementContent {
  ctx: number;
  local: string;
  /** Whether text events are appended to `text`. */
  collect: boolean;
}

/** What the driver asks of the reader while the body streams in, and at its end. */
export interface PushReader {
  /** Whether the credentials have been checked; without a check to call, a caller has done it already. */
  credentialsChecked(): boolean;
  /**
   * At the end of the body: checks the credentials if nothing has yet, refuses an Envelope without a
   * Body, and gives what was read (redactions: [contentStart, closeTagEnd] pairs of each Password).
   */
  end(): { soapVersion: SoapVersion; usernameToken: UsernameToken | null; headers: XmlRecord[]; redactions: number[] };
}

/**
 * Registers the reader's handlers on a fresh parser. With `onHeader`, each OrderHeader goes to it as
 * soon as it has been parsed (with its position) and `headers` stays empty.
 */
export function readPush(
  parser: SaxesParser<{ xmlns: true }>,
  limits: ParseLimits,
  onHeader?: (header: XmlRecord, position: number) => void,
  onCredentials?: CredentialsCheck,
  operation: SoapOperation = OM_PUSH_OPERATION,
): PushReader {
  const { maxDepth, maxElements } = limits;
  const maxAttributes = limits.maxAttributes ?? DEFAULT_PARSE_LIMITS.maxAttributes;
  const maxTotalAttributes = limits.maxTotalAttributes ?? DEFAULT_PARSE_LIMITS.maxTotalAttributes;
  const maxNameLength = limits.maxNameLength ?? DEFAULT_PARSE_LIMITS.maxNameLength;
  const maxTextLength = limits.maxTextLength ?? DEFAULT_PARSE_LIMITS.maxTextLength;

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
          if (local === operation.item) {
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
            if (local !== operation.local || uri !== operation.uri) {
              throw new GatewayError(
                'SOAP_UNKNOWN_OPERATION',
                `unknown operation element ${qname(uri, local)} in the SOAP Body; expected ${qname(operation.uri, operation.local)}`,
              );
            }
            // The operation element is the record itself when it has no items.
            ctx = operation.item === null ? C_ORDER_HEADER : C_RESULTS;
            collect = operation.item === null;
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

  return {
    credentialsChecked: () => credentialsChecked,
    end: () => {
      checkCredentials();
      if (!sawBody) throw new GatewayError('SOAP_EMPTY_BODY', 'the SOAP Envelope has no Body');
      return { soapVersion: soapNs === SOAP12_NS ? '1.2' : '1.1', usernameToken: tokenOf(token), headers, redactions };
    },
  };
}
