/**
 * A connector's `async` block (with `mode: async`): the target accepts a request, then answers later
 * at POST /callbacks/{connector}. How the answer is matched to its delivery (the correlation id),
 * how long it may take, and how a callback is authenticated and read.
 */
import { z } from 'zod';
import { xpathLocalName } from '../../domain/callback.ts';
import type { Leaves } from './leaves.ts';

/** The ways a correlation id travels; exactly one is configured. */
const CORRELATION_SOURCES = ['header', 'field', 'responsePath', 'responseXPath'] as const;

/** How a caller of POST /callbacks/{connector} authenticates (checked by src/inbound/callbacks/). */
function callbackAuthSchema({ nonEmpty, secret, webhookSecret, duration }: Leaves) {
  return z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('basic'), username: nonEmpty(), password: secret() }),
    z.strictObject({ type: z.literal('bearer'), token: secret() }),
    z.strictObject({
      type: z.literal('standard-webhooks'),
      secret: webhookSecret(),
      /** How far webhook-timestamp may lie from now, both ways. */
      tolerance: duration().default(5 * 60_000),
    }),
    /** A WS-Security UsernameToken in the SOAP header (PasswordText or PasswordDigest): SOAP callbacks only. */
    z.strictObject({ type: z.literal('username-token'), username: nonEmpty(), password: secret() }),
  ]);
}

/** A dotted path into a JSON document ("a.b.c"), as the callback's and the answer's fields are named. */
function dottedPath({ nonEmpty }: Leaves) {
  return nonEmpty().refine((p) => p.split('.').every((s) => s.length > 0), 'must be a dotted path such as data.requestId');
}

export function connectorAsyncSchema(leaves: Leaves) {
  const { nonEmpty, duration, size } = leaves;
  const statusValues = z.array(nonEmpty()).min(1, 'at least one status value is needed');
  return z.strictObject({
    /** From the accepted request to the deadline; past it the delivery follows its retry rules. */
    responseTimeout: duration().pipe(z.number().min(1_000, 'must be at least 1s')),
    correlation: z
      .strictObject({
        /** A generated id sent in this request header. */
        header: nonEmpty().optional(),
        /** A generated id written into the JSON body at this dotted path (REST only). */
        field: dottedPath(leaves).optional(),
        /** Read from the target's 2xx JSON answer at this dotted path (REST only). */
        responsePath: dottedPath(leaves).optional(),
        /** Read from the target's SOAP answer (SOAP only): the first element of a local name (xpathLocalName). */
        responseXPath: nonEmpty()
          .refine((x) => xpathLocalName(x) !== null, "must name an element: //*[local-name()='Name'] or //Name")
          .optional(),
      })
      .superRefine((c, ctx) => {
        const given = CORRELATION_SOURCES.filter((k) => c[k] !== undefined);
        if (given.length !== 1) {
          ctx.addIssue({ code: 'custom', message: `needs exactly one of ${CORRELATION_SOURCES.join(', ')}${given.length > 1 ? ` (has ${given.join(', ')})` : ''}` });
        }
      }),
    callback: z
      .strictObject({
        auth: callbackAuthSchema(leaves),
        correlationPath: dottedPath(leaves).default('correlationId'),
        statusPath: dottedPath(leaves).default('status'),
        messagePath: dottedPath(leaves).optional(),
        /** Status values that complete the delivery as delivered. */
        delivered: statusValues,
        /** Status values that complete it as failed: it parks, reason response_failed. */
        failed: statusValues,
        /** The largest callback body read (a Standard Webhooks signature needs the whole body). */
        maxBodySize: size().default(1024 * 1024),
      })
      .superRefine((cb, ctx) => {
        for (const value of cb.delivered) {
          if (cb.failed.includes(value)) ctx.addIssue({ code: 'custom', path: ['failed'], message: `"${value}" is also in delivered: a status value means one outcome` });
        }
      }),
  });
}
