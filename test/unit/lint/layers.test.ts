import { expect } from 'chai';
import { fixtureTrees } from '../../helpers/file-tree.ts';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';

/**
 * The layer and cycle rules of `npm run lint` (.dependency-cruiser.cjs), run through
 * dependency-cruiser's API: on small trees shaped like src/ (each must be reported), and on the real
 * src/ (which must show exactly the violations listed below, no more, no fewer).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

/** Each violation as `rule: from -> to` (for a cycle, the modules of the cycle in order). */
async function violations(baseDir: string): Promise<string[]> {
  const { output } = await cruise(['src'], {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  }, config.options?.enhancedResolveOptions);
  const summary = (output as ICruiseResult).summary;
  return summary.violations
    .map((v) => `${v.rule.name}: ${[v.from, ...(v.cycle?.map((c) => c.name) ?? [v.to])].join(' -> ')}`)
    .sort();
}

/** A fresh directory inside the repository (so that node_modules resolves), for a tree of files. */
function layersDir(): string {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  return mkdtempSync(join(root, '.tmp', 'layers-'));
}

describe('lint: layers and cycles', function () {
  this.timeout(20_000);
  const fixture = fixtureTrees(layersDir);

  it('reports a domain file that imports from the store', async () => {
    const dir = fixture({
      'src/domain/rule.ts': "import type { Row } from '../store/rows.ts';\nexport const rule = (r: Row): Row => r;\n",
      'src/domain/ok.ts': "import { setTimeout } from 'node:timers/promises';\nimport { rule } from './rule.ts';\nexport { rule, setTimeout };\n",
      'src/store/rows.ts': 'export type Row = Record<string, string>;\n',
    });
    expect(await violations(dir)).to.deep.equal(['domain-is-pure: src/domain/rule.ts -> src/store/rows.ts']);
  });

  it('reports knex, pg or sqlite3 imported outside src/store', async () => {
    const dir = fixture({
      'src/inbound/handler.ts': "import knex from 'knex';\nexport const k = knex;\n",
      'src/jobs/job.ts': "import type { Pool } from 'pg';\nexport type P = Pool;\n",
      'src/store/db.ts': "import knex from 'knex';\nimport sqlite3 from 'sqlite3';\nexport const k = [knex, sqlite3];\n",
    });
    const found = await violations(dir);
    expect(found).to.have.length(2);
    expect(found[0]).to.match(/^sql-drivers-only-in-store: src\/inbound\/handler\.ts -> \S*node_modules\/knex\//);
    expect(found[1]).to.match(/^sql-drivers-only-in-store: src\/jobs\/job\.ts -> \S*node_modules\/(@types\/)?pg\//);
  });

  it('reports a row module of the store that does I/O or reaches past the domain', async () => {
    const dir = fixture({
      'src/store/rows/event.ts': "import type { Knex } from 'knex';\nimport { readFileSync } from 'node:fs';\nexport const f = (k: Knex) => [k, readFileSync];\n",
      'src/store/rows/ok.ts': "import type { Id } from '../../domain/id.ts';\nimport { f } from './event.ts';\nexport const g = (i: Id) => [i, f];\n",
      'src/store/rows/reach.ts': "import { open } from '../backend.ts';\nexport const h = open;\n",
      'src/store/backend.ts': 'export const open = 1;\n',
      'src/domain/id.ts': 'export type Id = string;\n',
    });
    const found = await violations(dir);
    expect(found).to.have.length(3);
    expect(found[0]).to.match(/^store-rows-are-pure: src\/store\/rows\/event\.ts -> \S*node_modules\/knex\//);
    expect(found[1]).to.equal('store-rows-are-pure: src/store/rows/event.ts -> fs');
    expect(found[2]).to.equal('store-rows-are-pure: src/store/rows/reach.ts -> src/store/backend.ts');
  });

  it('reports src/sandbox imported from outside app.ts, its HTTP surface and the CLI', async () => {
    const dir = fixture({
      'src/sandbox/peer.ts': 'export const peer = 1;\n',
      'src/app.ts': "import { peer } from './sandbox/peer.ts';\nexport const a = peer;\n",
      'src/app/http-surface.ts': "import { peer } from '../sandbox/peer.ts';\nexport const h = peer;\n",
      'src/app/background.ts': "import { peer } from '../sandbox/peer.ts';\nexport const b = peer;\n",
      'src/cli/commands.ts': "import { peer } from '../sandbox/peer.ts';\nexport const c = peer;\n",
      'src/services/use.ts': "import { peer } from '../sandbox/peer.ts';\nexport const s = peer;\n",
    });
    expect(await violations(dir)).to.deep.equal([
      'sandbox-only-from-edges: src/app/background.ts -> src/sandbox/peer.ts',
      'sandbox-only-from-edges: src/services/use.ts -> src/sandbox/peer.ts',
    ]);
  });

  it("reports the console's browser modules imported by server code", async () => {
    const dir = fixture({
      'console/js/api.js': 'export const call = 1;\n',
      'src/admin/console.ts': "import { call } from '../../console/js/api.js';\nexport const c = call;\n",
    });
    expect(await violations(dir)).to.deep.equal(['console-is-browser-only: src/admin/console.ts -> console/js/api.js']);
  });

  it('reports a cycle of two files, type-only imports included', async () => {
    const dir = fixture({
      'src/routing/a.ts': "import type { B } from './b.ts';\nexport interface A { b: B | null }\n",
      'src/routing/b.ts': "import type { A } from './a.ts';\nexport interface B { a: A }\n",
    });
    expect(await violations(dir)).to.deep.equal(['no-cycle: src/routing/a.ts -> src/routing/b.ts -> src/routing/a.ts']);
  });

  it('reports an import it cannot resolve (it would hide from the other rules)', async () => {
    const dir = fixture({ 'src/routing/a.ts': "import { b } from './missing.ts';\nexport const a = b;\n" });
    expect(await violations(dir)).to.deep.equal(['resolvable: src/routing/a.ts -> ./missing.ts']);
  });

  it('finds no violation in src/', async () => {
    expect(await violations(root)).to.deep.equal([]);
  });
});
