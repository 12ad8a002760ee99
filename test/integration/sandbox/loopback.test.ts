import { networkInterfaces } from 'node:os';
import { expect } from 'chai';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { SANDBOX_ENV, SANDBOX_YAML } from '../../helpers/sandbox.ts';

/** A local IPv4 address other than loopback (this host's eth0, say), or null when there is none. */
function nonLoopbackIpv4(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

interface Answer {
  status: number;
  json: { code?: string; message?: string } | unknown[] | null;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Answer['json']) : null };
}

/** One request to each sandbox peer (targets, emulated Fusion, emulated ShipBob), with its own credentials. */
function sandboxRequests(base: string): Array<[string, string, RequestInit]> {
  const basic = `Basic ${Buffer.from(`omgw.integration:${SANDBOX_ENV.SB_FUSION_PASSWORD}`).toString('base64')}`;
  return [
    ['GET /sandbox/received', `${base}/sandbox/received`, {}],
    ['POST /sandbox/rest-sink', `${base}/sandbox/rest-sink/x`, { method: 'POST', body: '{}' }],
    ['GET /sandbox/fusion/received', `${base}/sandbox/fusion/received`, { headers: { authorization: basic } }],
    ['GET /sandbox/shipbob/2026-01/channel', `${base}/sandbox/shipbob/2026-01/channel`, { headers: { authorization: `Bearer ${SANDBOX_ENV.SB_TOKEN}` } }],
    [
      'POST /sandbox/shipbob/_sandbox/events',
      `${base}/sandbox/shipbob/_sandbox/events`,
      { method: 'POST', headers: { authorization: `Bearer ${SANDBOX_ENV.SB_TOKEN}`, 'content-type': 'application/json' }, body: '{"topic":"order.shipped","payload":{}}' },
    ],
  ];
}

describe('sandbox: loopback peers only', function () {
  describe('bound to every interface (0.0.0.0)', function () {
    let gw: TestGateway | undefined;
    let ip: string | null;

    before(async function () {
      ip = nonLoopbackIpv4();
      gw = await startGateway({ gateway: SANDBOX_YAML }, { env: SANDBOX_ENV, host: '0.0.0.0' });
    });

    after(async function () {
      await gw?.stop();
    });

    it('refuses every sandbox route to a peer on another address (403 SANDBOX_LOOPBACK_ONLY)', async function () {
      if (!ip) {
        // Nothing to connect from: say so in the report rather than pass.
        this.test!.title += ' [skipped: this host has no non-loopback IPv4 address (os.networkInterfaces)]';
        this.skip();
      }
      const port = new URL(gw!.url).port;
      for (const [what, url, init] of sandboxRequests(`http://${ip}:${port}`)) {
        const answer = await call(url, init);
        expect(answer.status, what).to.equal(403);
        expect(answer.json, what).to.deep.include({ code: 'SANDBOX_LOOPBACK_ONLY' });
        expect((answer.json as { message: string }).message, what).to.match(/loopback/);
      }
      // The rest of the gateway still answers that peer.
      expect((await call(`http://${ip}:${port}/healthz`)).status).to.equal(200);
    });

    it('serves the same routes to 127.0.0.1', async function () {
      for (const [what, url, init] of sandboxRequests(gw!.url)) {
        const answer = await call(url, init);
        expect(answer.status, what).to.be.oneOf([200, 202]);
      }
    });

    it('reports the address actually bound, and a URL clients on this host can use', function () {
      const port = new URL(gw!.url).port;
      expect(gw!.url).to.equal(`http://127.0.0.1:${port}`);
      expect(gw!.gateway.bound).to.deep.equal({ address: `0.0.0.0:${port}`, allInterfaces: true });
      const started = gw!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).startsWith('gateway started'));
      expect(started).to.include({ url: `http://127.0.0.1:${port}`, bound: `0.0.0.0:${port}` });
      expect(started?.msg).to.match(/listening on all interfaces \(0\.0\.0\.0:\d+\)/);
    });

    it('warns at start that the sandbox answers only loopback peers', function () {
      const warning = gw!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => /sandbox routes .* answer only clients on this host/.test(String(l.msg)));
      expect(warning, gw!.logs.join('\n')).to.include({ level: 40, host: '0.0.0.0' });
    });
  });

  describe('bound to 127.0.0.1', function () {
    let gw: TestGateway | undefined;

    before(async function () {
      gw = await startGateway({ gateway: SANDBOX_YAML }, { env: SANDBOX_ENV });
    });

    after(async function () {
      await gw?.stop();
    });

    it('refuses a request a proxy forwarded (Forwarded, X-Forwarded-For, X-Real-IP), though it comes from loopback', async function () {
      for (const header of ['Forwarded', 'X-Forwarded-For', 'X-Real-IP']) {
        const value = header === 'Forwarded' ? 'for=203.0.113.9' : '203.0.113.9';
        const answer = await call(`${gw!.url}/sandbox/received`, { headers: { [header]: value } });
        expect(answer.status, header).to.equal(403);
        expect(answer.json, header).to.deep.include({ code: 'SANDBOX_LOOPBACK_ONLY' });
        expect((answer.json as { message: string }).message, header).to.match(new RegExp(`forwarded by a proxy \\(${header.toLowerCase()}\\)`));
      }
      expect((await call(`${gw!.url}/sandbox/received`)).status).to.equal(200);
    });

    it('reports the bound address as it is', function () {
      const port = new URL(gw!.url).port;
      expect(gw!.gateway.bound).to.deep.equal({ address: `127.0.0.1:${port}`, allInterfaces: false });
      const started = gw!.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).startsWith('gateway started'));
      expect(started).to.include({ bound: `127.0.0.1:${port}`, msg: `gateway started, listening on 127.0.0.1:${port}` });
      expect(gw!.logs.some((l) => l.includes('answer only clients on this host'))).to.equal(false);
    });
  });
});
