/**
 * One ingest batch on PostgreSQL, in the caller's transaction: two statements whatever the batch.
 * Other instances may write the same nonces and dedupe keys at the same time, so each is claimed with
 * an upsert whose RETURNING says who won; both upserts are one statement (claims). The rows, built by
 * ../rows/ingest.ts once the claims are known, are the second (rows): pushes, events, deliveries,
 * audit records and the wake-up of the other instances. Each table's rows travel as one JSON
 * parameter, so both statements keep one text (prepared once per connection: statements.ts).
 * (SQLite, with one writer, looks them up and inserts instead: ../sqlite/batch.ts.)
 */
import type { Knex } from 'knex';
import type { Row } from '../rows/audit.ts';
import { batchRows, dedupeClaims, nonceClaims, pushRows, type DedupeClaim, type IngestOutcome, type StoredPart } from '../rows/ingest.ts';
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
const CLAIMS = `
  with nonce_in as (
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
  )
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
const ROWS = `
  with pushes_in as (${insertFromJson('pushes', PUSH_COLUMNS)}),
  events_in as (${insertFromJson('events', EVENT_COLUMNS)}),
  deliveries_in as (${insertFromJson('deliveries', DELIVERY_COLUMNS, true)}),
  audit_in as (${insertFromJson('audit_records', AUDIT_COLUMNS)})
  select count(pg_notify(?, note)) as notified from json_array_elements_text(?::json) as note`;

export async function writeBatch(trx: Knex.Transaction, items: StoredPart[], announce: Announce): Promise<IngestOutcome[]> {
  const nonces = nonceClaims(items);
  // Every item not refused within the batch is a candidate; the database may still refuse its nonce.
  const candidates = items.filter((_, i) => !nonces.replayed.has(i));
  const first = dedupeClaims(candidates);
  const won = await claim(trx, nonces.rows, nonces.now, first.claims, nonceOfEvents(candidates));

  const replayed = new Set(nonces.replayed);
  for (const { index, key } of nonces.items) if (!won.nonces.has(key)) replayed.add(index);
  let { claims, duplicateOf } = first;
  if (replayed.size > nonces.replayed.size) {
    // An item refused by the database for its nonce claimed nothing, and an event that the first
    // claims counted as its duplicate now claims its key itself (rare: a replayed push).
    const live = items.filter((_, i) => !replayed.has(i));
    ({ claims, duplicateOf } = dedupeClaims(live));
    const made = new Set(first.claims.map((c) => c.event_id));
    const more = await claim(trx, [], nonces.now, claims.filter((c) => !made.has(c.event_id)), new Map());
    for (const id of more.events) won.events.add(id);
  }
  await findDuplicates(
    trx,
    claims.filter((c) => !won.events.has(c.event_id)),
    duplicateOf,
  );

  const live = items.filter((_, i) => !replayed.has(i));
  const rows = batchRows(items, replayed, duplicateOf);
  const notes = dueConnectors(items, rows.outcomes).map((connector) => `${connector} ${announce.origin}`);
  await runPrepared(trx, ROWS, [
    rowsParam('pushes', PUSH_COLUMNS, pushRows(live)),
    rowsParam('events', EVENT_COLUMNS, rows.events),
    rowsParam('deliveries', DELIVERY_COLUMNS, rows.deliveries),
    rowsParam('audit_records', AUDIT_COLUMNS, rows.audit),
    announce.channel,
    JSON.stringify(notes),
  ]);
  return rows.outcomes;
}

/** The nonce key of each candidate event's item (events of items without a nonce are absent). */
function nonceOfEvents(items: StoredPart[]): Map<string, string> {
  const nonceOf = new Map<string, string>();
  for (const item of items) if (item.nonce) for (const ev of item.events) nonceOf.set(ev.id, item.nonce.key);
  return nonceOf;
}

/** Runs CLAIMS; returns the nonces taken and the events whose dedupe claim won. */
async function claim(
  trx: Knex.Transaction,
  nonceRows: Row[],
  now: number,
  claims: DedupeClaim[],
  nonceOf: ReadonlyMap<string, string>,
): Promise<{ nonces: Set<string>; events: Set<string> }> {
  const won = { nonces: new Set<string>(), events: new Set<string>() };
  if (nonceRows.length === 0 && claims.length === 0) return won;
  const dedupe = claims.map((c) => ({ ...c, nonce_key: nonceOf.get(c.event_id) ?? null }));
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
