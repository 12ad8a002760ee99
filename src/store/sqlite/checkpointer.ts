import sqlite3 from 'sqlite3';
import { ThreadedSqliteConnection } from './connection.ts';

/**
 * How often the WAL is copied back into the database file. A checkpoint ends with an fsync of the
 * database file, and a commit's fsync of the WAL waits behind it on the same disk: the more pages a
 * checkpoint copies, the longer that wait. Measured at about 3,700 pushes/s: every 100 ms, batch
 * commits at p99 took 11-21 ms (max 32); every 25 ms, 6-8 ms (max 12), and the push p99 fell from
 * 27-28 to 17-19 ms for about 5% fewer pushes per second.
 */
const CHECKPOINT_INTERVAL_MS = 25;

/**
 * Copies the WAL back into the database file from a connection (and thread) of its own.
 *
 * By default SQLite checkpoints inside the COMMIT that makes the WAL pass 1,000 pages: under a
 * stream of pushes that is every few dozen milliseconds, and each time the push batch committing
 * waits while a thousand pages are written to the database file and it is fsynced. A PASSIVE
 * checkpoint from another connection does the same work alongside the writer, which goes on
 * appending to the WAL meanwhile. The gateway's own connection keeps a large automatic checkpoint
 * (see database.ts) as a bound on the WAL should this one fall behind or fail.
 */
export class WalCheckpointer {
  readonly #filename: string;
  #connection: ThreadedSqliteConnection | null = null;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(filename: string) {
    this.#filename = filename;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#tick(), CHECKPOINT_INTERVAL_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const connection = this.#connection;
    this.#connection = null;
    if (connection) await new Promise<void>((resolve) => connection.close(() => resolve()));
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const connection = await this.#open();
      if (!connection) return;
      // A failed checkpoint (disk full, I/O error) is simply tried again at the next tick; meanwhile
      // the gateway connection's own automatic checkpoint bounds the WAL.
      await new Promise<void>((resolve) => connection.exec('PRAGMA wal_checkpoint(PASSIVE)', () => resolve()));
    } finally {
      this.#busy = false;
    }
  }

  /** The connection, opened on first use (once the gateway's connection has created the file). */
  async #open(): Promise<ThreadedSqliteConnection | null> {
    if (this.#connection?.alive) return this.#connection;
    this.#connection = null;
    const connection = await new Promise<ThreadedSqliteConnection | null>((resolve) => {
      const c: ThreadedSqliteConnection = new ThreadedSqliteConnection(this.#filename, sqlite3.OPEN_READWRITE, (err) => resolve(err ? null : c));
    });
    // Closed meanwhile: do not keep a connection nobody will close.
    if (connection && !this.#timer) {
      connection.close(() => undefined);
      return null;
    }
    this.#connection = connection;
    return connection;
  }
}
