/**
 * The two databases the store runs on, behind one small interface. Repositories build their
 * statements with knex (the same text on both); what differs between the two is here: how a batch
 * of pushes, a group of delivery completions and a claim reach the database, how raw results come
 * back, and which row locks a read-then-write takes. openBackend (database.ts) picks the backend
 * from the database URL, the one place that looks at the dialect.
 */
import type { Knex } from 'knex';
import type { CompletionInput } from './rows/delivery.ts';
import type { IngestOutcome, StoredPart } from './rows/ingest.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Hears that deliveries became due in another process sharing the database (Backend.onDeliveriesDue),
 * so that a worker sends them at once instead of at its next poll. Polling stays the safety net:
 * a wake-up may be lost, never needed for correctness.
 */
export interface DueListener {
  /**
   * Deliveries of `connector` became due; null: of any connector, as far as the listener knows (it
   * has just started listening, or listens again after the channel dropped and may have missed some).
   */
  due(connector: string | null): void;
  /** The channel dropped or could not connect; it tries again after retryInMs. */
  lost(err: Error, retryInMs: number): void;
}

/** Rows of a claim (`update deliveries ... returning *`) and of the events they refer to, as stored. */
export interface ClaimedRows {
  rows: Array<Record<string, unknown>>;
  events: Array<Record<string, unknown>>;
}

export interface Backend {
  readonly dialect: Dialect;
  /** The query builder on this database; only src/store/ holds it. */
  readonly knex: Knex;
  /** A description safe to print (no password). */
  readonly describe: string;
  /**
   * The lock a read-then-write in a transaction takes on the rows it reads: `for update` on
   * PostgreSQL, where other instances write at the same time; nothing on SQLite, whose
   * transactions start with the write lock (BEGIN IMMEDIATE) or run on its one connection.
   */
  readonly forUpdate: string;
  /** forUpdate for a claim: rows another instance is claiming are skipped, not waited for. */
  readonly skipLocked: string;
  /** Stores one ingest batch in one transaction. */
  ingest(items: StoredPart[]): Promise<IngestOutcome[]>;
  /** Writes one group of completions in one transaction; per completion, whether its state change was applied. */
  complete(inputs: CompletionInput[]): Promise<boolean[]>;
  /** Runs a claim statement and reads the events of the deliveries it claimed. */
  claim(sql: string, params: Array<string | number | null>): Promise<ClaimedRows>;
  /**
   * Tells the other processes sharing the database that deliveries of these connectors are due now,
   * in `db`'s transaction: PostgreSQL sends a NOTIFY (delivered when it commits, to every instance
   * but this one, which its caller wakes itself); SQLite does nothing (the process that writes is the
   * one that delivers; another one, such as a CLI command, is followed at the next poll).
   */
  announceDue(db: Knex, connectors: readonly string[]): Promise<void>;
  /**
   * Calls `listener` when another process announces due deliveries (PostgreSQL: LISTEN on a
   * connection of its own, reconnecting when it drops; SQLite: never). Returns the unsubscribe.
   */
  onDeliveriesDue(listener: DueListener): () => void;
  /** The rows of a `knex.raw` result (each driver shapes it differently). */
  rowsOf<T>(result: unknown): T[];
  close(): Promise<void>;
}
