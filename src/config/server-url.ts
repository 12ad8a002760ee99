/**
 * The base URL a client on this machine reaches the gateway at, from gateway.yaml's `server`
 * (https when server.tls is set). Null while server.port is 0: the port is chosen at bind time, so
 * no config file can know it.
 */
export function localServerUrl(server: { host: string; port: number; tls?: unknown }): string | null {
  if (server.port === 0) return null;
  return `${server.tls ? 'https' : 'http'}://${connectHost(server.host)}:${server.port}`;
}

/** The host to connect to for a listener bound to `host`. */
function connectHost(host: string): string {
  // A wildcard bind accepts loopback connections; the wildcard itself is no address to connect to.
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
