import type { Dirent } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Router } from '@koa/router';

/**
 * The operator console: static files in the repository's console/ folder (HTML, CSS and browser ES
 * modules, type-checked by `npm run lint` through console/tsconfig.json), read once when the gateway
 * starts and served under /admin/. The page talks only to the admin REST API, with the bearer token the
 * operator types in (kept in the tab's session storage, never in a cookie), so every change it makes
 * is audited there. Nothing is built for it: the same files serve `npm start` (dist/) and the tests
 * (src/ through tsx), both two folders below the repository root.
 */

/** The console's files by their path under /admin/ (`index.html`, `js/main.js`...), read at start. */
export interface ConsoleFiles {
  readonly files: ReadonlyMap<string, { readonly type: string; readonly body: Buffer }>;
}

/** The only kinds of file the console has; anything else in the folder (its tsconfig.json) is not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Script and styles come only from the gateway's own files (no 'unsafe-inline'): markup injected into
 * the page (a connector name, an error text) can neither run script nor restyle the page. The
 * console's modules build elements with textContent and class names only, never innerHTML, style
 * attributes or inline handlers. img-src 'self' covers nothing but the console's own files.
 */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Reads the console folder (found above this module, as src/ and dist/ both sit below the root). */
export async function loadConsoleFiles(dir?: string): Promise<ConsoleFiles> {
  const root = dir ?? (await findConsoleDir());
  const files = new Map<string, { type: string; body: Buffer }>();
  await collect(root, '', files);
  if (!files.has('index.html')) throw new Error(`the console folder ${root} has no index.html`);
  return { files };
}

async function collect(root: string, prefix: string, into: Map<string, { type: string; body: Buffer }>): Promise<void> {
  const entries: Dirent[] = await readdir(path.join(root, prefix), { withFileTypes: true });
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    // Regular files and folders only: a symbolic link could lead out of the folder.
    if (entry.isDirectory()) await collect(root, rel, into);
    else if (entry.isFile()) {
      const type = CONTENT_TYPES[path.extname(entry.name)];
      if (type) into.set(rel, { type, body: await readFile(path.join(root, rel)) });
    }
  }
}

async function findConsoleDir(): Promise<string> {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'console');
    try {
      await access(path.join(candidate, 'index.html'));
      return candidate;
    } catch {
      if (path.dirname(dir) === dir) throw new Error(`console/index.html not found above ${start}`);
    }
  }
}

/**
 * Serves the console: /admin and /admin/ are its page, /admin/<file> each file read at start (the
 * page too, at /admin/index.html, where a browser or a bookmark may ask for it), and nothing else (a path that names no file of the folder, `..` included, is the router's 404).
 */
export function registerAdminConsole(router: Router, console: ConsoleFiles): void {
  const serve = (file: { type: string; body: Buffer }) => (ctx: Parameters<Parameters<Router['get']>[1]>[0]): void => {
    ctx.type = file.type;
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = file.body;
  };
  const index = console.files.get('index.html');
  // The router is not strict about a trailing slash: this serves /admin and /admin/.
  if (index) router.get('/admin', serve(index));
  for (const [rel, file] of console.files) router.get(`/admin/${rel}`, serve(file));
}
