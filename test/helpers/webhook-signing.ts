import { createHmac } from 'node:crypto';

/**
 * The sending side of Standard Webhooks (`v1`), as ShipBob signs: what tests put in front of the
 * gateway's WebhookVerifier. The key is the base64 after the optional `whsec_` prefix; the body is
 * signed as the exact bytes sent.
 */
export function signWebhook(secret: string, id: string, timestamp: number | string, body: Buffer | string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const mac = createHmac('sha256', key).update(`${id}.${String(timestamp)}.`).update(bytes).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a signed message; several secrets give several signatures (a rotation). */
export function signedHeaders(
  secrets: string | readonly string[],
  id: string,
  timestampSeconds: number,
  body: Buffer | string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': list.map((s) => signWebhook(s, id, timestampSeconds, body)).join(' '),
  };
}
