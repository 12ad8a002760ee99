import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Io } from '../../src/cli/output.ts';
import { openApiDocument } from '../../src/admin/openapi.ts';
import { main } from '../../src/main.ts';
import { pushHttpHeaders } from '../../src/sandbox/om-push.ts';
import { backendName, type TestDatabase } from '../helpers/backend.ts';
import { FakeTarget } from '../helpers/target.ts';
import { until } from '../helpers/until.ts';
import { authYaml, deliveriesIn, dumpDatabase, freePort, GatewayProcess, openStore, relDatabase, relEnv, relGatewayYaml } from './support/gateway.ts';
import { pushBody } from './support/push-client.ts';
import { postChunks } from './support/raw-http.ts';
import { scan, SECRETS } from './support/secrets.ts';
import { FULL, SIZE } from './support/size.ts';
import { report } from './support/summary.ts';
import { cliArgs } from '../helpers/cli-entry.ts';

/**
 * Issue 8, item 6: the admin API and the CLI against hostile operators' input. The integration suite
 * proves each route refuses a missing or wrong token and each schema refuses bad values
 * (test/integration/admin/api.test.ts); here the real process gets injection strings in every filter
 * of every route and every CLI option (SQL, LIKE wildcards, JSON operators, NUL, path tricks, very
 * long text): each is answered 200 with nothing matched, or 400, in time, and the data is unchanged.
 * Then oversized, malformed and hostile JSON bodies, and token variants across every route.
 */

const ALL_INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  '"; DROP TABLE deliveries; --',
  "1; DELETE FROM events; --",
  "' UNION SELECT id, raw FROM pushes --",
  "'; SELECT pg_sleep(3); --",
  "') OR ('x'='x",
  '%',
  '_',
  '%_%',
  '\\',
  '\\%',
  '*',
  '[a-z]%',
  '{"$ne":null}',
  '$where',
  '../../../etc/passwd',
  '<script>alert(1)</script>',
  '${env:REL_ADMIN_TOKEN}',
  'crm\u0000',
  '\u202Ecrm',
  '𝕏'.repeat(50),
  'NULL',
  'undefined',
  '__proto__',
  '-1',
  '1e999',
  'x'.repeat(5_000),
];

/** The full run sends every string everywhere; the reduced run one or two of each kind. */
const INJECTIONS = FULL ? ALL_INJECTIONS : ALL_INJECTIONS.filter((_, i) => [1, 2, 5, 7, 8, 9, 14, 16, 18, 19, 24, 27].includes(i));

/** Every option of the CLI gets every string in the full run; the reduced run takes one of each kind. */
const CLI_INJECTIONS = FULL ? INJECTIONS : ["' OR 1=1 --", '_', 'crm\u0000'];

/** Query parameters of each list route (src/admin/schemas.ts). */
const FILTERS: Record<string, string[]> = {
  '/admin/api/events': ['id', 'eventCode', 'source', 'status', 'orderKey', 'pushId', 'from', 'to', 'limit', 'cursor'],
  '/admin/api/deliveries': ['id', 'eventId', 'connector', 'state', 'eventCode', 'orderKey', 'error', 'from', 'to', 'limit', 'cursor'],
  '/admin/api/attempts': ['deliveryId', 'connector', 'outcome', 'error', 'from', 'to', 'limit', 'cursor'],
  '/admin/api/audit': ['action', 'direction', 'connector', 'result', 'eventId', 'deliveryId', 'actor', 'from', 'to', 'limit', 'cursor'],
  '/admin/api/billing': ['topic', 'from', 'to', 'includeDuplicates', 'limit', 'cursor'],
  '/admin/api/recovery/runs': ['limit'],
};

const SAMPLE_ID = '01JAAAAAAAAAAAAAAAAAAAAAAA';

interface Reply {
  status: number;
  text: string;
  ms: number;
}

/**
 * A fingerprint of the operational data: any change to events, deliveries, attempts or pushes shows.
 * A whole-table check (every column of every row), so it reads through the test's own connection.
 */
async function fingerprint(knex: Knex): Promise<string> {
  const h = createHash('sha256');
  for (const table of ['pushes', 'events', 'deliveries', 'attempts', 'connector_states', 'dedupe_keys']) {
    h.update(table);
    h.update(JSON.stringify(await knex(table).select().orderBy(table === 'connector_states' ? 'connector' : table === 'dedupe_keys' ? 'hash' : 'id')));
  }
  return h.digest('hex');
}

describe(`reliability 6: admin API and CLI (${backendName()}, ${SIZE.label})`, function () {
  this.timeout(SIZE.timeoutMs);

  let gw: GatewayProcess;
  let db: TestDatabase;
  let target: FakeTarget;

  before(async () => {
    target = await new FakeTarget().start();
    // Some deliveries delivered, some parked (a 400 parks at once), with errors to search.
    target.answer = (req) => (req.body.includes('SO-AD-P') ? { status: 400, body: '{"error":"rejected: bad order"}' } : { status: 200, body: '{}' });
    db = relDatabase();
    gw = new GatewayProcess(
      {
        gateway: relGatewayYaml({ port: await freePort(), delivery: '  enabled: true\n  pollInterval: 100ms' }),
        connectors: { 'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /crm\n${authYaml('bearer')}`, 'otm.yaml': `protocol: rest\nurl: ${target.url}\npath: /otm\n${authYaml('basic')}` },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm, otm]\n",
      },
      relEnv(db),
    );
    await gw.start();
    for (const n of ['SO-AD-1', 'SO-AD-2', 'SO-AD-P1', 'SO-AD-P2']) {
      const res = await fetch(`${gw.url}/soap/business-events`, { method: 'POST', headers: pushHttpHeaders(), body: pushBody([{ eventCode: 'HOLD', order: { sourceOrderNumber: n } }]) });
      expect(res.status).to.equal(202);
    }
    // Every delivery finished before the test takes its fingerprint of the data: one still in flight
    // would change it under the test (a bounded wait, which says so when it runs out).
    const store = openStore(db);
    try {
      await until('the 8 deliveries delivered or parked', async () => (await deliveriesIn(store, ['delivered', 'parked'])) === 8, 60_000);
    } finally {
      await store.close();
    }
  });
  after(async () => {
    await gw?.stop();
    gw?.dispose();
    await target?.close();
    await db?.dispose();
  });

  const call = async (method: string, path: string, opts: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? SECRETS.adminToken : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
    const started = Date.now();
    try {
      const res = await fetch(`${gw.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
      return { status: res.status, text: await res.text(), ms: Date.now() - started };
    } catch (err) {
      return { status: 0, text: String(err), ms: Date.now() - started };
    }
  };

  it('answers injection strings in every filter of every route and every CLI option harmlessly, and refuses bad tokens and bad JSON', async () => {
    const answers: string[] = [];
    const wrong: string[] = [];
    let tried = 0;
    const crashes: string[] = [];
    const before = await fingerprint(db.tables());
    const judge = (what: string, r: Reply, allowed: number[], emptyIfOk = false): void => {
      tried++;
      answers.push(r.text);
      if (r.status >= 500 || r.status === 0) crashes.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (!allowed.includes(r.status)) wrong.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (r.ms > 2_000) wrong.push(`${what}: answered after ${r.ms} ms`);
      else if (emptyIfOk && r.status === 200) {
        const json = JSON.parse(r.text) as { items?: unknown[]; matched?: number; selected?: number };
        const n = json.items?.length ?? json.matched ?? json.selected ?? 0;
        if (n !== 0) wrong.push(`${what}: matched ${n} (an injection string matched real data)`);
      }
    };

    // 1. Every filter of every list route, every injection string.
    for (const [route, params] of Object.entries(FILTERS)) {
      for (const p of params) {
        for (const inj of INJECTIONS) judge(`GET ${route}?${p}=${JSON.stringify(inj).slice(0, 30)}`, await call('GET', `${route}?${p}=${encodeURIComponent(inj)}`), [200, 400], !['limit', 'includeDuplicates'].includes(p));
      }
    }
    // 2. Path parameters.
    for (const inj of INJECTIONS) {
      const seg = encodeURIComponent(inj);
      for (const path of [`/admin/api/events/${seg}`, `/admin/api/deliveries/${seg}`, `/admin/api/connectors/${seg}`]) judge(`GET ${path.slice(0, 60)}`, await call('GET', path), [400, 404]);
      for (const action of ['replay', 'discard', 'hold', 'release']) judge(`POST /deliveries/<inj>/${action}`, await call('POST', `/admin/api/deliveries/${seg}/${action}`, { body: '{"dryRun":true,"reason":"x"}' }), [400, 404]);
      judge('POST /connectors/<inj>/offline', await call('POST', `/admin/api/connectors/${seg}/offline`, { body: '{}' }), [400, 404]);
    }
    // 3. Filters in operation bodies (dry runs only: nothing may change) and in a recovery run.
    for (const inj of INJECTIONS) {
      for (const action of ['replay', 'discard', 'hold', 'release']) {
        for (const field of ['connectors', 'eventCodes', 'orderKey', 'errorContains', 'reason']) {
          const value = ['connectors', 'eventCodes'].includes(field) ? [inj] : inj;
          const body = { dryRun: true, reason: field === 'reason' ? inj : 'reliability', ...(field === 'reason' ? { orderKey: inj } : { [field]: value }) };
          judge(`POST ${action} ${field}=${JSON.stringify(inj).slice(0, 30)}`, await call('POST', `/admin/api/deliveries/${action}`, { body: JSON.stringify(body) }), [200, 400], true);
        }
      }
      judge(`POST /recovery/runs connectors=[${JSON.stringify(inj).slice(0, 30)}]`, await call('POST', '/admin/api/recovery/runs', { body: JSON.stringify({ connectors: [inj], eventCodes: [inj] }) }), [200, 400], true);
    }

    // 4. Bodies: oversized, malformed, hostile.
    const op = '/admin/api/deliveries/replay';
    const big = JSON.stringify({ dryRun: true, orderKey: 'x', pad: 'p'.repeat(2 * 1024 * 1024) });
    judge('2 MB JSON with Content-Length', await call('POST', op, { body: big }), [413]);
    {
      const started = Date.now();
      const r = await postChunks(`${gw.url}${op}`, { authorization: `Bearer ${SECRETS.adminToken}`, 'content-type': 'application/json' }, function* () {
        yield Buffer.from('{"dryRun":true,"pad":"');
        for (let i = 0; i < 1600; i++) yield Buffer.alloc(64 * 1024, 0x70);
      });
      // 413 and the connection closed: a client still writing may meet the reset before it reads the 413.
      const reset = r.status === 0 && ['EPIPE', 'ECONNRESET'].includes(r.error ?? '') && r.sent < 20 * 1024 * 1024;
      judge('100 MB JSON streamed', reset ? { status: 413, text: `connection closed after ${r.sent} bytes`, ms: Date.now() - started } : { status: r.status, text: r.body, ms: Date.now() - started }, [413]);
    }
    const malformed: Array<[string, string | Buffer, number[]]> = [
      ['truncated', '{"dryRun":true', [400]],
      ['trailing comma', '{"dryRun":true,}', [400]],
      ['single quotes', "{'dryRun':true}", [400]],
      ['NaN', '{"limit":NaN}', [400]],
      ['garbage after', '{"dryRun":true}garbage', [400]],
      ['an array', '[{"dryRun":true}]', [400]],
      ['a string', '"replay everything"', [400]],
      ['NUL', '\u0000', [400]],
      ['500,000-deep array', '['.repeat(500_000), [400]],
      ['deep object', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`, [400]],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), [400]],
      ['__proto__ pollution', '{"__proto__":{"dryRun":false},"states":["parked"],"dryRun":true}', [400]],
      ['constructor pollution', '{"constructor":{"prototype":{"dryRun":false}},"dryRun":true,"states":["parked"]}', [400]],
      ['duplicate keys', '{"dryRun":true,"dryRun":false,"states":["nothing"]}', [400]],
      ['1,001 ids', JSON.stringify({ dryRun: true, ids: Array.from({ length: 1_001 }, () => SAMPLE_ID) }), [400]],
      ['huge number', '{"dryRun":true,"states":["parked"],"limit":1e308}', [400]],
      ['negative limit', '{"dryRun":true,"states":["parked"],"limit":-1}', [400]],
    ];
    for (const [name, body, allowed] of malformed) judge(`JSON ${name}`, await call('POST', op, { body }), allowed);
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      judge(`content type ${ct}`, await call('POST', op, { body: '{"dryRun":true,"states":["parked"]}', headers: { 'content-type': ct } }), [415]);
    }

    // 5. Tokens, on every route.
    const routes = Object.entries(openApiDocument().paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: path.replace('{id}', SAMPLE_ID).replace('{name}', 'crm') })),
    );
    const badTokens: Array<[string, Record<string, string>]> = [
      ['no token', {}],
      ['wrong token', { authorization: 'Bearer wrong-token-0000000000' }],
      ['token plus a character', { authorization: `Bearer ${SECRETS.adminToken}x` }],
      ['token minus a character', { authorization: `Bearer ${SECRETS.adminToken.slice(0, -1)}` }],
      ['token in upper case', { authorization: `Bearer ${SECRETS.adminToken.toUpperCase()}` }],
      ['token as Basic', { authorization: `Basic ${Buffer.from(`admin:${SECRETS.adminToken}`).toString('base64')}` }],
      ['token without scheme', { authorization: SECRETS.adminToken }],
      ['two tokens', { authorization: `Bearer ${SECRETS.adminToken} ${SECRETS.adminToken}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['token in a cookie', { cookie: `token=${SECRETS.adminToken}` }],
      ['token in X-Api-Key', { 'x-api-key': SECRETS.adminToken }],
    ];
    for (const r of routes) {
      for (const [name, headers] of badTokens) {
        judge(`${r.method} ${r.path} with ${name}`, await call(r.method, r.path, { token: null, headers, ...(r.method === 'POST' ? { body: '{"dryRun":true}' } : {}) }), [401]);
      }
      for (const q of ['access_token', 'token']) judge(`${r.method} ${r.path}?${q}=<token>`, await call(r.method, `${r.path}?${q}=${encodeURIComponent(SECRETS.adminToken)}`, { token: null }), [401]);
      // The right token between routes: fewer wrong ones in a row than the login delay lets through.
      judge('the right token after wrong ones', await call('GET', '/admin/api/connectors'), [200]);
    }

    // 6. The CLI, in-process (the same code `omgw` runs) for every option, and once as a real process.
    const cliOut: string[] = [];
    const io: Io = { out: (s) => void cliOut.push(s), err: (s) => void cliOut.push(s) };
    const env = relEnv(db, { USER: 'reliability' });
    const cli = async (what: string, args: string[], allowed: number[], emptyJson = false): Promise<void> => {
      tried++;
      const mark = cliOut.length;
      let code: number;
      try {
        code = await main([...args, '--config', gw.configDir], io, env);
      } catch (err) {
        crashes.push(`omgw ${what}: threw ${String(err).slice(0, 200)}`);
        return;
      }
      if (!allowed.includes(code)) wrong.push(`omgw ${what}: exit ${code}: ${cliOut.slice(mark).join(' ').slice(0, 200)}`);
      if (emptyJson && code === 0) {
        const json = JSON.parse(cliOut.slice(mark).join('\n')) as { items?: unknown[]; matched?: number };
        const n = json.items?.length ?? json.matched ?? 0;
        if (n !== 0) wrong.push(`omgw ${what}: matched ${n}`);
      }
    };
    for (const inj of CLI_INJECTIONS) {
      const short = JSON.stringify(inj).slice(0, 24);
      for (const opt of ['--order-key', '--connector', '--error', '--event-code', '--state', '--since', '--until', '--cursor', '--limit']) {
        await cli(`deliveries list ${opt} ${short}`, ['deliveries', 'list', opt, inj, '--json'], [0, 2], !['--limit'].includes(opt));
      }
      for (const opt of ['--order-key', '--connector', '--error', '--event-code', '--id', '--event']) {
        await cli(`replay --dry-run ${opt} ${short}`, ['replay', '--dry-run', opt, inj, '--json'], [0, 2], true);
        await cli(`discard --dry-run ${opt} ${short}`, ['discard', '--dry-run', '--reason', inj, opt, inj, '--json'], [0, 2], true);
      }
      await cli(`deliveries show ${short}`, ['deliveries', 'show', inj], [1, 2]);
      await cli(`events show ${short}`, ['events', 'show', inj], [1, 2]);
      await cli(`connector offline ${short}`, ['connector', 'offline', inj], [1, 2]);
    }
    const realCli = spawnSync(process.execPath, [...cliArgs(), 'deliveries', 'list', '--order-key', "' OR 1=1 --", '--error', '%', '--json', '--config', gw.configDir], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    tried++;
    cliOut.push(realCli.stdout, realCli.stderr);
    if (realCli.status !== 0 || (JSON.parse(realCli.stdout) as { items: unknown[] }).items.length !== 0) wrong.push(`omgw as a process: exit ${realCli.status}: ${realCli.stderr.slice(0, 200)}`);

    // The data: unchanged by all of it.
    const afterAll = await fingerprint(db.tables());
    const tables = await dumpDatabase(db);
    const health = await fetch(`${gw.url}/healthz`).then((r) => r.status).catch(() => 0);
    const crashLines = gw.crashLines();
    const leaks = [...scan('admin', 'answers', answers.join('\n')), ...scan('admin', 'cli output', cliOut.join('\n')), ...scan('admin', 'gateway logs', gw.output()), ...scan('admin', 'database', tables)];
    report('6 admin API and CLI', {
      tried,
      wrong: wrong.length + (afterAll === before ? 0 : 1),
      crashed: crashes.length + crashLines.length + gw.unexpectedExits + (health === 200 ? 0 : 1),
      leaked: leaks.length,
      notes: `${INJECTIONS.length} injection strings x every filter, path parameter and operation body field, ${CLI_INJECTIONS.length} x every CLI option; ${malformed.length + 6} hostile bodies; ${badTokens.length + 2} token variants x ${routes.length} routes; data unchanged: ${afterAll === before}`,
    });
    expect(crashes.slice(0, 10), '5xx, no answer or a thrown CLI').to.deep.equal([]);
    expect(wrong.slice(0, 10)).to.deep.equal([]);
    expect(afterAll, 'the data changed').to.equal(before);
    expect(crashLines).to.deep.equal([]);
    expect(health).to.equal(200);
    expect(leaks).to.deep.equal([]);
  });
});
