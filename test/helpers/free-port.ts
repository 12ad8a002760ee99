import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** Where the ports chosen here start: above the well-known ones, below the kernel's ephemeral range. */
const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux; the IANA range elsewhere). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > LOWEST) return first;
  } catch {
    // Not Linux: the IANA range.
  }
  return 49_152;
}

/** Ports this process has handed out: never twice (two asked for before either is listened on). */
const given = new Set<number>();

/** Listens on `port` (0: the kernel's choice) and closes again; the port, or null when it is taken. */
async function tryListen(port: number): Promise<number | null> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) return null;
  const { port: bound } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/**
 * A loopback port nothing listens on right now, for what must be known before a listener starts (the
 * example config's connectors reach the gateway's own port, a child gateway is restarted on its port)
 * or must be known to be closed. Chosen at random below the kernel's ephemeral range: every port the
 * kernel hands out (a listener on port 0, the local end of an outgoing connection) comes from that
 * range, so in the seconds between this answer and the listener's start (a child process starting),
 * no other program on the machine, such as the other test processes CI runs alongside, is given it
 * by chance.
 */
export async function freePort(): Promise<number> {
  const span = ephemeralStart() - LOWEST;
  for (let i = 0; i < 100; i++) {
    const candidate = LOWEST + Math.floor(Math.random() * span);
    if (given.has(candidate)) continue;
    const port = await tryListen(candidate);
    if (port === null) continue;
    given.add(port);
    return port;
  }
  // A machine whose low ports are all taken: the kernel's choice.
  const port = await tryListen(0);
  if (port === null) throw new Error('no loopback port to listen on');
  given.add(port);
  return port;
}
