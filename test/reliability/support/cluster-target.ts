import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a target does with one request: answer with a status after a delay, or drop the connection. */
export type TargetAnswer = { status: number; delayMs: number } | { destroy: true; delayMs: number };

/** One request as a target of a cluster saw it. */
export interface Arrival {
  index: number;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When the whole request had arrived (the target's clock: the system's). */
  at: number;
  /** The sending instance, from the header the test's connectors set from each process's environment. */
  instance: string;
  /** What it was answered: a status or 'destroy'. */
  answer: number | 'destroy';
  /** When the answer was written or the connection dropped; null while the request waits, or when the sender hung up first. */
  answeredAt: number | null;
}

/** The header each instance's connectors send, naming the instance (its value comes from the instance's env). */
export const INSTANCE_HEADER = 'x-test-instance';

/**
 * A receiver for a cluster test: a real HTTP server on port 0 that records every request with its
 * arrival time and sender, and answers it as `answer` says after a delay, so that deliveries stay
 * in flight long enough for a signal to find some.
 */
export class ClusterTarget {
  readonly arrivals: Arrival[] = [];
  answer: (arrival: Arrival) => TargetAnswer = () => ({ status: 200, delayMs: 0 });
  url = '';
  readonly #server: http.Server;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const arrival: Arrival = {
          index: this.arrivals.length,
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
          instance: String(req.headers[INSTANCE_HEADER] ?? '?'),
          answer: 0,
          answeredAt: null,
        };
        this.arrivals.push(arrival);
        const a = this.answer(arrival);
        arrival.answer = 'destroy' in a ? 'destroy' : a.status;
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (res.destroyed || req.socket.destroyed) return;
          arrival.answeredAt = Date.now();
          if ('destroy' in a) {
            req.socket.destroy();
            return;
          }
          res.writeHead(a.status, { 'content-type': 'application/json' });
          res.end(a.status === 200 ? '{"ok":true}' : '{"error":"busy"}');
        }, a.delayMs);
        this.#timers.add(timer);
      });
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
