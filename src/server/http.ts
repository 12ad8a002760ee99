import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Router } from '@koa/router';
import { clip } from '../domain/clip.ts';
import { GatewayError, isGatewayError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import { isClientAbort } from './drain.ts';
import { isWildcardAddress } from './loopback.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string; ca?: string | undefined } | undefined;
  requestTimeoutMs: number;
  logger: Logger;
}

/**
 * Builds the Koa application: request ids, one log line per request, JSON errors for non-SOAP routes,
 * and `X-Content-Type-Options: nosniff` on every answer (JSON, SOAP, WSDL, metrics, the console), so
 * that no browser reads a body as another type than the one it was sent as.
 */
export function createKoaApp(logger: Logger, router: Router): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._:-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    try {
      await next();
    } catch (err) {
      // A client that hung up while its body was read is a client event, not a gateway fault.
      const aborted = !isGatewayError(err) && isClientAbort(ctx.req, err);
      const error = isGatewayError(err)
        ? err
        : aborted
          ? new GatewayError('CLIENT_ABORTED', 'the client closed the connection before its request was read')
          : new GatewayError('INTERNAL', 'internal error', { cause: err });
      if (error.status >= 500) logger.error({ err: error.cause ?? error, requestId }, error.message);
      ctx.status = error.status;
      ctx.body = { code: error.code, message: error.message };
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          requestId,
          method: ctx.method,
          // The client chose the path: a megabyte of it must not become a megabyte of log.
          path: clip(ctx.path),
          status: ctx.status,
          durationMs: Math.round(durationMs * 100) / 100,
          remoteAddr: ctx.request.ip,
          ...(ctx.state.logFields as Record<string, unknown> | undefined),
        },
        'request',
      );
    }
  });
  app.use(router.routes());
  // Nothing answered: a path served with other methods is a 405 (with Allow), anything else a 404,
  // both as {code, message} like every other refusal of the JSON routes.
  app.use((ctx) => {
    const allowed = allowedMethods(router, ctx.path);
    if (allowed.length === 0) throw new GatewayError('NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
    ctx.set('Allow', allowed.join(', '));
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new GatewayError('METHOD_NOT_ALLOWED', `${ctx.method} is not served at ${ctx.path}; it takes ${allowed.join(', ')}`);
  });
  return app;
}

export interface RunningServer {
  server: http.Server;
  /**
   * Where clients on this host reach the gateway: the bound address, or 127.0.0.1 when bound to
   * every interface (0.0.0.0 or ::), which cannot be connected to as such.
   */
  url: string;
  /** The address and port actually bound, e.g. `0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:8080`. */
  bound: string;
  /** Bound to the wildcard address: reachable on every interface of the host. */
  allInterfaces: boolean;
  close(): Promise<void>;
}

/** Listens on HTTP, or HTTPS when a certificate and key are configured (Oracle calls connectors over HTTPS). */
export async function listen(app: Koa, options: HttpServerOptions): Promise<RunningServer> {
  // Koa's callback answers every error itself (ctx.onerror): its promise never rejects.
  const callback = app.callback();
  // Closing: server.close() stops new connections and closes the idle ones, but a client that keeps
  // its connections busy (OM's keep-alive pool under load) would go on being served on them, and
  // holding the close, until keepAliveTimeout. So once closing, every answer closes its connection.
  let closing = false;
  const answering = new Set<http.ServerResponse>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (closing) res.shouldKeepAlive = false;
    answering.add(res);
    res.once('close', () => {
      answering.delete(res);
      if (closing) server.closeIdleConnections();
    });
    void callback(req, res);
  };
  // Node checks the request and header timeouts only every connectionsCheckingInterval (30 s by
  // default), so a slow-loris client would be cut off up to 30 s late: check every second.
  const timeouts = { connectionsCheckingInterval: Math.min(1_000, options.requestTimeoutMs) };
  const server = options.tls
    ? https.createServer(
        {
          cert: readFileSync(options.tls.cert),
          key: readFileSync(options.tls.key),
          ...(options.tls.ca ? { ca: readFileSync(options.tls.ca) } : {}),
          ...timeouts,
        },
        handler,
      )
    : http.createServer(timeouts, handler);
  // Slow-loris bodies and idle sockets must not hold the gateway's resources for long.
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 30_000);
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 200;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const allInterfaces = isWildcardAddress(address.address);
  const url = `${options.tls ? 'https' : 'http'}://${allInterfaces ? '127.0.0.1' : host}:${address.port}`;
  return {
    server,
    url,
    bound: `${host}:${address.port}`,
    allInterfaces,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const res of answering) if (!res.headersSent) res.shouldKeepAlive = false;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** The methods the router's routes take at this path (middleware mounted with router.use has none). */
function allowedMethods(router: Router, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of router.match(path, 'GET').path) for (const method of layer.methods) methods.add(method);
  return [...methods];
}
