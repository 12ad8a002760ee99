import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `inbound.soap`: who may push, how they authenticate, and the limits of a push. */
export function inboundSoapSchema({ nonEmpty, secret, num, duration, size }: Leaves) {
  const credential = z.strictObject({ username: nonEmpty(), password: secret() });

  return z.strictObject({
    users: z.array(credential).min(1, 'at least one inbound user is needed'),
    /** Which inbound authentication methods are accepted. */
    auth: z.array(z.enum(['ws-security', 'basic'])).min(1).default(['ws-security', 'basic']),
    passwordTypes: z.array(z.enum(['text', 'digest'])).min(1).default(['text', 'digest']),
    /** How far a UsernameToken's Created may lie from now, both ways. */
    createdWindow: duration().default(5 * 60_000),
    dedupeWindow: duration().default(7 * 24 * 3_600_000),
    maxBodySize: size().default(10 * 1024 * 1024),
    /** What a sender may make the gateway read before its credentials are checked (Envelope start and Header). */
    maxBytesBeforeCredentials: size().default(64 * 1024),
    maxDepth: num(z.number().int().min(8).max(1000)).default(64),
    maxElements: num(z.number().int().min(100)).default(200_000),
    /** Attributes on one element, and in a whole push. */
    maxAttributes: num(z.number().int().min(4).max(100_000)).default(64),
    maxTotalAttributes: num(z.number().int().min(100)).default(100_000),
    /** Characters in an element or attribute name, and in one text node or attribute value. */
    maxNameLength: num(z.number().int().min(16).max(1_000_000)).default(256),
    maxTextLength: size().default(1024 * 1024),
    /** Bytes of push bodies held in memory at once, across pushes; a push waits at most bodyWait for room. */
    bodyBudget: size().default(64 * 1024 * 1024),
    bodyWait: duration().default(10_000),
  }).superRefine((s, zctx) => {
    if (s.bodyBudget < s.maxBodySize) {
      zctx.addIssue({ code: 'custom', path: ['bodyBudget'], message: `must be at least maxBodySize (${s.maxBodySize} bytes): a push of that size must fit` });
    }
    if (s.maxBytesBeforeCredentials > s.maxBodySize) {
      zctx.addIssue({ code: 'custom', path: ['maxBytesBeforeCredentials'], message: 'must not be more than maxBodySize' });
    }
  });
}
