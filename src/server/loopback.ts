import { isIP } from 'node:net';

/**
 * Whether a socket address is a loopback one: 127.0.0.0/8, ::1, or an IPv4 loopback mapped into
 * IPv6 (::ffff:127.x.x.x, as a dual-stack listener reports IPv4 peers). Anything else, including
 * an unknown (undefined) address, is not.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Whether binding `host` (server.host) keeps the port on this machine: a loopback address or the
 * name localhost. Any other name, 0.0.0.0, :: and every other address may face a network.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase() === 'localhost' || isLoopbackAddress(bare);
}

/** Whether a bound address is the wildcard one (every interface). */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '0:0:0:0:0:0:0:0';
}
