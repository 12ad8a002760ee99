/**
 * The streaming SOAP parser's limits, and the errors it reports: a limit passed, bytes that are not
 * UTF-8, a DOCTYPE or ENTITY declaration, XML that is not well-formed (src/inbound/soap/envelope.ts).
 */
import type { TextDecoder } from 'node:util';
import type { SaxesParser } from 'saxes';
import { GatewayError } from '../../domain/errors.ts';

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

/**
 * Limits that a caller leaves out: generous for OM payloads, small next to maxBytes' default. Only the
 * parser's own modules read them.
 */
export const DEFAULT_PARSE_LIMITS = {
  maxBytesBeforeCredentials: 64 * 1024,
  maxAttributes: 64,
  maxTotalAttributes: 100_000,
  maxNameLength: 256,
  maxTextLength: 1024 * 1024,
} as const;

export const DOCTYPE_MARK = '<!DOCTYPE';
export const ENTITY_MARK = '<!ENTITY';
/** Characters of the previous chunk kept to find a mark split across chunks. */
export const CARRY = DOCTYPE_MARK.length - 1;
const MAX_DETAIL = 160;

export function tooLong(what: 'name' | 'text' | 'attribute value', max: number, line: number): GatewayError {
  return new GatewayError('XML_TOO_LONG', `an XML ${what} is longer than the limit of ${max} characters (at line ${line})`);
}

export function decodeChunk(decoder: TextDecoder, bytes: Uint8Array | undefined): string {
  try {
    return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
  } catch (err) {
    throw new GatewayError('XML_INVALID_ENCODING', 'request body is not valid UTF-8; only UTF-8 is accepted', {
      cause: err,
    });
  }
}

export function writeToParser(parser: SaxesParser<{ xmlns: true }>, text: string | null): void {
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

export function checkDeclaredEncoding(enc: string | undefined): void {
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

export function hasMark(s: string): boolean {
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

export function qname(uri: string, local: string): string {
  return `{${clip(uri, 120)}}${clip(local, 80)}`;
}
