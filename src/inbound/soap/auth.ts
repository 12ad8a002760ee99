import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../config/secret.ts';
import type { UsernameToken } from './envelope.ts';

export interface InboundUser {
  username: string;
  password: Secret;
}

export interface InboundAuthPolicy {
  methods: ReadonlyArray<'ws-security' | 'basic'>;
  passwordTypes: ReadonlyArray<'text' | 'digest'>;
  createdWindowMs: number;
  users: readonly InboundUser[];
}

export type AuthResult =
  | { ok: true; method: 'ws-security' | 'basic'; username: string; nonce: { key: string; expiresAt: number } | null }
  | { ok: false; reason: string };

/**
 * The first half of checking a push's credentials, from the HTTP headers alone, before any of the
 * body is read: an Authorization header on an endpoint that accepts Basic decides (accepted or
 * refused). Null means the credentials must come in the SOAP Header: authenticateToken decides then.
 */
export function authenticateHttp(policy: InboundAuthPolicy, authorizationHeader: string | undefined): AuthResult | null {
  if (authorizationHeader && policy.methods.includes('basic')) return checkBasic(policy, authorizationHeader);
  return null;
}

/**
 * The second half: the WS-Security UsernameToken (PasswordText or PasswordDigest) of the SOAP Header,
 * for a push that authenticateHttp did not decide. Comparisons are constant-time. Reasons are for the
 * audit trail and the fault text; they name what was wrong, never a password. A token's nonce is
 * returned so the store can refuse it the second time (across instances).
 */
export function authenticateToken(
  policy: InboundAuthPolicy,
  token: UsernameToken | null,
  authorizationHeader: string | undefined,
  now: number,
): AuthResult {
  if (token && policy.methods.includes('ws-security')) return checkUsernameToken(policy, token, now);
  if (token) return { ok: false, reason: 'WS-Security is not accepted on this endpoint' };
  if (authorizationHeader) return { ok: false, reason: 'HTTP Basic is not accepted on this endpoint' };
  return {
    ok: false,
    reason: `no credentials: send a WS-Security UsernameToken${policy.methods.includes('basic') ? ' or HTTP Basic' : ''}`,
  };
}

function checkUsernameToken(policy: InboundAuthPolicy, token: UsernameToken, now: number): AuthResult {
  if (token.password === null) return { ok: false, reason: 'UsernameToken has no Password' };
  const type = token.passwordType;
  if (type === null) return { ok: false, reason: 'the Password Type is neither the PasswordText nor the PasswordDigest URI' };
  if (!policy.passwordTypes.includes(type)) return { ok: false, reason: `password type ${type} is not accepted` };
  const user = findUser(policy.users, token.username);

  if (token.created !== null || type === 'digest') {
    if (token.created === null) return { ok: false, reason: 'PasswordDigest needs wsu:Created' };
    const created = parseUtcDateTime(token.created);
    if (created === null) return { ok: false, reason: 'wsu:Created is not an xsd:dateTime in UTC (such as 2026-01-31T12:00:00Z)' };
    if (Math.abs(now - created) > policy.createdWindowMs) {
      return { ok: false, reason: 'wsu:Created is outside the accepted time window' };
    }
  }

  // A nonce is known by its bytes, and only one spelling of those bytes is accepted: otherwise a
  // captured token replayed with "=" appended, or a space inside, would be a nonce never seen.
  let nonceBytes: Buffer | null = null;
  if (token.nonce !== null) {
    nonceBytes = decodeStrictBase64(token.nonce);
    if (nonceBytes === null) return { ok: false, reason: 'wsse:Nonce is not canonical base64 of 1 to 64 bytes' };
  } else if (type === 'digest') {
    return { ok: false, reason: 'PasswordDigest needs a Nonce' };
  }

  let matches: boolean;
  if (type === 'text') {
    matches = user !== null && matchesConfigured(token.password, user.password.reveal());
  } else {
    const expected = user
      ? createHash('sha1')
          .update(Buffer.concat([nonceBytes ?? Buffer.alloc(0), Buffer.from(token.created ?? '', 'utf8'), Buffer.from(user.password.reveal(), 'utf8')]))
          .digest('base64')
      : '';
    matches = user !== null && safeEqual(token.password, expected);
  }
  if (!matches) return { ok: false, reason: 'unknown user or wrong password' };
  // The nonce must be remembered at least as long as a token with its Created is accepted.
  const nonce = nonceBytes
    ? { key: createHash('sha256').update(token.username, 'utf8').update('\u0000').update(nonceBytes).digest('hex'), expiresAt: now + 2 * policy.createdWindowMs }
    : null;
  return { ok: true, method: 'ws-security', username: token.username, nonce };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of canonical base64 (padded, no white space, unused bits zero), or null. */
function decodeStrictBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length > 88 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

const UTC_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|[+-]00:00)$/;

/**
 * Milliseconds of an xsd:dateTime in UTC (Z or a zero offset), or null. WS-Security's Created is an
 * xsd:dateTime; other date forms (RFC 1123, local times) are refused rather than guessed at.
 */
function parseUtcDateTime(text: string): number | null {
  const m = UTC_DATE_TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const at = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(at);
  const same = d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
  return same ? at : null;
}

function checkBasic(policy: InboundAuthPolicy, header: string): AuthResult {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return { ok: false, reason: 'Authorization header is not HTTP Basic' };
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, reason: 'HTTP Basic credentials are malformed' };
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const user = findUser(policy.users, username);
  const ok = user !== null && matchesConfigured(password, user.password.reveal());
  return ok ? { ok: true, method: 'basic', username, nonce: null } : { ok: false, reason: 'unknown user or wrong password' };
}

function findUser(users: readonly InboundUser[], username: string): InboundUser | null {
  const digest = digestOf(username);
  let found: InboundUser | null = null;
  for (const u of users) if (matchesConfigured(digest, u.username)) found = u;
  return found;
}

/** Constant-time for equal lengths; hashing first makes the time independent of the length too. */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digestOf(a), digestOf(b));
}

/**
 * SHA-256 of the configured usernames and passwords, computed once per value: each push compares
 * its credentials with every configured user. Keyed by the string itself, which the config holds
 * for as long as it is loaded.
 */
const configuredDigests = new Map<string, Buffer>();
const MAX_CACHED_DIGESTS = 1024;

function digestOf(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function configuredDigest(value: string): Buffer {
  let digest = configuredDigests.get(value);
  if (!digest) {
    if (configuredDigests.size >= MAX_CACHED_DIGESTS) configuredDigests.clear();
    digest = digestOf(value);
    configuredDigests.set(value, digest);
  }
  return digest;
}

/** safeEqual of a value received and a configured one (whose digest is kept). */
function matchesConfigured(received: string | Buffer, configured: string): boolean {
  const digest = typeof received === 'string' ? digestOf(received) : received;
  return timingSafeEqual(digest, configuredDigest(configured));
}
