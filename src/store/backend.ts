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
  /** The rows of a `knex.raw` result (each driver shapes it differently). */
  rowsOf<T>(result: unknown): T[];
  close(): Promise<void>;
}
