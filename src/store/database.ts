import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Backend } from './backend.ts';
import { openPostgres } from './postgres/backend.ts';
import { openSqlite } from './sqlite/backend.ts';

export interface DatabaseOptions {
  url: string;
  poolMax?: number;
  /** PostgreSQL schema to use (tests give each suite its own). */
  schema?: string;
  /** Folder that relative SQLite paths resolve against. */
  baseDir?: string;
}

/** How long a statement waits for a lock held by another connection (SQLite busy_timeout, PostgreSQL lock_timeout). */
const LOCK_TIMEOUT_MS = 5000;

/** knex prints connection retries and stacks on its own; the gateway reports failures itself. */
const quietKnexLog = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

/**
 * Opens the database named by a URL: `sqlite:./data/omgw.db`, `sqlite::memory:` or `postgres://...`.
 * The one place that chooses the backend (backend.ts) from the dialect.
 */
export function openBackend(options: DatabaseOptions): Backend {
  const { url } = options;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    const filename = path === ':memory:' ? ':memory:' : resolve(options.baseDir ?? process.cwd(), path);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return openSqlite({ filename, lockTimeoutMs: LOCK_TIMEOUT_MS, log: quietKnexLog });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgres({ url, describe: redactUrl(url), poolMax: options.poolMax, schema: options.schema, lockTimeoutMs: LOCK_TIMEOUT_MS, log: quietKnexLog });
  }
  throw new Error(`database url must start with sqlite: or postgres:// (got ${redactUrl(url)})`);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
