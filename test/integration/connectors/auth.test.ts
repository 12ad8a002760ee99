import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Agent, type Dispatcher } from 'undici';
import { buildSchemas, type ConnectorConfig } from '../../../src/config/schema.ts';
import { AuthError } from '../../../src/connectors/auth/errors.ts';
import { createAuthProvider, noTokenStore, type TokenStore } from '../../../src/connectors/auth/index.ts';
import {
  createDispatcher,
  httpRequest,
  NetworkError,
  TimeoutError,
  TlsError,
} from '../../../src/connectors/http-client.ts';
import type { AuthProvider, OutboundRequest } from '../../../src/connectors/types.ts';
import { authenticateToken } from '../../../src/inbound/soap/auth.ts';
import { Secret } from '../../../src/config/secret.ts';
import { Store } from '../../../src/store/index.ts';
import type { OAuthTokenRepository } from '../../../src/store/tokens.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';

// ------------------------------------------------------------------------------------------------
// Helpers: secrets, connector configs, local servers

const SECRETS = {
  BASIC_PASSWORD: 'basic-pa55word-Zq8',
  BEARER_TOKEN: 'static-bearer-token-Hy3k',
  API_KEY: 'api-key-value-Pw9x/+=',
  CLIENT_SECRET: 'client-secret-Vb7n&=?',
  SEED_REFRESH: 'seed-refresh-token-Kd2m',
  WS_PASSWORD: 'ws<pa&ss>"word\'',
  TLS_PASSPHRASE: 'client-key-passphrase-Rt5',
};

function connector(raw: Record<string, unknown>): ConnectorConfig {
  const env = { ...process.env, ...SECRETS };
  return buildSchemas({ env, baseDir: process.cwd() }).connector.parse({
    name: 'target',
    protocol: 'rest',
    url: 'http://127.0.0.1:1/',
    ...raw,
  });
}

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  form: URLSearchParams;
}

interface TestServer {
  url: string;
  requests: Received[];
  connections: number;
  close(): Promise<void>;
}

type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Received[] = [];
  const state = { connections: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, form: new URLSearchParams(body) };
      requests.push(received);
      void handler(received, res);
    });
  });
  server.on('connection', () => state.connections++);
  const url = await listen(server, 'http');
  return {
    url,
    requests,
    get connections() {
      return state.connections;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function request(url: string): OutboundRequest {
  return { method: 'POST', url: new URL(url), headers: { 'content-type': 'application/json' }, body: '{}' };
}

function basicOf(header: string | undefined): [string, string] {
  const decoded = Buffer.from((header ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** Everything an error could show: message, stack, inspect output, JSON. */
function errorText(err: unknown): string {
  return [String(err), (err as Error).stack ?? '', inspect(err, { depth: 5 }), JSON.stringify(err)].join('\n');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  expect.fail('expected a rejection');
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// ------------------------------------------------------------------------------------------------

describe('http client', () => {
  let agent: Dispatcher;
  afterEach(async () => {
    await agent?.close();
  });

  it('returns status, lower-case headers and the body, reusing one keep-alive connection', async () => {
    const target = await startServer((_req, res) => {
      res.writeHead(201, { 'X-Thing': 'a', 'Set-Cookie': ['c=1', 'd=2'] });
      res.end('created');
    });
    try {
      agent = createDispatcher(connector({ url: target.url, concurrency: 2 }));
      for (let i = 0; i < 3; i++) {
        const res = await httpRequest(agent, request(`${target.url}/x?i=${i}`), 5_000);
        expect(res.status).to.equal(201);
        expect(res.body).to.equal('created');
        expect(res.headers['x-thing']).to.equal('a');
        expect(res.headers['set-cookie']).to.equal('c=1, d=2');
        expect(res.durationMs).to.be.a('number').at.least(0);
      }
      expect(target.requests.map((r) => r.url)).to.deep.equal(['/x?i=0', '/x?i=1', '/x?i=2']);
      // Keep-alive: three requests, at most `concurrency` connections.
      expect(target.connections).to.be.within(1, 2);
    } finally {
      await target.close();
    }
  });

  it('opens at most `concurrency` connections per origin', async () => {
    const release = deferred();
    const target = await startServer((_req, res) => {
      void release.promise.then(() => res.end('ok'));
    });
    try {
      agent = createDispatcher(connector({ url: target.url, concurrency: 3 }));
      const all = Promise.all(Array.from({ length: 8 }, () => httpRequest(agent, request(target.url), 5_000)));
      // The eighth request cannot start before earlier ones finish: wait until three are in.
      while (target.requests.length < 3) await new Promise((r) => setImmediate(r));
      expect(target.requests).to.have.length(3);
      release.resolve();
      expect((await all).map((r) => r.status)).to.deep.equal(Array(8).fill(200));
      expect(target.connections).to.equal(3);
    } finally {
      await target.close();
    }
  });

  it('reads at most 64 KB of a response body', async () => {
    const target = await startServer((_req, res) => {
      res.writeHead(200);
      res.end('x'.repeat(300 * 1024));
    });
    try {
      agent = createDispatcher(connector({ url: target.url }));
      const res = await httpRequest(agent, request(target.url), 5_000);
      expect(res.body.length).to.equal(64 * 1024);
    } finally {
      await target.close();
    }
  });

  it('throws TimeoutError when no answer comes in time, NetworkError when the connection fails or is aborted', async () => {
    const silent = await startServer(() => undefined);
    const refused = await startServer(() => undefined);
    const refusedUrl = refused.url;
    await refused.close();
    try {
      agent = createDispatcher(connector({ url: silent.url }));
      const timeout = await rejection(httpRequest(agent, request(silent.url), 150));
      expect(timeout).to.be.instanceOf(TimeoutError);
      expect((timeout as TimeoutError).errorClass).to.equal('timeout');

      const network = await rejection(httpRequest(agent, request(refusedUrl), 5_000));
      expect(network).to.be.instanceOf(NetworkError);
      expect((network as NetworkError).errorClass).to.equal('network');
      expect((network as NetworkError).code).to.equal('ECONNREFUSED');

      const controller = new AbortController();
      const pending = httpRequest(agent, request(silent.url), 10_000, controller.signal);
      controller.abort();
      const aborted = await rejection(pending);
      expect(aborted).to.be.instanceOf(NetworkError);
      expect((aborted as NetworkError).aborted).to.equal(true);
    } finally {
      await silent.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------

describe('static auth providers', () => {
  let target: TestServer;
  let agent: Dispatcher;
  const deps = { tokenStore: noTokenStore, now: () => Date.now(), dispatcherFor: () => agent };

  before(async () => {
    target = await startServer((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    agent = new Agent();
  });
  after(async () => {
    await agent.close();
    await target.close();
  });

  async function sendWith(auth: Record<string, unknown>, url = `${target.url}/orders?a=1`): Promise<[AuthProvider, Received]> {
    const provider = createAuthProvider(connector({ url: target.url, auth }), deps);
    const req = request(url);
    await provider.authorize(req);
    await httpRequest(agent, req, 5_000);
    const received = target.requests.at(-1);
    if (!received) expect.fail('no request received');
    return [provider, received];
  }

  it('none adds nothing', async () => {
    const [provider, received] = await sendWith({ type: 'none' });
    expect(received.headers.authorization).to.equal(undefined);
    expect(received.url).to.equal('/orders?a=1');
    expect(await provider.invalidate()).to.equal(false);
    expect(provider.soapSecurityHeader(Date.now())).to.equal(null);
  });

  it('basic sets Authorization: Basic with the username and password', async () => {
    const [provider, received] = await sendWith({ type: 'basic', username: 'gw-user', password: '${env:BASIC_PASSWORD}' });
    expect(received.headers.authorization).to.match(/^Basic /);
    expect(basicOf(received.headers.authorization)).to.deep.equal(['gw-user', SECRETS.BASIC_PASSWORD]);
    expect(await provider.invalidate()).to.equal(false);
  });

  it('bearer sets the static token, replacing an Authorization header of any spelling', async () => {
    const provider = createAuthProvider(connector({ url: target.url, auth: { type: 'bearer', token: '${env:BEARER_TOKEN}' } }), deps);
    const req = request(target.url);
    req.headers.AUTHORIZATION = 'stale';
    await provider.authorize(req);
    expect(req.headers).to.deep.equal({ 'content-type': 'application/json', Authorization: `Bearer ${SECRETS.BEARER_TOKEN}` });
    await httpRequest(agent, req, 5_000);
    expect(target.requests.at(-1)?.headers.authorization).to.equal(`Bearer ${SECRETS.BEARER_TOKEN}`);
    expect(await provider.invalidate()).to.equal(false);
  });

  it('api-key in a header (default X-API-Key, or a configured name)', async () => {
    const [, byDefault] = await sendWith({ type: 'api-key', key: '${env:API_KEY}' });
    expect(byDefault.headers['x-api-key']).to.equal(SECRETS.API_KEY);
    const [, named] = await sendWith({ type: 'api-key', key: '${env:API_KEY}', name: 'Ocp-Apim-Subscription-Key' });
    expect(named.headers['ocp-apim-subscription-key']).to.equal(SECRETS.API_KEY);
    expect(named.headers['x-api-key']).to.equal(undefined);
  });

  it('api-key in a query parameter, keeping the other parameters', async () => {
    const [provider, received] = await sendWith({ type: 'api-key', key: '${env:API_KEY}', in: 'query', name: 'apikey' });
    const url = new URL(received.url, target.url);
    expect(url.searchParams.get('a')).to.equal('1');
    expect(url.searchParams.get('apikey')).to.equal(SECRETS.API_KEY);
    expect(received.headers['x-api-key']).to.equal(undefined);
    expect(await provider.invalidate()).to.equal(false);
  });
});

// ------------------------------------------------------------------------------------------------

describe('oauth2 client credentials', () => {
  let tokenServer: TestServer;
  let agent: Dispatcher;
  let clock: number;
  let answer: (req: Received, res: ServerResponse) => void;
  let issued: number;

  const deps = () => ({ tokenStore: noTokenStore, now: () => clock, dispatcherFor: () => agent });
  const provider = (auth: Record<string, unknown> = {}) =>
    createAuthProvider(
      connector({
        auth: {
          type: 'oauth2-client-credentials',
          tokenUrl: `${tokenServer.url}/oauth/token`,
          clientId: 'gw-client',
          clientSecret: '${env:CLIENT_SECRET}',
          ...auth,
        },
      }),
      deps(),
    );
  const authorized = async (p: AuthProvider): Promise<string | undefined> => {
    const req = request('http://target.invalid/');
    await p.authorize(req);
    return req.headers.Authorization;
  };

  beforeEach(async () => {
    clock = 1_700_000_000_000;
    issued = 0;
    answer = (_req, res) => json(res, 200, { access_token: `access-${++issued}`, token_type: 'Bearer', expires_in: 3600 });
    tokenServer = await startServer((req, res) => answer(req, res));
    agent = new Agent();
  });
  afterEach(async () => {
    await agent.close();
    await tokenServer.close();
  });

  it('fetches one token for 20 concurrent authorize() calls', async () => {
    const p = provider();
    const headers = await Promise.all(Array.from({ length: 20 }, () => authorized(p)));
    expect(tokenServer.requests).to.have.length(1);
    expect(new Set(headers)).to.deep.equal(new Set(['Bearer access-1']));
  });

  it('reuses the token until expires_in minus refreshBefore, then fetches a new one', async () => {
    const p = provider({ refreshBefore: '60s' });
    expect(await authorized(p)).to.equal('Bearer access-1');
    clock += 3_540_000 - 1;
    expect(await authorized(p)).to.equal('Bearer access-1');
    expect(tokenServer.requests).to.have.length(1);
    clock += 1;
    const again = await Promise.all([authorized(p), authorized(p), authorized(p)]);
    expect(again).to.deep.equal(['Bearer access-2', 'Bearer access-2', 'Bearer access-2']);
    expect(tokenServer.requests).to.have.length(2);
  });

  it('invalidate() returns true and forces exactly one new fetch', async () => {
    const p = provider();
    expect(await authorized(p)).to.equal('Bearer access-1');
    expect(await p.invalidate()).to.equal(true);
    const after = await Promise.all(Array.from({ length: 5 }, () => authorized(p)));
    expect(new Set(after)).to.deep.equal(new Set(['Bearer access-2']));
    expect(await authorized(p)).to.equal('Bearer access-2');
    expect(tokenServer.requests).to.have.length(2);
  });

  it('authenticates the client by HTTP Basic by default, form-encoding id and secret', async () => {
    await authorized(provider({ scope: 'orders:write orders:read', audience: 'https://api.example/' }));
    const [req] = tokenServer.requests;
    expect(req?.method).to.equal('POST');
    expect(req?.url).to.equal('/oauth/token');
    expect(req?.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    const [id, secret] = basicOf(req?.headers.authorization);
    expect(decodeURIComponent(id)).to.equal('gw-client');
    expect(decodeURIComponent(secret.replace(/\+/g, ' '))).to.equal(SECRETS.CLIENT_SECRET);
    expect(Object.fromEntries(req?.form ?? [])).to.deep.equal({
      grant_type: 'client_credentials',
      scope: 'orders:write orders:read',
      audience: 'https://api.example/',
    });
  });

  it('sends client_id and client_secret in the body when clientAuth is body', async () => {
    await authorized(provider({ clientAuth: 'body' }));
    const [req] = tokenServer.requests;
    expect(req?.headers.authorization).to.equal(undefined);
    expect(Object.fromEntries(req?.form ?? [])).to.deep.equal({
      grant_type: 'client_credentials',
      client_id: 'gw-client',
      client_secret: SECRETS.CLIENT_SECRET,
    });
  });

  for (const [status, body] of [
    [400, { error: 'invalid_client', error_description: `secret ${SECRETS.CLIENT_SECRET} is wrong` }],
    [500, `internal error while checking ${SECRETS.CLIENT_SECRET}`],
  ] as const) {
    it(`turns a token endpoint ${status} into an auth error without the secret`, async () => {
      answer = (_req, res) => (typeof body === 'string' ? (res.writeHead(status), res.end(body)) : json(res, status, body));
      const p = provider({ clientAuth: 'body' });
      const err = await rejection(authorized(p));
      expect(err).to.be.instanceOf(AuthError);
      const authErr = err as AuthError;
      expect(authErr.errorClass).to.equal('auth');
      expect(authErr.status).to.equal(status);
      expect(authErr.message).to.include(String(status));
      if (status === 400) {
        expect(authErr.message).to.include('invalid_client');
        expect(authErr.oauthError).to.equal('invalid_client');
        expect(authErr.retryable).to.equal(false);
      } else {
        expect(authErr.retryable).to.equal(true);
      }
      expect(errorText(err)).to.not.include(SECRETS.CLIENT_SECRET);
      expect(errorText(err)).to.not.include('client-secret');
      // The failure is not cached: the next call asks again.
      answer = (_req, res) => json(res, 200, { access_token: 'recovered', token_type: 'bearer', expires_in: 60 });
      expect(await authorized(p)).to.equal('Bearer recovered');
    });
  }

  it('rejects an answer without access_token, quoting nothing from it', async () => {
    answer = (_req, res) => json(res, 200, { token: SECRETS.CLIENT_SECRET });
    const err = await rejection(authorized(provider()));
    expect(err).to.be.instanceOf(AuthError);
    expect((err as AuthError).message).to.include('without an access_token');
    expect(errorText(err)).to.not.include(SECRETS.CLIENT_SECRET);
  });

  it('lets a caller stop waiting without cancelling the shared fetch', async () => {
    const release = deferred();
    answer = (_req, res) => {
      void release.promise.then(() => json(res, 200, { access_token: 'shared', expires_in: 3600 }));
    };
    const p = provider();
    const controller = new AbortController();
    const req = request('http://target.invalid/');
    const first = p.authorize(req, controller.signal);
    const second = authorized(p);
    controller.abort(new Error('shutting down'));
    expect(String(await rejection(first))).to.include('shutting down');
    release.resolve();
    expect(await second).to.equal('Bearer shared');
    expect(tokenServer.requests).to.have.length(1);
  });
});

// ------------------------------------------------------------------------------------------------

describe(`oauth2 refresh token with rotation (${backendName()})`, () => {
  const KEY = 'token-encryption-key-for-tests';
  /** A refresh lease: the connector's timeout (default 30 s) plus the margin of 10 s. */
  const LEASE_MS = 40_000;
  let db: TestDatabase;
  let store: Store;
  let repo: OAuthTokenRepository;
  let tokenServer: TestServer;
  let agent: Dispatcher;
  let clock: number;
  /** The fake authorization server: accepts only the current refresh token and rotates it on use. */
  let current: string;
  let issued: number;
  let rotate: boolean;
  /** While set, the token server holds its answers until it resolves. */
  let hold: Promise<void> | null;
  /** The clock when each token request arrived. */
  let arrivedAt: number[];
  let arrived: { promise: Promise<void>; resolve: () => void };

  const config = (overrides: Record<string, unknown> = {}) =>
    connector({
      name: 'crm',
      auth: {
        type: 'oauth2-refresh-token',
        tokenUrl: `${tokenServer.url}/token`,
        clientId: 'gw-public-client',
        refreshToken: '${env:SEED_REFRESH}',
        ...overrides,
      },
    });
  const provider = (tokenStore: TokenStore = repo, overrides: Record<string, unknown> = {}, sleep?: (ms: number) => Promise<void>) =>
    createAuthProvider(config(overrides), { tokenStore, now: () => clock, dispatcherFor: () => agent, ...(sleep ? { sleep } : {}) });
  const authorizedRequest = async (p: AuthProvider): Promise<OutboundRequest> => {
    const req = request('http://target.invalid/');
    await p.authorize(req);
    return req;
  };
  const authorized = async (p: AuthProvider): Promise<string | undefined> => (await authorizedRequest(p)).headers.Authorization;
  const presented = () => tokenServer.requests.map((r) => r.form.get('refresh_token'));
  /** The repository with some of its methods replaced. */
  const storeWith = (overrides: Partial<TokenStore>): TokenStore => ({
    holder: repo.holder,
    read: (c) => repo.read(c),
    lease: (c, o, now, until) => repo.lease(c, o, now, until),
    save: (c, o, v, t) => repo.save(c, o, v, t),
    release: (c, o) => repo.release(c, o),
    ...overrides,
  });
  /** A pause that moves the test's clock instead of waiting, and counts what was slept. */
  const slept: number[] = [];
  const clockSleep = async (ms: number): Promise<void> => {
    slept.push(ms);
    clock += ms;
  };

  beforeEach(async () => {
    db = createTestDatabase();
    store = new Store({ url: db.url, schema: db.schema });
    await store.migrate();
    repo = store.oauthTokens(KEY, { now: () => clock });
    clock = 1_700_000_000_000;
    current = SECRETS.SEED_REFRESH;
    issued = 0;
    rotate = true;
    hold = null;
    arrivedAt = [];
    arrived = deferred();
    slept.length = 0;
    tokenServer = await startServer(async (req, res) => {
      arrivedAt.push(clock);
      arrived.resolve();
      if (hold) await hold;
      if (req.form.get('grant_type') !== 'refresh_token' || req.form.get('refresh_token') !== current) {
        json(res, 400, { error: 'invalid_grant', error_description: `refresh token ${req.form.get('refresh_token')} is not valid` });
        return;
      }
      issued++;
      if (rotate) current = `rotated-refresh-${issued}-Xk${issued * 7919}`;
      json(res, 200, {
        access_token: `access-${issued}`,
        token_type: 'Bearer',
        expires_in: 600,
        ...(rotate ? { refresh_token: current } : {}),
      });
    });
    agent = new Agent();
  });
  afterEach(async () => {
    await agent.close();
    await tokenServer.close();
    await store.close();
    await db.dispose();
  });

  it('persists the rotated refresh token and the access token, encrypted, before using the access token', async () => {
    const p = provider();
    expect(await authorized(p)).to.equal('Bearer access-1');
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH]);
    const form = tokenServer.requests[0]?.form;
    expect(form?.get('grant_type')).to.equal('refresh_token');
    expect(form?.get('client_id')).to.equal('gw-public-client');

    // Encrypted at rest: only the table shows what is stored (read through the test's own connection).
    const rows = await db.tables()('oauth_tokens').select();
    expect(rows).to.have.length(1);
    expect(rows[0].connector).to.equal('crm');
    expect(Number(rows[0].updated_at)).to.equal(clock);
    for (const column of ['token', 'access_token']) {
      const stored = String(rows[0][column]);
      expect(stored).to.match(/^v1:[A-Za-z0-9+/]+=*$/);
      for (const plain of [current, 'rotated-refresh', 'access-1', SECRETS.SEED_REFRESH]) {
        expect(stored).to.not.include(plain);
        expect(Buffer.from(stored.slice(3), 'base64').toString('latin1')).to.not.include(plain);
      }
    }
    // The access token's ciphertext is bound to its column: moved to the refresh token's, it does not decrypt.
    await db.tables()('oauth_tokens').where({ connector: 'crm' }).update({ token: rows[0].access_token });
    expect((await repo.read('crm'))?.refreshToken).to.equal(null);
    await db.tables()('oauth_tokens').where({ connector: 'crm' }).update({ token: rows[0].token });
    expect(await repo.read('crm')).to.deep.equal({
      refreshToken: current,
      access: { token: 'access-1', fetchedAt: clock, expiresInMs: 600_000 },
      version: 1,
      lease: null,
    });
  });

  it("names the instance in its refresh lease, so the row says which instance is refreshing", async () => {
    const instanceRepo = store.oauthTokens(KEY, { now: () => clock, holder: 'gw-7-abc' });
    const answer = deferred();
    hold = answer.promise;
    const pending = authorized(provider(instanceRepo));
    await arrived.promise;
    expect((await repo.read('crm'))?.lease?.owner).to.match(/^gw-7-abc\/[0-9a-f]{8}$/);
    answer.resolve();
    expect(await pending).to.equal('Bearer access-1');
  });

  it('does not use the new access token until the rotated refresh token is saved', async () => {
    const saveCalled = deferred<string>();
    const release = deferred();
    let done = false;
    const slowStore = storeWith({
      save: async (c, o, v, tokens) => {
        saveCalled.resolve(tokens.refreshToken);
        await release.promise;
        return repo.save(c, o, v, tokens);
      },
    });
    const p = provider(slowStore);
    const pending = authorized(p).then((h) => {
      done = true;
      return h;
    });
    expect(await saveCalled.promise).to.equal(current);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(done).to.equal(false);
    release.resolve();
    expect(await pending).to.equal('Bearer access-1');
    expect((await repo.read('crm'))?.refreshToken).to.equal(current);
  });

  it('fails without using the token when saving fails, keeps the lease, and saves the rotated token on the next refresh', async () => {
    let failSave = true;
    const flaky = storeWith({
      save: async (c, o, v, tokens) => {
        if (failSave) throw new Error(`disk full while writing ${tokens.refreshToken}`);
        return repo.save(c, o, v, tokens);
      },
    });
    const p = provider(flaky);
    const req = request('http://target.invalid/');
    const err = await rejection(p.authorize(req));
    expect(err).to.be.instanceOf(AuthError);
    expect((err as AuthError).message).to.include('could not be saved');
    expect((err as AuthError).message).to.not.include('rotated-refresh');
    expect(req.headers.Authorization).to.equal(undefined);
    const rotatedButUnsaved = current;
    // The lease stays taken until it runs out: another instance would send the token just rotated away.
    const held = await repo.read('crm');
    expect(held?.lease?.until).to.equal(clock + LEASE_MS);
    expect(held?.refreshToken).to.equal(null);
    const waiting = deferred();
    const resume = deferred();
    const other = provider(repo, {}, async () => {
      waiting.resolve();
      await resume.promise;
    });
    const fromOther = authorized(other);
    await waiting.promise;
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH]);

    failSave = false;
    expect(await authorized(p)).to.equal('Bearer access-2');
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH, rotatedButUnsaved]);
    expect(await repo.read('crm')).to.include({ refreshToken: current, version: 1, lease: null });
    // The instance that waited uses what was saved.
    resume.resolve();
    expect(await fromOther).to.equal('Bearer access-2');
    expect(tokenServer.requests).to.have.length(2);
  });

  it('a new instance (restart) uses the saved access token, then refreshes with the saved refresh token', async () => {
    expect(await authorized(provider())).to.equal('Bearer access-1');
    const rotated = current;
    await store.close();
    store = new Store({ url: db.url, schema: db.schema });
    repo = store.oauthTokens(KEY);

    const restarted = provider();
    expect(await authorized(restarted)).to.equal('Bearer access-1');
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH]);
    expect(await restarted.invalidate()).to.equal(true);
    expect(await authorized(restarted)).to.equal('Bearer access-2');
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH, rotated]);
    expect((await repo.read('crm'))?.refreshToken).to.equal(current);
  });

  it('reuses the access token until expires_in minus refreshBefore and refreshes after', async () => {
    rotate = false;
    const p = provider(repo, { refreshBefore: '30s' });
    expect(await Promise.all([authorized(p), authorized(p), authorized(p)])).to.deep.equal(Array(3).fill('Bearer access-1'));
    clock += 570_000 - 1;
    expect(await authorized(p)).to.equal('Bearer access-1');
    // Another instance's view of the shared token is the same: still good, then due.
    expect(await authorized(provider(repo, { refreshBefore: '30s' }))).to.equal('Bearer access-1');
    clock += 1;
    expect(await authorized(p)).to.equal('Bearer access-2');
    expect(await p.invalidate()).to.equal(true);
    expect(await authorized(p)).to.equal('Bearer access-3');
    expect(presented()).to.deep.equal(Array(3).fill(SECRETS.SEED_REFRESH));
    // Without rotation the refresh token stays the configured one.
    expect(await repo.read('crm')).to.include({ refreshToken: SECRETS.SEED_REFRESH, version: 3 });
  });

  it('refreshes once for two instances asking at once: the other waits for the token saved and uses it', async () => {
    const gate = deferred();
    hold = gate.promise;
    const secondStore = new Store({ url: db.url, schema: db.schema });
    try {
      const instanceA = provider();
      // Instance B has a connection of its own, and its pauses are counted (and kept short).
      const waiting = deferred();
      const pauses: number[] = [];
      const instanceB = provider(secondStore.oauthTokens(KEY), {}, async (ms) => {
        if (pauses.push(ms) === 6) waiting.resolve();
        await new Promise((r) => setImmediate(r));
      });
      const fromA = Promise.all(Array.from({ length: 20 }, () => authorized(instanceA)));
      await arrived.promise;
      const fromB = Promise.all(Array.from({ length: 20 }, () => authorized(instanceB)));
      await waiting.promise;
      expect(tokenServer.requests, 'B does not refresh while A does').to.have.length(1);
      gate.resolve();
      const headers = [...(await fromA), ...(await fromB)];
      expect(new Set(headers)).to.deep.equal(new Set(['Bearer access-1']));
      expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH]);
      // Growing pauses, capped.
      expect(pauses.slice(0, 6)).to.deep.equal([20, 40, 80, 160, 250, 250]);
      expect(await repo.read('crm')).to.include({ refreshToken: current, version: 1, lease: null });
    } finally {
      await secondStore.close();
    }
  });

  it('a lease left by a dead instance runs out: the next refresh waits for that, then takes it', async () => {
    const leasedAt = clock;
    expect(await repo.lease('crm', 'dead-instance', clock, clock + LEASE_MS)).to.equal(true);
    const p = provider(repo, {}, clockSleep);
    expect(await authorized(p)).to.equal('Bearer access-1');
    // Nothing was sent before the lease ran out, and the wait ended within a pause of it.
    expect(arrivedAt).to.have.length(1);
    expect(arrivedAt[0]).to.be.at.least(leasedAt + LEASE_MS).and.below(leasedAt + LEASE_MS + 250);
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH]);
    expect(await repo.read('crm')).to.include({ refreshToken: current, version: 1, lease: null });
  });

  it('waits for another refresh at most its lease, then fails as a timeout (retried, not parked)', async () => {
    expect(await repo.lease('crm', 'stuck-instance', clock, clock + 3_600_000)).to.equal(true);
    const started = clock;
    const err = await rejection(authorized(provider(repo, {}, clockSleep)));
    expect(err).to.be.instanceOf(TimeoutError);
    expect((err as TimeoutError).errorClass).to.equal('timeout');
    expect(clock - started).to.be.at.least(LEASE_MS).and.below(LEASE_MS + 500);
    expect(tokenServer.requests).to.have.length(0);
    expect((await repo.read('crm'))?.lease?.owner).to.equal('stuck-instance');
  });

  it('after invalid_grant, uses the token a holder saved after its lease ran out under us', async () => {
    const instanceA = provider();
    // B takes the lease and reads the store; then B stalls past its lease, A refreshes and saves,
    // and only then does B send the token it read: the one case where a stale token still goes out.
    let reads = 0;
    const stalling = storeWith({
      read: async (c) => {
        const seen = await repo.read(c);
        if (++reads === 2) {
          clock += LEASE_MS;
          expect(await authorized(instanceA)).to.equal('Bearer access-1');
        }
        return seen;
      },
    });
    const instanceB = provider(stalling);
    expect(await authorized(instanceB)).to.equal('Bearer access-1');
    // B refused by the server, then used what A saved without refreshing again.
    expect(presented()).to.deep.equal([SECRETS.SEED_REFRESH, SECRETS.SEED_REFRESH]);
    expect(issued).to.equal(1);
    expect(await repo.read('crm')).to.include({ refreshToken: current, version: 1, lease: null });
  });

  it('gives up with an auth error when invalid_grant comes for the newest token, and releases the lease', async () => {
    current = 'something-else-entirely';
    const err = await rejection(authorized(provider(repo, { clientSecret: '${env:CLIENT_SECRET}' })));
    expect(err).to.be.instanceOf(AuthError);
    expect((err as AuthError).oauthError).to.equal('invalid_grant');
    expect((err as AuthError).status).to.equal(400);
    expect((err as AuthError).message).to.include('400').and.include('invalid_grant');
    expect(tokenServer.requests).to.have.length(1);
    // With a client secret, the client authenticates by Basic and the body carries no client_id.
    const [id] = basicOf(tokenServer.requests[0]?.headers.authorization);
    expect(id).to.equal('gw-public-client');
    expect(tokenServer.requests[0]?.form.get('client_id')).to.equal(null);
    for (const secret of [SECRETS.SEED_REFRESH, SECRETS.CLIENT_SECRET]) expect(errorText(err)).to.not.include(secret);
    expect((await repo.read('crm'))?.lease).to.equal(null);
  });

  it('a 401 to a request sent with an older access token keeps the newer one', async () => {
    const p = provider();
    const first = await authorizedRequest(p);
    expect(await p.invalidate(first)).to.equal(true);
    const second = await authorizedRequest(p);
    expect(second.headers.Authorization).to.equal('Bearer access-2');
    // The 401 to `first` arrives late: access-2 stays.
    expect(await p.invalidate(first)).to.equal(true);
    expect(await authorized(p)).to.equal('Bearer access-2');
    expect(tokenServer.requests).to.have.length(2);
    expect(await p.invalidate(second)).to.equal(true);
    expect(await authorized(p)).to.equal('Bearer access-3');
    expect(tokenServer.requests).to.have.length(3);
  });

  it('a 401 in one instance moves the others to the new token without another refresh', async () => {
    const instanceA = provider();
    const instanceB = provider();
    const sentA = await authorizedRequest(instanceA);
    const sentB = await authorizedRequest(instanceB);
    expect([sentA.headers.Authorization, sentB.headers.Authorization]).to.deep.equal(['Bearer access-1', 'Bearer access-1']);
    expect(tokenServer.requests).to.have.length(1);
    await instanceA.invalidate(sentA);
    expect(await authorized(instanceA)).to.equal('Bearer access-2');
    await instanceB.invalidate(sentB);
    expect(await authorized(instanceB)).to.equal('Bearer access-2');
    expect(tokenServer.requests).to.have.length(2);
    // A token a target refused is not taken from the store again: B refreshes.
    const refused = await authorizedRequest(instanceB);
    await instanceB.invalidate(refused);
    expect(await authorized(instanceB)).to.equal('Bearer access-3');
    expect(presented()).to.have.length(3);
    expect(new Set(presented()).size).to.equal(3);
  });

  it('treats tokens encrypted under another key as absent and falls back to the configured token', async () => {
    expect(await authorized(provider())).to.equal('Bearer access-1');
    const unreadable: string[] = [];
    const otherKey = store.oauthTokens('a-different-key', { onUnreadable: (c) => unreadable.push(c) });
    expect(await otherKey.read('crm')).to.deep.equal({ refreshToken: null, access: null, version: 1, lease: null });
    expect(unreadable).to.deep.equal(['crm']);
    // A row copied to another connector does not decrypt either (the name is bound to the ciphertext).
    // No API copies ciphertext between connectors: the test's own connection writes the row.
    const row = await db.tables()('oauth_tokens').where({ connector: 'crm' }).first();
    await db.tables()('oauth_tokens').insert({ ...row, connector: 'other' });
    expect(await repo.read('other')).to.include({ refreshToken: null, access: null });

    current = SECRETS.SEED_REFRESH; // the server was reset to the configured token
    expect(await authorized(provider(otherKey))).to.equal('Bearer access-2');
    expect(presented().at(-1)).to.equal(SECRETS.SEED_REFRESH);
    expect((await otherKey.read('crm'))?.refreshToken).to.equal(current);
  });
});

// ------------------------------------------------------------------------------------------------

describe('ws-security', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', processEntities: true, parseTagValue: false, trimValues: false });
  const user = 'om <user> & "co"';
  const wsProvider = (passwordType: 'text' | 'digest', soapVersion: '1.1' | '1.2' = '1.1') =>
    createAuthProvider(
      connector({
        protocol: 'soap',
        soap: { version: soapVersion },
        auth: { type: 'ws-security', username: user, password: '${env:WS_PASSWORD}', passwordType },
      }),
      { tokenStore: noTokenStore, now: () => 0, dispatcherFor: () => expect.fail('no token endpoint') },
    );
  type Node = Record<string, unknown>;
  const parse = (xml: string): { security: Node; token: Node } => {
    expect(XMLValidator.validate(xml)).to.equal(true);
    const security = (parser.parse(xml) as Node)['wsse:Security'] as Node;
    return { security, token: security['wsse:UsernameToken'] as Node };
  };
  const text = (node: unknown): string => (typeof node === 'string' ? node : String((node as Node)['#text']));

  it('adds nothing to the HTTP request and supplies a PasswordText UsernameToken with mustUnderstand', async () => {
    const p = wsProvider('text');
    const req = request('http://target.invalid/soap');
    await p.authorize(req);
    expect(req.headers).to.deep.equal({ 'content-type': 'application/json' });
    expect(await p.invalidate()).to.equal(false);
    const xml = p.soapSecurityHeader(Date.UTC(2025, 0, 2, 3, 4, 5));
    if (xml === null) expect.fail('no header');
    expect(xml).to.not.include(SECRETS.WS_PASSWORD); // escaped, never raw
    const { security, token } = parse(xml);
    expect(security['@soapenv:mustUnderstand']).to.equal('1');
    expect(security['@xmlns:soapenv']).to.equal('http://schemas.xmlsoap.org/soap/envelope/');
    expect(security['@xmlns:wsse']).to.equal('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd');
    expect(text(token['wsse:Username'])).to.equal(user);
    expect(xml).to.include('<wsse:Username>om &lt;user&gt; &amp; "co"</wsse:Username>');
    const password = token['wsse:Password'] as Node;
    expect(password['@Type']).to.equal('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText');
    expect(text(password)).to.equal(SECRETS.WS_PASSWORD);
    expect(token['wsse:Nonce']).to.equal(undefined);
  });

  it('supplies a PasswordDigest with a fresh 16-byte Nonce and Created, verifiable independently', () => {
    const now = Date.UTC(2025, 5, 1, 12, 0, 0, 250);
    const p = wsProvider('digest', '1.2');
    const first = p.soapSecurityHeader(now);
    const second = p.soapSecurityHeader(now);
    if (first === null || second === null) expect.fail('no header');
    const read = (xml: string) => {
      expect(XMLValidator.validate(xml)).to.equal(true);
      const security = (parser.parse(xml) as Node)['wsse:Security'] as Node;
      const token = security['wsse:UsernameToken'] as Node;
      return {
        security,
        username: text(token['wsse:Username']),
        type: (token['wsse:Password'] as Node)['@Type'],
        digest: text(token['wsse:Password']),
        nonce: text(token['wsse:Nonce']),
        created: text(token['wsu:Created']),
      };
    };
    const a = read(first);
    const b = read(second);
    expect(a.security['@soapenv:mustUnderstand']).to.equal('1');
    expect(a.security['@xmlns:soapenv']).to.equal('http://www.w3.org/2003/05/soap-envelope');
    expect(a.username).to.equal(user);
    expect(a.type).to.equal('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest');
    expect(a.created).to.equal('2025-06-01T12:00:00.250Z');
    expect(Buffer.from(a.nonce, 'base64')).to.have.length(16);
    expect(a.nonce).to.not.equal(b.nonce);
    expect(first).to.not.include(SECRETS.WS_PASSWORD);
    expect(first).to.not.include('ws&lt;pa');

    const digestOf = (token: { nonce: string; created: string }) =>
      createHash('sha1')
        .update(Buffer.concat([Buffer.from(token.nonce, 'base64'), Buffer.from(token.created), Buffer.from(SECRETS.WS_PASSWORD)]))
        .digest('base64');
    expect(a.digest).to.equal(digestOf(a));
    expect(b.digest).to.equal(digestOf(b));

    // And the gateway's own inbound verifier accepts the token.
    const result = authenticateToken(
      { methods: ['ws-security'], passwordTypes: ['digest'], createdWindowMs: 300_000, users: [{ username: user, password: new Secret(SECRETS.WS_PASSWORD) }] },
      { username: a.username, password: a.digest, passwordType: 'digest', nonce: a.nonce, created: a.created },
      undefined,
      now,
    );
    expect(result.ok).to.equal(true);
  });
});

// ------------------------------------------------------------------------------------------------

describe('mTLS', function () {
  this.timeout(30_000);
  let dir: string;
  let serverUrl: string;
  let close: () => Promise<void>;
  const agents: Dispatcher[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omgw-mtls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    openssl('req', '-x509', ...ec, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=omgw test CA');
    openssl('req', ...ec, '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext');
    openssl('req', ...ec, '-keyout', 'client.key', '-passout', `pass:${SECRETS.TLS_PASSPHRASE}`, '-out', 'client.csr', '-subj', '/CN=omgw-client');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext');

    const server = createHttpsServer(
      {
        key: readFileSync(join(dir, 'server.key')),
        cert: readFileSync(join(dir, 'server.crt')),
        ca: readFileSync(join(dir, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(`hello ${peer.subject?.CN ?? '?'}`);
      },
    );
    serverUrl = await listen(server, 'https');
    close = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (tls: Record<string, unknown>) => {
    const agent = createDispatcher(connector({ url: serverUrl, tls }), { baseDir: dir });
    agents.push(agent);
    return httpRequest(agent, { method: 'GET', url: new URL(`${serverUrl}/ping`), headers: {}, body: null }, 5_000);
  };

  it('is accepted with the configured client certificate, encrypted key and CA', async () => {
    const res = await send({ ca: 'ca.crt', cert: 'client.crt', key: 'client.key', passphrase: '${env:TLS_PASSPHRASE}' });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('hello omgw-client');
  });

  it('is rejected by the server without a client certificate, as a TLS configuration error', async () => {
    const err = await rejection(send({ ca: join(dir, 'ca.crt') }));
    expect(err).to.be.instanceOf(TlsError);
    expect((err as TlsError).errorClass).to.equal('config');
    expect((err as TlsError).message).to.include('client certificate');
  });

  it('refuses a server certificate from an unknown CA unless rejectUnauthorized is false', async () => {
    const tls = { cert: 'client.crt', key: 'client.key', passphrase: '${env:TLS_PASSPHRASE}' };
    const err = await rejection(send(tls));
    expect(err).to.be.instanceOf(TlsError);
    expect((err as TlsError).message).to.match(/certificate .* is not trusted/i);
    expect(errorText(err)).to.not.include(SECRETS.TLS_PASSPHRASE);
    const res = await send({ ...tls, rejectUnauthorized: false });
    expect(res.status).to.equal(200);
  });

  it('reads certificate files once, when the dispatcher is created', () => {
    expect(() => createDispatcher(connector({ url: serverUrl, tls: { ca: 'missing.crt' } }), { baseDir: dir })).to.throw(/ENOENT/);
  });
});
