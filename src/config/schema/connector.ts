import { z } from 'zod';
import { connectorAsyncSchema } from './connector-async.ts';
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
        /** Default 1.1; with a WSDL, the port's binding says. */
        version: z.enum(['1.1', '1.2']).optional(),
        action: str().optional(),
        /**
         * The target's WSDL: a file (relative to the config folder) or an https URL (http only on
         * loopback: the sandbox). With it, the `jsonata:` mapping yields the operation's input as
         * JSON and the envelope is written from the WSDL's schema (src/connectors/soap-wsdl/).
         */
        wsdl: nonEmpty().refine(wsdlLocationAllowed, 'must be a file in the config folder or an https URL (http only to a loopback host)').optional(),
        operation: nonEmpty().optional(),
        /** The WSDL service and port of the operation, when it is offered on several. */
        service: nonEmpty().optional(),
        port: nonEmpty().optional(),
      })
      .superRefine((soap, ctx) => {
        if (soap.wsdl === undefined) {
          for (const key of ['operation', 'service', 'port'] as const) {
            if (soap[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is used only with soap.wsdl' });
          }
          return;
        }
        if (soap.operation === undefined) ctx.addIssue({ code: 'custom', path: ['operation'], message: 'is required with soap.wsdl' });
        // A WSDL's binding says both; two sources could disagree.
        for (const key of ['version', 'action'] as const) {
          if (soap[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'comes from the WSDL binding: remove it, or pick the port with soap.port' });
        }
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
    /**
     * `async`: an accepted request (2xx, or a SOAP answer that is no Fault) awaits the target's
     * answer at POST /callbacks/{name}, matched by a correlation id, within `async.responseTimeout`.
     */
    mode: z.enum(['sync', 'async']).default('sync'),
    async: connectorAsyncSchema(leaves).optional(),
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
  })
  .superRefine((c, ctx) => {
    asyncProblems(c, ctx);
    if (c.soap?.wsdl === undefined) return;
    if (c.protocol !== 'soap') ctx.addIssue({ code: 'custom', path: ['soap', 'wsdl'], message: 'is for protocol: soap' });
    // The operation's input is JSON shaped by the schema: only a JSONata mapping yields it.
    if (!c.transform?.startsWith('jsonata:')) ctx.addIssue({ code: 'custom', path: ['transform'], message: 'a connector with soap.wsdl needs a jsonata:<mapping> transform' });
  });
}

interface AsyncShape {
  protocol: 'rest' | 'soap';
  kind: string;
  mode: 'sync' | 'async';
  async?: { correlation: { field?: string; responsePath?: string; responseXPath?: string } } | undefined;
}

/** `async` goes with `mode: async`, and each way of carrying the correlation id with its protocol. */
function asyncProblems(c: AsyncShape, ctx: z.RefinementCtx): void {
  if (c.mode === 'sync') {
    if (c.async !== undefined) ctx.addIssue({ code: 'custom', path: ['async'], message: 'is used only with mode: async' });
    return;
  }
  if (c.async === undefined) {
    ctx.addIssue({ code: 'custom', path: ['async'], message: 'is required with mode: async' });
    return;
  }
  // The built-in kinds send and read their own requests: their answers are final.
  if (c.kind !== 'generic') ctx.addIssue({ code: 'custom', path: ['mode'], message: `async is for generic connectors, not kind ${c.kind}` });
  const { correlation } = c.async;
  if (c.protocol !== 'rest') {
    for (const key of ['field', 'responsePath'] as const) {
      if (correlation[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['async', 'correlation', key], message: 'is for protocol: rest (a JSON body)' });
    }
  }
  if (c.protocol !== 'soap' && correlation.responseXPath !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['async', 'correlation', 'responseXPath'], message: 'is for protocol: soap' });
  }
}

/** A relative file path, an https URL, or an http URL to a loopback host. */
function wsdlLocationAllowed(location: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(location)) return true;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  // `.invalid` never resolves: it is the loader's stand-in for ${server:url} while gateway.yaml is invalid.
  return url.protocol === 'http:' && /^(localhost|127(\.\d{1,3}){3}|\[::1\]|[a-z0-9.-]*\.invalid)$/i.test(url.hostname);
}
