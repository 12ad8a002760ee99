/**
 * Wake-ups between the instances sharing a PostgreSQL database: a transaction that makes deliveries
 * due (an ingest batch, a replay, a release, a connector back online) sends a NOTIFY naming each
 * connector once, delivered when it commits; every instance LISTENs on one connection of its own and
 * wakes its worker. An event pushed to one instance thus leaves from any of them at once instead of at
 * their next poll. Polling stays the safety net: a wake-up lost while the channel is down is made up
 * for by a wake-up for every connector when it is back, and by the poll.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import type { DueListener } from '../backend.ts';
import type { IngestOutcome, StoredPart } from '../rows/ingest.ts';

const CHANNEL = 'omgw_deliveries';
/** PostgreSQL cuts identifiers at 63 bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER = 63;

/**
 * The channel of the gateway's tables: one per schema, so that two gateways in two schemas of one
 * database never wake each other. A name that would be too long ends in a hash of the schema instead
 * (cut, two long schema names would share a channel).
 */
export function dueChannel(schema: string | undefined): string {
  if (schema === undefined) return CHANNEL;
  const named = `${CHANNEL}_${schema}`;
  if (Buffer.byteLength(named) <= MAX_IDENTIFIER) return named;
  return `${CHANNEL}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** A token naming this store's process in its notifications, so that it does not wake itself twice. */
export function newOrigin(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Sends one notification per connector (`<connector> <origin>`) in db's transaction, in one statement.
 * PostgreSQL folds identical notifications of one transaction into one, so a connector named by
 * several statements of a transaction still wakes each listener once.
 */
export async function announce(db: Knex, channel: string, origin: string, connectors: readonly string[]): Promise<void> {
  const names = [...new Set(connectors)];
  if (names.length === 0) return;
  const calls = names.map(() => 'pg_notify(?, ?)').join(', ');
  await db.raw(`select ${calls}`, names.flatMap((name) => [channel, `${name} ${origin}`]));
}

/** The connectors that an ingest batch gave new deliveries (neither a refused item nor a duplicate has any). */
export function dueConnectors(items: readonly StoredPart[], outcomes: readonly IngestOutcome[]): string[] {
  const names = new Set<string>();
  items.forEach((item, i) => {
    const outcome = outcomes[i];
    if (!outcome?.accepted) return;
    item.events.forEach((event, j) => {
      if ((outcome.events[j]?.deliveries ?? 0) > 0) for (const d of event.deliveries) names.add(d.connector);
    });
  });
  return [...names];
}

/** The first wait after the channel drops; each failed attempt doubles it, up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 10_000;
/** How long connecting may take before it counts as failed. */
const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keepalive on the listening connection: a peer gone without a word is noticed, not listened to forever. */
const KEEPALIVE_DELAY_MS = 10_000;

export interface DueChannelOptions {
  url: string;
  channel: string;
  /** This process's token: its own notifications are not passed on. */
  origin: string;
}

/**
 * The LISTEN side: one connection, outside the pool (a pooled connection is handed to other work and
 * may be closed when idle), opened when the first listener subscribes and closed when the last one
 * goes. When it drops it is opened again after a growing wait, and every listener then hears
 * due(null): what was announced meanwhile is lost, so the workers look at everything once.
 */
export class DueChannel {
  readonly #options: DueChannelOptions;
  readonly #listeners = new Set<DueListener>();
  /** The connection in use (connecting or listening); null while waiting to reconnect or stopped. */
  #client: pg.Client | null = null;
  #listening = false;
  #failures = 0;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: DueChannelOptions) {
    this.#options = options;
  }

  subscribe(listener: DueListener): () => void {
    if (this.#closed) return () => undefined;
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) void this.#connect();
    // Already listening: the newcomer has missed what came before, like a reconnected listener.
    else if (this.#listening) queueMicrotask(() => this.#listeners.has(listener) && listener.due(null));
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#failures = 0;
    const client = this.#client;
    this.#client = null;
    this.#listening = false;
    if (client) void client.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#options.url,
      application_name: 'omgw-wakeup',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    });
    this.#client = client;
    client.on('notification', (message) => this.#received(message));
    // Stays attached after the client is dropped: an 'error' without a listener would end the process.
    client.on('error', (err) => this.#drop(client, err));
    client.on('end', () => this.#drop(client, new Error('the listening connection closed')));
    try {
      await client.connect();
      await client.query(`listen "${this.#options.channel}"`);
    } catch (err) {
      this.#drop(client, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.#client !== client) return;
    this.#listening = true;
    this.#failures = 0;
    this.#tell((listener) => listener.due(null));
  }

  #received(message: pg.Notification): void {
    if (message.channel !== this.#options.channel || message.payload === undefined) return;
    const space = message.payload.indexOf(' ');
    const connector = space === -1 ? message.payload : message.payload.slice(0, space);
    const origin = space === -1 ? null : message.payload.slice(space + 1);
    if (origin === this.#options.origin || connector === '') return;
    this.#tell((listener) => listener.due(connector));
  }

  /** Called from the connection's events: a listener that throws must not take the connection (or the process) with it. */
  #tell(call: (listener: DueListener) => void): void {
    for (const listener of this.#listeners) {
      try {
        call(listener);
      } catch {
        // The listener's own failure is its own to report; the others still hear.
      }
    }
  }

  #drop(client: pg.Client, err: Error): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#listening = false;
    void client.end().catch(() => undefined);
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#failures);
    this.#failures++;
    this.#tell((listener) => listener.lost(err, wait));
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#listeners.size > 0 && this.#client === null) void this.#connect();
    }, wait);
    // A wait to reconnect never keeps the process alive by itself.
    this.#retry.unref();
  }
}
