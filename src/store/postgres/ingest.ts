/**
 * One ingest batch on PostgreSQL, whatever its size: one statement when every claim wins (the
 * common case), else BEGIN, two statements and COMMIT. Other instances may write the same nonces
 * and dedupe keys at the same time, so each is claimed with an upsert whose RETURNING says who won;
 * both upserts are one statement (CLAIMS). The rows, built by ../rows/ingest.ts once the claims are
 * known, are the second (ROWS): pushes, events, deliveries, audit records and the wake-up of the
 * other instances. Each table's rows travel as one JSON parameter, so every statement keeps one
 * text (prepared once per connection: statements.ts).
 * (SQLite, with one writer, looks them up and inserts instead: ../sqlite/batch.ts.)
 */
import type { Knex } from 'knex';
import type { Row } from '../rows/audit.ts';
import { batchRows, dedupeClaims, nonceClaims, pushRows, type BatchRows, type DedupeClaim, type IngestOutcome, type StoredPart } from '../rows/ingest.ts';
import { dueConnectors } from './notify.ts';
import { AUDIT_COLUMNS, insertFromJson, rowsParam, runPrepared } from './statements.ts';

/** Where an ingest batch announces the deliveries it made due (notify.ts). */
export interface Announce {
  channel: string;
  origin: string;
}

/**
 * The nonces and the dedupe keys in one statement. A nonce is taken when it is new or its stored
 * one has expired (before the batch's time, the second parameter). A dedupe key is taken when it is
 * new or its stored claim was seen before the claiming event's window (`since`), and only by an
 * event whose item carries no nonce or a nonce this statement took: an item refused for its nonce
 * claims nothing. Returns the nonces taken (kind n) and the events whose claim won (kind d).
 */
const CLAIM_CTES = `
  nonce_in as (
    select * from json_to_recordset(?::json) as x(nonce_key text, expires_at bigint)
  ), nonce_won as (
    insert into ws_nonces (nonce_key, expires_at) select nonce_key, expires_at from nonce_in
    on conflict (nonce_key) do update set expires_at = excluded.expires_at
    where ws_nonces.expires_at < ?::bigint
    returning nonce_key
  ), dedupe_in as (
    select * from json_to_recordset(?::json) as x(scope text, hash text, event_id text, seen_at bigint, since bigint, nonce_key text)
  ), dedupe_won as (
    insert into dedupe_keys (scope, hash, event_id, seen_at)
    select scope, hash, event_id, seen_at from dedupe_in
    where nonce_key is null or nonce_key in (select nonce_key from nonce_won)
    on conflict (scope, hash) do update set event_id = excluded.event_id, seen_at = excluded.seen_at
    where dedupe_keys.seen_at < (select i.since from dedupe_in i where i.scope = excluded.scope and i.hash = excluded.hash)
    returning event_id
  )`;
const CLAIMS = `
  with ${CLAIM_CTES}
  select 'n' as kind, nonce_key as key from nonce_won
  union all
  select 'd', event_id from dedupe_won`;

/** The events that hold the dedupe keys a batch's claims lost: what its events are duplicates of. */
const HOLDERS = `
  select k.scope, k.hash, k.event_id from dedupe_keys k
  join json_to_recordset(?::json) as x(scope text, hash text) on k.scope = x.scope and k.hash = x.hash`;

/** Columns of each table's rows, as ../rows/ingest.ts builds them (checked by rowsParam). */
const PUSH_COLUMNS = [
  'id', 'received_at', 'path', 'connector_scope', 'soap_version', 'content_type', 'headers', 'raw', 'raw_size', 'event_count', 'auth_method', 'auth_user', 'remote_addr', 'request_id',
] as const;
const EVENT_COLUMNS = [
  'id', 'push_id', 'source', 'event_code', 'order_key', 'source_system', 'received_at', 'status', 'duplicate_of', 'content_hash', 'connector_scope', 'position', 'payload', 'raw',
] as const;
const DELIVERY_COLUMNS = [
  'id', 'event_id', 'connector', 'trigger_point', 'order_key', 'event_code', 'state', 'attempt_count', 'attempts_in_cycle', 'next_attempt_at', 'idempotency_key', 'created_at', 'updated_at',
] as const;

/**
 * The rows in one statement. Foreign keys between these inserts (events → pushes, deliveries →
 * events) are checked when the whole statement ends, so the order of the sibling inserts does not
 * matter. Each delivery's place in its order (seq) is the identity's next value, taken by its insert
 * in the order of the rows (`order by ordinality`): after every push acknowledged before this
 * transaction began (why that is enough: migration 009). The NOTIFY, one per connector given new
 * deliveries, is delivered when the transaction commits: the other instances wake then.
 */
const ROW_CTES = `
  pushes_in as (${insertFromJson('pushes', PUSH_COLUMNS)}),
  events_in as (${insertFromJson('events', EVENT_COLUMNS)}),
  deliveries_in as (${insertFromJson('deliveries', DELIVERY_COLUMNS, true)}),
  audit_in as (${insertFromJson('audit_records', AUDIT_COLUMNS)})`;
const ROWS = `
  with ${ROW_CTES}
  select count(pg_notify(?, note)) as notified from json_array_elements_text(?::json) as note`;

/**
 * The whole batch in one statement, atomic without a transaction around it, for the common case:
 * its rows built as if every claim won (every nonce new, no dedupe key held). When a claim is lost
 * the statement must undo everything it wrote, and a statement undoes itself only by failing: it
 * then divides by zero (the only division in it, so SQLSTATE 22012 means a lost claim and nothing
 * else), and the batch is written again by CLAIMS and ROWS in a transaction.
 */
const ALL_WON = `
  with ${CLAIM_CTES},
  ${ROW_CTES}
  select count(pg_notify(?, note)) / (case when (select count(*) from nonce_won) = ?::bigint and (select count(*) from dedupe_won) = ?::bigint then 1 else 0 end) as notified
  from json_array_elements_text(?::json) as note`;
const CLAIM_LOST = '22012';

/**
 * Stores one batch: in one statement when every claim wins (ALL_WON), else in a transaction of
 * BEGIN, CLAIMS, ROWS and COMMIT (the rows built once the claims are known).
 */
export async function writeBatch(knex: Knex, items: StoredPart[], announce: Announce): Promise<IngestOutcome[]> {
  const nonces = nonceClaims(items);
  // Every item not refused within the batch is a candidate; the database may still refuse its nonce.
  const candidates = items.filter((_, i) => !nonces.replayed.has(i));
  const first = dedupeClaims(candidates);
  const rows = batchRows(items, nonces.replayed, first.duplicateOf);
  try {
    await runPrepared(knex, ALL_WON, [
      JSON.stringify(nonces.rows),
      nonces.now,
      JSON.stringify(dedupeParam(first.claims, candidates)),
      ...rowParams(candidates, rows),
      announce.channel,
      nonces.rows.length,
      first.claims.length,
      notesParam(items, rows.outcomes, announce),
    ]);
    return rows.outcomes;
  } catch (err) {
    if ((err as { code?: unknown }).code !== CLAIM_LOST) throw err;
  }
  return knex.transaction((trx) => writeClaimed(trx, items, announce));
}

/** A batch in the caller's transaction, its claims first: what ALL_WON does when some claim is lost. */
async function writeClaimed(trx: Knex.Transaction, items: StoredPart[], announce: Announce): Promise<IngestOutcome[]> {
  const nonces = nonceClaims(items);
  const candidates = items.filter((_, i) => !nonces.replayed.has(i));
  const first = dedupeClaims(candidates);
  const won = await claim(trx, nonces.rows, nonces.now, dedupeParam(first.claims, candidates));

  const replayed = new Set(nonces.replayed);
  for (const { index, key } of nonces.items) if (!won.nonces.has(key)) replayed.add(index);
  let { claims, duplicateOf } = first;
  if (replayed.size > nonces.replayed.size) {
    // An item refused by the database for its nonce claimed nothing, and an event that the first
    // claims counted as its duplicate now claims its key itself (rare: a replayed push).
    const live = items.filter((_, i) => !replayed.has(i));
    ({ claims, duplicateOf } = dedupeClaims(live));
    const made = new Set(first.claims.map((c) => c.event_id));
    const more = await claim(trx, [], nonces.now, dedupeParam(claims.filter((c) => !made.has(c.event_id)), []));
    for (const id of more.events) won.events.add(id);
  }
  await findDuplicates(
    trx,
    claims.filter((c) => !won.events.has(c.event_id)),
    duplicateOf,
  );

  const live = items.filter((_, i) => !replayed.has(i));
  const rows = batchRows(items, replayed, duplicateOf);
  await runPrepared(trx, ROWS, [...rowParams(live, rows), announce.channel, notesParam(items, rows.outcomes, announce)]);
  return rows.outcomes;
}

/** The rows' four JSON parameters: pushes, events, deliveries, audit records. */
function rowParams(live: StoredPart[], rows: BatchRows): string[] {
  return [
    rowsParam('pushes', PUSH_COLUMNS, pushRows(live)),
    rowsParam('events', EVENT_COLUMNS, rows.events),
    rowsParam('deliveries', DELIVERY_COLUMNS, rows.deliveries),
    rowsParam('audit_records', AUDIT_COLUMNS, rows.audit),
  ];
}

/** The NOTIFY payloads: one per connector given new deliveries, naming this process (notify.ts). */
function notesParam(items: StoredPart[], outcomes: IngestOutcome[], announce: Announce): string {
  return JSON.stringify(dueConnectors(items, outcomes).map((connector) => `${connector} ${announce.origin}`));
}

/** Dedupe claims with the nonce of their event's item (null for items without one), for CLAIM_CTES. */
function dedupeParam(claims: DedupeClaim[], items: StoredPart[]): Array<DedupeClaim & { nonce_key: string | null }> {
  const nonceOf = new Map<string, string>();
  for (const item of items) if (item.nonce) for (const ev of item.events) nonceOf.set(ev.id, item.nonce.key);
  return claims.map((c) => ({ ...c, nonce_key: nonceOf.get(c.event_id) ?? null }));
}

/** Runs CLAIMS; returns the nonces taken and the events whose dedupe claim won. */
async function claim(trx: Knex.Transaction, nonceRows: Row[], now: number, dedupe: DedupeClaim[]): Promise<{ nonces: Set<string>; events: Set<string> }> {
  const won = { nonces: new Set<string>(), events: new Set<string>() };
  if (nonceRows.length === 0 && dedupe.length === 0) return won;
  const rows = await runPrepared<{ kind: 'n' | 'd'; key: string }>(trx, CLAIMS, [JSON.stringify(nonceRows), now, JSON.stringify(dedupe)]);
  for (const r of rows) (r.kind === 'n' ? won.nonces : won.events).add(r.key);
  return won;
}

/** For each lost claim, the event holding its key: the claiming event is a duplicate of it. */
async function findDuplicates(trx: Knex.Transaction, lost: DedupeClaim[], duplicateOf: Map<string, string>): Promise<void> {
  if (lost.length === 0) return;
  const holders = await runPrepared<{ scope: string; hash: string; event_id: string }>(trx, HOLDERS, [JSON.stringify(lost.map((c) => ({ scope: c.scope, hash: c.hash })))]);
  const holderOf = new Map(holders.map((h) => [`${h.scope}\u0000${h.hash}`, h.event_id]));
  // A key gone since (retention) leaves the event a duplicate of itself, as a duplicate still.
  for (const c of lost) duplicateOf.set(c.event_id, holderOf.get(`${c.scope}\u0000${c.hash}`) ?? c.event_id);
}
