import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback port nothing listens on right now, for what must be known before a listener starts (the
 * example config's connectors reach the gateway's own port) or must be known to be closed.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
