import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceivedRequest } from './target.ts';

/**
 * An async connector's far side, as a busy warehouse runs it: a real HTTP server that accepts every
 * request at once (202) and answers each later through `POST /callbacks/{connector}`, many callbacks
 * in flight at a time. A callback that got no 2xx (connection refused or reset, a 5xx: the gateway is
 * down or restarting) is sent again after a pause, until one is acknowledged. A request re-sent
 * while its callback is still to be acknowledged is answered the same and calls back once; re-sent
 * after, it calls back again (the gateway then finds the delivery finished).
 */

export interface CallbackTargetOptions {
  connector: string;
  /** The gateway's base URL now; null while it is down (the callback waits its pause and tries again). */
  gatewayUrl: () => string | null;
  /** The Authorization header of each callback. */
  authorization: string;
  /** The status a request's callback reports, from the request. */
  statusOf: (req: ReceivedRequest) => string;
  /** The request header carrying the correlation id (the connector's async.correlation.header). */
  correlationHeader?: string;
  /** Callbacks in flight at once. */
  concurrency?: number;
  /** Pause before a callback that got no 2xx is sent again. */
  retryDelayMs?: number;
}

/** A callback the gateway acknowledged (a 2xx), with what it answered. */
export interface AckedCallback {
  correlationId: string;
  status: string;
  eventId: string | null;
  outcome: string;
  deliveryId: string | null;
}

interface Pending {
  correlationId: string;
  status: string;
}

export class CallbackTarget extends EventEmitter {
  readonly requests: ReceivedRequest[] = [];
  /** Every acknowledged callback, in the order the acknowledgements came. */
  readonly acked: AckedCallback[] = [];
  /** The status each correlation id's callback reports. */
  readonly statuses = new Map<string, string>();
  /** Callbacks sent that got no 2xx (each was sent again). */
  unacknowledged = 0;
  url = '';
  readonly #options: Required<CallbackTargetOptions>;
  readonly #server: http.Server;
  readonly #queue: Pending[] = [];
  /** Correlation ids whose callback is queued, in flight or waiting to be sent again. */
  readonly #open = new Set<string>();
  #inFlight = 0;
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: CallbackTargetOptions) {
    super();
    this.#options = { correlationHeader: 'x-correlation-id', concurrency: 16, retryDelayMs: 100, ...options };
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(received);
        const correlationId = String(req.headers[this.#options.correlationHeader.toLowerCase()] ?? '');
        if (correlationId === '') {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":"no correlation id"}');
          return;
        }
        const status = this.statuses.get(correlationId) ?? this.#options.statusOf(received);
        this.statuses.set(correlationId, status);
        if (!this.#open.has(correlationId)) {
          this.#open.add(correlationId);
          this.#queue.push({ correlationId, status });
        }
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"accepted":true}');
        this.emit('request', received);
        this.#pump();
      });
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  get connector(): string {
    return this.#options.connector;
  }

  /** Callbacks not acknowledged yet (queued, in flight, or waiting to be sent again). */
  get outstanding(): number {
    return this.#open.size;
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.#options.concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift() as Pending;
      this.#inFlight++;
      void this.#send(next).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #send(callback: Pending): Promise<void> {
    const base = this.#options.gatewayUrl();
    let acked: AckedCallback | null = null;
    if (base !== null) {
      try {
        const res = await fetch(`${base}/callbacks/${this.#options.connector}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: this.#options.authorization },
          body: JSON.stringify({ correlationId: callback.correlationId, status: callback.status }),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) {
          const json = JSON.parse(text) as { eventId: string | null; outcome: string; deliveryId: string | null };
          acked = { correlationId: callback.correlationId, status: callback.status, eventId: json.eventId, outcome: json.outcome, deliveryId: json.deliveryId };
        }
      } catch {
        // No answer (refused, reset, timed out): sent again below.
      }
    }
    if (acked !== null) {
      this.acked.push(acked);
      this.#open.delete(callback.correlationId);
      this.emit('acked', acked);
      return;
    }
    this.unacknowledged++;
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#queue.push(callback);
      this.#pump();
    }, this.#options.retryDelayMs);
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
