import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { signedHeaders } from '../helpers/webhook-signing.ts';
import { backendName, type TestDatabase } from '../helpers/backend.ts';
import { dumpDatabase, freePort, GatewayProcess, openStore, relDatabase, relEnv, relGatewayYaml } from './support/gateway.ts';
import { Rng, RUN_SEED } from '../helpers/prng.ts';
import { rawExchange } from './support/raw-http.ts';
import { scan, SECRETS } from './support/secrets.ts';
import { SIZE } from './support/size.ts';
import { report } from './support/summary.ts';

/**
 * Issue 8, item 5: ShipBob's Standard Webhooks against the gateway as a child process. The rejections
 * the integration suite proves one by one (test/integration/inbound/webhooks.test.ts) are run here
 * against the real process together with what only shows at scale: a replayed webhook-id sent many
 * times at once (routed once), fuzzed headers over HTTP and as raw bytes (never a crash, never a 5xx,
 * nothing stored), and validly signed bodies that are not what they should be.
 */

const BODY = '{"event_time":"2026-11-23T12:00:00Z","order_id":100000042,"reference_id":"REL-1","status":"Completed"}';

interface Sent {
  status: number;
  text: string;
}

describe(`reliability 5: webhooks (${backendName()}, ${SIZE.label})`, function () {
  this.timeout(SIZE.timeoutMs);

  let gw: GatewayProcess;
  let db: TestDatabase;
  let port = 0;
  let seq = 0;
  const newId = (): string => `msg_rel${(seq++).toString(36)}${randomBytes(4).toString('hex')}`;
  const now = (): number => Math.floor(Date.now() / 1000);
  const sign = (body: string | Buffer, opts: { id?: string; ts?: number; secret?: string } = {}): Record<string, string> => ({
    'content-type': 'application/json',
    'x-webhook-topic': 'order.shipped',
    ...signedHeaders(opts.secret ?? SECRETS.webhookSecret, opts.id ?? newId(), opts.ts ?? now(), body),
  });
  const post = async (body: string | Buffer, headers: Record<string, string>): Promise<Sent> => {
    try {
      const res = await fetch(`${gw.url}/webhooks/shipbob`, { method: 'POST', headers, body });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      return { status: 0, text: String(err) };
    }
  };

  before(async () => {
    db = relDatabase();
    port = await freePort();
    gw = new GatewayProcess(
      {
        gateway: relGatewayYaml({ port }),
        connectors: { 'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\n' },
        triggerPoints: "triggerPoints:\n  - name: shipped\n    source: shipbob\n    eventCodes: ['*']\n    connectors: [crm]\n",
      },
      relEnv(db),
    );
    await gw.start();
  });
  after(async () => {
    await gw?.stop();
    gw?.dispose();
    await db?.dispose();
  });

  it('rejects forged, stale, future, altered and incomplete webhooks, routes a replayed webhook-id once even when sent 50 times at once, and survives fuzzed headers and signed junk', async () => {
    const answers: Sent[] = [];
    const wrong: string[] = [];
    let accepted = 0;
    const expectAnswer = (name: string, got: Sent, status: number, code?: string): void => {
      answers.push(got);
      if (got.status !== status || (code !== undefined && !got.text.includes(`"code":"${code}"`))) wrong.push(`${name}: ${got.status} ${got.text.slice(0, 160)}`);
      if (got.status === 204) accepted++;
    };

    // The rules, against the real process.
    const good = sign(BODY);
    const without = (h: string): Record<string, string> => Object.fromEntries(Object.entries(sign(BODY)).filter(([k]) => k !== h));
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    const rules: Array<[string, string, Record<string, string>, number, string]> = [
      ['forged signature', BODY, { ...good, 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` }, 401, 'AUTH_FAILED'],
      ['signed with another secret', BODY, sign(BODY, { secret: other }), 401, 'AUTH_FAILED'],
      ['stale timestamp (6 min)', BODY, sign(BODY, { ts: now() - 360 }), 401, 'AUTH_FAILED'],
      ['future timestamp (6 min)', BODY, sign(BODY, { ts: now() + 360 }), 401, 'AUTH_FAILED'],
      ['body altered after signing', BODY.replace('Completed', 'Cancelled'), sign(BODY), 401, 'AUTH_FAILED'],
      ['one byte appended after signing', `${BODY} `, sign(BODY), 401, 'AUTH_FAILED'],
      ['missing webhook-id', BODY, without('webhook-id'), 401, 'AUTH_FAILED'],
      ['missing webhook-timestamp', BODY, without('webhook-timestamp'), 401, 'AUTH_FAILED'],
      ['missing webhook-signature', BODY, without('webhook-signature'), 401, 'AUTH_FAILED'],
      ['no headers at all', BODY, { 'content-type': 'application/json' }, 401, 'AUTH_FAILED'],
      ['timestamp in milliseconds', BODY, sign(BODY, { ts: Date.now() }), 401, 'AUTH_FAILED'],
    ];
    for (const [name, body, headers, status, code] of rules) expectAnswer(name, await post(body, headers), status, code);
    const refusedByRules = (await openCount()).events;

    // A replayed webhook-id: ShipBob retries with new timestamps and signatures; here 50 at once.
    const id = newId();
    const storm = await Promise.all(Array.from({ length: 50 }, (_, i) => post(BODY, sign(BODY, { id, ts: now() - (i % 30) }))));
    storm.forEach((s, i) => expectAnswer(`replay #${i}`, s, 204));

    // Fuzzed headers: over HTTP (printable values) and as raw bytes (anything but CR and LF).
    const rng = new Rng(RUN_SEED ^ 0x3eb);
    const printable = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(0x20 + rng.int(95))).join('');
    const anyBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => [0x09, 0x20 + rng.int(0xe0)][rng.int(2)] as number).filter((b) => b !== 0x7f || rng.chance(0.5)));
    const value = (): string => {
      switch (rng.int(9)) {
        case 0:
          return '';
        case 1:
          return printable(1 + rng.int(30));
        case 2:
          return printable(3_000 + rng.int(4_000));
        case 3:
          return String(now() + rng.int(2_000) - 1_000);
        case 4:
          return Array.from({ length: 1 + rng.int(300) }, () => `v${rng.int(3)},${randomBytes(32).toString('base64')}`).join(' ');
        case 5:
          return `v1,${printable(rng.int(60)).replace(/ /g, '')}`;
        case 6:
          return rng.pick(['-1', '0', '1e10', '9'.repeat(30), '1.5', ' 1700000000', '0x10', 'NaN', 'msg_1.2', '../../etc/passwd', "' OR 1=1 --"]);
        case 7:
          return `${newId()}${'.'.repeat(rng.int(3))}`;
        default:
          return signedHeaders(SECRETS.webhookSecret, newId(), now(), BODY)['webhook-signature'];
      }
    };
    const statuses = new Map<number, number>();
    const names = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-topic', 'content-type', 'content-length', 'transfer-encoding'];
    for (let i = 0; i < SIZE.webhookFuzz; i++) {
      let got: Sent;
      if (i % 4 === 3) {
        // Raw: any bytes, duplicated headers, odd spacing.
        const lines: Buffer[] = [];
        for (const name of names.slice(0, 4)) {
          const copies = rng.chance(0.15) ? 2 : rng.chance(0.15) ? 0 : 1;
          for (let c = 0; c < copies; c++) lines.push(Buffer.concat([Buffer.from(`${name}:${rng.pick([' ', '', '  ', '\t'])}`), rng.chance(0.5) ? anyBytes(rng.int(80)) : Buffer.from(value()), Buffer.from('\r\n')]));
        }
        const body = Buffer.from(BODY);
        const head = Buffer.concat([Buffer.from(`POST /webhooks/shipbob HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`), ...lines, Buffer.from('\r\n')]);
        const r = await rawExchange(port, [Buffer.concat([head, body])], 0, 5_000);
        got = { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0), text: r.response.slice(r.response.indexOf('\r\n\r\n') + 4) };
      } else {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        for (const name of names.slice(0, 4)) if (!rng.chance(0.2)) headers[name] = value();
        const total = Object.values(headers).reduce((n, v) => n + v.length, 0);
        if (total > 14_000) headers['webhook-signature'] = (headers['webhook-signature'] ?? '').slice(0, 2_000);
        got = await post(rng.chance(0.2) ? printable(rng.int(400)) : BODY, headers);
      }
      statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
      answers.push(got);
      if (![401, 400, 431].includes(got.status)) wrong.push(`fuzz #${i}: ${got.status} ${got.text.slice(0, 160)}`);
    }

    // Validly signed, but not what a webhook body should be: answered 400 (not stored) or 204 (stored), never 5xx.
    const junk = (): string => {
      switch (rng.int(7)) {
        case 0:
          return `${'['.repeat(70)}${']'.repeat(70)}`;
        case 1:
          return `{"a":${'{"a":'.repeat(80)}1${'}'.repeat(81)}`;
        case 2:
          return printable(rng.int(200));
        case 3:
          return JSON.stringify({ order_id: '9'.repeat(40), topic: printable(150), __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } });
        case 4:
          return JSON.stringify({ id: rng.int(1e9), status: '\u0000\uFEFF\u202E', tracking: { tracking_id: "' OR 1=1 --" } });
        case 5:
          return '"just a string"';
        default:
          return JSON.stringify(Array.from({ length: 50 }, (_, k) => ({ k, v: printable(10) })));
      }
    };
    let signedJunk = 0;
    for (let i = 0; i < Math.ceil(SIZE.webhookFuzz / 3); i++) {
      const body = junk();
      const got = await post(body, { ...sign(body), 'x-webhook-topic': rng.chance(0.3) ? printable(rng.int(120)) : 'order.shipped' });
      answers.push(got);
      signedJunk++;
      statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
      if (got.status === 204) accepted++;
      else if (got.status !== 400) wrong.push(`signed junk #${i}: ${got.status} ${got.text.slice(0, 160)}`);
    }

    // What the store holds.
    const counts = await openCount(id);
    const health = await fetch(`${gw.url}/healthz`).then((r) => r.status).catch(() => 0);
    const crashLines = gw.crashLines();
    const no5xx = answers.filter((a) => a.status >= 500 || a.status === 0);
    const leaks = [...scan('webhooks', 'answers', answers.map((a) => a.text).join('\n')), ...scan('webhooks', 'gateway logs', gw.output()), ...scan('webhooks', 'database', await dumpDatabase(db))];
    const tried = rules.length + storm.length + SIZE.webhookFuzz + signedJunk;
    report('5 webhooks', {
      tried,
      lost: Math.max(0, accepted - counts.events),
      duplicated: Math.max(0, counts.routedForId - 1) + Math.max(0, counts.deliveriesForId - 1),
      wrong: wrong.length + (refusedByRules === 0 ? 0 : 1) + (counts.events === accepted ? 0 : 1),
      crashed: crashLines.length + gw.unexpectedExits + no5xx.length + (health === 200 ? 0 : 1),
      leaked: leaks.length,
      notes: `${rules.length} rule cases refused; a webhook-id sent 50 times at once: ${counts.routedForId} routed, ${counts.duplicatesForId} duplicates, ${counts.deliveriesForId} delivery; ${SIZE.webhookFuzz} fuzzed header sets and ${signedJunk} signed junk bodies: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s} x${n}`).join(', ')}; ${counts.events} events stored = ${accepted} accepted`,
    });
    expect(wrong.slice(0, 10)).to.deep.equal([]);
    expect(refusedByRules, 'stored from refused webhooks').to.equal(0);
    expect([counts.routedForId, counts.duplicatesForId, counts.deliveriesForId], 'replayed id: routed, duplicates, deliveries').to.deep.equal([1, 49, 1]);
    expect(counts.events, 'events stored = webhooks accepted').to.equal(accepted);
    expect(no5xx.slice(0, 5), '5xx or no answer').to.deep.equal([]);
    expect(crashLines).to.deep.equal([]);
    expect(health).to.equal(200);
    expect(leaks).to.deep.equal([]);
  });

  async function openCount(id?: string): Promise<{ events: number; routedForId: number; duplicatesForId: number; deliveriesForId: number }> {
    const store = openStore(db);
    try {
      const events = (await store.status()).events.reduce((n, e) => n + e.count, 0);
      if (!id) return { events, routedForId: 0, duplicatesForId: 0, deliveriesForId: 0 };
      const rows = await store.shipbobWebhooks.findByWebhookId(id);
      const deliveries = (await store.browse.deliveriesOfEvents(rows.map((r) => r.id))).length;
      return { events, routedForId: rows.filter((r) => r.status === 'routed').length, duplicatesForId: rows.filter((r) => r.status === 'duplicate').length, deliveriesForId: deliveries };
    } finally {
      await store.close();
    }
  }
});
