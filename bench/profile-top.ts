/**
 * Summarises a V8 CPU profile (from `npm run bench -- --profile`, or any `node --cpu-prof`):
 * the functions with the most self time, and the source files (packages) where the time goes.
 * Usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: profile-top.ts <file.cpuprofile> [N]\n');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Self time per node from samples and time deltas (more exact than hitCount).
const selfUs = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) {
  const id = samples[i] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1] ?? url;
  if (url === '') return '(native/V8)';
  const src = /\/(src|dist|bench|test)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url.startsWith('node:') ? url : url.split('/').slice(-2).join('/');
};

const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const name = `${n.callFrame.functionName || '(anonymous)'}  ${where(n)}:${n.callFrame.lineNumber + 1}`;
  fnSelf.set(name, (fnSelf.get(name) ?? 0) + us);
  const w = n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)' || n.callFrame.functionName === '(garbage collector)' ? n.callFrame.functionName : where(n);
  fileSelf.set(w, (fileSelf.get(w) ?? 0) + us);
}
// Inclusive time per function (each sample counted once per function on its stack).
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const fnTotal = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (!n || n.callFrame.functionName === '(root)') continue;
    const name = `${n.callFrame.functionName || '(anonymous)'}  ${where(n)}:${n.callFrame.lineNumber + 1}`;
    if (seen.has(name)) continue;
    seen.add(name);
    fnTotal.set(name, (fnTotal.get(name) ?? 0) + us);
  }
}
const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n\nself time by package / file:\n`);
for (const [k, us] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
process.stdout.write(`\ninclusive time by function (src/ only):\n`);
for (const [k, us] of [...fnTotal].filter(([k]) => k.includes(' src/') || k.includes(' dist/')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
process.stdout.write(`\nself time by function:\n`);
for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
