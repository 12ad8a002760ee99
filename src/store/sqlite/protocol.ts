/**
 * Messages between the gateway's main thread and the thread that owns its SQLite connection
 * (connection.ts and thread.ts). Each request carries an id; the thread answers every request, in
 * the order received, with a response of the same id.
 */
import type { ClaimedRows } from '../backend.ts';
import type { CompletionInput } from '../rows/delivery.ts';
import type { IngestOutcome, StoredPart } from '../rows/ingest.ts';

export interface OpenOptions {
  filename: string;
  /** node-sqlite3 open flags (OPEN_READWRITE | OPEN_CREATE ...). */
  flags: number;
  /** Whether the thread checkpoints the WAL from a second connection (a database file opened for writing). */
  checkpoint: boolean;
}

export type Request =
  | { id: number; op: 'all' | 'run'; sql: string; params: unknown[] }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'ingest'; items: StoredPart[] }
  | { id: number; op: 'complete'; inputs: CompletionInput[] }
  /** A claim (`update ... returning *`), then the events of the claimed deliveries. */
  | { id: number; op: 'claim'; sql: string; params: unknown[] }
  | { id: number; op: 'close' };


/** What node-sqlite3 reports of an error, kept across the thread boundary (an Error loses `code` there). */
export interface ErrorInfo {
  message: string;
  code: string | null;
  errno: number | null;
}

export type Response =
  | { id: number; ok: true; rows?: unknown[]; lastID?: number; changes?: number; outcomes?: IngestOutcome[]; applied?: boolean[]; claimed?: ClaimedRows; blobs?: boolean }
  | { id: number; ok: false; error: ErrorInfo };

/** The first message of the thread: the database opened, or why it did not. */
export type OpenResult = { ok: true } | { ok: false; error: ErrorInfo };

export function errorInfo(err: unknown): ErrorInfo {
  const e = err as { message?: unknown; code?: unknown; errno?: unknown } | null;
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    code: typeof e?.code === 'string' ? e.code : null,
    errno: typeof e?.errno === 'number' ? e.errno : null,
  };
}

/** The error as node-sqlite3 would have raised it on this thread (callers test `code`). */
export function toError(info: ErrorInfo): Error & { code?: string; errno?: number } {
  const err: Error & { code?: string; errno?: number } = new Error(info.message);
  if (info.code !== null) err.code = info.code;
  if (info.errno !== null) err.errno = info.errno;
  return err;
}
