/**
 * The thread that owns the gateway's SQLite connection (started by connection.ts, one per connection).
 *
 * node-sqlite3 runs each statement in libuv's thread pool and calls back on the thread that issued it.
 * Issued from the main thread, every step of a transaction (BEGIN, each statement, COMMIT) waited for
 * a turn of an event loop busy with HTTP requests, and the connection sat idle in between: under load
 * a batch of pushes took several times its own work. Here the event loop does nothing else, so a
 * statement's callback runs as soon as the statement ends; an ingest batch (BEGIN, the statements,
 * COMMIT) runs here whole, and binding its values happens here too, off the main thread.
 *
 * Requests are handled one at a time in the order received, as on one connection.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import knexFactory, { type Knex } from 'knex';
import sqlite3 from 'sqlite3';
import { writeBatch, type Runner, type StoredPart, type IngestOutcome } from '../ingest.ts';
import { errorInfo, type OpenOptions, type OpenResult, type Request, type Response } from './protocol.ts';

/** Most prepared statements kept for ingest batches (multi-row inserts differ by row count). */
const MAX_STATEMENTS = 256;

/** Prepared statements by SQL text, least recently used dropped first. */
class StatementCache {
  readonly #db: sqlite3.Database;
  readonly #cache = new Map<string, Promise<sqlite3.Statement>>();

  constructor(db: sqlite3.Database) {
    this.#db = db;
  }

  /** The prepared statement (node-sqlite3 never calls back a run queued on a statement whose prepare failed). */
  #get(sql: string): Promise<sqlite3.Statement> {
    const cached = this.#cache.get(sql);
    if (cached) {
      this.#cache.delete(sql);
      this.#cache.set(sql, cached);
      return cached;
    }
    if (this.#cache.size >= MAX_STATEMENTS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) {
        void this.#cache.get(oldest)?.then((old) => old.finalize(() => undefined), () => undefined);
        this.#cache.delete(oldest);
      }
    }
    const prepared = new Promise<sqlite3.Statement>((resolve, reject) => {
      const stmt = this.#db.prepare(sql, (err) => {
        if (!err) {
          resolve(stmt);
          return;
        }
        if (this.#cache.get(sql) === prepared) this.#cache.delete(sql);
        reject(err);
      });
    });
    this.#cache.set(sql, prepared);
    return prepared;
  }

  runner(): Runner {
    return {
      rows: async <T>(query: Knex.QueryBuilder) => {
        const { sql, bindings } = query.toSQL().toNative();
        const stmt = await this.#get(sql);
        return new Promise<T[]>((resolve, reject) => stmt.all(bindings, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))));
      },
      exec: async (query) => {
        const { sql, bindings } = query.toSQL().toNative();
        const stmt = await this.#get(sql);
        return new Promise<void>((resolve, reject) => stmt.run(bindings, (err: Error | null) => (err ? reject(err) : resolve())));
      },
    };
  }

  async finalizeAll(): Promise<void> {
    const all = [...this.#cache.values()];
    this.#cache.clear();
    await Promise.all(all.map((p) => p.then((stmt) => new Promise<void>((resolve) => stmt.finalize(() => resolve())), () => undefined)));
  }
}

class ConnectionThread {
  readonly #db: sqlite3.Database;
  /** Builds the ingest statements (no connection of its own). */
  readonly #builder: Knex = knexFactory({ client: 'sqlite3', useNullAsDefault: true });
  #statements: StatementCache;

  constructor(db: sqlite3.Database) {
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  async handle(req: Request): Promise<Response> {
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
          return { id: req.id, ok: true, outcomes: await this.#ingest(req.items) };
        case 'close':
          await this.#statements.finalizeAll();
          await new Promise<void>((resolve, reject) => this.#db.close((err) => (err ? reject(err) : resolve())));
          return { id: req.id, ok: true };
      }
    } catch (err) {
      return { id: req.id, ok: false, error: errorInfo(err) };
    }
  }

  /** One ingest batch in its own transaction (see IngestWriter). */
  async #ingest(items: StoredPart[]): Promise<IngestOutcome[]> {
    const statements = this.#statements;
    await this.#exec('BEGIN');
    try {
      const outcomes = await writeBatch(this.#builder, statements.runner(), items);
      await this.#exec('COMMIT');
      return outcomes;
    } catch (err) {
      // A statement that failed (SQLITE_BUSY, SQLITE_FULL) can be left in progress, and then ROLLBACK
      // fails and the connection stays in this transaction for good: drop the prepared statements first.
      this.#statements = new StatementCache(this.#db);
      await statements.finalizeAll();
      await this.#exec('ROLLBACK').catch(() => undefined);
      throw err;
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
      return;
    }
    const thread = new ConnectionThread(db);
    let queue = Promise.resolve();
    port.on('message', (req: Request) => {
      queue = queue.then(async () => {
        const res = await thread.handle(req);
        port.postMessage(res);
        if (req.op === 'close' && res.ok) port.close();
      });
    });
    port.postMessage({ ok: true } satisfies OpenResult);
  });
}

const options = workerData as { omgwSqlite?: OpenOptions } | null;
if (parentPort && options?.omgwSqlite) serve(parentPort, options.omgwSqlite);
