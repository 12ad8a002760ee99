import sqlite3 from 'sqlite3';

/**
 * How often the WAL is copied back into the database file. A checkpoint ends with an fsync of the
 * database file, and a commit's fsync of the WAL waits behind it on the same disk: the more pages a
 * checkpoint copies, the longer that wait. Measured at about 3,700 pushes/s: every 100 ms, batch
 * commits at p99 took 11-21 ms (max 32); every 25 ms, 6-8 ms (max 12), and the push p99 fell from
 * 27-28 to 17-19 ms for about 5% fewer pushes per second.
 */
const CHECKPOINT_INTERVAL_MS = 25;

/**
 * Copies the WAL back into the database file from a second connection, run by the thread that owns
 * the gateway's connection (thread.ts).
 *
 * By default SQLite checkpoints inside the COMMIT that makes the WAL pass 1,000 pages: under a
 * stream of pushes that is every few dozen milliseconds, and each time the push batch committing
 * waits while a thousand pages are written to the database file and it is fsynced. A PASSIVE
 * checkpoint from another connection does the same work alongside the writer, which goes on
 * appending to the WAL meanwhile (node-sqlite3 runs both in libuv's pool; the thread only starts
 * them). The gateway's own connection keeps a large automatic checkpoint (see database.ts) as a
 * bound on the WAL should this one fall behind or fail. It shares the thread rather than having one
 * of its own: a thread costs about 10 MB of memory, and this one would only ever start a statement.
 */
export class WalCheckpointer {
  readonly #filename: string;
  readonly #intervalMs: number;
  #db: sqlite3.Database | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** The tick under way (opening the connection, or a checkpoint), which close() waits for. */
  #tick: Promise<void> | null = null;

  constructor(filename: string, intervalMs = CHECKPOINT_INTERVAL_MS) {
    this.#filename = filename;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#tick) return;
      this.#tick = this.#checkpoint().finally(() => {
        this.#tick = null;
      });
    }, this.#intervalMs);
  }

  /**
   * Stops the timer and closes the connection, after the tick under way has ended. Nothing of this
   * connection may still be running when the thread reports its close: the thread is terminated
   * then, and a node-sqlite3 callback arriving after that aborts the whole process.
   */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#tick;
    const db = this.#db;
    this.#db = null;
    if (db) await closeConnection(db);
  }

  async #checkpoint(): Promise<void> {
    const db = await this.#open();
    // A failed checkpoint (disk full, I/O error) is simply tried again at the next tick; meanwhile
    // the gateway connection's own automatic checkpoint bounds the WAL.
    if (db) await new Promise<void>((resolve) => db.exec('PRAGMA wal_checkpoint(PASSIVE)', () => resolve()));
  }

  /** The connection, opened on first use (the gateway's connection has created the file by then). */
  async #open(): Promise<sqlite3.Database | null> {
    if (this.#db) return this.#db;
    const db = await new Promise<sqlite3.Database | null>((resolve) => {
      const c: sqlite3.Database = new sqlite3.Database(this.#filename, sqlite3.OPEN_READWRITE, (err) => resolve(err ? null : c));
    });
    this.#db = db;
    return db;
  }
}

function closeConnection(db: sqlite3.Database): Promise<void> {
  // node-sqlite3 closes a connection once the statements queued on it have run.
  return new Promise<void>((resolve) => db.close(() => resolve()));
}
