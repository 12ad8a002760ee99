import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { z } from 'zod';
import { GatewayError } from '../domain/errors.ts';
import { discardRestOfBody } from '../server/drain.ts';
import type { LoginGuard } from '../server/login-throttle.ts';

/**
 * The admin API's HTTP plumbing: bearer-token check, JSON bodies with a size limit, and zod
 * validation that answers 400 with every problem named.
 */

/** Compares in constant time whatever the lengths (both sides are hashed first). */
function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/**
 * Requires `Authorization: Bearer <admin token>`. Without a configured token the admin API is off:
 * every route answers 404. Repeated wrong tokens from one source get slower answers (`logins`).
 */
export function bearerAuth(token: () => string | null, logins?: LoginGuard) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const expected = token();
    if (!expected) throw new GatewayError('NOT_FOUND', 'the admin API is off: set admin.token in gateway.yaml');
    const header = ctx.get('authorization');
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
    if (!m?.[1] || !tokenMatches(m[1], expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="omgw-admin"');
      // Only a credential that was offered is a guess; a request without one is not slowed down.
      if (header) await logins?.failed(ctx.request.ip || null);
      throw new GatewayError('AUTH_FAILED', header ? 'the bearer token is not valid' : 'send Authorization: Bearer <admin token>');
    }
    logins?.succeeded(ctx.request.ip || null);
    await next();
  };
}

/**
 * Reads a JSON request body of at most `maxBytes`. No body (or an empty one) reads as {}.
 * 415 for another content type, 413 over the limit (stops reading), 400 for malformed JSON.
 */
export async function readJsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  const declared = ctx.get('content-length');
  const chunked = /chunked/i.test(ctx.get('transfer-encoding'));
  if ((!declared || declared === '0') && !chunked) return {};
  const type = ctx.get('content-type');
  if (!/^\s*application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json${type ? ` (got ${type.slice(0, 80)})` : ''}`);
  }
  if (Number(declared) > maxBytes) {
    discardRestOfBody(ctx.req, ctx.res);
    throw new GatewayError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
  }
  const body = await readLimited(ctx, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new GatewayError('BAD_REQUEST', `body is not valid JSON: ${err instanceof Error ? err.message.slice(0, 120) : 'parse error'}`);
  }
}

/**
 * Reads the request body up to `maxBytes`. Over the limit it stops keeping what it reads: the rest is
 * read and discarded for a bounded time, so the 413 reaches a client that is still sending.
 */
function readLimited(ctx: Context, maxBytes: number): Promise<Buffer> {
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        discardRestOfBody(req, ctx.res);
        reject(new GatewayError('PAYLOAD_TOO_LARGE', `body is over the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new GatewayError('BAD_REQUEST', 'the request body could not be read', { cause: err }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parses `input` with `schema`; a failure is a 400 naming each problem and where it is. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'query' | 'body' | 'path'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.map(String).join('.');
    const what = issue.code === 'unrecognized_keys' ? `unknown ${issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')}` : issue.message;
    return path ? `${path}: ${what}` : what;
  });
  throw new GatewayError('BAD_REQUEST', `invalid ${where}: ${problems.join('; ')}`);
}
