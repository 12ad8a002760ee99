import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GatewayError } from '../domain/errors.ts';
import type { Backend } from './backend.ts';
import { openPostgres } from './postgres/backend.ts';
import { openSqlite } from './sqlite/backend.ts';

export interface DatabaseOptions {
  url: string;
  poolMax?: number;
  /** PostgreSQL schema to use (tests give each suite its own). */
  schema?: string;
  /** Folder that relative SQLite paths resolve against (the config folder). */
  baseDir?: string;
  /**
   * Whether a SQLite file that does not exist yet is created, with its folder (default true):
   * `start` and `migrate` do; the other commands refuse, so that a mistyped path or a config
   * folder read from elsewhere does not leave an empty database behind that looks like the real one.
   */
  createIfMissing?: boolean;
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
    if (filename !== ':memory:') prepareSqliteFile(filename, options.createIfMissing ?? true);
    return openSqlite({ filename, lockTimeoutMs: LOCK_TIMEOUT_MS, log: quietKnexLog });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgres({ url, describe: redactUrl(url), poolMax: options.poolMax, schema: options.schema, lockTimeoutMs: LOCK_TIMEOUT_MS, log: quietKnexLog });
  }
  throw new Error(`database url must start with sqlite: or postgres:// (got ${redactUrl(url)})`);
}

function prepareSqliteFile(filename: string, create: boolean): void {
  if (existsSync(filename)) return;
  if (!create) {
    throw new GatewayError('STORE_UNAVAILABLE', `no database at sqlite:${filename} (omgw migrate or omgw start creates it)`);
  }
  const folder = dirname(filename);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (err) {
    // mkdir says EEXIST or ENOTDIR when a part of the path is a file: name that file instead.
    const file = firstExisting(folder);
    const reason = file !== undefined && !statSync(file).isDirectory() ? `${file} is a file, not a folder` : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new GatewayError('STORE_UNAVAILABLE', `sqlite:${filename}: cannot create its folder ${folder} (${reason})`, { cause: err });
  }
}

/** The path itself or its nearest ancestor that exists. */
function firstExisting(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    if (existsSync(p)) return p;
    if (dirname(p) === p) return undefined;
  }
}

/** Error codes that mean the database cannot be reached or opened, as opposed to a failed statement. */
const UNAVAILABLE_CODES = new Set([
  // network
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  // SQLite: cannot open, not a database, no permission
  'SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_PERM', 'SQLITE_AUTH',
  // PostgreSQL: authorisation refused (role missing, no pg_hba entry), password refused, no such database, not accepting connections, too many connections
  '28000', '28P01', '3D000', '57P03', '53300',
]);

/**
 * A failure to reach or open the database, as a GatewayError STORE_UNAVAILABLE whose one-line
 * message names the database (`describe`, without its password); undefined for any other error.
 */
export function databaseUnavailable(err: unknown, describe: string): GatewayError | undefined {
  if (err instanceof GatewayError) return err.code === 'STORE_UNAVAILABLE' ? err : undefined;
  if (!(err instanceof Error)) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  // knex gives up waiting for a connection this way when the pool cannot create one.
  const timedOut = err.name === 'KnexTimeoutError';
  if (!timedOut && !(typeof code === 'string' && UNAVAILABLE_CODES.has(code))) return undefined;
  const reason = (err.message.split('\n')[0] ?? '').replace(/^[A-Z_]+: /, '').trim() || code || err.name;
  return new GatewayError('STORE_UNAVAILABLE', `${describe}: ${reason}`, { cause: err });
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
