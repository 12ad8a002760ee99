/**
 * One ingest batch on SQLite, run by the connection's own thread (thread.ts) in three trips to
 * SQLite: `BEGIN IMMEDIATE`; one query for the nonces and dedupe keys the batch already finds
 * stored; every insert and the `COMMIT` as one script (plus one trip per push with a large envelope,
 * see BOUND_RAW_CHARS).
 *
 * node-sqlite3 runs each call in libuv's thread pool and calls back on this thread. Each such trip
 * waits for two thread wake-ups, and on a machine whose cores are busy with HTTP requests a wake-up
 * takes as long as a small statement (a bare BEGIN measured 0.26 ms under load). Statement by
 * statement a batch made seven trips; here it makes three, whatever its size.
 *
 * The lookup-then-insert is safe because BEGIN IMMEDIATE takes SQLite's write lock first: nothing
 * else can store a nonce or a dedupe key between the query and the inserts. The same query reads the
 * largest delivery seq stored, and the batch's deliveries are numbered after it in the batch's order:
 * their place in their orders (migration 009), which no other writer can take in between either. (PostgreSQL, shared by
 * several instances, claims each with an upsert instead: writeBatch in ../ingest.ts.)
 */
import { batchRows, CHUNK, dedupeClaims, nonceClaims, numberDeliveries, pushRows, type IngestOutcome, type StoredPart } from '../rows/ingest.ts';
import type { Row } from '../rows/audit.ts';
import { identifier, insertScript, literal, type SqlValue } from './sql.ts';

/** The node-sqlite3 calls a batch needs, on the connection that runs it. */
export interface BatchConnection {
  /** Runs a script of statements (no results). */
  exec(sql: string): Promise<void>;
  /** Runs one query and returns its rows. */
  all<T>(sql: string): Promise<T[]>;
  /** Runs one statement with bound parameters (no results). */
  run(sql: string, params: SqlValue[]): Promise<void>;
}

/**
 * A push whose envelope is longer than this is inserted on its own with the envelope bound as a
 * parameter, not written into the script: a 2 MB envelope as a literal is copied with its quotes
 * doubled, then tokenised by SQLite, while the single writer holds every small push behind it.
 */
const BOUND_RAW_CHARS = 64 * 1024;

interface StoredKey {
  /** `seq`: the largest delivery seq stored, in `at`. */
  kind: 'nonce' | 'dedupe' | 'seq';
  scope: string | null;
  key: string;
  at: number;
  event_id: string | null;
}

/** Stores one batch in its own transaction; on any failure the transaction is rolled back and the error thrown. */
export async function writeSqliteBatch(conn: BatchConnection, items: StoredPart[]): Promise<IngestOutcome[]> {
  await conn.exec('BEGIN IMMEDIATE');
  try {
    return await writeInTransaction(conn, items);
  } catch (err) {
    // A failed script stops at the failing statement with the transaction still open; a failed
    // COMMIT may have rolled it back already, and then this ROLLBACK fails harmlessly.
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function writeInTransaction(conn: BatchConnection, items: StoredPart[]): Promise<IngestOutcome[]> {
  const nonces = nonceClaims(items);
  const stored = await storedKeys(conn, nonces.rows.map((r) => r.nonce_key), items);
  const storedNonces = new Map<string, number>();
  const storedDedupe = new Map<string, StoredKey>();
  let lastSeq = 0;
  for (const row of stored) {
    if (row.kind === 'seq') lastSeq = Number(row.at);
    else if (row.kind === 'nonce') storedNonces.set(row.key, row.at);
    else storedDedupe.set(`${row.scope ?? ''}\u0000${row.key}`, row);
  }

  // A nonce stored before and not yet expired refuses its item (as the upsert on PostgreSQL does).
  const replayed = new Set(nonces.replayed);
  for (const { index, key } of nonces.items) {
    const expiresAt = storedNonces.get(key);
    if (expiresAt !== undefined && expiresAt >= nonces.now) replayed.add(index);
  }
  const freshNonces = nonces.rows.filter((r) => {
    const expiresAt = storedNonces.get(r.nonce_key);
    return expiresAt === undefined || expiresAt < nonces.now;
  });

  // A dedupe key stored within the event's window makes it a duplicate of the event that holds it;
  // otherwise the event takes the key (a new row, or the expired one overwritten).
  const live = items.filter((_, i) => !replayed.has(i));
  const { claims, duplicateOf } = dedupeClaims(live);
  const won: Array<Record<string, SqlValue>> = [];
  for (const claim of claims) {
    const existing = storedDedupe.get(`${claim.scope}\u0000${claim.hash}`);
    if (existing !== undefined && existing.at >= claim.since) duplicateOf.set(claim.event_id, existing.event_id ?? claim.event_id);
    else won.push({ scope: claim.scope, hash: claim.hash, event_id: claim.event_id, seen_at: claim.seen_at });
  }

  const rows = batchRows(items, replayed, duplicateOf);
  const inline: Row[] = [];
  const large: Row[] = [];
  for (const p of pushRows(live)) (typeof p.raw === 'string' && p.raw.length > BOUND_RAW_CHARS ? large : inline).push(p);
  for (const push of large) {
    const columns = Object.keys(push);
    await conn.run(`INSERT INTO "pushes" (${columns.map(identifier).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, Object.values(push));
  }
  // Events reference pushes and deliveries reference events (foreign keys are on): this order.
  const script =
    insertScript('ws_nonces', freshNonces, CHUNK, 'ON CONFLICT ("nonce_key") DO UPDATE SET "expires_at" = excluded."expires_at"') +
    insertScript('pushes', inline, CHUNK) +
    insertScript('dedupe_keys', won, CHUNK, 'ON CONFLICT ("scope", "hash") DO UPDATE SET "event_id" = excluded."event_id", "seen_at" = excluded."seen_at"') +
    insertScript('events', rows.events, CHUNK) +
    insertScript('deliveries', numberDeliveries(rows.deliveries, lastSeq), CHUNK) +
    insertScript('audit_records', rows.audit, CHUNK) +
    'COMMIT;';
  await conn.exec(script);
  return rows.outcomes;
}

/**
 * The nonces and dedupe keys of this batch that are stored already, and the largest delivery seq
 * when the batch has deliveries to number (read through its unique index), in one query.
 */
async function storedKeys(conn: BatchConnection, nonceKeys: string[], items: StoredPart[]): Promise<StoredKey[]> {
  const hashesByScope = new Map<string, Set<string>>();
  let deliveries = false;
  for (const item of items) {
    for (const ev of item.events) {
      if (ev.deliveries.length > 0) deliveries = true;
      let hashes = hashesByScope.get(ev.dedupeScope);
      if (!hashes) hashesByScope.set(ev.dedupeScope, (hashes = new Set()));
      hashes.add(ev.contentHash);
    }
  }
  const parts: string[] = [];
  if (deliveries) parts.push(`SELECT 'seq' AS kind, NULL AS scope, '' AS key, coalesce(max("seq"), 0) AS at, NULL AS event_id FROM "deliveries"`);
  if (nonceKeys.length > 0) {
    parts.push(`SELECT 'nonce' AS kind, NULL AS scope, "nonce_key" AS key, "expires_at" AS at, NULL AS event_id FROM "ws_nonces" WHERE "nonce_key" IN (${nonceKeys.map(literal).join(', ')})`);
  }
  for (const [scope, hashes] of hashesByScope) {
    parts.push(
      `SELECT 'dedupe' AS kind, "scope" AS scope, "hash" AS key, "seen_at" AS at, "event_id" AS event_id FROM "dedupe_keys" WHERE "scope" = ${literal(scope)} AND "hash" IN (${[...hashes].map(literal).join(', ')})`,
    );
  }
  // SQLite allows at most 500 terms in one compound SELECT.
  const rows: StoredKey[] = [];
  for (let i = 0; i < parts.length; i += 400) rows.push(...(await conn.all<StoredKey>(parts.slice(i, i + 400).join(' UNION ALL '))));
  return rows;
}
