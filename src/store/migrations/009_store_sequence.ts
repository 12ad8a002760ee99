import type { Knex } from 'knex';

/**
 * `deliveries.seq`: a delivery's place in the order of its connector and order key, given by the
 * database when the ingest transaction inserts the row, never by an instance's clock or id
 * generator. Strict ordering (a delivery waits behind unfinished ones with a smaller seq) and the
 * claim's order read it. Ids (ULIDs) stay the time-ordered names views and pages sort by; with one
 * instance's clock 20 ms behind another's, an event pushed to it after one pushed to the other took
 * a smaller id and overtook it. A delivery keeps its seq for good: replay, recovery, holds and
 * retries change its state, not its place.
 *
 * PostgreSQL, shared by instances: an identity column, `nextval` of its sequence taken by the
 * insert inside the ingest transaction (rows of one insert in the order of their VALUES, so a push's
 * events keep their order). Sequence order is not commit order: two transactions running at once can
 * take their numbers in one order and commit in the other. What strict ordering promises is that an
 * acknowledged push's events come after every event acknowledged before that push was sent, and that
 * holds: a push is acknowledged only after its transaction committed, so the next push of the order
 * is sent, and its transaction takes its numbers, after that commit, and a sequence hands out
 * increasing numbers in real time across sessions. A claim that sees the later push's rows sees the
 * earlier push's too, committed before the later transaction began. This needs CACHE 1 (the default,
 * written out here): a larger cache gives each session a block of numbers of its own, and an
 * instance whose block was taken earlier would number a later push below an earlier one. Pushes of
 * one order sent at the same time, neither waiting for the other's acknowledgement, have no order
 * between them to keep.
 *
 * SQLite has one writer: the ingest batch reads the largest seq in its BEGIN IMMEDIATE transaction
 * (the write lock already held, so nothing is inserted in between) and numbers its rows after it
 * (../sqlite/batch.ts), through the unique index, which also holds every number to one row. A row
 * inserted without a seq (a gateway older than this migration during an upgrade, a test fixture) is
 * numbered by a trigger, as PostgreSQL's identity numbers it there.
 *
 * Rows stored before this migration are numbered in id order, the order strict ordering used for
 * them until now. The two ordering indexes move from id to seq: earlier unfinished deliveries of a
 * (connector, order key), and the claim's own partial index (006) in its new order.
 */
export async function up(knex: Knex): Promise<void> {
  const postgres = isPostgres(knex);
  await knex.schema.alterTable('deliveries', (t) => {
    t.bigInteger('seq').nullable();
  });
  await knex.raw(`
    update deliveries set seq = numbered.n
    from (select id, row_number() over (order by id) as n from deliveries) numbered
    where numbered.id = deliveries.id`);
  if (postgres) {
    await knex.raw('alter table deliveries alter column seq set not null');
    await knex.raw('alter table deliveries alter column seq add generated always as identity (cache 1)');
    await knex.raw(`select setval(pg_get_serial_sequence('deliveries', 'seq'), (select coalesce(max(seq), 0) + 1 from deliveries), false)`);
  } else {
    await knex.raw('create unique index deliveries_seq_unique on deliveries (seq)');
    await knex.raw(`
      create trigger deliveries_seq_default after insert on deliveries when new.seq is null
      begin
        update deliveries set seq = (select coalesce(max(seq), 0) + 1 from deliveries) where rowid = new.rowid;
      end`);
  }
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['connector', 'order_key', 'id']);
    t.index(['connector', 'order_key', 'seq'], 'deliveries_order_index');
    t.dropIndex(['connector', 'next_attempt_at', 'id'], 'deliveries_claim_index');
    // Written exactly as in the claim query, which both databases require to use a partial index (see 006).
    t.index(['connector', 'next_attempt_at', 'seq'], 'deliveries_claim_seq_index', {
      predicate: knex.whereRaw(`state in ('pending', 'retrying')`),
    });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['connector', 'next_attempt_at', 'seq'], 'deliveries_claim_seq_index');
    t.index(['connector', 'next_attempt_at', 'id'], 'deliveries_claim_index', {
      predicate: knex.whereRaw(`state in ('pending', 'retrying')`),
    });
    t.dropIndex(['connector', 'order_key', 'seq'], 'deliveries_order_index');
    t.index(['connector', 'order_key', 'id']);
  });
  if (!isPostgres(knex)) {
    await knex.raw('drop trigger if exists deliveries_seq_default');
    await knex.raw('drop index if exists deliveries_seq_unique');
  }
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropColumn('seq');
  });
}

function isPostgres(knex: Knex): boolean {
  return (knex.client as { dialect?: string }).dialect === 'postgresql';
}
