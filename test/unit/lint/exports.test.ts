import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run lint:exports` (knip --production with knip.jsonc): on small trees shaped like the
 * repository, with the real config (an export only a test uses, a file nothing reaches, an entry
 * loaded by URL), and on the real src/, whose findings may only be the ones listed below.
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

/** A tree with the repository's knip.jsonc, a package.json and these files, in a fresh directory. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-knip-'));
  copyFileSync(join(root, 'knip.jsonc'), join(dir, 'knip.jsonc'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, type: 'module' }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * What the real src/ may still report: exports in files that other work owns, each used by a test,
 * the benchmark or nothing. The list may only shrink; anything else is a new finding to fix.
 */
const KNOWN = new Set([
  'exports src/delivery/runtime.ts createConnectorRuntime',
  'exports src/delivery/runtime.ts defaultTransform',
  'exports src/domain/delivery.ts transition',
  'exports src/inbound/poller/purchase-orders.ts PO_POLLER',
  'exports src/inbound/poller/purchase-orders.ts startPosition',
  'exports src/inbound/soap/routes.ts SOAP_PATH',
  'exports src/inbound/webhooks/shipbob.ts SHIPBOB_WEBHOOK_PATH',
  'exports src/inbound/webhooks/shipbob.ts acceptShipBobWebhook',
  'exports src/inbound/webhooks/shipbob.ts recordWebhookRejection',
  'exports src/jobs/index.ts nextRun',
  'exports src/jobs/recovery.ts RECOVERY_ACTOR',
  'exports src/jobs/recovery.ts REPLAY_AUDIT_ACTION',
  'exports src/jobs/scheduler.ts nextRun',
  'exports src/services/delivery-actions.ts MAX_REASON',
  'exports src/services/delivery-filter.ts MAX_LIST',
  'exports src/services/delivery-filter.ts MAX_PAGE',
  'exports src/store/deliveries.ts COMPLETION_COLUMNS',
  'exports src/store/deliveries.ts completionRows',
  'exports src/store/deliveries.ts completionUpdateSql',
  'exports src/store/deliveries.ts sqlStates',
  'exports src/store/ingest.ts MAX_EVENTS_PER_TRANSACTION',
  'exports src/store/ingest.ts writeBatch',
  'exports src/store/refusals.ts MAX_SOURCES_PER_MINUTE',
  'exports src/store/refusals.ts MINUTE_MS',
  'exports src/store/refusals.ts OTHER_SOURCE',
  'exports src/store/refusals.ts clipRefusal',
  'exports src/store/sqlite/batch.ts BOUND_RAW_CHARS',
  'exports src/store/sqlite/checkpointer.ts CHECKPOINT_INTERVAL_MS',
  'exports src/store/sqlite/connection.ts asThreadedConnection',
  'exports src/store/sqlite/sql.ts insertSql',
  'types src/config/schema.ts ConnectorAuthConfig',
  'types src/config/schema.ts InboundSoapSettings',
  'types src/jobs/index.ts PollOutcome',
  'types src/jobs/index.ts RecoverNowOptions',
  'types src/jobs/index.ts RecoveryOutcome',
  'types src/jobs/index.ts RecoveryRunSummary',
  'types src/jobs/index.ts RetentionOutcome',
  'types src/jobs/index.ts RetentionRemoved',
  'types src/jobs/index.ts ScheduledJob',
  'types src/store/deliveries.ts CompletionRows',
]);

describe('lint: exports only tests use, files nothing reaches', function () {
  this.timeout(30_000);
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const fixture = (files: Record<string, string>): string => {
    const dir = tree(files);
    dirs.push(dir);
    return dir;
  };

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

  it('finds in src/ nothing but the findings listed, all in files other work owns', async () => {
    const unexpected = (await findings(root)).filter((f) => !KNOWN.has(f));
    expect(unexpected).to.deep.equal([]);
  });
});
