import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

/** Debian's Chromium, when installed: the page is then loaded in a real browser as well. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Loads `url` in headless Chromium: the DOM after its scripts ran, and what the browser logged. */
function loadInChromium(binary: string, url: string): Promise<{ dom: string; log: string }> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-logging=stderr', '--v=0', '--virtual-time-budget=3000', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(err) : resolve({ dom: stdout, log: stderr })));
  });
}

describe(`the operator console page (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('serves one static page, locked down, that works only through the admin API', async () => {
    const res = await fetch(`${gw.url}/admin/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.include('text/html');
    expect(res.headers.get('content-security-policy')).to.include("default-src 'none'").and.include("connect-src 'self'");
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    const html = await res.text();
    expect(html).to.include('<script src="/admin/console.js" defer></script>');
    expect((await fetch(`${gw.url}/admin`)).status).to.equal(200);
  });

  it('allows script and styles only from its own files: no inline script, style or handler on the page', async () => {
    const res = await fetch(`${gw.url}/admin`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("script-src 'self'").and.include("style-src 'self'");
    expect(csp).to.not.include('unsafe-inline').and.not.include('unsafe-eval');
    const html = await res.text();
    // Everything the CSP would refuse: an inline <script> body, a <style> element, style="" or on*="" attributes.
    expect(html).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).to.not.match(/<style\b/i);
    expect(html).to.not.match(/\sstyle\s*=|\son[a-z]+\s*=/i);
  });

  it('serves its script and style sheet with their own content types, nosniff, and no inline styles built', async () => {
    const script = await fetch(`${gw.url}/admin/console.js`);
    expect(script.status).to.equal(200);
    expect(script.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(script.headers.get('x-content-type-options')).to.equal('nosniff');
    const js = await script.text();
    expect(js).to.include("const api = '/admin/api'").and.include('sessionStorage');
    // Rows built by the script would be refused by style-src 'self' if they carried style attributes or handlers.
    expect(js).to.not.match(/style=|\son[a-z]+=/i);
    const css = await fetch(`${gw.url}/admin/console.css`);
    expect(css.status).to.equal(200);
    expect(css.headers.get('content-type')).to.match(/^text\/css/);
    expect(await css.text()).to.include('font-variant-numeric');
  });

  it('lists the gateway instances from the admin API beside the connectors', async () => {
    const html = await (await fetch(`${gw.url}/admin/`)).text();
    expect(html).to.include('<h2>Instances</h2>').and.include('<tbody id="instances"></tbody>');
    const js = await (await fetch(`${gw.url}/admin/console.js`)).text();
    expect(js).to.include("call('GET', '/instances')").and.include('await loadInstances()');
    const css = await (await fetch(`${gw.url}/admin/console.css`)).text();
    for (const state of ['.live', '.stale']) expect(css).to.include(state);
  });

  it('runs in a real browser with no Content-Security-Policy violation', async function () {
    if (!CHROMIUM) this.skip();
    this.timeout(90_000);
    const { dom, log } = await loadInChromium(CHROMIUM!, `${gw.url}/admin/`);
    // The script ran: without a token it asks for one.
    expect(dom).to.include('Enter the admin token');
    // Chromium logs every refused script, style or connection as a console error naming the policy.
    expect(log).to.not.match(/Content Security Policy|Refused to (execute|apply|load|connect)/i);
  });
});

describe(`the operator console: previewing an event's requests (${backendName()})`, function () {
  this.timeout(90_000);
  const TOKEN = 'admin-token-console-7e41b0';
  const CRM_PASSWORD = 'Crm-Console-Secret-0c55';
  const WH_WSDL = resolve(import.meta.dirname, '../../fixtures/wsdl/warehouse.wsdl');
  let gw: TestGateway;
  let target: FakeTarget;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async function () {
    if (!CHROMIUM) this.skip();
    target = await new FakeTarget().start();
    gw = await startGateway(
      {
        gateway: `${gatewayYaml()}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`,
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /orders/{{orderKey}}\nauth:\n  type: basic\n  username: crm\n  password: \${env:TEST_CRM_PASSWORD}\n`,
          'wh.yaml': `protocol: soap\nurl: ${target.url}\npath: /wh\ntransform: jsonata:wh-create\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\n`,
          'wh-missing.yaml': `protocol: soap\nurl: ${target.url}\npath: /never\ntransform: jsonata:wh-missing\nsoap:\n  wsdl: ${WH_WSDL}\n  operation: CreateShipment\n  port: WarehouseSoap11Port\n`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm, wh]\n",
        mappings: {
          'wh-create.jsonata': '{ "requestId": deliveryId, "shipment": { "reference": orderKey, "shipTo": { "name": "ACME", "line1": "1 rue de Rivoli", "city": "Paris", "postalCode": "75001", "country": "FR" }, "line": [{ "sku": "SKU-" & eventCode, "quantity": 2 }] } }',
          'wh-missing.jsonata': '{ "shipment": { "reference": orderKey } }',
        },
      },
      { env: { TEST_ADMIN_TOKEN: TOKEN, TEST_CRM_PASSWORD: CRM_PASSWORD } },
    );
    const push = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'CONSOLE-1' } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
    expect((await postSoap(`${gw.url}/soap/business-events`, push)).status).to.equal(202);
    await until('the event has its deliveries', async () => (await gw.gateway.store.browse.deliveries({}, { limit: 10 })).rows.length === 2);
    browser = await chromium.launch({ executablePath: CHROMIUM! });
    page = await browser.newPage();
    // Script errors, and every refusal of the page's Content-Security-Policy (an answer of 422 is logged too, and expected).
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to (execute|apply|load|connect)/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await target?.close();
  });

  it('opens an event from the deliveries with the keyboard and shows, per connector, the request a delivery would send, or the transform error', async () => {
    await page.goto(`${gw.url}/admin/`);
    await page.fill('#token', TOKEN);
    await page.focus('#save');
    await page.keyboard.press('Enter');
    const eventLink = page.locator('#deliveries a[data-event]').first();
    await eventLink.waitFor();
    await eventLink.focus();
    await page.keyboard.press('Enter');
    await page.locator('#event').waitFor({ state: 'visible' });
    // Focus moves to the event, so the next Tab stops are its actions.
    expect(await page.locator(':focus').getAttribute('id')).to.equal('eventTitle');

    // The per-delivery action for the REST connector.
    const crm = page.getByRole('button', { name: 'Preview request to crm' });
    await crm.focus();
    await page.keyboard.press('Enter');
    await page.locator('#previewTitle', { hasText: 'Request to crm' }).waitFor();
    expect(await page.locator(':focus').getAttribute('id')).to.equal('previewTitle');
    const line = (await page.locator('#preview pre.request-line').textContent()) ?? '';
    expect(line).to.match(new RegExp(`^POST ${target.url}/orders/\\S*CONSOLE-1$`));
    const headers = await page.locator('#preview table.headers tr').allTextContents();
    expect(headers).to.include('Authorization***');
    const restBody = (await page.locator('#preview pre.body').textContent()) ?? '';
    expect(restBody).to.match(/^\{\n {2}"/);
    expect(await page.locator('#preview').textContent()).to.include('(JSON, indented for reading)').and.not.include(CRM_PASSWORD);

    // The connector picker: the SOAP connector's envelope, indented.
    await page.selectOption('#previewConnector', 'wh');
    await page.focus('#previewForm button');
    await page.keyboard.press('Enter');
    await page.locator('#previewTitle', { hasText: 'Request to wh' }).waitFor();
    const envelope = (await page.locator('#preview pre.body').textContent()) ?? '';
    expect(envelope).to.match(/\n {2,}<ns1:CreateShipment xmlns:ns1="urn:example:warehouse:service"/);
    expect(envelope).to.match(/\n {4,}<ns2:sku>SKU-HOLD<\/ns2:sku>/);
    expect(await page.locator('#preview details pre').textContent()).to.include('<ns1:CreateShipment');

    // A connector whose mapping the WSDL refuses: the error in words, naming the path.
    await page.selectOption('#previewConnector', 'wh-missing');
    await page.click('#previewForm button');
    await page.locator('#previewTitle', { hasText: 'Request to wh-missing' }).waitFor();
    const error = (await page.locator('#preview .error').textContent()) ?? '';
    expect(error).to.match(/^The mapping cannot build the request for this event.*requestId: is required/);

    // Nothing was sent, and the page broke no rule of its Content-Security-Policy.
    expect(target.requests).to.deep.equal([]);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
