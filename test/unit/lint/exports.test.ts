import { expect } from 'chai';
import { fixtureTrees } from '../../helpers/file-tree.ts';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run lint:exports` (knip --production with knip.jsonc): on small trees shaped like the
 * repository, with the real config (an export only a test uses, a file nothing reaches, an entry
 * loaded by URL), and on the real src/, which has none.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const knip = join(root, 'node_modules/knip/bin/knip.js');

interface KnipIssue {
  file: string;
  files: unknown[];
  [kind: string]: unknown;
}

/** Each finding as `kind file name` (`files path` for an unused file), sorted. */
async function findings(dir: string): Promise<string[]> {
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    // Knip exits 1 when it finds something; its report is on stdout either way.
    execFile(process.execPath, [knip, '--production', '--no-progress', '--reporter', 'json', '--directory', dir], (err, out, stderr) => {
      if (err && out.trim() === '') reject(new Error(`knip failed: ${stderr || err.message}`));
      else resolvePromise(out);
    });
  });
  const { issues } = JSON.parse(stdout) as { issues: KnipIssue[] };
  const out: string[] = [];
  for (const issue of issues) {
    for (const [kind, list] of Object.entries(issue)) {
      if (!Array.isArray(list)) continue;
      for (const item of list as Array<{ name?: string }>) out.push(kind === 'files' ? `files ${issue.file}` : `${kind} ${issue.file} ${item.name ?? ''}`);
    }
  }
  return out.sort();
}

/** A fresh directory with the repository's knip.jsonc and a package.json, for a tree of files. */
function knipDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-knip-'));
  copyFileSync(join(root, 'knip.jsonc'), join(dir, 'knip.jsonc'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, type: 'module' }));
  return dir;
}

describe('lint: exports only tests use, files nothing reaches', function () {
  this.timeout(30_000);
  const fixture = fixtureTrees(knipDir);

  it('reports an export only a test imports, and a file only a test imports', async () => {
    const dir = fixture({
      'src/main.ts': "import { decide } from './domain/rule.ts';\nexport const main = (): string => decide({ n: 1 });\n",
      'src/domain/rule.ts': [
        '/** Part of the signature of decide: may stay exported. */',
        'export interface Input { n: number }',
        'export function decide(input: Input): string { return helper(input.n); }',
        'export function helper(n: number): string { return String(n); }',
        'export type Unused = string;',
        '',
      ].join('\n'),
      'src/domain/orphan.ts': 'export const orphan = 1;\n',
      'test/rule.test.ts': "import { helper } from '../src/domain/rule.ts';\nimport { orphan } from '../src/domain/orphan.ts';\nexport const t = [helper(1), orphan];\n",
    });
    expect(await findings(dir)).to.deep.equal([
      'exports src/domain/rule.ts helper',
      'files src/domain/orphan.ts',
      'types src/domain/rule.ts Unused',
    ]);
  });

  it('follows the entries that are loaded by URL or serve the tests (SQLite thread, sandbox front doors)', async () => {
    const dir = fixture({
      'src/main.ts': 'export const main = 1;\n',
      'src/store/sqlite/thread.ts': "import { handle } from './handle.ts';\nhandle();\n",
      'src/store/sqlite/thread-tsx.mjs': "await import('./thread.ts');\n",
      'src/store/sqlite/handle.ts': 'export function handle(): void {}\n',
      'src/sandbox/fusion.ts': "export { book } from './fusion/book.ts';\nexport const startFusion = 1;\n",
      'src/sandbox/fusion/book.ts': 'export const book = 1;\nexport const pageOnlyTestsRead = 2;\n',
    });
    expect(await findings(dir)).to.deep.equal(['exports src/sandbox/fusion/book.ts pageOnlyTestsRead']);
  });

  it('finds nothing in src/', async () => {
    expect(await findings(root)).to.deep.equal([]);
  });
});
