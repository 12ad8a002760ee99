/**
 * One ingest batch on PostgreSQL, in the caller's transaction. Other instances may write the same
 * nonces and dedupe keys at the same time, so each is claimed with one upsert whose RETURNING says
 * who won. (SQLite, with one writer, looks them up and inserts instead: ../sqlite/batch.ts.)
 */
import type { Knex } from 'knex';
import { batchRows, CHUNK, dedupeClaims, nonceClaims, pushRows, type DedupeClaim, type IngestOutcome, type StoredPart } from '../rows/ingest.ts';

export async function writeBatch(trx: Knex.Transaction, items: StoredPart[]): Promise<IngestOutcome[]> {
  // 1. Nonces: an item whose nonce was already used is refused as a whole.
  const nonces = nonceClaims(items);
  const replayed = new Set(nonces.replayed);
  if (nonces.items.length > 0) {
    const fresh = new Set<string>();
    for (let c = 0; c < nonces.rows.length; c += CHUNK) {
      const inserted: Array<{ nonce_key: string }> = await trx('ws_nonces')
        .insert(nonces.rows.slice(c, c + CHUNK))
        .onConflict('nonce_key')
        .merge(['expires_at'])
        .where('ws_nonces.expires_at', '<', nonces.now)
        .returning('nonce_key');
      for (const r of inserted) fresh.add(r.nonce_key);
    }
    for (const { index, key } of nonces.items) if (!fresh.has(key)) replayed.add(index);
  }

  // 2. The pushes do not depend on the dedupe: their insert runs alongside it (one round trip
  // less on the batch's critical path; the connection executes one statement at a time).
  const live = items.filter((_, i) => !replayed.has(i));
  const [, duplicateOf] = await settleAll(insertChunked(trx, 'pushes', pushRows(live)), claimDedupe(trx, live));

  // 3. Rows. Events reference pushes, deliveries reference events; the audit records reference
  // nothing, so they go in alongside the deliveries. Each delivery's place in its order (seq) is
  // the identity's next value, taken by its insert in the order of the rows, chunk after chunk:
  // after every push acknowledged before this transaction began (why that is enough: migration 009).
  const rows = batchRows(items, replayed, duplicateOf);
  await insertChunked(trx, 'events', rows.events);
  await settleAll(insertChunked(trx, 'deliveries', rows.deliveries), insertChunked(trx, 'audit_records', rows.audit));
  return rows.outcomes;
}

async function insertChunked(trx: Knex.Transaction, table: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await trx(table).insert(rows.slice(i, i + CHUNK));
}

/**
 * Dedupe: claims each (scope, hash); a claim that exists within the window makes a duplicate.
 * Returns event id → id of the event it duplicates.
 */
async function claimDedupe(trx: Knex.Transaction, live: StoredPart[]): Promise<Map<string, string>> {
  const { claims, duplicateOf } = dedupeClaims(live);
  // Rows are grouped by their window start so one statement has one cut-off.
  const bySince = new Map<number, DedupeClaim[]>();
  for (const claim of claims) bySince.set(claim.since, [...(bySince.get(claim.since) ?? []), claim]);
  for (const [since, rows] of bySince) {
    for (let c = 0; c < rows.length; c += CHUNK) {
      const chunk = rows.slice(c, c + CHUNK);
      const won: Array<{ scope: string; hash: string }> = await trx('dedupe_keys')
        .insert(chunk.map(({ since: _s, ...r }) => r))
        .onConflict(['scope', 'hash'])
        .merge(['event_id', 'seen_at'])
        .where('dedupe_keys.seen_at', '<', since)
        .returning(['scope', 'hash']);
      const wonKeys = new Set(won.map((r) => `${r.scope}\u0000${r.hash}`));
      const lost = chunk.filter((r) => !wonKeys.has(`${r.scope}\u0000${r.hash}`));
      for (const r of lost) {
        const existing = (await trx('dedupe_keys').select('event_id').where({ scope: r.scope, hash: r.hash }).first()) as { event_id: string } | undefined;
        duplicateOf.set(r.event_id, existing?.event_id ?? r.event_id);
      }
    }
  }
  return duplicateOf;
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
