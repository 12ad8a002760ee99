import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { backendName } from '../../helpers/backend.ts';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';

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
