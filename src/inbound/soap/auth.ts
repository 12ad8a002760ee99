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
 * Checks a push's credentials: a WS-Security UsernameToken (PasswordText or PasswordDigest) or,
 * when allowed, HTTP Basic. Comparisons are constant-time. Reasons are for the audit trail and the
 * fault text; they name what was wrong, never a password. A digest's nonce is returned so the store
 * can refuse it the second time (across instances).
 */
export function authenticate(
  policy: InboundAuthPolicy,
  token: UsernameToken | null,
  authorizationHeader: string | undefined,
  now: number,
): AuthResult {
  if (token && policy.methods.includes('ws-security')) return checkUsernameToken(policy, token, now);
  if (authorizationHeader && policy.methods.includes('basic')) return checkBasic(policy, authorizationHeader);
  if (token) return { ok: false, reason: 'WS-Security is not accepted on this endpoint' };
  if (authorizationHeader) return { ok: false, reason: 'HTTP Basic is not accepted on this endpoint' };
  return {
    ok: false,
    reason: `no credentials: send a WS-Security UsernameToken${policy.methods.includes('basic') ? ' or HTTP Basic' : ''}`,
  };
}

function checkUsernameToken(policy: InboundAuthPolicy, token: UsernameToken, now: number): AuthResult {
  const type = token.passwordType ?? 'text';
  if (!policy.passwordTypes.includes(type)) return { ok: false, reason: `password type ${type} is not accepted` };
  if (token.password === null) return { ok: false, reason: 'UsernameToken has no Password' };
  const user = findUser(policy.users, token.username);

  let nonce: { key: string; expiresAt: number } | null = null;
  if (token.created !== null || type === 'digest') {
    if (token.created === null) return { ok: false, reason: 'PasswordDigest needs wsu:Created' };
    const created = Date.parse(token.created);
    if (Number.isNaN(created)) return { ok: false, reason: 'wsu:Created is not a valid timestamp' };
    if (Math.abs(now - created) > policy.createdWindowMs) {
      return { ok: false, reason: 'wsu:Created is outside the accepted time window' };
    }
  }
  if (token.nonce !== null) {
    // The nonce must be remembered at least as long as a token with its Created is accepted.
    nonce = {
      key: createHash('sha256').update(`${token.username}\u0000${token.nonce}`).digest('hex'),
      expiresAt: now + 2 * policy.createdWindowMs,
    };
  } else if (type === 'digest') {
    return { ok: false, reason: 'PasswordDigest needs a Nonce' };
  }

  let matches: boolean;
  if (type === 'text') {
    matches = user !== null && matchesConfigured(token.password, user.password.reveal());
  } else {
    const nonceBytes = Buffer.from(token.nonce ?? '', 'base64');
    const expected = user
      ? createHash('sha1')
          .update(Buffer.concat([nonceBytes, Buffer.from(token.created ?? '', 'utf8'), Buffer.from(user.password.reveal(), 'utf8')]))
          .digest('base64')
      : '';
    matches = user !== null && safeEqual(token.password, expected);
  }
  if (!matches) return { ok: false, reason: 'unknown user or wrong password' };
  return { ok: true, method: 'ws-security', username: token.username, nonce };
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
