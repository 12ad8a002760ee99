#!/usr/bin/env node
// Project rules that the compiler does not check: no `any` in src/, no focused tests, SQL only in src/store/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const problems = [];
for (const file of walk('src').filter((f) => f.endsWith('.ts'))) {
  const text = readFileSync(file, 'utf8');
  text.split('\n').forEach((line, i) => {
    if (/(:\s*any\b|<any>|as any\b|any\[\])/.test(line)) problems.push(`${file}:${i + 1}: no \`any\` in src/`);
    if (!file.startsWith(join('src', 'store')) && /\b(knex|trx)\s*\(\s*['"`]|\.raw\(\s*['"`]/.test(line)) {
      problems.push(`${file}:${i + 1}: SQL belongs in src/store/`);
    }
  });
}
for (const file of walk('test').filter((f) => f.endsWith('.ts'))) {
  const text = readFileSync(file, 'utf8');
  text.split('\n').forEach((line, i) => {
    if (/\b(it|describe|context)\.only\(/.test(line)) problems.push(`${file}:${i + 1}: focused test`);
  });
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('lint: ok\n');
