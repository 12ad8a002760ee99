import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Io } from '../../src/cli/output.ts';
import { main } from '../../src/main.ts';
import { buildPush, pushHttpHeaders, type PushHeaderInput } from '../../src/sandbox/om-push.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, writeConfig, type TestConfig, type TestGateway } from '../helpers/gateway.ts';
import { everything } from '../helpers/pages.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { until } from '../helpers/until.ts';
import { deliveredBy, workerOf } from '../helpers/workers.ts';

/**
 * Two gateway instances and an `omgw connector test` beside them, on one database, sharing an
 * OAuth2 refresh-token connector whose authorization server rotates the refresh token on every
 * refresh, refuses a refresh token used before (invalid_grant; RFC 9700 has servers revoke the
 * grant then) and answers only when the test lets it; the target accepts only the newest access
 * token. In waves: the access token comes due (the instances share a clock the test moves), both
 * instances need a new one at once, and the test lets the refresh answer only once both wait.
 * No refresh token may be sent twice, nothing may park, every delivery must arrive.
 */

const SEED_REFRESH = 'seed-refresh-token-6Qe2';
const WAVES = 4;
/** Events per instance and wave. */
const PER_WAVE = 8;
/** The access token's lifetime; it is due refreshBefore (default 60 s) ahead of that. */
const LIFETIME_S = 3600;

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The authorization server and the target, on one port. */
class IdentityAndTarget {
  url = '';
  /** How often each refresh token was presented. */
  readonly presented = new Map<string, number>();
  /** Refreshes refused with invalid_grant. */
  refusedGrants = 0;
  refreshes = 0;
  /** Delivery ids the target accepted; requests it refused with 401. */
  readonly accepted: string[] = [];
  unauthorized = 0;
  /** Each refresh waits until the test opens the gate (a new gate per wave). */
  gate = deferred();
  /** Resolved when a refresh arrives (a new one per wave). */
  refreshArrived = deferred();
  #current = SEED_REFRESH;
  #access: string | null = null;
  readonly #issued = new Set<string>();
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.#handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.gate.resolve();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (req.url === '/token') {
      const presentedToken = new URLSearchParams(body).get('refresh_token') ?? '';
      this.presented.set(presentedToken, (this.presented.get(presentedToken) ?? 0) + 1);
      this.refreshes++;
      this.refreshArrived.resolve();
      await this.gate.promise;
      if (presentedToken !== this.#current) {
        this.refusedGrants++;
        return send(400, { error: 'invalid_grant' });
      }
      this.#current = `refresh-${this.refreshes}-${Math.random().toString(36).slice(2)}`;
      // Issued as the answer leaves: from now on only this access token is accepted.
      this.#access = `access-${this.refreshes}-${Math.random().toString(36).slice(2)}`;
      this.#issued.add(this.#access);
      return send(200, { access_token: this.#access, token_type: 'Bearer', expires_in: LIFETIME_S, refresh_token: this.#current });
    }
    if (req.url === '/crm/health') {
      // The connector test's probe: any access token this server issued will do.
      return this.#issued.has(bearer) ? send(200, { status: 'up' }) : send(401, {});
    }
    if (req.url === '/crm/events') {
      if (this.#access === null || bearer !== this.#access) {
        this.unauthorized++;
        return send(401, { error: 'invalid_token' });
      }
      this.accepted.push(String(req.headers['idempotency-key']));
      return send(200, {});
    }
    send(404, {});
  }
}


describe(`a rotating refresh token shared by two instances and a connector test (${backendName()})`, function () {
  this.timeout(60_000);
  let server: IdentityAndTarget;
  let database: TestDatabase;
  const gateways: TestGateway[] = [];
  let cliConfigDir: string | undefined;

  beforeEach(async () => {
    server = await new IdentityAndTarget().start();
    database = createTestDatabase();
  });
  afterEach(async () => {
    server.gate.resolve();
    for (const g of gateways.splice(0)) await g.stop();
    if (cliConfigDir) rmSync(cliConfigDir, { recursive: true, force: true });
    await server.close();
    await database.dispose();
  });

  const config = (): TestConfig => ({
    gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 5s' }),
    connectors: {
      'crm.yaml': `protocol: rest
url: ${server.url}/crm
path: /events
probe: /health
concurrency: 3
auth:
  type: oauth2-refresh-token
  tokenUrl: ${server.url}/token
  clientId: omgw
  refreshToken: \${env:SEED_REFRESH}
`,
    },
    triggerPoints: 'triggerPoints:\n  - name: status\n    eventCodes: [FlineStatusUpdate]\n    connectors: [crm]\n',
  });

  const pushOrders = async (gw: TestGateway, orders: string[]): Promise<void> => {
    const headers: PushHeaderInput[] = orders.map((o) => ({ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: o, statusTo: 'SHIPPED' } }));
    const res = await postSoap(`${gw.url}/soap/business-events`, buildPush(headers, { security }), pushHttpHeaders());
    expect(res.status, res.body).to.equal(202);
  };

  it('never sends a refresh token twice, parks nothing and delivers everything', async () => {
    const env = { SEED_REFRESH };
    // The instances' clock starts at the real time, where the connector test's (the system's) is.
    const clock = new ManualClock(Date.now());
    const a = await startGateway(config(), { database, keepDatabase: true, env, clock });
    gateways.push(a);
    const b = await startGateway(config(), { database, keepDatabase: true, env, clock });
    gateways.push(b);
    const workers = [workerOf(a), workerOf(b)];
    cliConfigDir = writeConfig(config());

    // Wave 1: the connector test asks first, and its refresh is held at the token endpoint while
    // both instances get deliveries to send and wait for a token too.
    const out: string[] = [];
    const io: Io = { out: (t) => void out.push(t), err: (t) => void out.push(t) };
    const probe = main(['connector', 'test', 'crm', '--config', cliConfigDir], io, testEnv(database, env));
    await server.refreshArrived.promise;

    const perInstance = [0, 0];
    for (let wave = 1; wave <= WAVES; wave++) {
      if (wave > 1) {
        server.gate = deferred();
        server.refreshArrived = deferred();
        // The shared access token comes due for both instances at the same moment (a lifetime on:
        // past its refresh point, wherever within the last wave, or the connector test, it was fetched).
        clock.advance(LIFETIME_S * 1000);
      }
      const delivered = deliveredBy(workers, 2 * PER_WAVE);
      const accepted = server.accepted.length;
      await Promise.all([
        pushOrders(a, Array.from({ length: PER_WAVE }, (_, i) => `SO-A${wave}-${i}`)),
        pushOrders(b, Array.from({ length: PER_WAVE }, (_, i) => `SO-B${wave}-${i}`)),
      ]);
      await server.refreshArrived.promise;
      await until(`both instances waiting for a token (wave ${wave})`, () => workers.every((w) => w.inFlight > 0));
      expect(server.refreshes, `wave ${wave}: one refresh under way, everyone else waits for it`).to.equal(wave);
      expect(server.accepted.length, `wave ${wave}: nothing sent before the new token`).to.equal(accepted);
      server.gate.resolve();
      const counts = await delivered;
      counts.forEach((n, i) => (perInstance[i] = (perInstance[i] ?? 0) + n));
      if (wave === 1) expect(await probe, out.join('\n')).to.equal(0);
    }
    expect(perInstance.every((n) => n > 0), `deliveries per instance: ${perInstance.join(', ')}`).to.equal(true);

    const reused = [...server.presented].filter(([, n]) => n > 1);
    expect(reused, 'refresh tokens sent more than once').to.deep.equal([]);
    expect(server.refusedGrants).to.equal(0);
    expect(server.refreshes).to.equal(WAVES);
    expect(server.unauthorized).to.equal(0);

    const deliveries = await everything((page) => a.gateway.store.browse.deliveries({}, page));
    expect(deliveries).to.have.length(2 * WAVES * PER_WAVE);
    expect(deliveries.filter((d) => d.state !== 'delivered')).to.deep.equal([]);
    expect(new Set(server.accepted)).to.deep.equal(new Set(deliveries.map((d) => d.id)));
  });
});
