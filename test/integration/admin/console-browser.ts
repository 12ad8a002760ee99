import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core, for the console's browser tests: headless, a fresh
 * profile each time, nothing fetched from the network by the browser itself. Tests skip (saying why)
 * when /usr/bin/chromium is absent; `.ci/run` installs it.
 */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
export const NO_CHROMIUM = 'Chromium is not installed (/usr/bin/chromium; apt-get install chromium): the console is not tested in a browser';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The few browser globals the tests' page functions use, typed here: the test program is compiled
 * without the DOM's types (src/ must not see them). A page function reads them from globalThis.
 */
export interface PageGlobals {
  document: {
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelector(selector: string): PageElement | null;
    addEventListener(type: 'securitypolicyviolation', listener: (e: { violatedDirective: string; blockedURI: string }) => void): void;
  };
  sessionStorage: { getItem(key: string): string | null };
  getComputedStyle(el: PageElement): { outlineStyle: string };
  omgwViolation(text: string): Promise<void>;
}
interface PageElement {
  textContent: string | null;
  name?: string;
  matches(selector: string): boolean;
}

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Script errors and every refusal of the page's Content-Security-Policy, as the browser reported them. */
  problems: string[];
  close(): Promise<void>;
}

export async function openConsoleBrowser(viewport = { width: 1280, height: 900 }): Promise<ConsoleBrowser> {
  if (!CHROMIUM) throw new Error(NO_CHROMIUM);
  const profile = mkdtempSync(join(tmpdir(), 'omgw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (execute|apply|load|connect)/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // The violation events themselves, reported by the page to the test (a binding, not page script).
  await context.exposeBinding('omgwViolation', (_source, text: string) => problems.push(`securitypolicyviolation: ${text}`));
  await context.addInitScript(() => {
    const w = globalThis as unknown as PageGlobals;
    w.document.addEventListener('securitypolicyviolation', (e) => {
      void w.omgwViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** docs/screenshots/<name>.png when OMGW_SCREENSHOTS=1 (so that an ordinary run rewrites nothing). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.OMGW_SCREENSHOTS !== '1') return;
  const dir = resolve(import.meta.dirname, '../../../docs/screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
