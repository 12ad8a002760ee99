import type { Knex } from 'knex';
import type { Database } from './database.ts';
import { batchConnection } from './sqlite/connection.ts';
import type { EventSource, EventStatus } from '../domain/event.ts';
import type { AuditDirection } from '../domain/delivery.ts';

/** Everything one inbound request wants stored, prepared by the caller (ids, hashes, routing). */
export interface IngestItem {
  push: {
    id: string;
    receivedAt: number;
    path: string;
    connectorScope: string | null;
    soapVersion: string;
    contentType: string | null;
    headers: Record<string, string>;
    raw: string;
    rawSize: number;
    authMethod: string | null;
    authUser: string | null;
    remoteAddr: string | null;
    requestId: string | null;
  } | null;
  /** When the item arrived, for items without a push (webhooks, polls); the push's time otherwise. */
  receivedAt?: number;
  /** A WS-Security nonce to record; a nonce seen before (and not expired) rejects the whole item. */
  nonce: { key: string; expiresAt: number } | null;
  events: IngestEvent[];
  requestId: string | null;
}

/** A part of a large item, as IngestWriter stores it (see submit). */
export interface StoredPart extends IngestItem {
  /** The push these events belong to, when an earlier part stored the push row. */
  pushId?: string | null;
  /** Events of the whole push (the push row's event_count), when the item is stored in parts. */
  totalEvents?: number;
}

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

export interface IngestEvent {
  id: string;
  source: EventSource;
  eventCode: string;
  orderKey: string | null;
  sourceSystem: string | null;
  connectorScope: string | null;
  position: number;
  payload: string;
  raw: string | null;
  contentHash: string;
  /** Events with the same scope and hash within the dedupe window are duplicates. */
  dedupeScope: string;
  dedupeSince: number;
  deliveries: Array<{ id: string; connector: string; triggerPoint: string; orderKey: string | null; idempotencyKey: string | null }>;
}

export type IngestOutcome =
  | { accepted: true; events: Array<{ id: string; eventCode: string; status: EventStatus; duplicateOf: string | null; deliveries: number }> }
  | { accepted: false; reason: 'nonce_replayed' };

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

/** Most rows one insert statement carries. */
export const CHUNK = 200;

async function insertChunked(knex: Knex, run: Runner, table: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await run.exec(knex(table).insert(rows.slice(i, i + CHUNK)));
}

/** The WS-Security nonces of a batch: the rows to claim, and the items that repeat a nonce within it. */
export interface NonceClaims {
  rows: Array<{ nonce_key: string; expires_at: number }>;
  /** Index in the batch and nonce key of every item that carries a nonce. */
  items: Array<{ index: number; key: string }>;
  /** Items whose nonce an earlier item of the same batch carries. */
  replayed: Set<number>;
  /** The batch's time: a stored nonce that expires before it may be used again. */
  now: number;
}

export function nonceClaims(items: StoredPart[]): NonceClaims {
  const replayed = new Set<number>();
  const seen = new Set<string>();
  const rows: Array<{ nonce_key: string; expires_at: number }> = [];
  const withNonce: Array<{ index: number; key: string }> = [];
  let now = 0;
  for (const [index, item] of items.entries()) {
    if (item.nonce === null) continue;
    const { key, expiresAt } = item.nonce;
    withNonce.push({ index, key });
    now = Math.max(now, itemTime(item));
    if (seen.has(key)) replayed.add(index);
    else {
      seen.add(key);
      rows.push({ nonce_key: key, expires_at: expiresAt });
    }
  }
  return { rows, items: withNonce, replayed, now };
}

/** One (scope, hash) an event claims for the dedupe window. */
export interface DedupeClaim {
  scope: string;
  hash: string;
  event_id: string;
  seen_at: number;
  /** Start of the event's dedupe window: a claim seen before it has expired. */
  since: number;
}

/**
 * The dedupe keys the events of the live items claim. An event whose content an earlier event of the
 * same batch has is a duplicate of that one and claims nothing.
 */
export function dedupeClaims(live: StoredPart[]): { claims: DedupeClaim[]; duplicateOf: Map<string, string> } {
  const owners = new Map<string, string>(); // scope\0hash → event id that owns it in this batch
  const duplicateOf = new Map<string, string>(); // event id → original event id
  const claims: DedupeClaim[] = [];
  for (const item of live) {
    const seenAt = itemTime(item);
    for (const ev of item.events) {
      const key = `${ev.dedupeScope}\u0000${ev.contentHash}`;
      const owner = owners.get(key);
      if (owner) duplicateOf.set(ev.id, owner);
      else {
        owners.set(key, ev.id);
        claims.push({ scope: ev.dedupeScope, hash: ev.contentHash, event_id: ev.id, seen_at: seenAt, since: ev.dedupeSince });
      }
    }
  }
  return { claims, duplicateOf };
}

export function pushRows(live: StoredPart[]): Row[] {
  const rows: Row[] = [];
  for (const item of live) {
    if (!item.push) continue;
    const p = item.push;
    rows.push({
      id: p.id,
      received_at: p.receivedAt,
      path: p.path,
      connector_scope: p.connectorScope,
      soap_version: p.soapVersion,
      content_type: p.contentType,
      headers: JSON.stringify(p.headers),
      raw: p.raw,
      raw_size: p.rawSize,
      event_count: item.totalEvents ?? item.events.length,
      auth_method: p.authMethod,
      auth_user: p.authUser,
      remote_addr: p.remoteAddr,
      request_id: p.requestId,
    });
  }
  return rows;
}

/** A row as the store writes it: text, numbers (times, counts) and nulls. */
export type Row = Record<string, string | number | null>;

export interface BatchRows {
  events: Row[];
  deliveries: Row[];
  audit: Row[];
  outcomes: IngestOutcome[];
}

/** The event, delivery and audit rows of a batch, once its replayed nonces and duplicates are known. */
export function batchRows(items: StoredPart[], replayed: ReadonlySet<number>, duplicateOf: ReadonlyMap<string, string>): BatchRows {
  const eventRows: Row[] = [];
  const deliveryRows: Row[] = [];
  const auditRows: Row[] = [];
  const outcomes: IngestOutcome[] = [];
  for (const [i, item] of items.entries()) {
    if (replayed.has(i)) {
      outcomes.push({ accepted: false, reason: 'nonce_replayed' });
      continue;
    }
    const now = itemTime(item);
    const results: Array<{ id: string; eventCode: string; status: EventStatus; duplicateOf: string | null; deliveries: number }> = [];
    for (const ev of item.events) {
      const dupOf = duplicateOf.get(ev.id) ?? null;
      const status: EventStatus = dupOf ? 'duplicate' : ev.deliveries.length > 0 ? 'routed' : 'unrouted';
      eventRows.push({
        id: ev.id,
        push_id: item.push?.id ?? item.pushId ?? null,
        source: ev.source,
        event_code: ev.eventCode,
        order_key: ev.orderKey,
        source_system: ev.sourceSystem,
        received_at: now,
        status,
        duplicate_of: dupOf,
        content_hash: ev.contentHash,
        connector_scope: ev.connectorScope,
        position: ev.position,
        payload: ev.payload,
        raw: ev.raw,
      });
      if (status === 'routed') {
        for (const d of ev.deliveries) {
          deliveryRows.push({
            id: d.id,
            event_id: ev.id,
            connector: d.connector,
            trigger_point: d.triggerPoint,
            order_key: d.orderKey,
            event_code: ev.eventCode,
            state: 'pending',
            attempt_count: 0,
            attempts_in_cycle: 0,
            next_attempt_at: now,
            idempotency_key: d.idempotencyKey,
            created_at: now,
            updated_at: now,
          });
        }
      }
      auditRows.push(
        auditRow({
          id: ev.id, // the event's own id: one audit record per stored event
          at: now,
          direction: 'in',
          action: 'event.received',
          sourceSystem: ev.sourceSystem ?? ev.source,
          connector: ev.connectorScope,
          eventId: ev.id,
          result: status,
          detail: {
            eventCode: ev.eventCode,
            orderKey: ev.orderKey,
            pushId: item.push?.id ?? item.pushId ?? null,
            duplicateOf: dupOf,
            connectors: status === 'routed' ? ev.deliveries.map((d) => d.connector) : [],
          },
          requestId: item.requestId,
        }),
      );
      results.push({ id: ev.id, eventCode: ev.eventCode, status, duplicateOf: dupOf, deliveries: status === 'routed' ? ev.deliveries.length : 0 });
    }
    if (item.push && item.events.length === 0) {
      // A push without OrderHeaders stores no event; its audit record says it came.
      auditRows.push(
        auditRow({
          id: item.push.id,
          at: now,
          direction: 'in',
          action: 'push.received',
          sourceSystem: 'oracle-om',
          connector: item.push.connectorScope,
          result: 'empty',
          detail: { pushId: item.push.id, path: item.push.path, events: 0 },
          requestId: item.requestId,
        }),
      );
    }
    outcomes.push({ accepted: true, events: results });
  }
  return { events: eventRows, deliveries: deliveryRows, audit: auditRows, outcomes };
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

/** When the gateway received the item, by its own clock. */
export function itemTime(item: IngestItem): number {
  return item.push?.receivedAt ?? item.receivedAt ?? Date.now();
}

export interface AuditInput {
  id: string;
  at: number;
  direction: AuditDirection;
  action: string;
  sourceSystem?: string | null;
  connector?: string | null;
  eventId?: string | null;
  deliveryId?: string | null;
  result: string;
  detail?: unknown;
  requestId?: string | null;
  actor?: string | null;
}

export function auditRow(a: AuditInput): Row {
  return {
    id: a.id,
    at: a.at,
    direction: a.direction,
    action: a.action,
    source_system: a.sourceSystem ?? null,
    connector: a.connector ?? null,
    event_id: a.eventId ?? null,
    delivery_id: a.deliveryId ?? null,
    result: a.result,
    detail: a.detail === undefined ? null : JSON.stringify(a.detail),
    request_id: a.requestId ?? null,
    actor: a.actor ?? null,
  };
}
