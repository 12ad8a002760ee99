import { expect } from 'chai';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget, type ReceivedRequest } from '../../helpers/target.ts';
import { everything } from '../../helpers/pages.ts';

/**
 * Targets that echo the credentials they received, as an attacker-minded review found them: an
 * API key sent in the query comes back percent-encoded, and a token sits across the 2 KB cut of the
 * stored response snippet. Whatever the store kept must hold no part of either secret.
 */

// `/ + = % & space`: every character that encodes differently in a URL, a form and JSON.
const QUERY_KEY = 'Qz7/vR+w=Jk &p%N4';
const PAD_TOKEN = 'Tk9+Wq/x=Pz&mH2Lr8/Yd%Vc';
const SNIPPET_BYTES = 2048;

const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());

/** The forms a target may echo a secret in. */
function echoForms(secret: string): string[] {
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  const b64 = Buffer.from(secret).toString('base64');
  return [secret, JSON.stringify(secret).slice(1, -1), uri, lowerHex(uri), form, lowerHex(form), b64, b64.replace(/=+$/, '')];
}

/** Every 4-character piece of every form: a longer piece of a secret holds one of these. */
function piecesOf(secret: string): string[] {
  const out = new Set<string>();
  for (const form of echoForms(secret)) for (let at = 0; at + 4 <= form.length; at++) out.add(form.slice(at, at + 4));
  return [...out];
}

describe(`secrets echoed by targets are not stored, in any form or part (${backendName()})`, function () {
  this.timeout(30_000);
  let target: FakeTarget;
  let gw: TestGateway;

  before(async () => {
    target = await new FakeTarget().start();
    target.answer = (req: ReceivedRequest) => {
      if (req.path.startsWith('/echo')) {
        // The request URL as received: the key is in it form-encoded, as the gateway sent it.
        return { status: 400, headers: { 'x-you-asked': req.path }, body: JSON.stringify({ error: `unknown order in ${req.path}`, lower: lowerHex(req.path) }) };
      }
      // The token across the snippet cut: 12 of its characters before byte 2048.
      const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      const head = `{"error":"bad token `;
      return { status: 500, body: `${head}${'x'.repeat(SNIPPET_BYTES - 12 - head.length)}${auth}${'y'.repeat(200)}"}` };
    };
    const retry = 'retry:\n  schedule: [50ms]\n  maxAttempts: 2\n';
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 100ms' }),
        connectors: {
          'keyq.yaml': `protocol: rest\nurl: ${target.url}\npath: /echo/{{orderKey}}\n${retry}auth:\n  type: api-key\n  key: \${env:TEST_QUERY_KEY}\n  in: query\n  name: api_key\n`,
          'padded.yaml': `protocol: rest\nurl: ${target.url}\npath: /pad\n${retry}auth:\n  type: bearer\n  token: \${env:TEST_PAD_TOKEN}\n`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [keyq, padded]\n",
      },
      { env: { TEST_QUERY_KEY: QUERY_KEY, TEST_PAD_TOKEN: PAD_TOKEN } },
    );
  });

  after(async () => {
    await gw?.stop();
    await target?.close();
  });

  it('keeps no piece of a query API key echoed percent-encoded, nor of a token across the snippet cut', async () => {
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SEC-ECHO-1' } }], {
      security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD },
    });
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);

    const store = gw.gateway.store;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const open = await store.browse.deliveries({ states: ['pending', 'retrying', 'in_flight'] }, { limit: 1 });
      if (open.rows.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    // The targets did receive the secrets (so the echo means something).
    const received = target.requests.map((r) => `${decodeURIComponent(r.path.replace(/\+/g, ' '))} ${String(r.headers.authorization)}`).join('\n');
    expect(received).to.include(QUERY_KEY).and.include(PAD_TOKEN);

    const attempts = (await store.browse.attempts({ connectors: ['keyq', 'padded'] }, { limit: 100 })).rows;
    expect(attempts.map((a) => a.connector).sort()).to.deep.equal(['keyq', 'padded', 'padded']); // a 400 parks at once; a 500 is tried again
    const echoed = attempts.find((a) => a.connector === 'keyq');
    expect(echoed?.responseSnippet).to.include('api_key=***');
    for (const a of attempts.filter((x) => x.connector === 'padded')) {
      const snippet = a.responseSnippet ?? '';
      // Scrubbed whole, then cut: the token's place is marked inside the 2 KB, not half kept at its end.
      expect(Buffer.byteLength(snippet)).to.equal(SNIPPET_BYTES);
      expect(snippet).to.include('x***y');
    }

    const stored: string[] = [];
    for (const a of attempts) stored.push(a.requestSummary, a.responseHeaders ?? '', a.responseSnippet ?? '', a.errorMessage ?? '');
    for (const d of await everything((page) => store.browse.deliveries({}, page))) stored.push(String(d.lastError), String(d.parkedReason));
    for (const r of await everything((page) => store.browse.audit({}, page))) stored.push(String(r.detail));
    const text = stored.join('\n');
    for (const secret of [QUERY_KEY, PAD_TOKEN]) {
      const left = piecesOf(secret).filter((piece) => text.includes(piece));
      expect(left, `pieces of ${secret} stored`).to.deep.equal([]);
    }
    // And the logs: no whole form (their ids make 4-character pieces too common to search for).
    const logs = gw.logs.join('\n');
    for (const form of [...echoForms(QUERY_KEY), ...echoForms(PAD_TOKEN)]) expect(logs.includes(form), form).to.equal(false);
  });
});
