import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { ShipBobSandbox, type ShipBobSandboxOptions } from './sandbox.ts';

export interface ShipBobSandboxServerOptions extends ShipBobSandboxOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningShipBobSandbox {
  /** The base URL, like https://sandbox-api.shipbob.com: requests go to `${url}/2026-01/order`. */
  url: string;
  sandbox: ShipBobSandbox;
  close(): Promise<void>;
}

/**
 * Serves the emulated ShipBob on its own port (the routes at the root unless options.prefix says
 * otherwise), for tests that want ShipBob somewhere else than the gateway.
 */
export async function startShipBobSandboxServer(options: ShipBobSandboxServerOptions): Promise<RunningShipBobSandbox> {
  const { port = 0, host = '127.0.0.1', ...rest } = options;
  const sandbox = new ShipBobSandbox({ ...rest, prefix: rest.prefix ?? '' });
  const app = new Koa();
  app.silent = true;
  app.use(sandbox.router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = '';
  });
  // Koa's callback answers every error itself (ctx.onerror): its promise never rejects.
  const callback = app.callback();
  const server = http.createServer((req, res) => void callback(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}${sandbox.prefix}`,
    sandbox,
    close: async () => {
      sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
