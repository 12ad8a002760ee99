/**
 * The gateway's SQLite connection, owned by a thread of its own (thread.ts), as knex sees it: the
 * part of node-sqlite3's Database that knex's sqlite3 client calls (all, run, exec, close), plus
 * `ingest`, which runs a whole ingest batch in one transaction on that thread.
 */
import { Worker } from 'node:worker_threads';
import knexFactory, { type Knex } from 'knex';
import Client_SQLite3 from 'knex/lib/dialects/sqlite3/index.js';
import sqlite3 from 'sqlite3';
import type { CompletionInput } from '../rows/delivery.ts';
import type { IngestOutcome, StoredPart } from '../rows/ingest.ts';
import type { ClaimedRows } from '../backend.ts';
import { toError, type OpenOptions, type OpenResult, type Request, type Response } from './protocol.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Call = DistributiveOmit<Request, 'id'>;
type Success = Extract<Response, { ok: true }>;

/** What knex's sqlite3 client reads from `this` in a run callback. */
interface RunContext {
  lastID: number;
  changes: number;
}

type RowsCallback = (this: RunContext, err: Error | null, rows?: unknown[]) => void;

const THREAD_YOUNG_GENERATION_MB = 8;

/**
 * How long a thread that was told to stop may take to end by itself before it is terminated. It ends
 * by itself once its connections are closed and its port is: terminated while node-sqlite3 is still
 * calling back into it (the reply to a close or a failed open is posted from inside such a callback),
 * the callback's JavaScript is cut off and node-sqlite3 aborts the whole process.
 */
const THREAD_EXIT_GRACE_MS = 5_000;

/**
 * Starts the thread running thread.js next to this file; from the TypeScript source (tests, tsx),
 * thread-tsx.mjs, which loads thread.ts.
 */
function startThread(options: OpenOptions): Worker {
  const entry = import.meta.url.endsWith('.ts') ? './thread-tsx.mjs' : './thread.js';
  // A small young generation: what the thread allocates (a batch's rows, a query's results) dies
  // within the request, and V8's default nursery (up to 48 MB per thread) would only add to the RSS.
  return new Worker(new URL(entry, import.meta.url), { workerData: { omgwSqlite: options }, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB } });
}

export class ThreadedSqliteConnection {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (res: Success) => void; reject: (err: Error) => void }>();
  #next = 1;
  #alive = true;
  readonly #exited: Promise<void>;

  /** Same signature as node-sqlite3's Database, which knex's client constructs. */
  constructor(filename: string, flags: number, callback: (err: Error | null) => void) {
    // An in-memory or temporary database ('' as filename) has no WAL; nor does a read-only one need checkpointing.
    const checkpoint = filename !== ':memory:' && filename !== '' && (flags & sqlite3.OPEN_READWRITE) !== 0;
    this.#worker = startThread({ filename, flags, checkpoint });
    this.#exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.once('message', (open: OpenResult) => {
      if (!open.ok) {
        this.#alive = false;
        void this.#end();
        callback(toError(open.error));
        return;
      }
      this.#worker.on('message', (res: Response) => this.#settle(res));
      this.#idle();
      callback(null);
    });
    this.#worker.on('error', (err) => this.#stopped(err));
    this.#worker.on('exit', () => this.#stopped(new Error('the SQLite connection thread stopped')));
  }

  /** False once the thread has stopped: the pool then replaces this connection. */
  get alive(): boolean {
    return this.#alive;
  }

  all(sql: string, params: unknown[], cb: RowsCallback): void {
    this.#call({ op: 'all', sql, params: params ?? [] }).then(
      (res) => cb.call({ lastID: 0, changes: 0 }, null, res.blobs ? toBuffers(res.rows ?? []) : (res.rows ?? [])),
      (err: Error) => cb.call({ lastID: 0, changes: 0 }, err),
    );
  }

  run(sql: string, params: unknown[], cb: RowsCallback): void {
    this.#call({ op: 'run', sql, params: params ?? [] }).then(
      (res) => cb.call({ lastID: res.lastID ?? 0, changes: res.changes ?? 0 }, null),
      (err: Error) => cb.call({ lastID: 0, changes: 0 }, err),
    );
  }

  exec(sql: string, cb: (err: Error | null) => void): void {
    this.#call({ op: 'exec', sql }).then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }

  /** Stores one ingest batch in one transaction (batch.ts, run on the thread). */
  async ingest(items: StoredPart[]): Promise<IngestOutcome[]> {
    const res = await this.#call({ op: 'ingest', items });
    return res.outcomes ?? [];
  }

  /** Writes a group of delivery completions in one transaction (completions.ts, run on the thread). */
  async complete(inputs: CompletionInput[]): Promise<boolean[]> {
    const res = await this.#call({ op: 'complete', inputs });
    return res.applied ?? [];
  }

  /** Runs a claim and reads the events of the claimed deliveries, as one request (thread.ts). */
  async claim(sql: string, params: unknown[]): Promise<ClaimedRows> {
    const res = await this.#call({ op: 'claim', sql, params });
    return res.claimed ?? { rows: [], events: [] };
  }

  close(cb: (err: Error | null) => void): void {
    if (!this.#alive) {
      cb(null);
      return;
    }
    this.#call({ op: 'close' }).then(
      () => {
        this.#alive = false;
        this.#end().then(() => cb(null), cb);
      },
      (err: Error) => cb(err),
    );
  }

  /** Resolves once the thread, told to stop (it closes its port), has ended; terminates it after THREAD_EXIT_GRACE_MS. */
  async #end(): Promise<void> {
    const timer = setTimeout(() => void this.#worker.terminate(), THREAD_EXIT_GRACE_MS);
    timer.unref();
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #call(call: Call): Promise<Success> {
    if (!this.#alive) return Promise.reject(toError({ message: 'SQLITE_MISUSE: the database connection is closed', code: 'SQLITE_MISUSE', errno: 21 }));
    const id = this.#next++;
    return new Promise<Success>((resolve, reject) => {
      // The thread keeps the process alive only while it has work, as node-sqlite3 does.
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      const request: Request = { ...call, id };
      this.#worker.postMessage(request);
    });
  }

  #settle(res: Response): void {
    const waiter = this.#pending.get(res.id);
    if (!waiter) return;
    this.#pending.delete(res.id);
    if (this.#pending.size === 0) this.#idle();
    if (res.ok) waiter.resolve(res);
    else waiter.reject(toError(res.error));
  }

  #idle(): void {
    this.#worker.unref();
  }

  #stopped(err: Error): void {
    this.#alive = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const waiter of pending) waiter.reject(Object.assign(new Error(`SQLITE_IOERR: ${err.message}`), { code: 'SQLITE_IOERR' }));
  }
}

/** BLOB values cross the thread boundary as Uint8Array; node-sqlite3 hands out Buffers. */
function toBuffers(rows: unknown[]): unknown[] {
  for (const row of rows) {
    if (row === null || typeof row !== 'object') continue;
    const record = row as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (value instanceof Uint8Array && !Buffer.isBuffer(value)) record[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return rows;
}

/** node-sqlite3's module as knex's client uses it (its OPEN_* flags), with our Database in its place. */
const threadedDriver = { ...sqlite3, Database: ThreadedSqliteConnection };

/** knex's sqlite3 client with its connections on their own threads. */
class ThreadedSqliteClient extends Client_SQLite3 {
  override _driver(): unknown {
    return threadedDriver;
  }

  override validateConnection(connection: unknown): boolean {
    return !(connection instanceof ThreadedSqliteConnection) || connection.alive;
  }
}

/** A knex instance on SQLite whose connection runs on its own thread. */
export function threadedSqliteKnex(config: Omit<Knex.Config, 'client'>): Knex {
  return knexFactory({ ...config, client: ThreadedSqliteClient as unknown as typeof Knex.Client });
}

const batchConnections = new WeakMap<Knex, ThreadedSqliteConnection>();

/**
 * The connection of knex's pool, for ingest batches, completion groups and claims: each runs whole on the
 * connection's thread, which keeps it out of any transaction knex has open there, so it is sent
 * without waiting for the pool (a wait that cost turns of the busy main thread before and after).
 * The pool is asked again only when the connection's thread has stopped, to get its replacement.
 */
export async function batchConnection(knex: Knex): Promise<ThreadedSqliteConnection> {
  const known = batchConnections.get(knex);
  if (known?.alive) return known;
  // knex types its client as any; these are the two methods of it used here.
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<unknown> };
  const conn = await client.acquireConnection();
  await client.releaseConnection(conn);
  const threaded = conn instanceof ThreadedSqliteConnection ? conn : null;
  if (!threaded) throw new Error('the SQLite connection is not a threaded connection');
  batchConnections.set(knex, threaded);
  return threaded;
}
