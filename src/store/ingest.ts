import type { Backend } from './backend.ts';
import { itemTime, type IngestEvent, type IngestItem, type IngestOutcome, type StoredPart } from './rows/ingest.ts';

/**
 * Items with more events than this (a push of hundreds of OrderHeaders) are stored in several
 * consecutive transactions of at most this many events, with the requests that arrived meanwhile
 * written in between: one large push must not hold the single SQLite writer (and every small push
 * queued behind it) for the time it takes to write all of it. The caller's promise settles after the
 * last part. A crash between parts leaves a prefix of the push stored and the push unacknowledged;
 * the sender's retry then stores the rest, the stored events being recognised as duplicates.
 * Measured beside one 2 MB push (650 OrderHeaders) a second: parts of 32 instead of 64 took the
 * small pushes' p99 from 51-55 to 45-48 ms in three of four alternating runs (63 in the fourth),
 * for about a quarter more latency of the large push itself (bench/README.md, change 19).
 */
const MAX_EVENTS_PER_TRANSACTION = 32;

interface Pending {
  item: StoredPart;
  resolve: (outcome: IngestOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores inbound requests with group commit: concurrent requests are gathered into one transaction,
 * and each caller's promise settles only after that transaction has committed. One SQLite connection
 * runs one transaction at a time, so batching is what makes concurrent pushes fast; on PostgreSQL it
 * saves round trips. If a batch fails on the data of an item (a constraint), its items are retried one
 * by one so that one bad item cannot make the others fail; if the store itself fails, every item of
 * the batch fails at once.
 */
export class IngestWriter {
  readonly #backend: Backend;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;

  constructor(backend: Backend, options: { maxBatch?: number } = {}) {
    this.#backend = backend;
    this.#maxBatch = options.maxBatch ?? 256;
  }

  submit(item: IngestItem): Promise<IngestOutcome> {
    if (item.events.length > MAX_EVENTS_PER_TRANSACTION) return this.#submitInParts(item);
    return this.#enqueue(item);
  }

  #enqueue(item: StoredPart): Promise<IngestOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  /** A large item: the push row, the nonce and the first events first, then the rest in order. */
  async #submitInParts(item: IngestItem): Promise<IngestOutcome> {
    const parts: IngestEvent[][] = [];
    for (let i = 0; i < item.events.length; i += MAX_EVENTS_PER_TRANSACTION) parts.push(item.events.slice(i, i + MAX_EVENTS_PER_TRANSACTION));
    const [head = [], ...rest] = parts;
    const first = await this.#enqueue({ ...item, events: head, totalEvents: item.events.length });
    if (!first.accepted) return first;
    const events = [...first.events];
    for (const part of rest) {
      // Each part goes to the back of the queue: requests that arrived meanwhile are written first.
      const outcome = await this.#enqueue({
        push: null,
        pushId: item.push?.id ?? null,
        receivedAt: itemTime(item),
        nonce: null,
        events: part,
        requestId: item.requestId,
      });
      if (!outcome.accepted) throw new Error('a later part of a push was refused (it carries no nonce)');
      events.push(...outcome.events);
    }
    return { accepted: true, events };
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const outcomes = await this.#backend.ingest(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(outcomes[i] as IngestOutcome));
        } catch (err) {
          // The store itself failing (locked, disk full, connection lost) fails every item alike:
          // retrying them one by one would only make each caller wait for the same failure again.
          if (batch.length === 1 || !isItemError(err)) {
            for (const p of batch) p.reject(err);
            continue;
          }
          for (const p of batch) {
            try {
              const [outcome] = await this.#backend.ingest([p.item]);
              p.resolve(outcome as IngestOutcome);
            } catch (single) {
              p.reject(single);
            }
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

/**
 * Errors caused by the data of one item (a constraint, a value the database refuses), as opposed to
 * the store being unavailable: only these are worth retrying item by item.
 */
function isItemError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // SQLite: constraint, datatype mismatch, too big. PostgreSQL: classes 22 (data exception) and 23 (integrity constraint).
  return ['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE'].includes(code) || /^2[23][0-9A-Z]{3}$/.test(code);
}
