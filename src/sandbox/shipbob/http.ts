import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RouterContext, type RouterMiddleware } from '@koa/router';
import type { Context } from 'koa';
import { empty, json, readBody } from './errors.ts';
import type { SlidingWindowLimiter } from './rate-limit.ts';

/**
 * The way into the emulated ShipBob: every request under the prefix has its body read, then passes
 * ShipBob's checks in ShipBob's order (bearer token, then the rate limit, then the dated version),
 * is routed to the resource routes, and is recorded. The resource routes are registered on two
 * routers of their own: `api` with paths below `/{version}` (`/order`, `/webhook/:subscriptionId`)
 * and `control` with the sandbox's `/_sandbox/...` paths.
 */

export interface RecordedRequest {
  at: string;
  method: string;
  /** Path below the prefix, with the query string. */
  path: string;
  /** Request headers without Authorization. */
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface ShipBobHttpOptions {
  /** Where the routes live (`''` for the root). */
  prefix: string;
  apiVersion: string;
  token: string;
  limiter: SlidingWindowLimiter;
  now: () => number;
  api: Router;
  control: Router;
  onRequest: (record: RecordedRequest) => void;
}

/**
 * A router for the resource routes: paths match as ShipBob's do, case and trailing slash included
 * (`/order/` and `/Order` are not `/order`).
 */
export function resourceRouter(): Router {
  return new Router({ sensitive: true, strict: true });
}

// ShipBob ids never hold a colon: `/order/1:cancel` is the cancel action on order 1, not the order
// "1:cancel". A path whose id would hold one is treated as not matching that route.
const ID_PARAMETERS = ['orderId', 'shipmentId'] as const;

/** The router to mount: one catch-all route for the prefix, which runs everything above. */
export function shipBobHttp(options: ShipBobHttpOptions): Router {
  const { prefix, api, control } = options;
  const tokenDigest = digest(options.token);
  const version = `/${options.apiVersion}`;
  const unroutedApi = (ctx: Context): void => empty(ctx, pathMatched(api, ctx.path, ctx.method) ? 405 : 404);
  for (const name of ID_PARAMETERS) api.param(name, (value, ctx, next) => (value.includes(':') ? unroutedApi(ctx) : next()));
  const apiRoutes = api.routes();
  const controlRoutes = control.routes();

  const dispatch = async (ctx: RouterContext, sub: string): Promise<void> => {
    if (!authorized(ctx, tokenDigest)) {
      // The spec gives 401 no body ("No access right at this time").
      ctx.set('WWW-Authenticate', 'Bearer');
      empty(ctx, 401);
      return;
    }
    if (sub.startsWith('/_sandbox/')) {
      await routeTo(ctx, controlRoutes, sub, (c) => empty(c, 404));
      return;
    }
    const limit = options.limiter.hit(options.now());
    ctx.set('x-remaining-calls', String(limit.remaining));
    if (!limit.granted) {
      ctx.set('x-retry-after', String(limit.retryAfterSeconds));
      json(ctx, 429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${limit.retryAfterSeconds} seconds.` });
      return;
    }
    if (sub !== version && !sub.startsWith(`${version}/`)) {
      empty(ctx, 404);
      return;
    }
    await routeTo(ctx, apiRoutes, sub.slice(version.length) || '/', unroutedApi);
  };

  const router = new Router();
  router.all(`${prefix}{/*rest}`, async (ctx) => {
    let sub = ctx.path.slice(prefix.length) || '/';
    try {
      sub = decodeURIComponent(sub);
    } catch {
      // keep it as sent
    }
    const body = await readBody(ctx);
    if (body !== null) await dispatch(ctx, sub);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.request.headers)) {
      if (k !== 'authorization' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    options.onRequest({
      at: new Date(options.now()).toISOString(),
      method: ctx.method,
      path: sub + (ctx.querystring ? `?${ctx.querystring}` : ''),
      headers,
      body: body ?? '',
      status: ctx.status,
    });
  });
  return router;
}

/**
 * Runs `routes` on `path` (already percent-decoded, like the paths ShipBob's routes are written
 * for), as koa-mount does: ctx.path is that path while they run, and `unrouted` answers when none
 * takes the request. HEAD goes straight to `unrouted`: @koa/router would serve it with the GET
 * route, and ShipBob's API has no HEAD.
 */
async function routeTo(ctx: RouterContext, routes: RouterMiddleware, path: string, unrouted: (ctx: Context) => void): Promise<void> {
  const original = ctx.path;
  ctx.path = routable(path);
  try {
    if (ctx.method === 'HEAD') unrouted(ctx);
    else await routes(ctx, async () => unrouted(ctx));
  } finally {
    ctx.path = original;
  }
}

/**
 * The decoded path encoded again segment by segment: the router decodes what a parameter captures,
 * so an id comes out as decoded once (`%2541` stays `%41`), and
 * a URL parser has nothing to trim or re-escape. Colons stay as they are, for `:cancel`.
 */
function routable(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('%3A', ':'))
    .join('/');
}

/** Whether some route takes `path` with another method (a 405 rather than a 404). */
function pathMatched(router: Router, path: string, method: string): boolean {
  return router.match(path, method).path.some((layer) => {
    if (layer.methods.length === 0) return false;
    const params = layer.params(path, layer.captures(path));
    return ID_PARAMETERS.every((name) => !params[name]?.includes(':'));
  });
}

function authorized(ctx: Context, tokenDigest: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  return m !== null && timingSafeEqual(digest(m[1] ?? ''), tokenDigest);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
