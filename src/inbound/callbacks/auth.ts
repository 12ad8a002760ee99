/**
 * Who may call `POST /callbacks/{connector}`: the connector's `async.callback.auth`, checked with the
 * same code as OM's pushes (HTTP Basic, a WS-Security UsernameToken: src/inbound/soap/auth.ts) and
 * ShipBob's webhooks (Standard Webhooks: src/inbound/webhooks/signature.ts). Basic and bearer are
 * decided from the headers, before the body is read; a Standard Webhooks signature needs the body
 * (read bounded first); a UsernameToken is checked when the SOAP Header closes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ConnectorConfig } from '../../config/schema.ts';
import type { Secret } from '../../config/secret.ts';
import { authenticateHttp, authenticateToken, type AuthResult, type InboundAuthPolicy } from '../soap/auth.ts';
import type { UsernameToken } from '../soap/envelope.ts';
import { readSignedBody, WebhookVerifier, type WebhookHeaders } from '../webhooks/signature.ts';

export type CallbackSettings = NonNullable<ConnectorConfig['async']>['callback'];
export type CallbackAuth = CallbackSettings['auth'];

/** A callback's credentials as checked: who it was, and a UsernameToken's nonce to remember. */
export type CallbackAuthResult =
  | { ok: true; username: string | null; nonce: { key: string; expiresAt: number } | null }
  | { ok: false; reason: string };

/** How long a UsernameToken's Created may lie from now (as OM's default createdWindow). */
const CREATED_WINDOW_MS = 5 * 60_000;

/** Whether the credentials are all in the headers (decided before a byte of the body is read). */
export function decidedByHeaders(auth: CallbackAuth): boolean {
  return auth.type === 'basic' || auth.type === 'bearer';
}

/** Basic or bearer, from the Authorization header. */
export function authenticateHeaders(auth: CallbackAuth, authorization: string | undefined): CallbackAuthResult {
  if (auth.type === 'bearer') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: authorization ? 'Authorization header is not a bearer token' : 'no credentials: send Authorization: Bearer' };
    return sameSecret(m[1] as string, auth.token.reveal()) ? { ok: true, username: null, nonce: null } : { ok: false, reason: 'wrong bearer token' };
  }
  if (auth.type === 'basic') {
    if (!authorization) return { ok: false, reason: 'no credentials: send HTTP Basic' };
    return fromPush(authenticateHttp(policyOf(auth.username, auth.password), authorization));
  }
  return { ok: false, reason: `auth type ${auth.type} is not decided by the headers` };
}

const verifiers = new WeakMap<CallbackAuth, WebhookVerifier>();

/** A signed callback as verified: its body, and its message id to remember until its timestamp can no longer pass. */
export type SignedCallback = { ok: true; body: Buffer; webhookId: string; rememberUntil: number } | { ok: false; reason: string };

/**
 * A Standard Webhooks signature over the exact body bytes (readSignedBody: the headers are checked
 * before `read` is called, so a stranger without well-formed, current headers costs no body).
 */
export async function authenticateSigned(
  auth: Extract<CallbackAuth, { type: 'standard-webhooks' }>,
  headers: WebhookHeaders,
  now: number,
  read: () => Promise<Buffer>,
): Promise<SignedCallback> {
  let verifier = verifiers.get(auth);
  if (!verifier) {
    verifier = new WebhookVerifier([auth.secret.reveal()], { toleranceMs: auth.tolerance });
    verifiers.set(auth, verifier);
  }
  const signed = await readSignedBody(verifier, headers, now, read);
  if (!signed.ok) return { ok: false, reason: `signature refused: ${signed.message}` };
  // The same message (its id) can pass the timestamp check until its timestamp plus the tolerance.
  return { ok: true, body: signed.body, webhookId: signed.verdict.id, rememberUntil: signed.verdict.timestamp * 1000 + verifier.toleranceMs + 1000 };
}

/** A WS-Security UsernameToken from the SOAP Header (PasswordText, or PasswordDigest with Nonce and Created). */
export function authenticateUsernameToken(
  auth: Extract<CallbackAuth, { type: 'username-token' }>,
  token: UsernameToken | null,
  now: number,
): CallbackAuthResult {
  if (token === null) return { ok: false, reason: 'no credentials: send a WS-Security UsernameToken in the SOAP Header' };
  return fromPush(authenticateToken(policyOf(auth.username, auth.password, 'ws-security'), token, undefined, now));
}

function policyOf(username: string, password: Secret, method: 'basic' | 'ws-security' = 'basic'): InboundAuthPolicy {
  return { methods: [method], passwordTypes: ['text', 'digest'], createdWindowMs: CREATED_WINDOW_MS, users: [{ username, password }] };
}

function fromPush(result: AuthResult | null): CallbackAuthResult {
  if (result === null) return { ok: false, reason: 'no credentials' };
  return result.ok ? { ok: true, username: result.username, nonce: result.nonce } : { ok: false, reason: result.reason };
}

/** Constant-time, whatever the lengths (both sides hashed first). */
function sameSecret(received: string, configured: string): boolean {
  const digest = (v: string): Buffer => createHash('sha256').update(v, 'utf8').digest();
  return timingSafeEqual(digest(received), digest(configured));
}
