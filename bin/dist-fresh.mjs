#!/usr/bin/env node
// Exit code 0 when dist/ is compiled from src/ as it is now (every src/**/*.ts has its dist/ .js,
// no older than it), else 1. `npm run demo` builds only when it is not, so a fresh install (whose
// `prepare` has just built dist/) starts the demo at once.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function fresh(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).every((entry) => {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) return fresh(rel);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return true;
    try {
      const compiled = join(root, 'dist', rel.slice('src/'.length).replace(/\.ts$/, '.js'));
      return statSync(compiled).mtimeMs >= statSync(join(root, rel)).mtimeMs;
    } catch {
      return false;
    }
  });
}

process.exitCode = fresh('src') ? 0 : 1;
