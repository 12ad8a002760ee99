import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FROM_SOURCE = ['--import', 'tsx', fileURLToPath(new URL('./run-cli.ts', import.meta.url))];
const FROM_DIST = [fileURLToPath(new URL('./run-cli-dist.mjs', import.meta.url))];

let chosen: string[] | null = null;

/**
 * The node arguments that run the CLI in a child process, before the CLI's own: the compiled dist/
 * when it was built from the sources as they are now (every src/**\/*.ts older than its dist/ .js,
 * as after `npm ci` or `npm run build`), else the TypeScript sources through tsx. The two run the
 * same code; loading the compiled one costs a child a second less CPU, and the suites start hundreds.
 */
export function cliArgs(): string[] {
  chosen ??= distIsFresh() ? FROM_DIST : FROM_SOURCE;
  return [...chosen];
}

function distIsFresh(): boolean {
  const walk = (dir: string): boolean =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).every((entry) => {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) return walk(rel);
      if (!entry.name.endsWith('.ts')) return true;
      try {
        return statSync(join(ROOT, 'dist', rel.slice('src/'.length).replace(/\.ts$/, '.js'))).mtimeMs >= statSync(join(ROOT, rel)).mtimeMs;
      } catch {
        return false;
      }
    });
  return walk('src');
}
