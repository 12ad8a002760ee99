import { SIZE } from './size.ts';
import { RUN_SEED } from '../../helpers/prng.ts';

/**
 * The figures the reliability suite reports. Each scenario records its rows as it finishes (before
 * its assertions, so a failing run still shows what it found); the table is printed once, in a root
 * `after` hook, when the whole run is over.
 *
 * Columns: cases tried; lost (acknowledged but not stored or not delivered); duplicated (delivered or
 * stored twice where the receiver can tell, beyond what the design allows); wrong (an answer other
 * than the right one: an invalid push stored, a refusal with the wrong code or too slowly, an order
 * violation); crashed (process exits, unhandled rejections, 5xx that is not a SOAP Fault); leaked
 * (secrets found in the database, the logs or an answer).
 */
export interface Figures {
  tried: number;
  lost: number;
  duplicated: number;
  wrong: number;
  crashed: number;
  leaked: number;
  notes: string;
}

const rows: Array<{ scenario: string } & Figures> = [];

export function report(scenario: string, figures: Partial<Figures> & { tried: number }): void {
  const row = { scenario, lost: 0, duplicated: 0, wrong: 0, crashed: 0, leaked: 0, notes: '', ...figures };
  const at = rows.findIndex((r) => r.scenario === scenario);
  if (at >= 0) rows[at] = row;
  else rows.push(row);
}

export function reportedRows(): ReadonlyArray<{ scenario: string } & Figures> {
  return rows;
}

export function formatTable(): string {
  const head = ['SCENARIO', 'TRIED', 'LOST', 'DUPLICATED', 'WRONG', 'CRASHED', 'LEAKED'];
  const body = rows.map((r) => [r.scenario, r.tried, r.lost, r.duplicated, r.wrong, r.crashed, r.leaked].map(String));
  const sum = (k: 'tried' | 'lost' | 'duplicated' | 'wrong' | 'crashed' | 'leaked'): string => String(rows.reduce((n, r) => n + r[k], 0));
  const total = ['TOTAL', sum('tried'), sum('lost'), sum('duplicated'), sum('wrong'), sum('crashed'), sum('leaked')];
  const all = [head, ...body, total];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const notes = rows.filter((r) => r.notes).map((r) => `- ${r.scenario}: ${r.notes}`);
  return [line(head), rule, ...body.map(line), rule, line(total), '', ...notes].join('\n');
}

// Root hook: runs once after every file of the run (npm test or npm run test:reliability).
after(function printReliabilitySummary() {
  if (rows.length === 0) return;
  const title = `reliability figures (${SIZE.label} run, ${process.env.OMGW_TEST_DATABASE_URL ? 'postgres' : 'sqlite'}, seed ${RUN_SEED})`;
  process.stdout.write(`\n  ${title}\n\n${formatTable().replace(/^/gm, '  ')}\n\n`);
});
