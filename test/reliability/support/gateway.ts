import { readFileSync, rmSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { Store } from '../../../src/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { spawnGateway, type ChildGateway } from '../../helpers/child.ts';
import { writeConfig, type TestConfig } from '../../helpers/gateway.ts';
import { SECRET_ENV, SECRETS, SOAP_USER, BI_USER, OAUTH_CLIENT, WS_USER } from './secrets.ts';

export { freePort } from '../../helpers/free-port.ts';

/**
 * A test database (SQLite file, or a PostgreSQL schema when OMGW_TEST_DATABASE_URL is set). On
 * PostgreSQL the URL carries a password: trust authentication ignores it, but it is a configured
 * secret like any other and must never be written anywhere.
 */
export function relDatabase(): TestDatabase {
  const db = createTestDatabase();
  if (db.kind !== 'postgres') return db;
  const u = new URL(db.url);
  u.password = SECRETS.dbPassword;
  return { ...db, url: u.toString() };
}

export interface GatewayYamlOptions {
  /** A number, or a reference such as `${env:REL_PORT}` (instances of a cluster share one folder). */
  port?: number | string;
  /** Lines under `delivery:` (two-space indented); default: delivery off. */
  delivery?: string;
  /** Extra lines under `inbound.soap:` (four-space indented). */
  soap?: string;
  requestTimeout?: string;
  logLevel?: string;
  /** Lines under `schedules:` (two-space indented); default: recovery and retention off. */
  schedules?: string;
  /** Lines under `cluster:` (two-space indented); default: none (the defaults). */
  cluster?: string;
}

/** gateway.yaml with every kind of secret configured: inbound password, admin token, webhook secret, encryption key. */
export function relGatewayYaml(o: GatewayYamlOptions = {}): string {
  return `server:
  host: 127.0.0.1
  port: ${o.port ?? 0}
${o.requestTimeout ? `  requestTimeout: ${o.requestTimeout}\n` : ''}database:
  url: \${env:TEST_DATABASE_URL}
  schema: \${env:TEST_DATABASE_SCHEMA:-}
  encryptionKey: \${env:REL_ENCRYPTION_KEY}
delivery:
${o.delivery ?? '  enabled: false'}
inbound:
  soap:
    users:
      - username: ${SOAP_USER}
        password: \${env:REL_SOAP_PASSWORD}
${o.soap ?? ''}  webhooks:
    shipbob:
      secrets:
        - \${env:REL_WEBHOOK_SECRET}
admin:
  token: \${env:REL_ADMIN_TOKEN}
schedules:
${o.schedules ?? '  recovery:\n    enabled: false\n  retention:\n    enabled: false'}
${o.cluster ? `cluster:\n${o.cluster}\n` : ''}logging:
  level: ${o.logLevel ?? 'info'}
`;
}

export type AuthKind = 'none' | 'bearer' | 'basic' | 'api-key' | 'oauth2' | 'ws-security';

/** The auth block of a connector, each kind with its own configured secret. */
export function authYaml(kind: AuthKind, tokenUrl = ''): string {
  switch (kind) {
    case 'none':
      return '';
    case 'bearer':
      return 'auth:\n  type: bearer\n  token: ${env:REL_CRM_TOKEN}\n';
    case 'basic':
      return `auth:\n  type: basic\n  username: ${BI_USER}\n  password: \${env:REL_BI_PASSWORD}\n`;
    case 'api-key':
      return 'auth:\n  type: api-key\n  key: ${env:REL_API_KEY}\n';
    case 'oauth2':
      return `auth:\n  type: oauth2-client-credentials\n  tokenUrl: ${tokenUrl}\n  clientId: ${OAUTH_CLIENT}\n  clientSecret: \${env:REL_OAUTH_SECRET}\n`;
    case 'ws-security':
      return `auth:\n  type: ws-security\n  username: ${WS_USER}\n  password: \${env:REL_WS_PASSWORD}\n`;
  }
}

export function relEnv(db: TestDatabase, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...SECRET_ENV, ...extra, TEST_DATABASE_URL: db.url, ...(db.schema ? { TEST_DATABASE_SCHEMA: db.schema } : {}) };
}

export function openStore(db: TestDatabase): Store {
  return new Store({ url: db.url, poolMax: 2, ...(db.schema ? { schema: db.schema } : {}) });
}

export { allPages } from '../../helpers/pages.ts';

/** How many deliveries are in any of these states (store.browse.deliveryCounts). */
export async function deliveriesIn(store: Store, states: string[]): Promise<number> {
  return (await store.browse.deliveryCounts()).filter((c) => states.includes(c.state)).reduce((n, c) => n + c.count, 0);
}

/**
 * Every row of every table of the database, as text (to search for secrets). A whole-database scan:
 * it reads the tables through the test's own connection (`db.tables()`), not through the store.
 */
export async function dumpDatabase(db: TestDatabase): Promise<string> {
  const knex = db.tables();
  const tables =
    db.kind === 'sqlite'
      ? ((await knex.raw("select name from sqlite_master where type = 'table'")) as Array<{ name: string }>).map((r) => r.name)
      : ((await knex.raw('select table_name from information_schema.tables where table_schema = ?', [db.schema ?? ''])) as { rows: Array<{ table_name: string }> }).rows.map(
          (r) => r.table_name,
        );
  const parts: string[] = [];
  for (const table of tables) parts.push(`== ${table}\n${JSON.stringify(await knex(table).select())}`);
  return parts.join('\n');
}

/** Lines a dying or broken Node process writes. */
export const CRASH_MARKERS = /unhandledRejection|uncaughtException|Unhandled promise rejection|UnhandledPromiseRejection|FATAL ERROR|JavaScript heap out of memory|Segmentation fault|triggerUncaughtException/;

/** The gateway as a child process (the real CLI), with the handles the scenarios need. */
export class GatewayProcess {
  readonly configDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Whether dispose removes the config folder (not when it was given: several processes share it). */
  readonly #ownsConfig: boolean;
  #current: ChildGateway | null = null;
  /** Output of every process started so far (also the ones killed). */
  readonly outputs: string[] = [];
  /** Exits we did not cause. */
  unexpectedExits = 0;
  #expectingExit = false;

  /** `config`: what to write into a new config folder, or the path of an existing one (shared by a cluster's processes). */
  constructor(config: TestConfig | string, env: NodeJS.ProcessEnv) {
    this.#ownsConfig = typeof config !== 'string';
    this.configDir = typeof config === 'string' ? config : writeConfig(config);
    this.env = env;
  }

  get url(): string {
    if (!this.#current) throw new Error('gateway process is not running');
    return this.#current.url;
  }

  get child(): ChildGateway {
    if (!this.#current) throw new Error('gateway process is not running');
    return this.#current;
  }

  get running(): boolean {
    const c = this.#current?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async start(): Promise<this> {
    const gw = await spawnGateway(this.configDir, this.env);
    this.#current = gw;
    this.#expectingExit = false;
    void gw.exited.then(() => {
      if (!this.#expectingExit) this.unexpectedExits++;
    });
    return this;
  }

  /** Resident set size of the process now, in bytes (Linux /proc). */
  rss(): number {
    const pid = this.#current?.child.pid;
    if (pid === undefined) return 0;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  }

  output(): string {
    return [...this.outputs, this.#current?.output() ?? ''].join('\n');
  }

  crashLines(): string[] {
    return this.output()
      .split('\n')
      .filter((l) => CRASH_MARKERS.test(l));
  }

  async kill(): Promise<void> {
    const gw = this.#current;
    if (!gw) return;
    this.#expectingExit = true;
    gw.child.kill('SIGKILL');
    await gw.exited;
    this.outputs.push(gw.output());
    this.#current = null;
  }

  /** SIGTERM, and the exit code of the graceful stop. */
  async stop(): Promise<number | null> {
    const gw = this.#current;
    if (!gw) return null;
    this.#expectingExit = true;
    if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGTERM');
    const timer = setTimeout(() => gw.child.kill('SIGKILL'), 15_000);
    const code = await gw.exited;
    clearTimeout(timer);
    this.outputs.push(gw.output());
    this.#current = null;
    return code;
  }

  dispose(): void {
    if (this.#ownsConfig) rmSync(this.configDir, { recursive: true, force: true });
  }
}

/** A knex connection of our own to a PostgreSQL URL (administration: roles, locks, terminations). */
export function adminKnex(url: string): Knex {
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

