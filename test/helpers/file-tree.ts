import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Writes `files` (path relative to `dir` → text) under `dir`, creating folders; returns `dir`. */
export function writeTree(dir: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * For a describe block: `fixture(files)` makes a directory with `newDir()` and writes the files into
 * it; every directory made is removed after the block.
 */
export function fixtureTrees(newDir: () => string): (files: Record<string, string>) => string {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return (files) => {
    const dir = writeTree(newDir(), files);
    dirs.push(dir);
    return dir;
  };
}
