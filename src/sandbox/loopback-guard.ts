import type { Middleware } from 'koa';
import { GatewayError } from '../domain/errors.ts';
import { isLoopbackAddress } from '../server/loopback.ts';

/**
 * Headers a reverse proxy adds. A proxy on the same host connects from 127.0.0.1, so a request it
 * forwards from the internet would pass a peer-address check; one of these headers gives it away.
 */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip'] as const;

/**
 * The sandbox peers (emulated Fusion, ShipBob, targets) run with published credentials and show
 * what they received, so they answer only clients on this machine. The TCP peer address decides,
 * never ctx.request.ip or a forwarding header (both can be written by the client).
 */
export function sandboxLoopbackOnly(): Middleware {
  return async (ctx, next) => {
    const peer = ctx.req.socket.remoteAddress;
    if (!isLoopbackAddress(peer)) {
      throw new GatewayError('SANDBOX_LOOPBACK_ONLY', 'the sandbox routes answer only clients on the gateway host (loopback)');
    }
    const forwarded = PROXY_HEADERS.filter((h) => ctx.req.headers[h] !== undefined);
    if (forwarded.length > 0) {
      throw new GatewayError(
        'SANDBOX_LOOPBACK_ONLY',
        `the sandbox routes answer only clients on the gateway host; a request forwarded by a proxy (${forwarded.join(', ')}) is refused`,
      );
    }
    await next();
  };
}
