import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AuditRecord } from '../../../src/domain/audit.ts';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { until } from '../../helpers/until.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
const basic = (password: string) => `Basic ${Buffer.from(`${SOAP_USER}:${password}`).toString('base64')}`;
const goodPush = () => buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-1' } }], { security });

/** Sends a body in chunks without Content-Length, stopping when the server answers. */
function postChunked(url: string, chunks: () => Generator<Buffer>, headers: Record<string, string> = {}): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/xml', ...headers } }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const it = chunks();
    const pump = (): void => {
      while (!answered) {
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        sent += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
      req.destroy();
    };
    pump();
  });
}

describe(`SOAP refusals: clear faults, nothing stored, process unharmed (${backendName()})`, () => {
  let gw: TestGateway;
  const endpoint = () => `${gw.url}/soap/business-events`;

  before(async () => {
    gw = await startGateway({ gateway: gatewayYaml('    maxBodySize: 64KB\n    maxBytesBeforeCredentials: 16KB\n    bodyBudget: 1MB\n    maxDepth: 32') });
  });
  after(async () => {
    await gw.stop();
  });

  async function expectFault(body: string | Buffer, code: string, status: number, headers: Record<string, string> = {}) {
    const res = await postSoap(endpoint(), body, headers);
    expect(res.status, res.body).to.equal(status);
    expect(res.body).to.include(`<omgw:code>${code}</omgw:code>`);
    expect(res.body).to.match(/<faultstring xml:lang="en">[^<]{10,}<\/faultstring>|<env:Text xml:lang="en">[^<]{10,}<\/env:Text>/);
    return res;
  }

  afterEach(async () => {
    expect((await gw.gateway.store.browse.events({}, { limit: 1 })).rows).to.have.length(0);
    expect((await gw.gateway.store.status()).pushes).to.equal(0);
    expect((await fetch(`${gw.url}/healthz`)).status).to.equal(200);
  });

  it('malformed XML', async () => {
    await expectFault(goodPush().replace('</ns1:OrderHeader>', ''), 'XML_MALFORMED', 500);
  });

  it('not a SOAP envelope, and a wrong body element or namespace', async () => {
    await expectFault('<hello/>', 'SOAP_NOT_ENVELOPE', 500);
    await expectFault(goodPush().replaceAll('DooDecompositionOrderStatusUpdateComposite', 'Other'), 'SOAP_UNKNOWN_OPERATION', 500);
    await expectFault(goodPush().replaceAll('ns1:results', 'ns1:result'), 'SOAP_UNKNOWN_OPERATION', 500);
  });

  it('an empty request body and an empty SOAP Body (credentials first: without them, AUTH_FAILED)', async () => {
    await expectFault('', 'XML_MALFORMED', 500);
    const empty = '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>';
    await expectFault(empty, 'SOAP_EMPTY_BODY', 500, { authorization: basic(SOAP_PASSWORD) });
    await expectFault(empty, 'AUTH_FAILED', 401);
  });

  it('decides HTTP Basic before reading the body: a wrong password is answered while the client still sends, and it reads the 401', async () => {
    const res = await postChunked(
      endpoint(),
      function* () {
        for (let i = 0; i < 100 * 1024; i++) yield Buffer.alloc(1024, 0x61); // up to 100 MB, never all sent
      },
      { authorization: basic('wrong password') },
    );
    expect(res.status).to.equal(401);
    expect(res.body).to.include('AUTH_FAILED');
    expect(res.sent).to.be.lessThan(20 * 1024 * 1024);
  });

  it('refuses a push whose credentials do not come within maxBytesBeforeCredentials, having read no more than that', async () => {
    const padded = goodPush().replace('<wsse:Security', `<x:Pad xmlns:x="urn:pad">${'p'.repeat(60 * 1024)}</x:Pad><wsse:Security`);
    expect(padded).to.include('urn:pad');
    const res = await expectFault(padded, 'AUTH_FAILED', 401);
    expect(res.body).to.include('first 16384 bytes');
  });

  it('a body declared and sent whole over the limit: the client reads the 413, not a reset (keep-alive and Connection: close)', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024, 0x61);
    const res = await postSoap(endpoint(), big);
    expect(res.status).to.equal(413);
    expect(res.body).to.include('PAYLOAD_TOO_LARGE');
    // A client that asked for close and writes everything before it reads.
    const closing = await new Promise<{ status: number; body: string; error?: string }>((resolve) => {
      const req = request(endpoint(), { method: 'POST', agent: false, headers: { 'content-type': 'text/xml', 'content-length': String(big.length), connection: 'close' } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString('utf8')));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: err.code ?? err.message }));
      req.end(big);
    });
    expect(closing.status, closing.error).to.equal(413);
    expect(closing.body).to.include('PAYLOAD_TOO_LARGE');
  });

  it('too many attributes, and names and texts over their limits', async () => {
    const attrs = Array.from({ length: 65 }, (_, i) => ` a${i}="1"`).join('');
    await expectFault(goodPush().replace('<ns1:HoldCode>', `<ns1:X${attrs}/><ns1:HoldCode>`), 'XML_TOO_MANY_ATTRIBUTES', 500);
    await expectFault(goodPush().replace('<ns1:HoldCode>', `<ns1:${'N'.repeat(300)}/><ns1:HoldCode>`), 'XML_TOO_LONG', 500);
  });

  it('any DOCTYPE: plain, billion laughs, external entity to a file and to a URL', async () => {
    const envelope = goodPush().replace(/^<\?xml[^>]*\?>\s*/, '');
    const doctypes = [
      '<!DOCTYPE Envelope>',
      `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`,
      '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
      `<!DOCTYPE x [<!ENTITY xxe SYSTEM "${gw.url}/healthz">]>`,
    ];
    for (const doctype of doctypes) {
      const res = await expectFault(`<?xml version="1.0"?>${doctype}${envelope}`, 'XML_DOCTYPE_FORBIDDEN', 500);
      expect(res.body).to.not.include('root:');
    }
  });

  it('a body over the size limit, with Content-Length and streamed without it', async () => {
    const big = goodPush().replace('<ns1:HoldComments>', `<ns1:HoldComments>${'x'.repeat(70 * 1024)}`);
    await expectFault(big, 'PAYLOAD_TOO_LARGE', 413);
    // Authenticated by HTTP Basic, so the body is read on to the size limit.
    const res = await postChunked(
      endpoint(),
      function* () {
        yield Buffer.from(goodPush().slice(0, 300));
        for (let i = 0; i < 100 * 1024; i++) yield Buffer.alloc(1024, 0x61); // up to 100 MB, never all sent
      },
      { authorization: basic(SOAP_PASSWORD) },
    );
    expect(res.status).to.equal(413);
    expect(res.body).to.include('PAYLOAD_TOO_LARGE');
    expect(res.sent).to.be.lessThan(20 * 1024 * 1024);
  });

  it('nesting deeper than the limit', async () => {
    const deep = `${'<a>'.repeat(5_000)}${'</a>'.repeat(5_000)}`;
    await expectFault(goodPush().replace('<ns1:HoldCode>', `<ns1:X>${deep}</ns1:X><ns1:HoldCode>`), 'XML_TOO_DEEP', 500);
  });

  it('invalid UTF-8', async () => {
    const bytes = Buffer.from(goodPush(), 'utf8');
    const at = bytes.indexOf('SO-1');
    await expectFault(Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3, 0x28]), bytes.subarray(at)]), 'XML_INVALID_ENCODING', 500);
  });

  it('wrong content types and SOAP with attachments', async () => {
    await expectFault(goodPush(), 'UNSUPPORTED_MEDIA_TYPE', 415, { 'content-type': 'application/json' });
    await expectFault(goodPush(), 'UNSUPPORTED_MEDIA_TYPE', 415, { 'content-type': 'multipart/related; type="text/xml"; boundary=x' });
  });

  it('faults in SOAP 1.2 form when the client speaks SOAP 1.2', async () => {
    const res = await postSoap(endpoint(), '<hello/>', { 'content-type': 'application/soap+xml' });
    expect(res.status).to.equal(400);
    expect(res.headers.get('content-type')).to.include('application/soap+xml');
    expect(res.body).to.include('<env:Value>env:Sender</env:Value>');
  });

  it('a client that hangs up mid-body is a client event: logged at info, counted as client_aborted, no stack trace', async () => {
    const body = Buffer.from(goodPush());
    const counted = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return Number(/omgw_pushes_received_total\{result="client_aborted"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await counted();
    const logged = gw.logs.length;
    await new Promise<void>((resolve) => {
      const req = request(endpoint(), { method: 'POST', headers: { 'content-type': 'text/xml', 'content-length': String(body.length), authorization: basic(SOAP_PASSWORD) } });
      req.on('error', () => resolve());
      req.write(body.subarray(0, 200), () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    const read = () => gw.logs.slice(logged).map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown });
    await until('the log line of the abort', () => read().some((l) => l.msg.includes('client closed the connection')));
    const lines = read();
    const line = lines.find((l) => l.msg.includes('client closed the connection'));
    expect(line?.level).to.equal(30); // info
    expect(lines.filter((l) => l.level >= 50)).to.deep.equal([]);
    expect(JSON.stringify(lines)).to.not.include('stack');
    expect(await counted()).to.equal(before + 1);
  });

  it('records each refusal in the audit trail (repeats within a minute as a count on one record)', async () => {
    const refused = async (): Promise<AuditRecord[]> => {
      await gw.gateway.store.audit.flushRefusals();
      return (await gw.gateway.store.browse.audit({ actions: ['push.rejected'], results: ['soap_not_envelope'] }, { limit: 1000 })).rows;
    };
    const counted = (rows: AuditRecord[]) => rows.reduce((n, a) => n + (JSON.parse(a.detail ?? '') as { count: number }).count, 0);
    const before = counted(await refused());
    await postSoap(endpoint(), '<hello/>');
    const after = await refused();
    expect(counted(after)).to.equal(before + 1);
    for (const a of after) expect(a.direction).to.equal('in');
  });
});

describe(`SOAP: a store failure before commit is a Server Fault, and the gateway recovers (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('answers 500 soap:Server while the events table is unusable, then accepts the re-sent push', async () => {
    // The failure is simulated on the test's own connection: the events table is renamed away and back.
    const tables = gw.database.tables();
    await tables.schema.renameTable('events', 'events_away');
    const body = goodPush();
    const res = await postSoap(`${gw.url}/soap/business-events`, body);
    expect(res.status).to.equal(500);
    expect(res.body).to.include('<faultcode>soap:Server</faultcode>').and.include('STORE_UNAVAILABLE');
    await tables.schema.renameTable('events_away', 'events');
    expect((await gw.gateway.store.status()).pushes).to.equal(0); // nothing half-written
    expect((await postSoap(`${gw.url}/soap/business-events`, body)).status).to.equal(202);
    const events = (await gw.gateway.store.browse.events({}, { limit: 1000 })).rows;
    expect(events.map((e) => e.status)).to.deep.equal(['routed']);
  });
});

/**
 * Another process that takes and releases the write lock of a SQLite file on command, as the sqlite3
 * shell, a backup or a second gateway would. A process of its own: within the test's process its
 * statements would share libuv's thread pool with the gateway's, which a statement waiting for the
 * lock occupies.
 */
async function lockHolder(file: string): Promise<{ lock(): Promise<void>; release(): Promise<void>; close(): Promise<void> }> {
  const script = `
    const sqlite3 = require('sqlite3');
    const db = new sqlite3.Database(process.argv[1]);
    require('node:readline').createInterface({ input: process.stdin })
      .on('line', (cmd) => db.exec(cmd === 'lock' ? 'BEGIN IMMEDIATE' : 'COMMIT', (err) => process.stdout.write((err ? 'error: ' + err.message : cmd) + '\\n')))
      .on('close', () => db.close());`;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (cmd: string): Promise<void> => {
    child.stdin.write(`${cmd}\n`);
    const { value } = await answers.next();
    if (value !== cmd) throw new Error(`lock holder, ${cmd}: ${String(value)}`);
  };
  return {
    lock: () => ask('lock'),
    release: () => ask('release'),
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

describe('SOAP: a write lock another process holds on the SQLite file (sqlite)', () => {
  let gw: TestGateway;
  before(async function () {
    if (backendName() !== 'sqlite') this.skip();
    gw = await startGateway();
  });
  after(async () => {
    await gw?.stop();
  });

  it('a push waits for it up to the busy timeout (5 s): stored when it is released in time, else 500 soap:Server STORE_UNAVAILABLE, and the re-sent push is stored', async function () {
    this.timeout(30_000);
    const endpoint = `${gw.url}/soap/business-events`;
    const push = (order: string) => buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: order } }], { security });
    const other = await lockHolder(gw.database.url.slice('sqlite:'.length));
    try {
      await other.lock();
      const brief = Date.now();
      // The lock's length is the scenario here, not a wait for something to happen.
      const released = new Promise<void>((resolve, reject) => setTimeout(() => other.release().then(resolve, reject), 500));
      const stored = await postSoap(endpoint, push('SO-1'));
      await released;
      expect(stored.status, stored.body).to.equal(202);
      expect(Date.now() - brief).to.be.at.least(450);

      await other.lock();
      const long = Date.now();
      let refused: Awaited<ReturnType<typeof postSoap>>;
      try {
        refused = await postSoap(endpoint, push('SO-2'));
      } finally {
        await other.release();
      }
      const waited = Date.now() - long;
      expect(refused.status, refused.body).to.equal(500);
      expect(refused.body).to.include('<faultcode>soap:Server</faultcode>').and.include('<omgw:code>STORE_UNAVAILABLE</omgw:code>');
      expect(waited).to.be.within(4_500, 20_000);
    } finally {
      await other.close();
    }

    // OM sends it again; nothing of the refused push was written.
    expect((await postSoap(endpoint, push('SO-2'))).status).to.equal(202);
    const events = (await gw.gateway.store.browse.events({}, { limit: 10 })).rows;
    expect(events.map((e) => e.orderKey).sort()).to.deep.equal(['LEG:SO-1', 'LEG:SO-2']);
    expect((await gw.gateway.store.status()).pushes).to.equal(2);
  });
});

describe(`SOAP: push bodies held at once are bounded by bodyBudget (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ gateway: gatewayYaml('    maxBodySize: 64KB\n    maxBytesBeforeCredentials: 16KB\n    bodyBudget: 64KB\n    bodyWait: 300ms') });
  });
  after(async () => {
    await gw.stop();
  });

  it('a push that finds no room waits bodyWait, then GATEWAY_BUSY (503, Retry-After); a stranger without room is refused at once', async () => {
    const endpoint = `${gw.url}/soap/business-events`;
    const body = Buffer.from(goodPush().replace('<ns1:HoldComments>', `<ns1:HoldComments>${'x'.repeat(50 * 1024)}`));
    // An authenticated push that holds 50 KB of the 64 KB while it is slowly sent.
    let release = (): void => undefined;
    const slow = new Promise<number>((resolve, reject) => {
      const req = request(endpoint, { method: 'POST', headers: { 'content-type': 'text/xml', 'content-length': String(body.length), authorization: basic(SOAP_PASSWORD) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 1000));
      release = () => req.end(body.subarray(1000));
    });
    const held = async () => Number(/omgw_push_body_bytes\{kind="held"\} (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);
    await until('the slow push to hold its share', async () => (await held()) >= body.length);
    const busy = await postSoap(endpoint, body, { authorization: basic(SOAP_PASSWORD) });
    expect(busy.status).to.equal(503);
    expect(busy.headers.get('retry-after')).to.equal('1');
    expect(busy.body).to.include('GATEWAY_BUSY').and.include('soap:Server');
    const stranger = await postSoap(endpoint, body);
    expect(stranger.status).to.equal(503);
    expect(stranger.body).to.include('GATEWAY_BUSY');
    // A refusal for lack of room is on purpose, not the gateway failing: no error line (level 50) each.
    expect(gw.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50)).to.deep.equal([]);
    release();
    expect(await slow).to.equal(202);
    expect((await postSoap(endpoint, body, { authorization: basic(SOAP_PASSWORD) })).status).to.equal(202);
  });
});
