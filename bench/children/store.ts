/**
 * Store-level benchmarks in their own process: the claim query with a large backlog, and replaying
 * parked deliveries. Setup inserts rows directly through a knex connection of the bench's own to the
 * store's database, in big transactions (the ingest path would take far longer to build a million
 * rows and is measured elsewhere); what is timed goes through the store.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import knexFactory, { type Knex } from 'knex';
import { DeliveryActions } from '../../src/services/delivery-actions.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { createIdGenerator } from '../../src/domain/ids.ts';
import { Store } from '../../src/store/index.ts';
import { serveParent } from '../lib/child.ts';

export const CONNECTOR = 'sink';

export interface FillArgs {
  databaseUrl: string;
  schema?: string;
  /** How many deliveries (each with its own event) to add. */
  count: number;
  state: 'pending' | 'parked';
}

export interface FillResult {
  inserted: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface ClaimArgs {
  databaseUrl: string;
  schema?: string;
  limit: number;
  /** Measured claims per ordering mode (after warm-up), and a time cap per mode. */
  iterations: number;
  maxSeconds: number;
}

export interface LatencyStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  claimed: number;
}

export interface ClaimResult {
  pending: number;
  strict: LatencyStats;
  none: LatencyStats;
}

export interface ReplayArgs {
  databaseUrl: string;
  schema?: string;
}

export interface ReplayResult {
  parkedBefore: number;
  changed: number;
  seconds: number;
  perSecond: number;
}

function open(databaseUrl: string, schema?: string): Store {
  return new Store({ url: databaseUrl, baseDir: process.cwd(), ...(schema ? { schema } : {}) });
}

/** The store's SQLite settings that matter for bulk writes: the same durability, foreign keys and lock wait. */
const SQLITE_PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;';

/** A knex connection of the bench's own to the database `open` opens (relative SQLite paths against the working directory). */
function openTables(databaseUrl: string, schema?: string): Knex {
  if (databaseUrl.startsWith('sqlite:')) {
    return knexFactory({
      client: 'sqlite3',
      connection: { filename: resolve(process.cwd(), databaseUrl.slice('sqlite:'.length)) },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) => {
          conn.exec(SQLITE_PRAGMAS, (err) => done(err, conn));
        },
      },
    });
  }
  return knexFactory({ client: 'pg', connection: databaseUrl, searchPath: schema ? [schema] : undefined, pool: { min: 0, max: 2 } });
}

/** Deliveries in any of these states (store.browse.deliveryCounts). */
async function deliveriesIn(store: Store, states: string[]): Promise<number> {
  return (await store.browse.deliveryCounts()).filter((c) => states.includes(c.state)).reduce((n, c) => n + c.count, 0);
}

/** Adds `count` deliveries in `state`, oldest first, due in the past (ids increase with time). */
async function fill(args: FillArgs): Promise<FillResult> {
  const started = performance.now();
  const store = open(args.databaseUrl, args.schema);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  const knex = openTables(args.databaseUrl, args.schema);
  try {
    const end = Date.now() - 1_000;
    const start = end - args.count; // one row per millisecond of history
    let t = start;
    const newId = createIdGenerator(() => t);
    const TX = 20_000;
    const CHUNK = 500;
    for (let done = 0; done < args.count; done += TX) {
      const n = Math.min(TX, args.count - done);
      const events: object[] = [];
      const deliveries: object[] = [];
      for (let i = 0; i < n; i++) {
        t = start + done + i;
        const orderNumber = `BL-${String(done + i).padStart(9, '0')}`;
        const eventId = newId();
        events.push({
          id: eventId,
          push_id: null,
          source: 'oracle-om',
          event_code: 'OrderAttributeUpdate',
          order_key: `LEG:${orderNumber}`,
          source_system: 'LEG',
          received_at: t,
          status: 'routed',
          duplicate_of: null,
          content_hash: eventId.padEnd(64, '0'),
          connector_scope: null,
          position: 0,
          payload: JSON.stringify({ EventCode: 'OrderAttributeUpdate', SourceOrderSystem: 'LEG', SourceOrderNumber: orderNumber }),
          raw: null,
        });
        const parked = args.state === 'parked';
        deliveries.push({
          id: newId(),
          event_id: eventId,
          connector: CONNECTOR,
          trigger_point: 'all',
          order_key: `LEG:${orderNumber}`,
          event_code: 'OrderAttributeUpdate',
          state: args.state,
          attempt_count: parked ? 9 : 0,
          attempts_in_cycle: parked ? 9 : 0,
          next_attempt_at: t,
          idempotency_key: null,
          last_error: parked ? 'HTTP 503' : null,
          parked_reason: parked ? 'max_attempts' : null,
          created_at: t,
          updated_at: t,
        });
      }
      await knex.transaction(async (trx) => {
        for (let i = 0; i < events.length; i += CHUNK) await trx('events').insert(events.slice(i, i + CHUNK));
        for (let i = 0; i < deliveries.length; i += CHUNK) await trx('deliveries').insert(deliveries.slice(i, i + CHUNK));
      });
    }
    const seconds = (performance.now() - started) / 1000;
    return { inserted: args.count, seconds, rowsPerSecond: (2 * args.count) / seconds };
  } finally {
    await knex.destroy();
  }
}

function stats(samples: number[], claimed: number): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
  return {
    n: s.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: s[s.length - 1] ?? 0,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
    claimed,
  };
}

/**
 * Times store.deliveries.claimWithEvents (strict ordering and none); each claimed batch is given back
 * afterwards (store.deliveries.release: pending, lease cleared, due when it was).
 */
async function claim(args: ClaimArgs): Promise<ClaimResult> {
  const store = open(args.databaseUrl, args.schema);
  try {
    const n = await deliveriesIn(store, ['pending', 'retrying']);
    const run = async (strictOrdering: boolean): Promise<LatencyStats> => {
      const samples: number[] = [];
      let claimed = 0;
      const began = performance.now();
      for (let i = 0; i < args.iterations + 3; i++) {
        const now = Date.now();
        const t0 = performance.now();
        const { deliveries: rows } = await store.deliveries.claimWithEvents({ connector: CONNECTOR, strictOrdering, limit: args.limit, owner: 'bench', now, leaseUntil: now + 60_000 });
        const ms = performance.now() - t0;
        if (i >= 3) {
          samples.push(ms);
          claimed += rows.length;
        }
        await Promise.all(rows.map((r) => store.deliveries.release(r.id, 'bench', r.nextAttemptAt, now)));
        if (i >= 3 && performance.now() - began > args.maxSeconds * 1000) break;
      }
      return stats(samples, claimed);
    };
    const strict = await run(true);
    const none = await run(false);
    return { pending: n, strict, none };
  } finally {
    await store.close();
  }
}

/** Replays every parked delivery through DeliveryActions.replay (what `omgw replay` and the admin API do). */
async function replay(args: ReplayArgs): Promise<ReplayResult> {
  const store = open(args.databaseUrl, args.schema);
  try {
    const parkedBefore = await deliveriesIn(store, ['parked']);
    const ops = new DeliveryActions({ store, clock: systemClock, newId: createIdGenerator(), notify: () => undefined });
    const t0 = performance.now();
    const result = await ops.replay({ states: ['parked'] }, { actor: 'bench' });
    const seconds = (performance.now() - t0) / 1000;
    return { parkedBefore, changed: result.changed, seconds, perSecond: result.changed / seconds };
  } finally {
    await store.close();
  }
}

serveParent(
  {},
  {
    fill: (a) => fill(a as FillArgs),
    claim: (a) => claim(a as ClaimArgs),
    replay: (a) => replay(a as ReplayArgs),
  },
  () => undefined,
);
