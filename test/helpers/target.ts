import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'destroy';

/**
 * A fake receiver: a real HTTP server on port 0 that records every request and answers as the test
 * scripts it. 'hang' never answers (until close), 'destroy' drops the connection.
 */
export class FakeTarget extends EventEmitter {
  readonly requests: ReceivedRequest[] = [];
  answer: (req: ReceivedRequest, index: number) => Answer = () => ({ status: 200, body: '{}' });
  #server: http.Server;
  #hanging = new Set<http.ServerResponse>();
  url = '';

  constructor() {
    super();
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        const index = this.requests.push(received) - 1;
        const answer = this.answer(received, index);
        if (answer === 'hang') {
          this.#hanging.add(res);
        } else if (answer === 'destroy') {
          req.socket.destroy();
        } else {
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(answer.body ?? '');
        }
        this.emit('request', received, index);
      });
    });
  }

  /** Listens on `port` (default: any free port). A fixed port lets a test take a target down and bring it back. */
  async start(port = 0): Promise<this> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves when the target has received `n` requests in all. */
  async waitForRequests(n: number): Promise<ReceivedRequest[]> {
    while (this.requests.length < n) await once(this, 'request');
    return this.requests;
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
