/**
 * Streaming parser for Oracle Fusion OM `pushPayload` SOAP requests.
 *
 * One pass over the body: bytes are counted and decoded as they arrive, the raw text is screened for
 * DOCTYPE/ENTITY declarations, then fed to saxes (strict, namespace-aware). This module drives that
 * pass; the SAX events are read by envelope-reader.ts (the envelope checked as it streams, the
 * WS-Security UsernameToken picked out of the Header with envelope-security.ts, every `OrderHeader`
 * inside `results` built into an XmlRecord); the limits and the errors are in envelope-limits.ts.
 * No DOM is built; the decoded text is kept only to produce the redacted copy of the envelope.
 */
import { TextDecoder } from 'node:util';
import { SaxesParser } from 'saxes';
import { GatewayError } from '../../domain/errors.ts';
import type { XmlRecord } from '../../domain/event.ts';
import { CARRY, decodeChunk, DEFAULT_PARSE_LIMITS, DOCTYPE_MARK, ENTITY_MARK, hasMark, writeToParser, type ParseLimits } from './envelope-limits.ts';
import { readPush, type SoapOperation, type SoapVersion } from './envelope-reader.ts';
import { redact, type CredentialsCheck, type UsernameToken } from './envelope-security.ts';

export type { ParseLimits } from './envelope-limits.ts';
export type { SoapOperation, SoapVersion } from './envelope-reader.ts';
export type { CredentialsCheck, UsernameToken } from './envelope-security.ts';

export interface ParsedPush {
  soapVersion: SoapVersion;
  usernameToken: UsernameToken | null;
  /** One entry per OrderHeader in document order (empty when parsePush was given `onHeader`). */
  headers: XmlRecord[];
  /** The whole envelope as text, with the content of every wsse:Password element replaced by "***". */
  redactedXml: string;
  byteLength: number;
}

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
  /** The Body's operation element (default: OM's `results`, a record per `OrderHeader`). */
  operation?: SoapOperation,
): Promise<ParsedPush> {
  const { maxBytes } = limits;
  const maxBytesBeforeCredentials = limits.maxBytesBeforeCredentials ?? DEFAULT_PARSE_LIMITS.maxBytesBeforeCredentials;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parser = new SaxesParser({ xmlns: true });
  const reader = readPush(parser, limits, onHeader, onCredentials, operation);

  const parts: string[] = [];
  let carry = '';
  let byteLength = 0;

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
    if (!reader.credentialsChecked() && byteLength > maxBytesBeforeCredentials) {
      // Read no further than the allowance until the credentials have been checked.
      const allowed = bytes.byteLength - (byteLength - maxBytesBeforeCredentials);
      feed(decodeChunk(decoder, bytes.subarray(0, allowed)));
      if (!reader.credentialsChecked()) {
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

  const { soapVersion, usernameToken, headers, redactions } = reader.end();
  const xml = parts.length === 1 ? (parts[0] ?? '') : parts.join('');
  return {
    soapVersion,
    usernameToken,
    headers,
    redactedXml: redact(xml, redactions),
    byteLength,
  };
}
