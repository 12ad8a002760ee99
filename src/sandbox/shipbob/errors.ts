import type { Context } from 'koa';
import { isGatewayError } from '../../domain/errors.ts';
import { readRawBody } from '../../inbound/webhooks/body.ts';
import type { FieldErrors } from './validate.ts';

/**
 * How the emulated ShipBob answers, in ShipBob's shapes: JSON bodies, ASP.NET ModelState field
 * errors (`{"field": ["message"]}`), the serialized ObjectResult of its webhook endpoints, the
 * problem+json of a 415, and bodiless 401/403/404/405.
 */

/** A refusal of the in-process API (ship(), deliver(), ...); `status` is what HTTP would say. */
export class ShipBobSandboxError extends Error {
  readonly status: number;
  constructor(message: string, status = 422) {
    super(message);
    this.name = 'ShipBobSandboxError';
    this.status = status;
  }
}

const MAX_BODY = 1024 * 1024;

export function json(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

export function empty(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.body = '';
}

/** ShipBob's webhook endpoints answer errors as a serialized ASP.NET ObjectResult (per the spec). */
export function objectResult(ctx: Context, status: number, errors: FieldErrors): void {
  json(ctx, status, {
    $type: status === 422 ? 'UnprocessableEntityObjectResult' : 'BadRequestObjectResult',
    content_types: [],
    declared_type: null,
    formatters: [],
    status_code: status,
    value: errors,
  });
}

/**
 * The JSON body of a write: 415 without a JSON content type (as ASP.NET answers), 400 ModelState for
 * a body that does not parse. Returns undefined when an answer was sent.
 */
export function parseJsonBody(ctx: Context, raw: string, onInvalid?: (errors: FieldErrors) => void): unknown {
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(ctx.get('content-type'))) {
    ctx.status = 415;
    ctx.type = 'application/problem+json; charset=utf-8';
    ctx.body = JSON.stringify({
      type: 'https://tools.ietf.org/html/rfc9110#section-15.5.16',
      title: 'Unsupported Media Type',
      status: 415,
    });
    return undefined;
  }
  try {
    if (raw.trim() === '') throw new Error('A non-empty request body is required.');
    return JSON.parse(raw) as unknown;
  } catch (err) {
    const errors = { '': [err instanceof SyntaxError ? `The request body is not valid JSON: ${err.message}` : String((err as Error).message)] };
    if (onInvalid) onInvalid(errors);
    else json(ctx, 400, errors);
    return undefined;
  }
}

// The body is read once, before the token and rate limit are checked (a refused request is recorded
// with its body too); the resource routes find it here.
const bodies = new WeakMap<Context['req'], string>();

/** The body as text, or null after answering 413 in this peer's own error shape. */
export async function readBody(ctx: Context): Promise<string | null> {
  try {
    const body = (await readRawBody(ctx.req, MAX_BODY)).toString('utf8');
    bodies.set(ctx.req, body);
    return body;
  } catch (err) {
    if (!isGatewayError(err) || err.code !== 'PAYLOAD_TOO_LARGE') throw err;
    json(ctx, 413, { '': ['The request body is too large.'] });
    return null;
  }
}

/** The body readBody() read for this request ('' before). */
export function bodyOf(ctx: Context): string {
  return bodies.get(ctx.req) ?? '';
}
