import { expect } from 'chai';
import { Agent } from 'node:http';
import { pushHttpHeaders, buildPush } from '../../src/sandbox/om-push.ts';
import type { StoredEvent } from '../../src/domain/event.ts';
import { backendName, type TestDatabase } from '../helpers/backend.ts';
import { FakeTarget } from '../helpers/target.ts';
import { fuzzCase } from './support/fuzz.ts';
import { allPages, dumpDatabase, freePort, GatewayProcess, openStore, relDatabase, relEnv, relGatewayYaml } from './support/gateway.ts';
import { Rng, RUN_SEED } from '../helpers/prng.ts';
import { faultCode, PushClient, pushBody, security, sleep } from './support/push-client.ts';
import { SECRETS } from './support/secrets.ts';
import { HealthProbe } from './support/health-probe.ts';
import { postChunks, rawExchange, type RawAnswer } from './support/raw-http.ts';
import { scan } from './support/secrets.ts';
import { SIZE } from './support/size.ts';
import { report } from './support/summary.ts';

/**
 * Issue 8, item 4: hostile XML against the gateway as a child process. Every case is refused quickly
 * with the right answer (or, where the input is in fact a valid push, accepted without doing what the
 * input hoped for), memory stays bounded (the child's RSS, sampled during each case), and the process
 * is unharmed. Then a seeded fuzz run of mutated pushes: no crash, no unhandled rejection, no 5xx that
 * is not a SOAP Fault, and no event stored from a push the gateway refused.
 */

const REQUEST_TIMEOUT_MS = 1_500;
const MB = 1024 * 1024;

interface Case {
  name: string;
  send: () => Promise<RawAnswer>;
  /** The right answer: HTTP status and the fault's code (null: no SOAP Fault expected). */
  status: number;
  code: string | null;
  maxMs: number;
  /** How much the child's RSS may grow during this case (MB): for inputs that would blow up if processed. */
  maxGrowthMb?: number;
  /** Extra checks on the answer; return problems. */
  check?: (a: RawAnswer) => string[] | Promise<string[]>;
}

describe(`reliability 4: hostile XML and fuzzing (${backendName()}, ${SIZE.label})`, function () {
  this.timeout(SIZE.timeoutMs);

  let gw: GatewayProcess;
  let db: TestDatabase;
  let canary: FakeTarget;
  let port = 0;
  let endpoint = '';

  before(async () => {
    canary = await new FakeTarget().start();
    db = relDatabase();
    port = await freePort();
    gw = new GatewayProcess(
      {
        gateway: relGatewayYaml({ port, requestTimeout: `${REQUEST_TIMEOUT_MS}ms` }),
        connectors: { 'crm.yaml': `protocol: rest\nurl: ${canary.url}\npath: /crm\n` },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n",
      },
      relEnv(db),
    );
    await gw.start();
    endpoint = `${gw.url}/soap/business-events`;
  });
  after(async () => {
    await gw?.stop();
    gw?.dispose();
    await canary?.close();
    await db?.dispose();
  });

  const basic = (password: string): string => `Basic ${Buffer.from(`${security.username}:${password}`).toString('base64')}`;
  const push = (n: string): string => pushBody([{ eventCode: 'HOLD', order: { sourceOrderNumber: n } }]);
  const soapHeaders = pushHttpHeaders();
  const post = (body: string | Buffer, headers: Record<string, string> = soapHeaders, agent?: Agent): Promise<RawAnswer> =>
    postChunks(endpoint, { 'content-length': String(Buffer.byteLength(body)), ...headers }, () => [typeof body === 'string' ? Buffer.from(body) : body], 0, agent);
  const withDoctype = (doctype: string, body = push('SO-HX'), use = false): string => {
    const b = use ? body.replace(/<ns1:SourceOrderNumber>[^<]*</, '<ns1:SourceOrderNumber>&xxe;<') : body;
    return `<?xml version="1.0" encoding="UTF-8"?>${doctype}${b}`;
  };
  const spliceBytes = (text: string, marker: string, bytes: number[]): Buffer => {
    const buf = Buffer.from(text);
    const at = buf.indexOf(marker);
    return Buffer.concat([buf.subarray(0, at), Buffer.from(bytes), buf.subarray(at)]);
  };
  /** The start of a push, then 100 MB of filler in 64 KB pieces (never all sent: the gateway refuses first). */
  function* hundredMb(order: string): Generator<Buffer> {
    const piece = Buffer.alloc(64 * 1024, 0x61);
    yield Buffer.from(push(order).slice(0, 400));
    for (let i = 0; i < 1600; i++) yield piece;
  }
  const deep = (n: number): string => `${'<ns1:X>'.repeat(n)}${'</ns1:X>'.repeat(n)}`;
  const noCanaryHit = (): string[] => (canary.requests.length === 0 ? [] : [`the gateway fetched ${canary.requests.map((r) => r.path).join(', ')}`]);
  const accepted: string[] = [];

  /** The slowest /healthz answer allowed during the flood of unauthenticated 8 MB pushes. */
  const HEALTH_BOUND_MS = 500;

  function cases(): Case[] {
    const c = canary.url;
    const FAULT = 500;
    const dt = (name: string, doctype: string, use = false, check?: Case['check']): Case => ({
      name,
      send: () => post(withDoctype(doctype, push(`SO-DT-${name.length}`), use)),
      status: FAULT,
      code: 'XML_DOCTYPE_FORBIDDEN',
      maxMs: 1_000,
      maxGrowthMb: 32,
      ...(check ? { check } : {}),
    });
    const lol = ['<!ENTITY lol0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`)].join('');
    const validWith = (name: string, body: () => string | Buffer, headers?: Record<string, string>): Case => ({
      name,
      send: () => post(body(), headers),
      status: 202,
      code: null,
      maxMs: 3_000,
      check: (a) => {
        if (a.status === 202) accepted.push(name);
        return [];
      },
    });
    return [
      {
        // First, on a fresh process: each body has 700,000 attributes (8 MB) and a wrong password;
        // each is refused when the Header closes.
        name: '8 concurrent 8 MB pushes with a wrong password',
        send: async () => {
          const attrs = Array.from({ length: 700_000 }, (_, i) => `a${i.toString(36)}="v"`).join(' ').slice(0, 8 * MB - 4096);
          // One Buffer for all eight: the test process must not be busy encoding while it times /healthz.
          const body = Buffer.from(
            buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-FLOOD' } }], { security: { ...security, password: 'not-the-password' } }).replace(
              '<ns1:OrderHeader>',
              `<ns1:OrderHeader ${attrs.slice(0, attrs.lastIndexOf(' '))}>`,
            ),
          );
          const probe = await HealthProbe.start(`${gw.url}/healthz`);
          const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));
          const health = await probe.stop();
          const wrong = answers.filter((a) => a.status !== 401 || faultCode(a.body) !== 'AUTH_FAILED' || a.ms > 1_000);
          const slowestHealth = Math.max(...health);
          if (process.env.OMGW_RELIABILITY_DEBUG) console.log(`/healthz during the flood (ms): ${health.join(' ')}`);
          const problems = [
            ...wrong.map((a) => `answered ${a.status} ${faultCode(a.body)} after ${a.ms} ms`),
            // Blocking work on these bodies (buffering or parsing 64 MB) holds the event loop for seconds; a
            // busy machine's scheduling adds tens to a few hundred ms. The bound tells the two apart.
            ...(slowestHealth <= HEALTH_BOUND_MS ? [] : [`/healthz took ${slowestHealth} ms during the flood (bound ${HEALTH_BOUND_MS} ms)`]),
            ...(gw.rss() < 300 * MB ? [] : [`RSS ${Math.round(gw.rss() / MB)} MB`]),
          ];
          return {
            status: wrong.length === 0 ? 401 : (wrong[0]?.status ?? 0),
            headers: {},
            body: answers[0]?.body ?? '',
            sent: answers.reduce((n, a) => n + a.sent, 0),
            ms: Math.max(...answers.map((a) => a.ms)),
            ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
          };
        },
        status: 401,
        code: 'AUTH_FAILED',
        maxMs: 1_000,
        maxGrowthMb: 64,
        check: (a) => (a.error ? [a.error] : []),
      },
      dt('DOCTYPE, plain', '<!DOCTYPE soapenv:Envelope>'),
      dt('billion laughs', `<!DOCTYPE lolz [${lol}]>`, true),
      dt('quadratic blow-up', `<!DOCTYPE q [<!ENTITY a "${'a'.repeat(100_000)}">]>`, true),
      dt('XXE to a local file', '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', true, (a) => (a.body.includes('root:') ? ['/etc/passwd in the answer'] : [])),
      dt('XXE to a local URL', `<!DOCTYPE x [<!ENTITY xxe SYSTEM "${c}/xxe">]>`, true, noCanaryHit),
      dt('external DTD', `<!DOCTYPE x SYSTEM "${c}/dtd">`, false, noCanaryHit),
      dt('parameter entity', `<!DOCTYPE x [<!ENTITY % p SYSTEM "${c}/param"> %p;]>`, false, noCanaryHit),
      {
        name: 'DOCTYPE after a byte-order mark',
        send: () => post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(withDoctype('<!DOCTYPE x [<!ENTITY xxe "boom">]>', push('SO-BOM'), true))])),
        status: FAULT,
        code: 'XML_DOCTYPE_FORBIDDEN',
        maxMs: 1_000,
      },
      {
        name: 'DOCTYPE split over 1-byte chunks',
        send: () => {
          const text = withDoctype('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', push('SO-DT-SPLIT'), true);
          return postChunks(endpoint, soapHeaders, function* () {
            for (let i = 0; i < 120; i++) yield Buffer.from(text[i] as string);
            yield Buffer.from(text.slice(120));
          });
        },
        status: FAULT,
        code: 'XML_DOCTYPE_FORBIDDEN',
        maxMs: 1_000,
      },
      {
        name: 'DOCTYPE in SOAP 1.2',
        send: () => post(withDoctype('<!DOCTYPE x>', buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-12' } }], { security, soapVersion: '1.2' })), { 'content-type': 'application/soap+xml; charset=utf-8' }),
        status: 400,
        code: 'XML_DOCTYPE_FORBIDDEN',
        maxMs: 1_000,
        check: (a) => (a.body.includes('env:Sender') ? [] : ['not a SOAP 1.2 Sender fault']),
      },
      { name: 'undeclared entity reference', send: () => post(push('SO-ENT').replace('<ns1:SourceOrderNumber>SO-ENT', '<ns1:SourceOrderNumber>&xxe;')), status: FAULT, code: 'XML_MALFORMED', maxMs: 1_000 },
      validWith('XInclude of a local file (not processed)', () =>
        push('SO-XINC').replace('<ns1:HoldCode>', '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/><ns1:HoldCode>'),
      ),
      {
        name: '100 MB body with Content-Length',
        send: () =>
          postChunks(endpoint, { ...soapHeaders, 'content-length': String(100 * MB) }, () => hundredMb('SO-BIG')),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        maxMs: 3_000,
        maxGrowthMb: 32,
        // The gateway answers 413 at once and reads on (discarding) for a while: the client reads the 413.
        check: (a) => (a.sent < 20 * MB ? [] : [`${a.sent} bytes were read before the refusal`]),
      },
      {
        name: '100 MB body streamed (chunked), no credentials in the first 64 KB',
        send: () =>
          postChunks(endpoint, soapHeaders, () => hundredMb('SO-BIG3')),
        status: 401,
        code: 'AUTH_FAILED',
        maxMs: 1_000,
        maxGrowthMb: 32,
        check: (a) => (a.sent < 30 * MB ? [] : [`${a.sent} bytes were sent before the refusal`]),
      },
      {
        name: '100 MB body streamed (chunked), authenticated by HTTP Basic',
        send: () =>
          postChunks(endpoint, { ...soapHeaders, authorization: basic(SECRETS.soapPassword) }, () => hundredMb('SO-BIG2')),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        maxMs: 5_000,
        maxGrowthMb: 64,
        check: (a) => (a.sent < 30 * MB ? [] : [`${a.sent} bytes were read before the refusal`]),
      },
      { name: '10,000-deep nesting', send: () => post(push('SO-DEEP').replace('<ns1:HoldCode>', `${deep(10_000)}<ns1:HoldCode>`)), status: FAULT, code: 'XML_TOO_DEEP', maxMs: 1_000, maxGrowthMb: 32 },
      { name: '300,000 sibling elements', send: () => post(push('SO-WIDE').replace('<ns1:HoldCode>', `${'<ns1:Y/>'.repeat(300_000)}<ns1:HoldCode>`)), status: FAULT, code: 'XML_TOO_MANY_ELEMENTS', maxMs: 3_000 },
      { name: 'invalid UTF-8: lone continuation byte', send: () => post(spliceBytes(push('SO-U1'), 'SO-U1', [0x80])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'invalid UTF-8: overlong slash', send: () => post(spliceBytes(push('SO-U2'), 'SO-U2', [0xc0, 0xaf])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'invalid UTF-8: encoded surrogate', send: () => post(spliceBytes(push('SO-U3'), 'SO-U3', [0xed, 0xa0, 0x80])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'invalid UTF-8: 0xFF', send: () => post(spliceBytes(push('SO-U4'), 'SO-U4', [0xff])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'invalid UTF-8: cut in a character', send: () => post(Buffer.concat([Buffer.from(push('SO-U5')), Buffer.from([0xe2, 0x82])])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'UTF-16 body', send: () => post(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(push('SO-U16'), 'utf16le')])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'declared ISO-8859-1', send: () => post(`<?xml version="1.0" encoding="ISO-8859-1"?>${push('SO-LATIN')}`), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      { name: 'NUL character', send: () => post(spliceBytes(push('SO-NUL'), 'SO-NUL', [0x00])), status: FAULT, code: 'XML_INVALID_ENCODING', maxMs: 1_000 },
      {
        name: 'huge attribute (9 MB, within the body limit)',
        send: () => post(push('SO-ATTR').replace('<ns1:OrderHeader>', `<ns1:OrderHeader note="${'x'.repeat(9 * MB)}">`)),
        status: FAULT,
        code: 'XML_TOO_LONG',
        maxMs: 3_000,
        maxGrowthMb: 64,
      },
      {
        name: 'huge attribute (20 MB)',
        send: () => post(push('SO-ATTR2').replace('<ns1:OrderHeader>', `<ns1:OrderHeader note="${'x'.repeat(20 * MB)}">`)),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        maxMs: 3_000,
      },
      {
        name: '100,000 attributes on one element',
        send: () => post(push('SO-ATTRS').replace('<ns1:OrderHeader>', `<ns1:OrderHeader ${Array.from({ length: 100_000 }, (_, i) => `a${i}="v"`).join(' ')}>`)),
        status: FAULT,
        code: 'XML_TOO_MANY_ATTRIBUTES',
        maxMs: 1_000,
        maxGrowthMb: 32,
      },
      validWith('9 MB comment', () => push('SO-COMMENT').replace('<ns1:HoldCode>', `<!--${'c'.repeat(9 * MB)}--><ns1:HoldCode>`)),
      {
        name: '5,000 headers',
        send: () => post(push('SO-H5K'), { ...soapHeaders, ...Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`x-h${i}`, 'v'])) }),
        status: 431,
        code: null,
        maxMs: 1_000,
      },
      {
        // Node keeps the first 200 (maxHeadersCount) and ignores the rest; Host and Content-Type come first, as clients send them.
        name: '1,000 small headers (within 16 KB)',
        send: async () => {
          const body = push('SO-H1K');
          const head = `POST /soap/business-events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${Array.from({ length: 1_000 }, (_, i) => `h${i}: \r\n`).join('')}\r\n`;
          const r = await rawExchange(port, [head + body], 0, 3_000);
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0);
          if (status === 202) accepted.push('1,000 small headers');
          return { status, headers: {}, body: r.response, sent: r.written, ms: r.closedAfterMs };
        },
        status: 202,
        code: null,
        maxMs: 3_500,
      },
      { name: 'one 20 KB header', send: () => post(push('SO-HBIG'), { ...soapHeaders, 'x-big': 'b'.repeat(20_000) }), status: 431, code: null, maxMs: 1_000 },
      {
        name: 'SOAP with attachments (multipart/related)',
        send: () => post(`--MIME\r\nContent-Type: text/xml\r\n\r\n${push('SO-SWA')}\r\n--MIME--\r\n`, { 'content-type': 'multipart/related; type="text/xml"; boundary=MIME; start="<root>"' }),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        maxMs: 1_000,
      },
      { name: 'a MIME package sent as text/xml', send: () => post(`--MIME\r\nContent-Type: text/xml\r\n\r\n${push('SO-MIME')}\r\n--MIME--\r\n`), status: FAULT, code: 'XML_MALFORMED', maxMs: 1_000 },
      ...['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'text/xmlx', 'image/svg+xml'].map(
        (ct): Case => ({ name: `content type ${ct}`, send: () => post(push('SO-CT'), { 'content-type': ct }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', maxMs: 1_000 }),
      ),
      { name: 'no content type', send: () => post(push('SO-CT0'), {}), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', maxMs: 1_000 },
      {
        name: 'Content-Length and Transfer-Encoding together (smuggling)',
        send: async () => {
          const body = push('SO-SMUG');
          const started = Date.now();
          const r = await rawExchange(
            port,
            [`POST /soap/business-events HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`],
            0,
            3_000,
          );
          return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0), headers: {}, body: r.response, sent: r.written, ms: Date.now() - started };
        },
        status: 400,
        code: null,
        maxMs: 1_000,
      },
      {
        name: 'refused with 300 KB of body unread, then a valid push on the same keep-alive connection',
        send: async () => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          try {
            const refused = push('SO-KA1').replace('<ns1:HoldCode>', `${deep(100)}<ns1:HoldCode>${'z'.repeat(300_000)}`);
            const first = await postChunks(endpoint, { ...soapHeaders, 'content-length': String(refused.length) }, () => [Buffer.from(refused)], 0, agent);
            const second = await post(push('SO-KA2'), soapHeaders, agent);
            if (second.status === 202) accepted.push('valid push after a refusal on a keep-alive connection');
            return { ...second, ms: first.ms + second.ms, body: `first: ${first.status} ${faultCode(first.body)}; second: ${second.status} ${second.body.slice(0, 100)}` };
          } finally {
            agent.destroy();
          }
        },
        status: 202,
        code: null,
        maxMs: 2_000,
      },
      {
        name: 'slow-loris headers (a byte every 200 ms)',
        send: async () => {
          const head = `POST /soap/business-events HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
          const r = await rawExchange(port, head.split(''), 200, REQUEST_TIMEOUT_MS + 40_000);
          return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0), headers: {}, body: r.response, sent: r.written, ms: r.closedAfterMs, ...(r.closedByServer ? {} : { error: 'still open' }) };
        },
        status: 408,
        code: null,
        maxMs: REQUEST_TIMEOUT_MS + 2_500,
      },
      {
        name: 'slow-loris body (a byte every 200 ms)',
        send: async () => {
          const body = push('SO-SLOW');
          const head = `POST /soap/business-events HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n`;
          const r = await rawExchange(port, [head, ...body.split('')], 200, REQUEST_TIMEOUT_MS + 40_000);
          return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(r.response)?.[1] ?? 0), headers: {}, body: r.response, sent: r.written, ms: r.closedAfterMs, ...(r.closedByServer ? {} : { error: 'still open' }) };
        },
        status: 408,
        code: null,
        maxMs: REQUEST_TIMEOUT_MS + 2_500,
      },
      {
        name: '200 slow-loris connections while OM pushes',
        send: async () => {
          const started = Date.now();
          const body = push('SO-LORIS');
          const head = `POST /soap/business-events HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n`;
          const loris = Array.from({ length: 200 }, () => rawExchange(port, [head, ...body.slice(0, 40).split('')], 250, REQUEST_TIMEOUT_MS + 40_000));
          await sleep(300);
          const meanwhile = await post(push('SO-LORIS-OK'));
          if (meanwhile.status === 202) accepted.push('200 slow-loris connections while OM pushes');
          const closed = await Promise.all(loris);
          const stillOpen = closed.filter((r) => !r.closedByServer).length;
          return { status: meanwhile.status, headers: {}, body: `${stillOpen} left open; push answered in ${meanwhile.ms} ms`, sent: 0, ms: Date.now() - started, ...(stillOpen > 0 ? { error: `${stillOpen} connections left open` } : {}) };
        },
        status: 202,
        code: null,
        maxMs: REQUEST_TIMEOUT_MS + 3_000,
      },
    ];
  }

  it('refuses each hostile request quickly with the right answer, with bounded memory, and stays healthy', async () => {
    const baseline = gw.rss();
    const results: Array<{ name: string; ok: boolean; problems: string[]; status: number; code: string | null; ms: number; peakMb: number }> = [];
    for (const c of cases()) {
      const before = gw.rss();
      let peak = before;
      const sampler = setInterval(() => {
        if (gw.running) peak = Math.max(peak, gw.rss());
      }, 20);
      const a = await c.send();
      clearInterval(sampler);
      const code = faultCode(a.body);
      const problems: string[] = [];
      if (a.status !== c.status) problems.push(`status ${a.status}${a.error ? ` (${a.error})` : ''}, expected ${c.status}: ${a.body.slice(0, 160)}`);
      if (c.code !== null && code !== c.code) problems.push(`fault ${code}, expected ${c.code}`);
      if (a.status >= 500 && code === null) problems.push('a 5xx that is not a SOAP Fault');
      if (a.ms > c.maxMs) problems.push(`answered after ${a.ms} ms (limit ${c.maxMs} ms)`);
      if (a.error && a.status === c.status) problems.push(a.error);
      problems.push(...((await c.check?.(a)) ?? []));
      if (!gw.running) problems.push('the gateway died');
      const health = gw.running ? await fetch(`${gw.url}/healthz`).then((r) => r.status).catch(() => 0) : 0;
      if (health !== 200) problems.push(`healthz ${health} afterwards`);
      // What the case itself cost: a body the gateway buffered or an entity it expanded would show here.
      const grewMb = Math.round((peak - before) / MB);
      if (c.maxGrowthMb !== undefined && grewMb > c.maxGrowthMb) problems.push(`RSS grew ${grewMb} MB during the case (limit ${c.maxGrowthMb} MB)`);
      results.push({ name: c.name, ok: problems.length === 0, problems, status: a.status, code, ms: a.ms, peakMb: Math.round((peak - baseline) / MB) });
    }
    await sleep(200);
    const after = gw.rss();
    const peakGrowthMb = Math.max(...results.map((r) => r.peakMb));
    const finalGrowthMb = Math.round((after - baseline) / MB);

    const store = openStore(db);
    let stored: StoredEvent[];
    let dump: string;
    try {
      stored = await allPages((page) => store.browse.events({}, page));
      dump = await dumpDatabase(db);
    } finally {
      await store.close();
    }
    const expectedStored = accepted.length;
    const leaks = scan('hostile', 'answers', results.map((r) => r.problems.join(' ')).join('\n'));
    const wrong = results.filter((r) => !r.ok);
    if (process.env.OMGW_RELIABILITY_DEBUG) console.log(results.map((r) => `${r.name}: ${r.status} ${r.code} ${r.ms} ms +${r.peakMb} MB ${r.problems.join('; ')}`).join('\n'));
    const crashLines = gw.crashLines();
    report('4 hostile XML', {
      tried: results.length,
      wrong: wrong.length + (stored.length === expectedStored ? 0 : 1) + (peakGrowthMb > 300 ? 1 : 0) + (dump.includes('root:x:0:0') ? 1 : 0),
      crashed: crashLines.length + gw.unexpectedExits,
      leaked: leaks.length,
      notes: `${results.length - accepted.length} refused, ${accepted.length} harmless valid pushes accepted (${accepted.join('; ')}); RSS ${Math.round(baseline / MB)} MB at start, peak +${peakGrowthMb} MB (${results.find((r) => r.peakMb === peakGrowthMb)?.name}), +${finalGrowthMb} MB after; slowest ${Math.max(...results.map((r) => r.ms))} ms`,
    });
    expect(wrong.map((r) => `${r.name}: ${r.problems.join('; ')}`)).to.deep.equal([]);
    expect(stored, 'events stored: only from the valid pushes').to.have.length(expectedStored);
    expect(dump, '/etc/passwd stored').to.not.include('root:x:0:0');
    expect(peakGrowthMb, 'RSS growth during a case (MB)').to.be.at.most(300);
    // Garbage of the 9 MB cases that V8 has not collected yet is part of it; a leak or a buffered 100 MB body is more.
    expect(finalGrowthMb, 'RSS growth after all cases (MB)').to.be.at.most(250);
    expect(crashLines).to.deep.equal([]);
    expect(gw.running).to.equal(true);
  });

  it(`survives ${SIZE.fuzzCases} mutated pushes (seed ${RUN_SEED}): no crash, no 5xx that is not a SOAP Fault, nothing stored from a refused push`, async () => {
    const rng = new Rng(RUN_SEED ^ 0xf022);
    const client = new PushClient(gw.url, 8);
    const baseline = gw.rss();
    const clientClock = new Date();
    const outcomes: Array<{ id: string; status: number; code: string | null; mutation: string; body: string; error?: string }> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < SIZE.fuzzCases) {
        const n = next++;
        const c = fuzzCase(rng, n, clientClock);
        const res = await client.post('/soap/business-events', c.body, { ...c.headers, 'x-request-id': `fz-${n}` });
        outcomes.push({ id: `fz-${n}`, status: res.status, code: faultCode(res.body), mutation: c.mutation, body: res.body.slice(0, 300), ...(res.error ? { error: res.error } : {}) });
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 8 }, () => worker()));
    const ms = Date.now() - started;
    await client.close();
    const rssAfter = gw.rss();

    const store = openStore(db);
    let pushes: Array<{ id: string; request_id: string | null }>;
    let events: StoredEvent[];
    try {
      // Nothing stored from a refused push: a push row is reachable through the API only by its id or
      // its events, so a stray one (no events) shows only in the table, read through the test's own connection.
      pushes = (await db.tables()('pushes').where('request_id', 'like', 'fz-%').select('id', 'request_id')) as typeof pushes;
      const ids = new Set(pushes.map((p) => p.id));
      events = (await allPages((page) => store.browse.events({}, page))).filter((e) => e.pushId !== null && ids.has(e.pushId));
    } finally {
      await store.close();
    }
    const acceptedIds = new Set(outcomes.filter((o) => o.status === 202).map((o) => o.id));
    const storedIds = new Set(pushes.map((p) => p.request_id ?? ''));
    const storedFromRefused = [...storedIds].filter((id) => !acceptedIds.has(id));
    const acceptedNotStored = [...acceptedIds].filter((id) => !storedIds.has(id));
    const noAnswer = outcomes.filter((o) => o.status === 0);
    const bad5xx = outcomes.filter((o) => o.status >= 500 && o.code === null);
    const serverFaults = outcomes.filter((o) => o.code === 'INTERNAL' || o.code === 'STORE_UNAVAILABLE');
    const unexpectedStatus = outcomes.filter((o) => ![202, 400, 401, 404, 413, 415, 500].includes(o.status));
    const byCode = new Map<string, number>();
    for (const o of outcomes) byCode.set(o.status === 202 ? 'accepted' : (o.code ?? String(o.status)), (byCode.get(o.status === 202 ? 'accepted' : (o.code ?? String(o.status))) ?? 0) + 1);
    const crashLines = gw.crashLines();
    const leaks = scan('fuzz', 'answers', outcomes.map((o) => o.body).join('\n'));
    const health = await fetch(`${gw.url}/healthz`).then((r) => r.status).catch(() => 0);

    report('4 fuzz: mutated pushes', {
      tried: outcomes.length,
      lost: acceptedNotStored.length,
      wrong: storedFromRefused.length + unexpectedStatus.length + serverFaults.length,
      crashed: crashLines.length + gw.unexpectedExits + noAnswer.length + bad5xx.length + (health === 200 ? 0 : 1),
      leaked: leaks.length,
      notes:
        `${acceptedIds.size} still valid after mutation and stored (${events.length} events), ${outcomes.length - acceptedIds.size} refused, none of them stored; ` +
        `answers: ${[...byCode].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}; ${Math.round((outcomes.length / ms) * 1000)} pushes/s; RSS ${Math.round(baseline / MB)} > ${Math.round(rssAfter / MB)} MB`,
    });
    expect(outcomes).to.have.length(SIZE.fuzzCases);
    expect(noAnswer.slice(0, 5), 'no answer').to.deep.equal([]);
    expect(bad5xx.slice(0, 5), '5xx that is not a SOAP Fault').to.deep.equal([]);
    expect(serverFaults.slice(0, 5), 'Server Faults (the gateway failing, not the input)').to.deep.equal([]);
    expect(unexpectedStatus.slice(0, 5), 'unexpected statuses').to.deep.equal([]);
    expect(storedFromRefused.slice(0, 5), 'stored from a refused push').to.deep.equal([]);
    expect(acceptedNotStored.slice(0, 5), 'acknowledged but not stored').to.deep.equal([]);
    expect(crashLines).to.deep.equal([]);
    expect(gw.running).to.equal(true);
    expect(health).to.equal(200);
    expect(rssAfter - baseline, 'RSS growth over the fuzz run').to.be.at.most(150 * MB);
  });
});
