import { expect } from 'chai';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { SANDBOX_ENV, SANDBOX_YAML } from '../../helpers/sandbox.ts';
import { checkGatewayWebhookUrl, ShipBobSandbox } from '../../../src/sandbox/shipbob/index.ts';
import { FakeTarget } from '../../helpers/target.ts';

describe('sandbox ShipBob: webhooks go only to the gateway itself', function () {
  let gw: TestGateway | undefined;

  const subscribe = async (url: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${gw!.url}/sandbox/shipbob/2026-01/webhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SANDBOX_ENV.SB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, topics: ['order.shipped'] }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  before(async function () {
    gw = await startGateway({ gateway: SANDBOX_YAML }, { env: SANDBOX_ENV });
  });

  after(async function () {
    await gw?.stop();
  });

  it('refuses a subscription to any other URL with a 422 in ShipBob’s error shape', async function () {
    const port = new URL(gw!.url).port;
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.169.254/webhooks/shipbob',
      'https://example.com/webhooks/shipbob',
      `http://127.0.0.1:${port}/sandbox/received`,
      `http://127.0.0.1:${Number(port) + 1}/webhooks/shipbob`,
      `http://user:pw@127.0.0.1:${port}/webhooks/shipbob`,
    ]) {
      const answer = await subscribe(url);
      expect(answer.status, url).to.equal(422);
      expect(answer.json, url).to.deep.include({ $type: 'UnprocessableEntityObjectResult', status_code: 422 });
      expect(answer.json, url).to.have.nested.property('value.url[0]').that.matches(/only to this gateway: the url must be http:\/\/127\.0\.0\.1:\d+\/webhooks\/shipbob/);
    }
    // Nothing was subscribed: only the gateway's own pre-made subscription is listed.
    const list = await fetch(`${gw!.url}/sandbox/shipbob/2026-01/webhook`, { headers: { authorization: `Bearer ${SANDBOX_ENV.SB_TOKEN}` } });
    const urls = ((await list.json()) as { items: Array<{ url: string }> }).items.map((i) => i.url);
    expect(urls).to.deep.equal([`${gw!.url}/webhooks/shipbob`]);
  });

  it("accepts the gateway's own /webhooks/shipbob, by its URL or a loopback name with its port", async function () {
    const port = new URL(gw!.url).port;
    for (const url of [`${gw!.url}/webhooks/shipbob`, `http://localhost:${port}/webhooks/shipbob`, `http://[::1]:${port}/webhooks/shipbob`]) {
      const answer = await subscribe(url);
      expect(answer.status, JSON.stringify(answer.json)).to.equal(201);
      expect(answer.json).to.include({ url });
    }
  });

  it('decides by origin and path alone', function () {
    const gateway = 'https://omgw.example.com:8443';
    expect(checkGatewayWebhookUrl('https://omgw.example.com:8443/webhooks/shipbob', gateway)).to.equal(null);
    expect(checkGatewayWebhookUrl('https://127.0.0.2:8443/webhooks/shipbob', gateway)).to.equal(null);
    expect(checkGatewayWebhookUrl('http://127.0.0.1:8443/webhooks/shipbob', gateway)).to.match(/must be https:\/\/omgw\.example\.com:8443\/webhooks\/shipbob/);
    expect(checkGatewayWebhookUrl('https://omgw.example.com/webhooks/shipbob', gateway)).to.be.a('string');
    expect(checkGatewayWebhookUrl('https://omgw.example.com:8443/webhooks/shipbob?to=x', gateway)).to.be.a('string');
    expect(checkGatewayWebhookUrl('not a url', gateway)).to.be.a('string');
  });

  it('keeps the answer of a URL it refuses out of the webhook attempts (a subscription made in code)', async function () {
    const foreign = await new FakeTarget().start();
    foreign.answer = () => ({ status: 200, body: '{"instance-credentials":"do-not-show"}' });
    const sandbox = new ShipBobSandbox({
      token: SANDBOX_ENV.SB_TOKEN,
      webhookSecret: SANDBOX_ENV.SB_SECRET,
      channelId: 1,
      checkWebhookUrl: (url) => checkGatewayWebhookUrl(url, 'http://127.0.0.1:1'),
    });
    try {
      sandbox.subscribe(`${foreign.url}/anything`, ['order.shipped']);
      await sandbox.sendEvent('order.shipped', {});
      const [attempt] = sandbox.webhookAttempts();
      expect(attempt).to.include({ status: 200, responseSnippet: '' });
    } finally {
      sandbox.close();
      await foreign.close();
    }
  });
});
