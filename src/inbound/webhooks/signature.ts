import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (symmetric, `v1`), the scheme ShipBob's dated webhooks use
 * (shared/specs/standard-webhooks/standard-webhooks.md, NOTES §8.4):
 *
 *   signed content = `${webhook-id}.${webhook-timestamp}.${raw body}`
 *   signature      = base64(HMAC-SHA256(key, signed content)), sent as `v1,<base64>`
 *   key            = base64-decode of the secret after its `whsec_` prefix
 *
 * `webhook-signature` is a space-separated list (several signatures during a secret rotation, other
 * versions such as `v1a` ignored); one matching `v1` signature is enough. `webhook-timestamp` must be
 * within the tolerance of now, both ways.
 *
 * Written with node:crypto rather than with `standardwebhooks`' Webhook.verify (which the tests use as
 * a reference), because that verifier does not fit exactly: it reads Date.now() (the gateway runs on an
 * injected clock), has a fixed 5-minute tolerance (here it is configuration), decodes a Buffer body to
 * a string before hashing (invalid UTF-8 becomes U+FFFD, so the bytes hashed are not the bytes sent),
 * accepts timestamps such as "1614265330abc" via parseInt and then signs a different string than the
 * header holds, takes one secret per instance, and throws on JSON it cannot parse after a valid
 * signature, mixing two different failures. The scheme itself is a dozen lines.
 */

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/** Limits on the headers, so hostile values cost nothing: ids are short tokens, timestamps are seconds. */
const MAX_ID_LENGTH = 256;
const TIMESTAMP = /^[0-9]{1,12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export type VerifyFailure =
  | 'missing_headers'
  | 'malformed_headers'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

type VerifyRefusal = { ok: false; reason: VerifyFailure; message: string };

export type VerifyResult = { ok: true; id: string; timestamp: number; /** which configured secret matched (0 = first) */ secretIndex: number } | VerifyRefusal;

/** The headers as checked, before the body: the values the signature is computed over. */
type HeaderCheck = { ok: true; id: string; timestamp: string; signature: string } | VerifyRefusal;

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

/**
 * The HMAC key of a secret: the base64 after the optional `whsec_` prefix. Throws WebhookSecretError
 * (whose message never contains the secret) when it is empty or not base64.
 */
function decodeWebhookSecret(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (body.length === 0) throw new WebhookSecretError("a webhook secret can't be empty");
  if (!BASE64.test(body) || body.replace(/=+$/, '').length % 4 === 1) {
    throw new WebhookSecretError('a webhook secret must be whsec_ followed by base64');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length === 0) throw new WebhookSecretError("a webhook secret can't be empty");
  return key;
}

/**
 * Verifies webhooks against one or more secrets (several while a secret is rotated). The secrets
 * are decoded once, at construction, which throws WebhookSecretError for an empty or malformed one.
 */
export class WebhookVerifier {
  readonly #keys: Buffer[];
  readonly #toleranceSeconds: number;

  constructor(secrets: readonly string[], options: { toleranceMs?: number } = {}) {
    if (secrets.length === 0) throw new WebhookSecretError('at least one webhook secret is needed');
    this.#keys = secrets.map(decodeWebhookSecret);
    this.#toleranceSeconds = Math.floor((options.toleranceMs ?? DEFAULT_TOLERANCE_MS) / 1000);
  }

  /** How far a timestamp may lie from now, both ways. */
  get toleranceMs(): number {
    return this.#toleranceSeconds * 1000;
  }

  /**
   * What the headers alone decide: all three present, an id and a timestamp of the right form, the
   * timestamp within the tolerance of now. Needs no byte of the body.
   */
  checkHeaders(headers: WebhookHeaders, nowMs: number): HeaderCheck {
    const { id, timestamp, signature } = headers;
    if (!id || !timestamp || !signature) {
      const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signature && 'webhook-signature'].filter(Boolean);
      return fail('missing_headers', `missing header(s): ${missing.join(', ')}`);
    }
    if (id.length > MAX_ID_LENGTH || id.includes('.')) {
      return fail('malformed_headers', `webhook-id must be at most ${MAX_ID_LENGTH} characters without "."`);
    }
    if (!TIMESTAMP.test(timestamp)) return fail('malformed_headers', 'webhook-timestamp must be an integer Unix time in seconds');
    const sent = Number(timestamp);
    const now = Math.floor(nowMs / 1000);
    if (now - sent > this.#toleranceSeconds) return fail('timestamp_too_old', 'webhook-timestamp is too old');
    if (sent - now > this.#toleranceSeconds) return fail('timestamp_too_new', 'webhook-timestamp is too far in the future');
    return { ok: true, id, timestamp, signature };
  }

  /** Checks headers and signature over the exact body bytes; `nowMs` is the gateway's clock. */
  verify(headers: WebhookHeaders, body: Buffer | string, nowMs: number): VerifyResult {
    const checked = this.checkHeaders(headers, nowMs);
    if (!checked.ok) return checked;
    const { id, timestamp, signature } = checked;
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const expected = this.#keys.map((key) => Buffer.from(hmac(key, id, timestamp, bytes), 'ascii'));
    let matched = -1;
    for (const entry of signature.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
      const candidate = Buffer.from(entry.slice(comma + 1), 'utf8');
      expected.forEach((want, index) => {
        // Lengths are public (44 characters for SHA-256); the content is compared in constant time.
        if (candidate.length === want.length && timingSafeEqual(candidate, want) && matched < 0) matched = index;
      });
    }
    if (matched < 0) return fail('no_matching_signature', 'no matching signature in webhook-signature');
    return { ok: true, id, timestamp: Number(timestamp), secretIndex: matched };
  }
}

/** A verified message: its body, as read, and the verifier's verdict. */
export type SignedBody = { ok: true; body: Buffer; verdict: Extract<VerifyResult, { ok: true }> } | VerifyRefusal;

/**
 * The one order every Standard Webhooks receiver follows (ShipBob's webhooks, async connectors'
 * callbacks): what the headers decide refuses before a byte of the body is read; only then is the
 * body read, by `read` (bounded and budgeted as the caller's route requires), and the signature
 * checked over its exact bytes. A stranger without well-formed, current headers costs no body.
 */
export async function readSignedBody(verifier: WebhookVerifier, headers: WebhookHeaders, nowMs: number, read: () => Promise<Buffer>): Promise<SignedBody> {
  const checked = verifier.checkHeaders(headers, nowMs);
  if (!checked.ok) return checked;
  const body = await read();
  const verdict = verifier.verify(headers, body, nowMs);
  return verdict.ok ? { ok: true, body, verdict } : verdict;
}

function hmac(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64');
}

function fail(reason: VerifyFailure, message: string): VerifyRefusal {
  return { ok: false, reason, message };
}
