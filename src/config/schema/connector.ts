import { z } from 'zod';
import { connectorAuthSchema } from './connector-auth.ts';
import { breakerSchema, rateLimitSchema, retrySchema } from './connector-rules.ts';
import type { Leaves } from './leaves.ts';
import { shipbobSchema } from './shipbob.ts';

/** A connector's name: its file's stem unless given, and the key everything else refers to it by. */
const connectorName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'use lower-case letters, digits, ".", "_" or "-" (max 63)');

/** One connectors/<name>.yaml: a target, how to reach and authenticate to it, and its delivery rules. */
export function connectorSchema(leaves: Leaves) {
  const { str, nonEmpty, httpUrl, secret, num, bool, duration } = leaves;
  return z.strictObject({
    name: connectorName,
    /** OM's "Target System" (a TCA source system code). */
    targetSystem: nonEmpty().optional(),
    description: str().optional(),
    protocol: z.enum(['rest', 'soap']),
    /** Built-in kinds add behaviour on top of the protocol (ShipBob order create, Fusion write-back). */
    kind: z.enum(['generic', 'shipbob', 'oracle-fusion']).default('generic'),
    url: httpUrl(),
    method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'GET']).default('POST'),
    /** Appended to url; `{{field}}` placeholders are filled from the event. */
    path: str().default(''),
    headers: z.record(z.string(), str()).default({}),
    auth: connectorAuthSchema(leaves).default({ type: 'none' }),
    /**
     * TLS to the target (and its token endpoint): an extra CA (PEM), a client certificate and its
     * key (PEM, mTLS; the key decrypted with the passphrase). Relative paths are relative to the
     * config folder; the loader checks each file (src/config/tls-files.ts).
     */
    tls: z
      .strictObject({
        ca: nonEmpty().optional(),
        cert: nonEmpty().optional(),
        key: nonEmpty().optional(),
        passphrase: secret().optional(),
        rejectUnauthorized: bool().default(true),
      })
      .superRefine((tls, ctx) => {
        // A client certificate is presented with its key: one without the other cannot work.
        if (tls.cert !== undefined && tls.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'is required with tls.cert' });
        if (tls.key !== undefined && tls.cert === undefined) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'is required with tls.key' });
      })
      .optional(),
    soap: z
      .strictObject({
        version: z.enum(['1.1', '1.2']).default('1.1'),
        action: str().optional(),
      })
      .optional(),
    /** A built-in transform name or jsonata:<mapping>; default canonical-json (REST) or om-results-xml (SOAP). */
    transform: str().optional(),
    /** kind: shipbob — how an OM event becomes ShipBob orders, and how Oracle's changes reach them. */
    shipbob: shipbobSchema(leaves).optional(),
    /** kind: oracle-fusion — where the Fusion REST resources live. */
    fusion: z
      .strictObject({
        restBase: str().default('/fscmRestApi/resources/11.13.18.05'),
        restFrameworkVersion: str().default('4'),
      })
      .optional(),
    timeout: duration().default(30_000),
    retry: retrySchema(leaves),
    rateLimit: rateLimitSchema(leaves),
    breaker: breakerSchema(leaves),
    concurrency: num(z.number().int().min(1).max(256)).default(4),
    ordering: z.enum(['strict', 'none']).default('strict'),
    state: z.enum(['online', 'offline']).default('online'),
    /** `omgw connector test`: a harmless GET, as a path appended to url or an absolute URL (default: per kind/protocol). */
    probe: str()
      .refine((v) => v.startsWith('/') || v.startsWith('?') || /^https?:\/\//.test(v), 'must be a path starting with / or ?, or an absolute http(s) URL')
      .optional(),
    idempotencyKey: z
      .strictObject({
        template: str().default('{{delivery.id}}'),
        header: str().default('Idempotency-Key'),
      })
      .prefault({}),
  });
}
