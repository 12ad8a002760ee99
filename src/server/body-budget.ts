import type { IncomingMessage } from 'node:http';
import type { Clock } from '../domain/clock.ts';
import { GatewayError } from '../domain/errors.ts';

const PUSHES_BUSY = 'the gateway is reading as many pushes as it may hold at once; send the push again shortly';

/**
 * The bytes of request bodies the gateway holds in memory at once, shared by every request that
 * draws on it. The gateway has two (built in app.ts): OM's pushes (and the callbacks that
 * authenticate as pushes do), and the signed bodies read whole before their signature can be
 * checked (ShipBob's webhooks, signed callbacks), so that a flood of forged signed requests can
 * neither grow the heap nor take the room OM's pushes need.
 *
 * A push first takes what it may read before its credentials are checked (never waiting: a stranger
 * is refused at once when there is no room), then, once authenticated, the rest of its declared size
 * (waiting in line for at most `wait`). A flood of large pushes thus waits or is refused with
 * GATEWAY_BUSY instead of growing the heap, and strangers cannot make an authenticated sender wait
 * for more than their small first share. A signed body is a stranger's until it is read whole: it
 * only ever takes its share now (reserveNow).
 */
export class BodyBudget {
  readonly #capacity: () => number;
  #inUse = 0;
  readonly #clock: Clock;
  readonly #busyMessage: string;
  readonly #queue: Array<{ bytes: number; admit: () => void }> = [];

  /**
   * `capacity` is read at each request, so a reload applies it. `busyMessage` is what a sender
   * refused for lack of room is told (GATEWAY_BUSY), in the words of the requests it holds.
   */
  constructor(capacity: () => number, clock: Clock, busyMessage = PUSHES_BUSY) {
    this.#capacity = capacity;
    this.#clock = clock;
    this.#busyMessage = busyMessage;
  }

  get capacity(): number {
    return this.#capacity();
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** A reservation of `bytes`, taken now, or GATEWAY_BUSY when there is no room (or others wait). */
  reserveNow(bytes: number): BodyReservation {
    const want = Math.min(bytes, this.capacity);
    if (want > 0 && (this.#queue.length > 0 || this.#inUse + want > this.capacity)) throw this.#busy();
    this.#inUse += want;
    return new BodyReservation(this, want);
  }

  /** Waits in line until `bytes` more fit, for at most `waitMs`; then GATEWAY_BUSY. */
  async take(bytes: number, waitMs: number): Promise<void> {
    const want = Math.min(bytes, this.capacity);
    if (this.#queue.length === 0 && this.#inUse + want <= this.capacity) {
      this.#inUse += want;
      return;
    }
    const timeout = new AbortController();
    let admitted = false;
    const entry = {
      bytes: want,
      admit: () => {
        admitted = true;
        timeout.abort();
      },
    };
    this.#queue.push(entry);
    await this.#clock.sleep(waitMs, timeout.signal);
    if (admitted) return;
    this.#queue.splice(this.#queue.indexOf(entry), 1);
    this.#admitWaiting();
    throw this.#busy();
  }

  /** Returns bytes taken by reserveNow or take. */
  give(bytes: number): void {
    this.#inUse = Math.max(0, this.#inUse - bytes);
    this.#admitWaiting();
  }

  #busy(): GatewayError {
    return new GatewayError('GATEWAY_BUSY', this.#busyMessage);
  }

  // First come, first served: a large push at the head is not overtaken by smaller ones behind it.
  #admitWaiting(): void {
    for (let head = this.#queue[0]; head !== undefined && this.#inUse + head.bytes <= this.capacity; head = this.#queue[0]) {
      this.#queue.shift();
      this.#inUse += head.bytes;
      head.admit();
    }
  }
}

/** What one push holds of the budget; release() gives it all back (again: a no-op). */
export class BodyReservation {
  readonly #budget: BodyBudget;
  #held: number;

  constructor(budget: BodyBudget, held: number) {
    this.#budget = budget;
    this.#held = held;
  }

  get held(): number {
    return this.#held;
  }

  /** Grows the reservation to `total` bytes, waiting for at most `waitMs`. */
  async growTo(total: number, waitMs: number): Promise<void> {
    const more = Math.min(total, this.#budget.capacity) - this.#held;
    if (more <= 0) return;
    await this.#budget.take(more, waitMs);
    this.#held += more;
  }

  release(): void {
    const held = this.#held;
    this.#held = 0;
    if (held > 0) this.#budget.give(held);
  }
}

/**
 * A request body as its reader takes it: chunks pass through as they come; before the first chunk
 * read after the sender's credentials were accepted, its share of the body budget grows to its full
 * size (`grow`, waiting in line if need be). Until then it holds only what a stranger may (its
 * before-credentials reservation). The stream is not destroyed when the reader stops early, so a
 * refusal can still be answered.
 */
export async function* budgetedBody(req: IncomingMessage, authenticated: () => boolean, grow: () => Promise<void>): AsyncGenerator<Buffer> {
  let grown = false;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (!grown && authenticated()) {
      await grow();
      grown = true;
    }
    yield chunk;
  }
}
