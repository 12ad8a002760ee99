import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { until } from '../../helpers/until.ts';
import { signedHeaders } from '../../helpers/webhook-signing.ts';

/**
 * A ShipBob webhook is read whole before its signature can be checked, so well-formed, current
 * headers with a forged signature make the gateway hold a body it cannot yet refuse. Those bodies
 * draw on a budget of their own (inbound.webhooks.bodyBudget): a flood of them is bounded by it, the
 * extra ones are refused at once (503 GATEWAY_BUSY, audited and counted like the route's other
 * refusals), and OM's pushes, on their own budget, are still accepted.
 */

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const KB = 1024;
const MAX_BODY = 64 * KB;
const BUDGET = 256 * KB;

const GATEWAY = gatewayYaml(`  webhooks:
    bodyBudget: 256KB
    shipbob:
      secrets:
        - \${env:TEST_SHIPBOB_WEBHOOK_SECRET}
      maxBodySize: 64KB
`);

interface Answer {
  status: number;
  retryAfter: string | null;
  json: { code?: string; message?: string } | null;
}

describe(`ShipBob webhooks: signed bodies held at once are bounded by inbound.webhooks.bodyBudget (${backendName()})`, () => {
  let gw: TestGateway;
  const endpoint = () => `${gw.url}/webhooks/shipbob`;
  const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
  const gauge = async (name: string, kind: 'held' | 'capacity') => Number(new RegExp(`${name}\\{kind="${kind}"\\} (\\d+)`).exec(await metrics())?.[1] ?? NaN);
  const signedHeld = () => gauge('omgw_signed_body_bytes', 'held');
  const now = () => Math.floor(Date.now() / 1000);
  let seq = 0;
  /** Well-formed, current Standard Webhooks headers with a made-up signature: only the body could refuse them. */
  const forged = (): Record<string, string> => ({
    'content-type': 'application/json',
    'x-webhook-topic': 'order.shipped',
    'webhook-id': `msg_flood_${seq++}`,
    'webhook-timestamp': String(now()),
    'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
  });
  const genuine = (body: string): Record<string, string> => ({ 'content-type': 'application/json', 'x-webhook-topic': 'order.shipped', ...signedHeaders(SECRET, `msg_ok_${seq++}`, now(), body) });

  const open: ClientRequest[] = [];
  /**
   * Sends the headers and the first `sent` bytes of a body, declared (`declared`) or chunked (null),
   * and never the rest: the request stays open until the test lets go of it.
   */
  function hold(declared: number | null, sent: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers = { ...forged(), ...(declared === null ? {} : { 'content-length': String(declared) }) };
      const req = request(endpoint(), { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, json: text ? (JSON.parse(text) as Answer['json']) : null });
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(sent, 0x61));
      open.push(req);
    });
  }
  async function post(body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
    const res = await fetch(endpoint(), { method: 'POST', headers, body });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: text ? (JSON.parse(text) as Answer['json']) : null };
  }

  before(async () => {
    gw = await startGateway(
      { gateway: GATEWAY, connectors: { 'crm.yaml': 'protocol: rest\nurl: http://127.0.0.1:9/crm\n' }, triggerPoints: 'triggerPoints: []\n' },
      { env: { TEST_SHIPBOB_WEBHOOK_SECRET: SECRET } },
    );
  });
  after(async () => {
    for (const req of open) req.destroy();
    await gw.stop();
  });

  it('a flood of forged webhooks with large bodies holds no more than the budget, the extra ones get 503 GATEWAY_BUSY, OM is still served, and a genuine webhook is accepted after it', async () => {
    expect(await gauge('omgw_signed_body_bytes', 'capacity')).to.equal(BUDGET);
    expect(await signedHeld()).to.equal(0);

    // Opened one at a time, each holding what it declared (a chunked one: maxBodySize), until full.
    const held: Array<Promise<Answer>> = [];
    let expected = 0;
    for (const [declared, bytes] of [[16 * KB, 16 * KB], [null, MAX_BODY], [MAX_BODY, MAX_BODY], [MAX_BODY, MAX_BODY], [48 * KB, 48 * KB]] as const) {
      held.push(hold(declared, 1024));
      expected += bytes;
      await until(`the signed-body budget to hold ${expected} bytes`, async () => (await signedHeld()) === expected);
    }
    expect(expected).to.equal(BUDGET);

    // The flood: ten more at once, each with its large body on the way. None finds room.
    const flood = await Promise.all(Array.from({ length: 10 }, () => hold(MAX_BODY, 8 * KB)));
    expect(await signedHeld(), 'never more than the budget').to.equal(BUDGET);
    for (const answer of flood) {
      expect(answer.status).to.equal(503);
      expect(answer.retryAfter).to.equal('1');
      expect(answer.json?.code).to.equal('GATEWAY_BUSY');
      expect(answer.json?.message).to.match(/signed bodies/);
    }
    // Refusals for lack of room are on purpose: the flood leaves no error line (level 50) in the log.
    expect(gw.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50)).to.deep.equal([]);

    // OM's pushes have their own budget: accepted during the flood.
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-FLOOD-1' } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
    const pushed = await postSoap(`${gw.url}/soap/business-events`, push);
    expect(pushed.status, pushed.body).to.equal(202);
    expect(await gauge('omgw_push_body_bytes', 'held')).to.equal(0);
    // A genuine webhook finds no room either while the flood holds it all (ShipBob sends it again).
    const during = JSON.stringify({ order_id: 100000101, status: 'Completed' });
    expect((await post(during, genuine(during))).status).to.equal(503);

    // Refusals for lack of room are audited (folded) and counted like the route's others.
    await gw.gateway.store.audit.flushRefusals();
    const records = (await gw.gateway.store.browse.audit({ actions: ['webhook.rejected'] }, { limit: 1000 })).rows.filter((r) => r.result === 'gateway_busy');
    const count = records.reduce((n, r) => n + (JSON.parse(r.detail ?? '{}') as { count: number }).count, 0);
    expect(count, 'every busy refusal counted in the folded records').to.equal(11);
    expect(records.length, 'folded per source and minute').to.be.at.most(2);
    expect(Number(/omgw_webhooks_received_total\{source="shipbob",result="gateway_busy"\} (\d+)/.exec(await metrics())?.[1])).to.equal(11);
    expect((await gw.gateway.store.browse.events({ sources: ['shipbob'] }, { limit: 10 })).rows).to.have.length(0);

    // Senders that hang up give their share back.
    for (const req of open.splice(0)) req.destroy();
    await Promise.allSettled(held);
    await until('the flood to let go of the signed-body budget', async () => (await signedHeld()) === 0);

    // After the flood: a genuine webhook is accepted, a forged one of the largest size is refused
    // on its signature, and neither keeps any of the budget.
    const body = JSON.stringify({ order_id: 100000102, status: 'Completed', filler: 'x'.repeat(60 * KB) });
    expect((await post(body, genuine(body))).status).to.equal(204);
    const forgedLarge = await post(body, forged());
    expect(forgedLarge.status).to.equal(401);
    expect(forgedLarge.json?.code).to.equal('AUTH_FAILED');
    expect(await signedHeld()).to.equal(0);
    expect((await gw.gateway.store.browse.events({ sources: ['shipbob'] }, { limit: 10 })).rows).to.have.length(1);
  });
});
