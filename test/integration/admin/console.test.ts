import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Router } from '@koa/router';
import { loadConsoleFiles, registerAdminConsole } from '../../../src/admin/console.ts';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';
import { CHROMIUM, NO_CHROMIUM, openConsoleBrowser, type ConsoleBrowser } from './console-browser.ts';

const CONSOLE_DIR = resolve(import.meta.dirname, '../../../console');

describe(`the operator console's files (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('serves its page at /admin, /admin/ and /admin/index.html, locked down, loading one module script and one style sheet', async () => {
    for (const path of ['/admin', '/admin/', '/admin/index.html']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.include('text/html');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).to.include("default-src 'none'").and.include("script-src 'self'").and.include("style-src 'self'").and.include("connect-src 'self'");
      expect(csp).to.not.include('unsafe-inline').and.not.include('unsafe-eval');
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      const html = await res.text();
      expect(html).to.include('<script type="module" src="/admin/js/main.js"></script>').and.include('<link rel="stylesheet" href="/admin/console.css">');
      // Everything the CSP would refuse: an inline <script> body, a <style> element, style="" or on*="" attributes.
      expect(html).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html).to.not.match(/<style\b/i);
      expect(html).to.not.match(/\sstyle\s*=|\son[a-z]+\s*=/i);
    }
  });

  it('serves every module of console/js as JavaScript, with the same headers, exactly as the file holds it', async () => {
    const files = (await readdir(join(CONSOLE_DIR, 'js'), { recursive: true })).filter((f) => f.endsWith('.js'));
    expect(files).to.include.members(['main.js', 'api.js', 'views/deliveries.js', 'views/funnel.js']);
    for (const file of files) {
      const res = await fetch(`${gw.url}/admin/js/${file}`);
      expect(res.status, file).to.equal(200);
      expect(res.headers.get('content-type'), file).to.match(/^text\/javascript/);
      expect(res.headers.get('content-security-policy'), file).to.include("script-src 'self'");
      expect(res.headers.get('cache-control'), file).to.equal('no-store');
      const text = await res.text();
      expect(text, file).to.equal(await readFile(join(CONSOLE_DIR, 'js', file), 'utf8'));
      // Markup from strings, inline styles or handlers would be refused by the page's policy (or be a way in).
      expect(text, file).to.not.match(/innerHTML|outerHTML|insertAdjacentHTML|\.style\b|setAttribute\('style'/);
    }
    const css = await fetch(`${gw.url}/admin/console.css`);
    expect(css.status).to.equal(200);
    expect(css.headers.get('content-type')).to.match(/^text\/css/);
    // The only API the console uses is the admin API.
    expect(await (await fetch(`${gw.url}/admin/js/api.js`)).text()).to.include("const BASE = '/admin/api';");
  });

  it('refuses what is not one of its files: other kinds of file in the folder, paths that climb out, unknown names', async () => {
    for (const path of ['/admin/tsconfig.json', '/admin/js/../../package.json', '/admin/%2e%2e/package.json', '/admin/..%2Fpackage.json', '/admin/js/nothing.js', '/admin/js%2Fmain.js']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).to.equal(404);
      expect(await res.text(), path).to.not.include('"name": "om-connector-gateway"');
    }
  });

  it('reads the folder once, regular files only: a symbolic link out of the folder is not served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omgw-console-'));
    try {
      mkdirSync(join(dir, 'js'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      writeFileSync(join(dir, 'js', 'main.js'), 'export {};');
      const secret = join(dir, '..', `omgw-secret-${process.pid}.js`);
      writeFileSync(secret, 'const secret = 1;');
      symlinkSync(secret, join(dir, 'js', 'leak.js'));
      const files = await loadConsoleFiles(dir);
      expect([...files.files.keys()].sort()).to.deep.equal(['index.html', 'js/main.js']);
      // Read once: a change on disk after the start is not served.
      writeFileSync(join(dir, 'js', 'main.js'), 'changed');
      const router = new Router();
      registerAdminConsole(router, files);
      expect(router.stack.map((l) => l.path).sort()).to.deep.equal(['/admin', '/admin/index.html', '/admin/js/main.js']);
      expect(files.files.get('js/main.js')?.body.toString()).to.equal('export {};');
      rmSync(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start the console from a folder without its page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omgw-console-'));
    try {
      let error: unknown = null;
      await loadConsoleFiles(dir).catch((err: unknown) => (error = err));
      expect(String(error)).to.include('has no index.html');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(`the operator console: previewing an event's requests (${backendName()})`, function () {
  this.timeout(90_000);
  const TOKEN = 'admin-token-console-7e41b0';
  const CRM_PASSWORD = 'Crm-Console-Secret-0c55';
  const WH_WSDL = resolve(import.meta.dirname, '../../fixtures/wsdl/warehouse.wsdl');
  let gw: TestGateway;
  let target: FakeTarget;
  let browser: ConsoleBrowser;

  before(async function () {
    if (!CHROMIUM) {
      console.warn(`      skipped: ${NO_CHROMIUM}`);
      this.skip();
    }
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
    browser = await openConsoleBrowser();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await target?.close();
  });

  it('opens an event from the deliveries with the keyboard and shows, per connector, the request a delivery would send, or the transform error', async () => {
    const { page, problems } = browser;
    await page.goto(`${gw.url}/admin/#/deliveries`);
    await page.fill('#token', TOKEN);
    await page.keyboard.press('Enter');
    const eventLink = page.locator('table a[href^="#/event/"]').first();
    await eventLink.waitFor();
    await eventLink.focus();
    await page.keyboard.press('Enter');
    await page.locator('#event-title').waitFor({ state: 'visible' });
    // Focus moves to the event, so the next Tab stops are its actions.
    expect(await page.locator(':focus').getAttribute('id')).to.equal('event-title');
    // Its parsed fields and the raw push, indented, with the password replaced.
    expect(await page.locator('table', { has: page.locator('th', { hasText: 'Field' }) }).textContent()).to.include('SourceOrderNumber').and.include('CONSOLE-1');
    const raw = (await page.locator('#raw-push').textContent()) ?? '';
    expect(raw).to.match(/\n {2,}<[^>]*Body/).and.include('***').and.not.include(SOAP_PASSWORD);

    // The per-delivery action for the REST connector.
    const crm = page.getByRole('button', { name: 'Preview request to crm' });
    await crm.focus();
    await page.keyboard.press('Enter');
    await page.locator('#preview-title', { hasText: 'Request to crm' }).waitFor();
    expect(await page.locator(':focus').getAttribute('id')).to.equal('preview-title');
    const line = (await page.locator('#preview pre.request-line').textContent()) ?? '';
    expect(line).to.match(new RegExp(`^POST ${target.url}/orders/\\S*CONSOLE-1$`));
    const headers = await page.locator('#preview table.headers tr').allTextContents();
    expect(headers).to.include('Authorization***');
    const restBody = (await page.locator('#preview pre.body').textContent()) ?? '';
    expect(restBody).to.match(/^\{\n {2}"/);
    expect(await page.locator('#preview').textContent()).to.include('(JSON, indented for reading)').and.not.include(CRM_PASSWORD);

    // The connector picker: the SOAP connector's envelope, indented.
    await page.selectOption('#preview-connector', 'wh');
    await page.focus('#preview-form button');
    await page.keyboard.press('Enter');
    await page.locator('#preview-title', { hasText: 'Request to wh' }).waitFor();
    const envelope = (await page.locator('#preview pre.body').textContent()) ?? '';
    expect(envelope).to.match(/\n {2,}<ns1:CreateShipment xmlns:ns1="urn:example:warehouse:service"/);
    expect(envelope).to.match(/\n {4,}<ns2:sku>SKU-HOLD<\/ns2:sku>/);
    expect(await page.locator('#preview details pre').textContent()).to.include('<ns1:CreateShipment');

    // A connector whose mapping the WSDL refuses: the error in words, naming the path.
    await page.selectOption('#preview-connector', 'wh-missing');
    await page.click('#preview-form button');
    await page.locator('#preview-title', { hasText: 'Request to wh-missing' }).waitFor();
    const error = (await page.locator('#preview .error').textContent()) ?? '';
    expect(error).to.match(/^The mapping cannot build the request for this event.*requestId: is required/);

    // Nothing was sent, and the page broke no rule of its Content-Security-Policy.
    expect(target.requests).to.deep.equal([]);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
