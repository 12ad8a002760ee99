/**
 * The WS-Security parts of a push: the UsernameToken as read from the SOAP Header, the Password's
 * Type, and the envelope's copy with every Password's content replaced (src/inbound/soap/envelope.ts).
 */
import type { SaxesTagNS } from 'saxes';

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

/**
 * Told the credentials when the SOAP Header closes or, in an Envelope without a Header, when the Body
 * opens: before any element of the Body is parsed or any event built. It throws to refuse the push,
 * and parsing stops there. A UsernameToken that comes after the Body is never seen.
 */
export type CredentialsCheck = (token: UsernameToken | null) => void;

export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const PASSWORD_TEXT_URI = `${TOKEN_PROFILE}#PasswordText`;
const PASSWORD_DIGEST_URI = `${TOKEN_PROFILE}#PasswordDigest`;

const REDACTED = '***';

/** A UsernameToken while its Header is read: each field is the first of its element, null until seen. */
export interface TokenBuilder {
  username: string | null;
  password: string | null;
  passwordType: 'text' | 'digest' | null;
  nonce: string | null;
  created: string | null;
}

export function tokenOf(t: TokenBuilder | null): UsernameToken | null {
  if (t === null) return null;
  return { username: t.username ?? '', password: t.password, passwordType: t.passwordType, nonce: t.nonce, created: t.created };
}

export function passwordTypeOf(tag: SaxesTagNS): 'text' | 'digest' | null {
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

/**
 * Replaces the content of each recorded Password element. A range is [contentStart, closeTagEnd];
 * the close tag `</p:Password >` holds no other '<', so its start is the last '<' before its end.
 */
export function redact(xml: string, ranges: number[]): string {
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
