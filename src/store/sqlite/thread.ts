/**
 * The thread that owns the gateway's SQLite connection (started by connection.ts, one per connection).
 *
 * node-sqlite3 runs each statement in libuv's thread pool and calls back on the thread that issued it.
 * Issued from the main thread, every step of a transaction (BEGIN, each statement, COMMIT) waited for
 * a turn of an event loop busy with HTTP requests, and the connection sat idle in between: under load
 * a batch of pushes took several times its own work. Here the event loop does nothing else, so a
 * statement's callback runs as soon as the statement ends; an ingest batch (BEGIN, the statements,
 * COMMIT) runs here whole (batch.ts), and so does a group of delivery completions (completions.ts);
 * building their SQL happens here too, off the main thread. The thread also checkpoints the WAL of
 * its database file from a second connection (checkpointer.ts).
 *
 * Requests are handled one at a time in the order received, as on one connection, except that an
 * ingest batch, a completion group or a claim that arrives while a transaction of knex's is open waits for
 * it to end (they come without knex's pool, which would otherwise have kept them out).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import sqlite3 from 'sqlite3';
import { writeSqliteBatch, type BatchConnection } from './batch.ts';
import { WalCheckpointer } from './checkpointer.ts';
import { writeSqliteCompletions } from './completions.ts';
import { literal } from './sql.ts';
import { errorInfo, type OpenOptions, type OpenResult, type Request, type Response } from './protocol.ts';

/**
 * Whether a statement knex sent opens or ends its transaction. knex runs a transaction as separate
 * statements (`BEGIN;`, ..., `COMMIT;` or `ROLLBACK`, savepoints inside), each a request of its own.
 */
function transactionEffect(sql: string): 'begin' | 'commit' | 'rollback' | null {
  const head = sql.trimStart().slice(0, 40).toUpperCase();
  if (/^BEGIN\b/.test(head)) return 'begin';
  if (/^(COMMIT|END)\b/.test(head)) return 'commit';
  if (/^ROLLBACK\b/.test(head) && !/^ROLLBACK(\s+TRANSACTION)?\s+TO\b/.test(head)) return 'rollback';
  return null;
}

/**
 * knex begins its transactions with a plain (deferred) `BEGIN`: the write lock is taken at the first
 * write. A transaction that reads first (pick the parked deliveries, then replay them) and finds that
 * another connection to the file (the CLI, a second process) committed since then fails at once with
 * SQLITE_BUSY, without waiting out the busy timeout, because its snapshot is stale. `BEGIN IMMEDIATE`
 * takes the write lock before the first read, waiting for it up to the busy timeout.
 */
function immediate(req: Request): Request {
  if (req.op !== 'all' && req.op !== 'run' && req.op !== 'exec') return req;
  if (!/^\s*BEGIN\s*(TRANSACTION\s*)?;?\s*$/i.test(req.sql)) return req;
  return { ...req, sql: 'BEGIN IMMEDIATE;' };
}

class ConnectionThread {
  readonly #db: sqlite3.Database;
  readonly #batch: BatchConnection;
  readonly #checkpointer: WalCheckpointer | null;
  /**
   * Whether a transaction knex began is open. Ingest batches, completion groups and claims are sent here
   * without going through knex's pool (so they do not wait for its turn on the main thread); they
   * run only between knex's transactions, never inside one (see serve).
   */
  #knexTransaction = false;

  get inKnexTransaction(): boolean {
    return this.#knexTransaction;
  }

  constructor(db: sqlite3.Database, checkpointer: WalCheckpointer | null) {
    this.#db = db;
    this.#checkpointer = checkpointer;
    this.#batch = {
      exec: (sql) => this.#exec(sql),
      all: <T>(sql: string) => new Promise<T[]>((resolve, reject) => db.all(sql, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)))),
      run: (sql, params) => new Promise<void>((resolve, reject) => db.run(sql, params, (err: Error | null) => (err ? reject(err) : resolve()))),
    };
  }

  async handle(request: Request): Promise<Response> {
    const effect = request.op === 'all' || request.op === 'run' || request.op === 'exec' ? transactionEffect(request.sql) : null;
    const req = effect === 'begin' ? immediate(request) : request;
    const res = await this.#handle(req);
    // A failed COMMIT can leave the transaction open; knex then sends ROLLBACK, which always ends it.
    if (effect === 'begin' && res.ok) this.#knexTransaction = true;
    else if ((effect === 'commit' && res.ok) || effect === 'rollback') this.#knexTransaction = false;
    return res;
  }

  async #handle(req: Request): Promise<Response> {
    try {
      switch (req.op) {
        case 'all': {
          const rows = await new Promise<unknown[]>((resolve, reject) => this.#db.all(req.sql, req.params, (err, rows) => (err ? reject(err) : resolve(rows))));
          return { id: req.id, ok: true, rows, blobs: hasBlobs(rows) };
        }
        case 'run': {
          const result = await new Promise<{ lastID: number; changes: number }>((resolve, reject) =>
            this.#db.run(req.sql, req.params, function (this: sqlite3.RunResult, err: Error | null) {
              if (err) reject(err);
              else resolve({ lastID: this.lastID, changes: this.changes });
            }),
          );
          return { id: req.id, ok: true, ...result };
        }
        case 'exec':
          await this.#exec(req.sql);
          return { id: req.id, ok: true };
        case 'ingest':
          return { id: req.id, ok: true, outcomes: await writeSqliteBatch(this.#batch, req.items) };
        case 'complete':
          return { id: req.id, ok: true, applied: await writeSqliteCompletions(this.#batch, req.inputs) };
        case 'claim': {
          const rows = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => this.#db.all(req.sql, req.params, (err, r: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(r))));
          const ids = [...new Set(rows.map((r) => String(r.event_id)))];
          const events = ids.length === 0 ? [] : await this.#batch.all<Record<string, unknown>>(`SELECT * FROM "events" WHERE "id" IN (${ids.map(literal).join(', ')})`);
          return { id: req.id, ok: true, claimed: { rows, events } };
        }
        case 'close':
          await this.#checkpointer?.close();
          await new Promise<void>((resolve, reject) => this.#db.close((err) => (err ? reject(err) : resolve())));
          return { id: req.id, ok: true };
      }
    } catch (err) {
      return { id: req.id, ok: false, error: errorInfo(err) };
    }
  }

  #exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.#db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }
}

/** Whether a result holds BLOB values (they arrive on the other side as Uint8Array, not Buffer). */
function hasBlobs(rows: unknown[]): boolean {
  for (const row of rows) {
    if (row === null || typeof row !== 'object') continue;
    for (const value of Object.values(row)) if (value instanceof Uint8Array) return true;
  }
  return false;
}

function serve(port: MessagePort, options: OpenOptions): void {
  const db = new sqlite3.Database(options.filename, options.flags, (err) => {
    if (err) {
      port.postMessage({ ok: false, error: errorInfo(err) } satisfies OpenResult);
      // Nothing else runs here: with its port closed the thread ends by itself (connection.ts).
      port.close();
      return;
    }
    // The WAL of a database file is checkpointed from a second connection on this thread (checkpointer.ts).
    // Started once a statement of this connection has succeeded: a file that is not a database
    // fails the first one (the pragmas), and a second connection opening it meanwhile could still be
    // opening when the process ends (this thread does not keep it alive), which aborts the process.
    const checkpointer = options.checkpoint ? new WalCheckpointer(options.filename) : null;
    const thread = new ConnectionThread(db, checkpointer);
    // Batches that arrived while a knex transaction was open, run as soon as it has ended.
    const waiting: Request[] = [];
    const respond = async (req: Request): Promise<void> => {
      const res = await thread.handle(req);
      if (res.ok && req.op !== 'close') checkpointer?.start();
      port.postMessage(res);
      if (req.op === 'close' && res.ok) port.close();
    };
    let queue = Promise.resolve();
    port.on('message', (req: Request) => {
      queue = queue.then(async () => {
        if ((req.op === 'ingest' || req.op === 'complete' || req.op === 'claim') && thread.inKnexTransaction) {
          waiting.push(req);
          return;
        }
        await respond(req);
        while (waiting.length > 0 && !thread.inKnexTransaction) await respond(waiting.shift() as Request);
      });
    });
    port.postMessage({ ok: true } satisfies OpenResult);
  });
}

const options = workerData as { omgwSqlite?: OpenOptions } | null;
if (parentPort && options?.omgwSqlite) serve(parentPort, options.omgwSqlite);
