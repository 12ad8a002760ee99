import { expect } from 'chai';
import { Router } from '@koa/router';
import { registerAdminApi, type AdminApiDeps } from '../../../src/admin/api.ts';
import { openApiDocument } from '../../../src/admin/openapi.ts';
import { errorBody } from '../../../src/admin/responses.ts';
import { ADMIN_ROUTES } from '../../../src/admin/routes.ts';
import { backendName } from '../../helpers/backend.ts';
import { rmSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import type { PageRequest } from '../../../src/store/browse.ts';
import { gatewayYaml, SCHEDULES_OFF, startGateway, TEST_ENV, writeConfig, type TestGateway } from '../../helpers/gateway.ts';
import { Seeder } from '../../helpers/seed.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { everything } from '../../helpers/pages.ts';

const TOKEN = 'admin-token-3c9e7f1a5b';
const ADMIN = (schedules = SCHEDULES_OFF) => `${gatewayYaml('', { schedules })}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n  maxBodySize: 64KB\n`;

interface Reply {
  status: number;
  json: Record<string, unknown> & { code?: string; message?: string; items?: Array<Record<string, unknown>>; nextCursor?: string | null };
  headers: Headers;
}

describe(`admin API (${backendName()})`, () => {
  let gw: TestGateway;
  let target: FakeTarget;
  let seed: Seeder;
  const ids: Record<string, string> = {};

  async function api(method: string, path: string, opts: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${gw.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: Reply['json'] = {};
    try {
      json = text ? (JSON.parse(text) as Reply['json']) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json, headers: res.headers };
  }

  before(async () => {
    target = await new FakeTarget().start();
    target.answer = (req) => (req.path === '/crm' ? { status: 200, body: '{"ok":true}' } : { status: 404 });
    gw = await startGateway(
      {
        // The poller reads through a Fusion that refuses connections: its runs fail, and say why.
        gateway: ADMIN(`${SCHEDULES_OFF}  poller:\n    connector: fusion\n`),
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${target.url}/crm\n`,
          'fusion.yaml': 'protocol: rest\nkind: oracle-fusion\nurl: http://127.0.0.1:9/fusion\ntimeout: 2s\n',
          'otm.yaml': 'protocol: soap\nurl: http://127.0.0.1:9/otm\n',
          'shipbob.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/shipbob\npath: /2026-01/order\nrateLimit:\n  requests: 150\n  per: 1m\n',
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n",
      },
      { env: { TEST_ADMIN_TOKEN: TOKEN } },
    );
    seed = new Seeder(gw.database.tables());
    const event = await seed.event({ withPush: true, orderKey: 'LEG:SO-1' });
    ids.event = event;
    ids.parked = await seed.delivery({ connector: 'crm', state: 'parked', eventId: event, orderKey: 'LEG:SO-1' });
    seed.tick();
    ids.pending = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:SO-1' });
    seed.tick();
    ids.flying = await seed.delivery({ connector: 'otm', state: 'in_flight', orderKey: 'LEG:SO-2' });
    seed.tick();
    ids.delivered = await seed.delivery({ connector: 'otm', state: 'delivered', orderKey: 'LEG:SO-3' });
    seed.tick();
    ids.held = await seed.delivery({ connector: 'crm', state: 'on_hold', orderKey: 'LEG:SO-4' });
    for (let i = 0; i < 4; i++) {
      await gw.gateway.store.audit.append({ id: seed.newId(), at: seed.now, direction: 'in', action: 'event.received', eventId: event, result: 'routed' });
    }
    seed.tick();
    ids.billing = await seed.event({
      source: 'shipbob',
      eventCode: 'billing.charge.created',
      orderKey: null,
      payload: { amount: '12.50', currency_code: 'USD', reference_id: 'SHP-1' },
    });
  });
  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  /** One valid request per route (the path as registered, with its parameters filled). */
  const valid = (): Array<{ method: string; route: string; path: string; body?: unknown }> => [
    { method: 'GET', route: '/openapi.json', path: '/admin/api/openapi.json' },
    { method: 'GET', route: '/events', path: '/admin/api/events?limit=5' },
    { method: 'GET', route: '/events/:id', path: `/admin/api/events/${ids.event}` },
    { method: 'GET', route: '/deliveries', path: '/admin/api/deliveries?connector=crm&state=parked,pending' },
    { method: 'GET', route: '/deliveries/:id', path: `/admin/api/deliveries/${ids.parked}` },
    { method: 'POST', route: '/deliveries/replay', path: '/admin/api/deliveries/replay', body: { states: ['parked'], dryRun: true } },
    { method: 'POST', route: '/deliveries/discard', path: '/admin/api/deliveries/discard', body: { ids: [ids.parked], dryRun: true, reason: 'test' } },
    { method: 'POST', route: '/deliveries/hold', path: '/admin/api/deliveries/hold', body: { connectors: ['crm'], dryRun: true } },
    { method: 'POST', route: '/deliveries/release', path: '/admin/api/deliveries/release', body: { connectors: ['crm'], dryRun: true } },
    { method: 'POST', route: '/deliveries/:id/replay', path: `/admin/api/deliveries/${ids.parked}/replay`, body: { dryRun: true } },
    { method: 'POST', route: '/deliveries/:id/discard', path: `/admin/api/deliveries/${ids.parked}/discard`, body: { dryRun: true, reason: 'test' } },
    { method: 'POST', route: '/deliveries/:id/hold', path: `/admin/api/deliveries/${ids.pending}/hold`, body: { dryRun: true } },
    { method: 'POST', route: '/deliveries/:id/release', path: `/admin/api/deliveries/${ids.held}/release`, body: { dryRun: true } },
    { method: 'GET', route: '/attempts', path: `/admin/api/attempts?deliveryId=${ids.parked}` },
    { method: 'GET', route: '/audit', path: '/admin/api/audit?direction=in' },
    { method: 'GET', route: '/connectors', path: '/admin/api/connectors' },
    { method: 'GET', route: '/connectors/:name', path: '/admin/api/connectors/crm' },
    { method: 'POST', route: '/connectors/:name/online', path: '/admin/api/connectors/shipbob/online' },
    { method: 'POST', route: '/connectors/:name/offline', path: '/admin/api/connectors/shipbob/offline', body: { reason: 'test' } },
    { method: 'POST', route: '/connectors/:name/test', path: '/admin/api/connectors/crm/test' },
    { method: 'GET', route: '/connectors/:name/preview', path: `/admin/api/connectors/crm/preview?event=${ids.event}` },
    { method: 'POST', route: '/connectors/:name/preview', path: '/admin/api/connectors/otm/preview', body: { eventCode: 'HOLD', orderKey: 'LEG:SO-9', payload: { OrderNumber: 'SO-9' } } },
    { method: 'GET', route: '/instances', path: '/admin/api/instances' },
    { method: 'GET', route: '/recovery/runs', path: '/admin/api/recovery/runs' },
    { method: 'POST', route: '/recovery/runs', path: '/admin/api/recovery/runs', body: { connectors: ['otm'], limit: 5 } },
    { method: 'GET', route: '/poller', path: '/admin/api/poller?limit=5' },
    { method: 'POST', route: '/poller/runs', path: '/admin/api/poller/runs' },
    { method: 'GET', route: '/billing', path: '/admin/api/billing' },
    { method: 'GET', route: '/orders/:orderKey', path: `/admin/api/orders/${encodeURIComponent('LEG:SO-1')}` },
    { method: 'GET', route: '/funnel', path: '/admin/api/funnel?since=7d&stuckAfter=1ms' },
    { method: 'GET', route: '/billing/reconciliation', path: '/admin/api/billing/reconciliation?since=7d' },
    { method: 'GET', route: '/stats/throughput', path: '/admin/api/stats/throughput?minutes=60' },
  ];

  describe('authentication', () => {
    it('refuses every route without a token, with a wrong token and with another scheme (401, WWW-Authenticate), and serves it with the token', async () => {
      const routes = valid();
      // Every route of the table is in this list (the OpenAPI tests check the router against the table).
      expect(routes.map((r) => `${r.method} ${r.route}`).sort()).to.deep.equal(ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
      for (const r of routes) {
        for (const auth of [{ token: null }, { token: 'wrong-token-000000000' }, { token: `${TOKEN}x` }, { token: TOKEN.slice(0, -1) }, { token: null, headers: { authorization: `Basic ${TOKEN}` } }]) {
          const res = await api(r.method, r.path, { ...auth, ...(r.body !== undefined ? { body: r.body } : {}) });
          expect(res.status, `${r.method} ${r.path} ${JSON.stringify(auth)}`).to.equal(401);
          expect(res.json.code).to.equal('AUTH_FAILED');
          expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
          expect(JSON.stringify(res.json)).to.not.include(TOKEN);
        }
        const ok = await api(r.method, r.path, r.body !== undefined ? { body: r.body } : {});
        expect(ok.status, `${r.method} ${r.path}: ${JSON.stringify(ok.json)}`).to.equal(200);
        expect(ok.headers.get('content-type')).to.include('application/json');
        expect(ok.headers.get('cache-control')).to.equal('no-store');
      }
      gw.gateway.logger.flush();
      expect(gw.logs.join('\n')).to.not.include(TOKEN);
    });

    it('refuses a configured admin token shorter than 16 characters', async () => {
      const dir = writeConfig({ gateway: ADMIN() });
      try {
        await loadConfig(dir, { ...TEST_ENV, TEST_DATABASE_URL: 'sqlite::memory:', TEST_ADMIN_TOKEN: 'short' });
        expect.fail('loaded');
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).problems).to.deep.include({ file: 'gateway.yaml', key: 'admin.token', reason: 'the admin token must be at least 16 characters' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('is off (404 on every route) when no token is configured, and says so at start', async () => {
      const off = await startGateway({ gateway: gatewayYaml() });
      try {
        const res = await fetch(`${off.url}/admin/api/deliveries`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.status).to.equal(404);
        expect(((await res.json()) as { message: string }).message).to.include('admin API is off');
        off.gateway.logger.flush();
        expect(off.logs.some((l) => l.includes('admin API is off'))).to.equal(true);
      } finally {
        await off.stop();
      }
    });
  });

  describe('input validation', () => {
    const badInputs: Array<[string, string, unknown?]> = [
      ['GET', '/admin/api/events?limit=0'],
      ['GET', '/admin/api/events?limit=501'],
      ['GET', '/admin/api/events?limit=ten'],
      ['GET', '/admin/api/events?cursor=nope'],
      ['GET', '/admin/api/events?from=yesterday'],
      ['GET', '/admin/api/events?bogus=1'],
      ['GET', '/admin/api/events?orderKey=a&orderKey=b'],
      ['GET', '/admin/api/events/not-an-id'],
      ['GET', '/admin/api/deliveries?state=lost'],
      ['GET', '/admin/api/deliveries?id=123'],
      ['GET', '/admin/api/deliveries?to=2026-13-45'],
      ['GET', '/admin/api/deliveries/123'],
      ['POST', '/admin/api/deliveries/replay', {}],
      ['POST', '/admin/api/deliveries/replay', { bogus: true }],
      ['POST', '/admin/api/deliveries/replay', { ids: ['x'] }],
      ['POST', '/admin/api/deliveries/replay', { ids: 'nope' }],
      ['POST', '/admin/api/deliveries/replay', { states: ['lost'] }],
      ['POST', '/admin/api/deliveries/replay', { connectors: ['crm'], limit: 0 }],
      ['POST', '/admin/api/deliveries/replay', { connectors: ['crm'], dryRun: 'yes' }],
      ['POST', '/admin/api/deliveries/replay', [1, 2]],
      ['POST', '/admin/api/deliveries/replay', 'replay'],
      ['POST', '/admin/api/deliveries/discard', { connectors: ['crm'] }],
      ['POST', '/admin/api/deliveries/hold', { connectors: ['crm'], reason: '' }],
      ['POST', '/admin/api/deliveries/release', { from: 'last week', connectors: ['crm'] }],
      ['POST', '/admin/api/deliveries/bad-id/replay', {}],
      ['POST', '/admin/api/deliveries/01JAAAAAAAAAAAAAAAAAAAAAAA/discard', {}],
      ['GET', '/admin/api/attempts?outcome=maybe'],
      ['GET', '/admin/api/attempts?outcome=on_hold'], // a hold sends nothing: no attempt has that outcome
      ['GET', '/admin/api/audit?direction=sideways'],
      ['GET', '/admin/api/audit?eventId=1'],
      ['GET', '/admin/api/connectors/Not_A!Name'],
      ['POST', '/admin/api/connectors/crm/offline', { state: 'online' }],
      ['POST', '/admin/api/connectors/crm/test', { all: true }],
      ['GET', '/admin/api/recovery/runs?limit=abc'],
      ['POST', '/admin/api/recovery/runs', { limit: 0 }],
      ['POST', '/admin/api/recovery/runs', { maxAge: 'forever' }],
      ['POST', '/admin/api/recovery/runs', { connectors: ['ghost'] }],
      ['GET', '/admin/api/poller?limit=0'],
      ['POST', '/admin/api/poller/runs', { connector: 'other' }],
      ['GET', '/admin/api/billing?includeDuplicates=maybe'],
      ['GET', '/admin/api/billing?limit=5000'],
    ];

    it('answers 400 with {code, message} for bad input on every route', async () => {
      for (const [method, path, body] of badInputs) {
        const res = await api(method, path, body !== undefined ? { body } : {});
        expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).to.equal(400);
        expect(res.json.code).to.equal('BAD_REQUEST');
        expect(res.json.message).to.be.a('string').with.length.greaterThan(5);
      }
    });

    it('answers 404 for an unknown id, connector or route', async () => {
      for (const path of ['/admin/api/events/01JAAAAAAAAAAAAAAAAAAAAAAA', '/admin/api/deliveries/01JAAAAAAAAAAAAAAAAAAAAAAA', '/admin/api/connectors/ghost', '/admin/api/nothing']) {
        const res = await api('GET', path);
        expect(res.status, path).to.equal(404);
        expect(res.json.code).to.equal('NOT_FOUND');
      }
      expect((await api('POST', '/admin/api/connectors/ghost/online')).status).to.equal(404);
      expect((await api('POST', '/admin/api/deliveries/01JAAAAAAAAAAAAAAAAAAAAAAA/replay', { body: {} })).status).to.equal(404);
    });

    it('answers 405 with {code, message} and Allow for a method a route does not take', async () => {
      const cases: Array<[string, string, string]> = [
        ['DELETE', '/admin/api/deliveries', 'GET'],
        ['PUT', '/admin/api/connectors/crm/online', 'POST'],
        ['POST', '/admin/api/openapi.json', 'GET'],
      ];
      for (const [method, path, allowed] of cases) {
        const res = await api(method, path);
        expect(res.status, `${method} ${path}`).to.equal(405);
        expect(res.json.code).to.equal('METHOD_NOT_ALLOWED');
        expect(res.json.message).to.include(method).and.include(allowed);
        expect(res.headers.get('allow')).to.include(allowed);
      }
    });

    it('refuses oversized (413), malformed (400), non-JSON (415) and non-UTF-8 (400) bodies', async () => {
      const path = '/admin/api/deliveries/replay';
      const big = JSON.stringify({ orderKey: 'x'.repeat(100 * 1024), connectors: ['crm'] });
      const tooLarge = await api('POST', path, { raw: big, headers: { 'content-type': 'application/json' } });
      expect(tooLarge.status).to.equal(413);
      expect(tooLarge.json.code).to.equal('PAYLOAD_TOO_LARGE');
      // Chunked, without a Content-Length: refused while reading.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 80; i++) c.enqueue(new TextEncoder().encode(i === 0 ? '{"orderKey":"' : 'y'.repeat(1024)));
          c.close();
        },
      });
      const chunked = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).to.equal(413);

      for (const raw of ['{"connectors": ["crm"]', '{connectors: crm}', 'null,', '\u0000']) {
        const res = await api('POST', path, { raw, headers: { 'content-type': 'application/json' } });
        expect(res.status, raw).to.equal(400);
        expect(res.json.code).to.equal('BAD_REQUEST');
      }
      const notJson = await api('POST', path, { raw: 'connectors=crm', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(notJson.status).to.equal(415);
      expect(notJson.json.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      const noType = await api('POST', path, { raw: '{"connectors":["crm"]}' });
      expect(noType.status).to.equal(415);
      const latin1 = await api('POST', path, { raw: Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]), headers: { 'content-type': 'application/json' } });
      expect(latin1.status).to.equal(400);
      // The gateway is still fine.
      expect((await api('GET', '/admin/api/connectors')).status).to.equal(200);
    });

    it('treats injection strings in every filter as plain values', async () => {
      const nasty = ["' OR '1'='1", "'; DROP TABLE deliveries; --", '" OR ""="', '%', '_', '\\', '%_%\\', '$(id)', '<script>', '../../etc/passwd', 'LEG:SO-1\' --', '\u0000x'];
      const count = async () => (await gw.gateway.store.browse.deliveryCounts()).reduce((n, c) => n + c.count, 0);
      const before = await count();
      const listParams: Record<string, string[]> = {
        events: ['eventCode', 'source', 'status', 'orderKey'],
        deliveries: ['connector', 'eventCode', 'orderKey', 'error'],
        attempts: ['connector', 'error'],
        audit: ['action', 'connector', 'result', 'actor'],
      };
      for (const value of nasty) {
        for (const [route, params] of Object.entries(listParams)) {
          for (const param of params) {
            const res = await api('GET', `/admin/api/${route}?${param}=${encodeURIComponent(value)}`);
            if (value === '\u0000x') expect(res.status).to.equal(400);
            else if (value.includes(',')) expect([200, 400]).to.include(res.status);
            else {
              expect(res.status, `${route} ${param}=${value}: ${JSON.stringify(res.json)}`).to.equal(200);
              expect(res.json.items, `${route} ${param}=${value}`).to.deep.equal([]);
            }
          }
        }
        for (const body of [{ orderKey: value }, { errorContains: value }, { connectors: [value] }, { eventCodes: [value] }]) {
          const res = await api('POST', '/admin/api/deliveries/replay', { body: { ...body, dryRun: false } });
          if (value.includes('\u0000')) {
            expect(res.status, JSON.stringify(body)).to.equal(400); // a NUL would end the string in SQLite
            continue;
          }
          expect(res.status, JSON.stringify(body)).to.equal(200);
          expect(res.json, JSON.stringify(body)).to.include({ matched: 0, changed: 0 });
        }
        const ids = await api('POST', '/admin/api/deliveries/replay', { body: { ids: [value] } });
        expect(ids.status).to.equal(400);
      }
      expect(await count()).to.equal(before);
      expect(await gw.gateway.store.browse.event(ids.event as string)).to.include({ id: ids.event });
    });
  });

  describe('routes', () => {
    it('pages through events, deliveries, attempts and audit records with cursors, newest first', async () => {
      const { browse } = gw.gateway.store;
      for (const [route, listing] of [
        ['events', (page: PageRequest) => browse.events({}, page)],
        ['deliveries', (page: PageRequest) => browse.deliveries({}, page)],
        ['attempts', (page: PageRequest) => browse.attempts({}, page)],
        ['audit', (page: PageRequest) => browse.audit({}, page)],
      ] as const) {
        // Every row the store holds, newest first: the ids are time-ordered ULIDs, so sorting them is that order.
        const all = (await everything<{ id: string }>(listing)).map((r) => r.id).sort().reverse();
        expect(all.length, route).to.be.greaterThan(2);
        const seen: string[] = [];
        let cursor: string | null | undefined;
        for (let guard = 0; guard < 100; guard++) {
          const res = await api('GET', `/admin/api/${route}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.status).to.equal(200);
          expect(res.json.items?.length).to.be.at.most(2);
          seen.push(...(res.json.items ?? []).map((i) => String(i.id)));
          cursor = res.json.nextCursor;
          if (!cursor) break;
        }
        expect(seen, route).to.deep.equal(all);
      }
    });

    it('shows one event with the raw XML of its push (password redacted), parsed form, deliveries and attempts', async () => {
      const res = await api('GET', `/admin/api/events/${ids.event}`);
      expect(res.status).to.equal(200);
      const detail = res.json as unknown as {
        event: { id: string; payload: Record<string, unknown>; orderKey: string };
        push: { raw: string; headers: Record<string, string> };
        deliveries: Array<{ id: string }>;
        attempts: Array<{ deliveryId: string }>;
      };
      expect(detail.event).to.include({ id: ids.event, orderKey: 'LEG:SO-1' });
      expect(detail.event.payload).to.deep.equal({ SourceOrderNumber: 'SO-1' });
      expect(detail.push.raw).to.include('<Password>***</Password>');
      expect(detail.deliveries.map((d) => d.id)).to.deep.equal([ids.parked]);
      expect(detail.attempts.map((a) => a.deliveryId)).to.deep.equal([ids.parked, ids.parked]);
    });

    it('replays, discards, holds and releases through the API, audited as admin-api', async () => {
      const s = new Seeder(gw.database.tables(), seed.now + 10_000);
      const a = await s.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:API-1' });
      const b = await s.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:API-2' });
      const dry = await api('POST', '/admin/api/deliveries/replay', { body: { ids: [a, b], dryRun: true } });
      expect(dry.json).to.include({ action: 'replay', dryRun: true, matched: 2, eligible: 1, changed: 1 });
      expect(dry.json.skipped).to.deep.equal({ pending: 1 });
      const replay = await api('POST', '/admin/api/deliveries/replay', { body: { ids: [a, b], reason: 'mapping fixed' } });
      expect(replay.json).to.include({ changed: 1 });
      const hold = await api('POST', '/admin/api/deliveries/hold', { body: { ids: [a, b], reason: 'wait for OM fix' } });
      expect(hold.json).to.include({ changed: 2 });
      const release = await api('POST', `/admin/api/deliveries/${a}/release`, { body: {} });
      expect(release.json).to.include({ changed: 1 });
      const discard = await api('POST', '/admin/api/deliveries/discard', { body: { orderKey: 'LEG:API-2', reason: 'duplicate order' } });
      expect(discard.json).to.include({ changed: 1 });
      const shown = await api('GET', `/admin/api/deliveries/${b}`);
      expect((shown.json as { delivery: Record<string, unknown> }).delivery).to.include({ state: 'discarded', adminReason: 'duplicate order' });
      const audit = await api('GET', `/admin/api/audit?actor=admin-api&deliveryId=${b}`);
      expect((audit.json.items ?? []).map((i) => i.action).reverse()).to.deep.equal(['delivery.held', 'delivery.discarded']);
    });

    it("samples each delivery as it stood before the action (on a dry run: now) beside what it becomes, and shows a hold reason as one", async () => {
      const s = new Seeder(gw.database.tables(), seed.now + 20_000);
      const parked = await s.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:WHY-1', parkedReason: 'permanent_error', lastError: 'HTTP 422: line 3 is not a line of LEG:SO-100234' });
      const pending = await s.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:WHY-2' });
      type Sample = Record<string, unknown> & { id: string; before: Record<string, unknown> };
      const sampleOf = (reply: Reply): Sample[] => (reply.json as { sample: Sample[] }).sample;

      const dry = await api('POST', '/admin/api/deliveries/replay', { body: { ids: [parked], dryRun: true } });
      expect(dry.status).to.equal(200);
      const [would] = sampleOf(dry);
      // The fields the sample always had keep their meaning: the delivery as the replay would leave it.
      expect(would).to.include({ id: parked, state: 'pending', lastError: null, parkedReason: null });
      expect(would?.before).to.include({ state: 'parked', parkedReason: 'permanent_error', lastError: 'HTTP 422: line 3 is not a line of LEG:SO-100234', holdReason: null });
      expect((await gw.gateway.store.browse.delivery(parked))?.state).to.equal('parked');

      const hold = await api('POST', '/admin/api/deliveries/hold', { body: { ids: [pending], reason: 'OM is fixing the order' } });
      const [held] = sampleOf(hold);
      expect(held).to.include({ id: pending, state: 'on_hold', holdReason: 'admin', adminReason: 'OM is fixing the order', lastError: null });
      expect(held?.before).to.include({ state: 'pending', holdReason: null, adminReason: null });
      const release = await api('POST', '/admin/api/deliveries/release', { body: { ids: [pending], dryRun: true } });
      expect(sampleOf(release)[0]?.before).to.include({ state: 'on_hold', holdReason: 'admin', adminReason: 'OM is fixing the order' });

      const shown = await api('GET', `/admin/api/deliveries/${pending}`);
      expect((shown.json as { delivery: Record<string, unknown> }).delivery).to.include({ state: 'on_hold', holdReason: 'admin', adminReason: 'OM is fixing the order', lastError: null });
    });

    it('answers 409 for a delivery in flight or one the action does not apply to', async () => {
      const flying = await api('POST', `/admin/api/deliveries/${ids.flying}/replay`, { body: {} });
      expect(flying.status).to.equal(409);
      expect(flying.json.code).to.equal('CONFLICT');
      expect(flying.json.message).to.include('in flight');
      const delivered = await api('POST', `/admin/api/deliveries/${ids.delivered}/hold`, { body: {} });
      expect(delivered.status).to.equal(409);
      expect(delivered.json.message).to.include('delivered');
      expect((await gw.gateway.store.browse.delivery(ids.flying as string))?.state).to.equal('in_flight');
    });

    it('lists connectors with state, circuit, rate, queue depth, parked count and blocked keys; sets them offline and online', async () => {
      const list = await api('GET', '/admin/api/connectors');
      const items = (list.json.items ?? []) as Array<Record<string, unknown> & { counts: Record<string, number>; blockedKeys: unknown[] }>;
      expect(items.map((c) => c.name)).to.deep.equal(['crm', 'fusion', 'otm', 'shipbob']);
      const crm = items[0];
      expect(crm).to.include({ adminState: 'online', circuit: 'closed', protocol: 'rest' });
      expect(crm?.counts.parked).to.be.a('number');
      expect(crm?.queueDepth).to.equal((crm?.counts.pending ?? 0) + (crm?.counts.retrying ?? 0));
      expect(items.find((c) => c.name === 'shipbob')?.rateLimit).to.deep.equal({ requests: 150, perMs: 60_000 });
      const off = await api('POST', '/admin/api/connectors/otm/offline', { body: { reason: 'OTM upgrade' } });
      expect(off.json).to.include({ name: 'otm', adminState: 'offline', stateUpdatedBy: 'admin-api' });
      const on = await api('POST', '/admin/api/connectors/otm/online');
      expect(on.json).to.include({ adminState: 'online' });
      const audit = await api('GET', '/admin/api/audit?action=connector.offline,connector.online&connector=otm');
      expect((audit.json.items ?? []).map((i) => [i.action, i.actor])).to.deep.equal([
        ['connector.online', 'admin-api'],
        ['connector.offline', 'admin-api'],
      ]);
    });

    it('tests a connector for real and reports each step', async () => {
      const ok = await api('POST', '/admin/api/connectors/crm/test');
      expect(ok.json).to.include({ connector: 'crm', ok: true });
      expect((ok.json.steps as Array<{ name: string; ok: boolean }>).map((s) => [s.name, s.ok])).to.deep.equal([
        ['credentials', true],
        ['probe', true],
      ]);
      const failed = await api('POST', '/admin/api/connectors/otm/test');
      expect(failed.status).to.equal(200);
      expect(failed.json.ok).to.equal(false);
      const probe = (failed.json.steps as Array<{ name: string; ok: boolean; detail: string }>).find((s) => s.name === 'probe');
      expect(probe?.detail).to.include('?wsdl').and.include('network');
    });

    it('runs the recovery run now and shows the run history', async () => {
      const run = await api('POST', '/admin/api/recovery/runs', { body: { connectors: ['crm'] } });
      expect(run.status).to.equal(200);
      expect(run.json.status).to.equal('ran');
      const history = await api('GET', '/admin/api/recovery/runs?limit=5');
      expect((history.json.items ?? []).length).to.be.greaterThan(0);
      expect(history.json.items?.[0]).to.include({ actor: 'admin-api', trigger: 'manual' });
    });

    it('polls Fusion for purchase orders now and shows the cursor and the runs', async () => {
      const run = await api('POST', '/admin/api/poller/runs');
      expect(run.status).to.equal(200);
      expect(run.json).to.include({ status: 'ran', state: 'failed', cursorBefore: null, cursorAfter: null });
      expect(run.json.error).to.match(/^Fusion purchaseOrders: request to 127\.0\.0\.1:9 failed/);
      const status = await api('GET', '/admin/api/poller?limit=1');
      expect(status.json).to.include({ poller: 'fusion-po', enabled: false, connector: 'fusion', cursor: null, caughtUp: true });
      const runs = status.json.runs as Array<Record<string, unknown>>;
      expect(runs).to.have.length(1);
      expect(runs[0]).to.include({ id: run.json.runId, trigger: 'manual', slot: null, state: 'failed', error: run.json.error });
      expect(runs[0]?.summary).to.deep.include({ pages: 0, read: 0 });
      const [audit] = (await gw.gateway.store.browse.audit({ actions: ['poll.run'] }, { limit: 1 })).rows;
      expect(audit).to.include({ actor: 'admin-api', result: 'failed', connector: 'fusion' });
    });

    it('lists ShipBob billing records', async () => {
      const res = await api('GET', '/admin/api/billing?topic=billing.charge.created');
      expect(res.json.items).to.have.length(1);
      expect(res.json.items?.[0]).to.include({ eventId: ids.billing, amount: '12.50', currency: 'USD', reference: 'SHP-1' });
      expect(res.json.nextCursor).to.equal(null);
    });
  });

  describe('OpenAPI document', () => {
    it('is served at /admin/api/openapi.json as OpenAPI 3.1', async () => {
      const res = await api('GET', '/admin/api/openapi.json');
      expect(res.json).to.include({ openapi: '3.1.0' });
      expect(JSON.parse(JSON.stringify(openApiDocument()))).to.deep.equal(res.json);
    });

    it('registers on the router exactly the routes the document describes', () => {
      const router = new Router();
      const deps = {
        token: () => TOKEN,
        maxBodyBytes: () => 1024,
        logger: gw.gateway.logger,
        billing: async () => [],
        recovery: () => null,
        poller: () => null,
      } as unknown as AdminApiDeps;
      registerAdminApi(router, deps);
      const registered = new Set<string>();
      for (const layer of router.stack) {
        const path = String(layer.path);
        if (!path.startsWith('/admin/api')) continue;
        for (const method of layer.methods.filter((m) => m !== 'HEAD')) registered.add(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
      }
      const described = new Set<string>();
      for (const [path, item] of Object.entries(openApiDocument().paths)) {
        for (const method of Object.keys(item)) described.add(`${method.toUpperCase()} ${path}`);
      }
      expect([...registered].sort()).to.deep.equal([...described].sort());
      expect([...described].sort()).to.deep.equal(ADMIN_ROUTES.map((r) => `${r.method} /admin/api${r.path.replace(/:(\w+)/g, '{$1}')}`).sort());
      expect(registered.size).to.be.greaterThan(20);
    });

    it("answers every route with JSON its documented response schema accepts (strictly: no field more or less)", async () => {
      // Besides one valid request per route, the unfiltered lists: every row the tests above left
      // (deliveries in every state, replayed, held and discarded ones, admin audit records...).
      // The tests above moved the seeded deliveries on: fresh ones for the single-delivery actions.
      const s = new Seeder(gw.database.tables(), seed.now + 100_000);
      ids.parked = await s.delivery({ connector: 'crm', state: 'parked', orderKey: 'LEG:DOC-1' });
      ids.pending = await s.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:DOC-2' });
      ids.held = await s.delivery({ connector: 'crm', state: 'on_hold', orderKey: 'LEG:DOC-3' });
      const requests: Array<{ method: string; route: string; path: string; body?: unknown }> = [
        ...valid(),
        ...['events', 'deliveries', 'attempts', 'audit'].map((name) => ({ method: 'GET', route: `/${name}`, path: `/admin/api/${name}?limit=500` })),
        { method: 'GET', route: '/billing', path: '/admin/api/billing?includeDuplicates=true' },
        { method: 'GET', route: '/recovery/runs', path: '/admin/api/recovery/runs?limit=500' },
        { method: 'GET', route: '/poller', path: '/admin/api/poller?limit=500' },
      ];
      for (const r of requests) {
        const route = ADMIN_ROUTES.find((x) => x.method === r.method && x.path === r.route);
        expect(route, `${r.method} ${r.route} is in the table`).to.not.equal(undefined);
        const res = await api(r.method, r.path, r.body !== undefined ? { body: r.body } : {});
        expect(res.status, `${r.method} ${r.path}: ${JSON.stringify(res.json)}`).to.equal(200);
        const parsed = route?.response.safeParse(res.json);
        expect(parsed?.success, `${r.method} ${r.path}: ${parsed?.error?.message ?? ''}`).to.equal(true);
      }
      for (const d of ['deliveries', 'events']) {
        for (const item of (await api('GET', `/admin/api/${d}?limit=500`)).json.items ?? []) {
          const route = ADMIN_ROUTES.find((x) => x.path === `/${d}/:id`);
          const res = await api('GET', `/admin/api/${d}/${String(item.id)}`);
          const parsed = route?.response.safeParse(res.json);
          expect(parsed?.success, `${d}/${String(item.id)}: ${parsed?.error?.message ?? ''}`).to.equal(true);
        }
      }
      for (const name of ['crm', 'fusion', 'otm', 'shipbob']) {
        const test = await api('POST', `/admin/api/connectors/${name}/test`);
        const parsed = ADMIN_ROUTES.find((x) => x.operationId === 'testConnector')?.response.safeParse(test.json);
        expect(parsed?.success, `test ${name}: ${parsed?.error?.message ?? ''}`).to.equal(true);
      }
    });

    it('answers errors as its documented error schema, with a status the operation documents', async () => {
      const cases: Array<[string, string, string, number, unknown?]> = [
        ['listEvents', 'GET', '/admin/api/events?limit=0', 400],
        ['getDelivery', 'GET', '/admin/api/deliveries/01JAAAAAAAAAAAAAAAAAAAAAAA', 404],
        ['getConnector', 'GET', '/admin/api/connectors/ghost', 404],
        ['previewStoredEvent', 'GET', '/admin/api/connectors/crm/preview?event=01JAAAAAAAAAAAAAAAAAAAAAAA', 404],
        ['previewEvent', 'POST', '/admin/api/connectors/crm/preview', 400, { payload: {} }],
        ['replayDelivery', 'POST', `/admin/api/deliveries/${ids.flying}/replay`, 409, {}],
        ['replayDeliveries', 'POST', '/admin/api/deliveries/replay', 400, { bogus: true }],
        ['getOrderJourney', 'GET', '/admin/api/orders/SO-NONE', 404],
      ];
      const document = openApiDocument();
      for (const [, method, path, status, body] of cases) {
        const res = await api(method, path, body !== undefined ? { body } : {});
        expect(res.status, path).to.equal(status);
        expect(errorBody.safeParse(res.json).success, JSON.stringify(res.json)).to.equal(true);
        const op = Object.entries(document.paths)
          .filter(([p]) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0] ?? ''))
          .map(([, item]) => item[method === 'GET' ? 'get' : 'post'])
          .find((o) => o !== undefined);
        expect(op?.responses, `${method} ${path}`).to.have.property(String(status));
      }
      const noToken = await api('GET', '/admin/api/deliveries', { token: null });
      expect(errorBody.safeParse(noToken.json).success).to.equal(true);
    });
  });
  describe('funnel, billing reconciliation, per-minute numbers', () => {
    it('takes since and until as a duration back from now or a time, with defaults, and refuses the rest (400 naming the parameter)', async () => {
      const now = Date.now();
      const byDefault = await api('GET', '/admin/api/funnel');
      expect(byDefault.status).to.equal(200);
      const { since, until, stuckAfter, stages } = byDefault.json as { since: string; until: string; stuckAfter: string; stages: Array<{ stage: string }> };
      expect(stuckAfter).to.equal('2h');
      expect(Date.parse(until) - Date.parse(since)).to.equal(86_400_000);
      expect(Date.parse(until)).to.be.at.least(now);
      expect(stages.map((s) => s.stage)).to.deep.equal(['awaiting_shipping', 'shipbob_order', 'shipped', 'written_back', 'billed']);
      const at = await api('GET', '/admin/api/billing/reconciliation?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z');
      expect(at.status).to.equal(200);
      expect(at.json).to.deep.include({ since: '2026-01-01T00:00:00.000Z', until: '2026-01-02T00:00:00.000Z', matched: 0, shippedNotBilled: [], billedUnknown: [] });
      for (const bad of ['/admin/api/funnel?since=yesterday', '/admin/api/funnel?stuckAfter=0s', '/admin/api/funnel?since=1h&until=2h', '/admin/api/funnel?limit=0', '/admin/api/stats/throughput?minutes=100000', '/admin/api/billing/reconciliation?other=1']) {
        const res = await api('GET', bad);
        expect(res.status, bad).to.equal(400);
        expect(res.json.code, bad).to.equal('BAD_REQUEST');
      }
    });

    it('refuses a range out of bounds with a 400 naming the parameter, on the funnel and the reconciliation alike', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/admin/api/funnel?since=99999999999999999999d', /^since: at most 366d back from now$/],
        ['/admin/api/billing/reconciliation?since=99999999999999999999d', /^since: at most 366d back from now$/],
        ['/admin/api/funnel?until=99999999999999999999d', /^until: at most 366d back from now$/],
        ['/admin/api/funnel?since=100000d', /^since: at most 366d back from now$/],
        ['/admin/api/funnel?since=1900-01-01', /^since: a time from 1970 to 9999$/],
        ['/admin/api/billing/reconciliation?since=2020-01-01&until=2026-01-01', /^since: the range may span at most 366d$/],
        ['/admin/api/funnel?since=1h&until=2h', /^since: must be before until$/],
        ['/admin/api/funnel?stuckAfter=9999999d', /^invalid query: stuckAfter: use a duration from 1ms to 366d/],
      ];
      for (const [path, message] of cases) {
        const res = await api('GET', path);
        expect(res.status, path).to.equal(400);
        expect(res.json.code, path).to.equal('BAD_REQUEST');
        expect(res.json.message, path).to.match(message);
      }
      // At the bounds: a year and a day back, and a range of that length between two times.
      expect((await api('GET', '/admin/api/funnel?since=366d')).status).to.equal(200);
      expect((await api('GET', '/admin/api/billing/reconciliation?since=2025-01-01&until=2026-01-02')).status).to.equal(200);
    });

    it('says the bounds of a number out of them', async () => {
      const cases: Array<[string, string]> = [
        ['/admin/api/funnel?limit=1001', 'invalid query: limit: must be a whole number from 1 to 1000'],
        ['/admin/api/funnel?limit=0', 'invalid query: limit: must be a whole number from 1 to 1000'],
        ['/admin/api/funnel?limit=1.5', 'invalid query: limit: must be a whole number from 1 to 1000'],
        ['/admin/api/funnel?limit=many', 'invalid query: limit: must be a whole number from 1 to 1000'],
        ['/admin/api/stats/throughput?minutes=4321', 'invalid query: minutes: must be a whole number from 1 to 4320'],
        ['/admin/api/stats/throughput?minutes=99999999', 'invalid query: minutes: must be a whole number from 1 to 4320'],
        ['/admin/api/deliveries?limit=501', 'invalid query: limit: must be a whole number from 1 to 500'],
        ['/admin/api/recovery/runs?limit=0', 'invalid query: limit: must be a whole number from 1 to 500'],
      ];
      for (const [path, message] of cases) {
        const res = await api('GET', path);
        expect(res.status, path).to.equal(400);
        expect(res.json, path).to.deep.equal({ code: 'BAD_REQUEST', message });
      }
    });

    it('answers every minute of the range, oldest first, with the queue depth now', async () => {
      const res = await api('GET', '/admin/api/stats/throughput?minutes=5');
      expect(res.status).to.equal(200);
      const body = res.json as { bucketSeconds: number; from: string; to: string; buckets: Array<{ at: string }>; queueDepth: number };
      expect(body.bucketSeconds).to.equal(60);
      expect(body.buckets.map((b) => Date.parse(b.at) - Date.parse(body.from))).to.deep.equal([0, 60_000, 120_000, 180_000, 240_000]);
      expect(Date.parse(body.to) - Date.parse(body.from)).to.equal(300_000);
      expect(body.queueDepth).to.be.a('number');
    });
  });
});
