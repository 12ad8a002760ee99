import type { Knex } from 'knex';
import type { Database } from './database.ts';
import { batchConnection } from './sqlite/connection.ts';
import { batchRows, CHUNK, dedupeClaims, itemTime, nonceClaims, pushRows, type DedupeClaim, type IngestEvent, type IngestItem, type IngestOutcome, type StoredPart } from './ingest-rows.ts';

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
export const MAX_EVENTS_PER_TRANSACTION = 32;

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
  readonly #db: Database;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;

  constructor(db: Database, options: { maxBatch?: number } = {}) {
    this.#db = db;
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

  /**
   * Writes one batch in one transaction. On PostgreSQL through knex. On SQLite the whole batch goes
   * to the thread that owns the connection (sqlite/batch.ts), which runs BEGIN, the statements and
   * COMMIT without waiting for turns of this thread's event loop, between any other queries.
   */
  async #write(items: StoredPart[]): Promise<IngestOutcome[]> {
    const knex = this.#db.knex;
    if (this.#db.dialect !== 'sqlite') return knex.transaction((trx) => writeBatch(knex, knexRunner(trx), items));
    return (await batchConnection(knex)).ingest(items);
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const outcomes = await this.#write(batch.map((p) => p.item));
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
              const [outcome] = await this.#write([p.item]);
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

async function insertChunked(knex: Knex, run: Runner, table: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await run.exec(knex(table).insert(rows.slice(i, i + CHUNK)));
}

/**
 * Stores a batch of items with the statements `run` executes, inside the caller's transaction (the
 * PostgreSQL path; SQLite has its own in sqlite/batch.ts). Other instances may write the same nonces
 * and dedupe keys at the same time, so each is claimed with one upsert whose RETURNING says who won.
 */
export async function writeBatch(knex: Knex, run: Runner, items: StoredPart[]): Promise<IngestOutcome[]> {
  // 1. Nonces: an item whose nonce was already used is refused as a whole.
  const nonces = nonceClaims(items);
  const replayed = new Set(nonces.replayed);
  if (nonces.items.length > 0) {
    const fresh = new Set<string>();
    for (let c = 0; c < nonces.rows.length; c += CHUNK) {
      const inserted = await run.rows<{ nonce_key: string }>(
        knex('ws_nonces').insert(nonces.rows.slice(c, c + CHUNK)).onConflict('nonce_key').merge(['expires_at']).where('ws_nonces.expires_at', '<', nonces.now).returning('nonce_key'),
      );
      for (const r of inserted) fresh.add(r.nonce_key);
    }
    for (const { index, key } of nonces.items) if (!fresh.has(key)) replayed.add(index);
  }

  // 2. The pushes do not depend on the dedupe: their insert runs alongside it (one round trip
  // less on the batch's critical path; the connection executes one statement at a time).
  const live = items.filter((_, i) => !replayed.has(i));
  const [, duplicateOf] = await settleAll(insertChunked(knex, run, 'pushes', pushRows(live)), claimDedupe(knex, run, live));

  // 3. Rows. Events reference pushes, deliveries reference events; the audit records reference
  // nothing, so they go in alongside the deliveries.
  const rows = batchRows(items, replayed, duplicateOf);
  await insertChunked(knex, run, 'events', rows.events);
  await settleAll(insertChunked(knex, run, 'deliveries', rows.deliveries), insertChunked(knex, run, 'audit_records', rows.audit));
  return rows.outcomes;
}

/**
 * Dedupe: claims each (scope, hash); a claim that exists within the window makes a duplicate.
 * Returns event id → id of the event it duplicates.
 */
async function claimDedupe(knex: Knex, run: Runner, live: StoredPart[]): Promise<Map<string, string>> {
  const { claims, duplicateOf } = dedupeClaims(live);
  // Rows are grouped by their window start so one statement has one cut-off.
  const bySince = new Map<number, DedupeClaim[]>();
  for (const claim of claims) bySince.set(claim.since, [...(bySince.get(claim.since) ?? []), claim]);
  for (const [since, rows] of bySince) {
    for (let c = 0; c < rows.length; c += CHUNK) {
      const chunk = rows.slice(c, c + CHUNK);
      const won = await run.rows<{ scope: string; hash: string }>(
        knex('dedupe_keys')
          .insert(chunk.map(({ since: _s, ...r }) => r))
          .onConflict(['scope', 'hash'])
          .merge(['event_id', 'seen_at'])
          .where('dedupe_keys.seen_at', '<', since)
          .returning(['scope', 'hash']),
      );
      const wonKeys = new Set(won.map((r) => `${r.scope}\u0000${r.hash}`));
      const lost = chunk.filter((r) => !wonKeys.has(`${r.scope}\u0000${r.hash}`));
      for (const r of lost) {
        const [existing] = await run.rows<{ event_id: string }>(knex('dedupe_keys').select('event_id').where({ scope: r.scope, hash: r.hash }).limit(1));
        duplicateOf.set(r.event_id, existing?.event_id ?? r.event_id);
      }
    }
  }
  return duplicateOf;
}

/** Runs the statements writeBatch builds, in the batch's transaction. */
export interface Runner {
  /** A statement that returns rows (select, returning). */
  rows<T>(query: Knex.QueryBuilder): Promise<T[]>;
  exec(query: Knex.QueryBuilder): Promise<void>;
}

function knexRunner(trx: Knex.Transaction): Runner {
  return {
    rows: async <T>(query: Knex.QueryBuilder) => (await query.transacting(trx)) as T[],
    exec: async (query) => {
      await query.transacting(trx);
    },
  };
}

/**
 * Waits for every statement started together before going on or failing: a statement still running
 * when the transaction rolls back could otherwise end up outside it.
 */
async function settleAll<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
