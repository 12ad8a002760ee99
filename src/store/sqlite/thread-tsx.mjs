// Entry of the connection thread when the gateway runs from its TypeScript source (tests, tsx): on
// Node 20 a worker does not inherit the loader hooks of the thread that started it, and registering
// tsx's in every new thread costs a few hundred ms (the suites open a store hundreds of times). So
// thread.ts and the few modules it imports are bundled with esbuild (tsx's own compiler) into one
// plain module, kept in node_modules/.cache and built again only when one of them changed.
import { statSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('./thread.ts', import.meta.url));
// Under the checkout's node_modules, so that the bundle's imports of packages (sqlite3) resolve; one
// folder per source folder (git worktrees may share one node_modules).
const cache = fileURLToPath(new URL('../../../node_modules/.cache/omgw-sqlite-thread/', import.meta.url));
const dir = join(cache, createHash('sha256').update(source).digest('hex').slice(0, 16));
const bundle = join(dir, 'thread.mjs');
const inputsFile = join(dir, 'inputs.json');

function fresh() {
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
    return Object.entries(inputs).every(([file, mtime]) => statSync(file).mtimeMs === mtime);
  } catch {
    return false;
  }
}

if (!fresh()) {
  const { buildSync } = await import('esbuild');
  const result = buildSync({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, absWorkingDir: fileURLToPath(new URL('.', import.meta.url)) });
  mkdirSync(dir, { recursive: true });
  const root = fileURLToPath(new URL('.', import.meta.url));
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((f) => { const p = join(root, f); return [p, statSync(p).mtimeMs]; }));
  const tmp = `${bundle}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, result.outputFiles[0].text);
  renameSync(tmp, bundle);
  writeFileSync(`${inputsFile}.${process.pid}`, JSON.stringify(inputs));
  renameSync(`${inputsFile}.${process.pid}`, inputsFile);
}
await import(pathToFileURL(bundle).href);
