import { parseDuration } from '../config/units.ts';
import { parseInstant } from '../domain/time.ts';
import type { FunnelReport, Reconciliation } from '../services/funnel.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';

/**
 * `omgw funnel [--since 24h] [--until T] [--stuck-after 2h] [--json]`: the flow funnel (lines per
 * stage and the drop between stages), the stuck lines, and the billing reconciliation's summary, as
 * the admin API's GET /funnel and GET /billing/reconciliation answer them (`--json`: both answers).
 */

export interface FunnelArgs {
  since?: string | undefined;
  until?: string | undefined;
  'stuck-after'?: string | undefined;
}

const DAY_MS = 86_400_000;
const TWO_HOURS_MS = 7_200_000;
const USAGE = 'usage: omgw funnel [--since 24h] [--until T] [--stuck-after 2h] [--json]   (T: ISO 8601, epoch ms or a duration ago)';

export async function funnelCommand(ctx: CommandContext, args: FunnelArgs): Promise<number> {
  const stuckAfter = args['stuck-after'] === undefined ? TWO_HOURS_MS : parseDuration(args['stuck-after']);
  if (stuckAfter === null || stuckAfter <= 0) {
    ctx.io.err(`--stuck-after "${(args['stuck-after'] ?? '').slice(0, 40)}": give a duration (30m, 2h, 1d)\n${USAGE}`);
    return EXIT.usage;
  }
  const since = rangeEnd(args.since);
  const until = rangeEnd(args.until);
  for (const [name, end, text] of [
    ['since', since, args.since],
    ['until', until, args.until],
  ] as const) {
    if (end === null) {
      ctx.io.err(`--${name} "${(text ?? '').slice(0, 40)}": give an ISO 8601 time (2026-11-23T12:00:00Z), epoch milliseconds or a duration ago (24h, 7d)\n${USAGE}`);
      return EXIT.usage;
    }
  }
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    const now = services.funnel.now();
    const at = (end: RangeEnd | undefined, fallback: number): number => (end === undefined ? fallback : 'ago' in end ? now - end.ago : end.at);
    const range = { since: at(since ?? undefined, now - DAY_MS), until: at(until ?? undefined, now) };
    if (range.since >= range.until) {
      ctx.io.err(`--since must be before --until\n${USAGE}`);
      return EXIT.usage;
    }
    const report = await services.funnel.funnel(range, stuckAfter);
    const reconciliation = await services.funnel.reconciliation(range);
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ database: store.describe, funnel: report, reconciliation }, null, 2));
      return EXIT.ok;
    }
    printFunnel(ctx, report, reconciliation);
    ctx.io.out(`\ndatabase ${store.describe}`);
    return EXIT.ok;
  });
}

type RangeEnd = { ago: number } | { at: number };

/** A range end as written (undefined: not given), null when it is neither a duration nor a time. */
function rangeEnd(text: string | undefined): RangeEnd | undefined | null {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== null) return { ago };
  const at = parseInstant(text);
  return at === null ? null : { at };
}

function printFunnel(ctx: CommandContext, f: FunnelReport, r: Reconciliation): void {
  ctx.io.out(`funnel ${f.since} → ${f.until}: ${f.lines} line(s)${f.linesTruncated ? ' (more lines than one answer reads: some left out)' : ''}`);
  ctx.io.out('');
  ctx.io.out(
    table(
      ['STAGE', 'LINES', 'DROP'],
      f.stages.map((s, i) => {
        const before = i === 0 ? null : (f.stages[i - 1]?.count ?? 0) + (s.stage === 'shipbob_order' ? f.enteredAtShipbobOrder : 0);
        return [s.label, s.count, before === null ? '' : String(before - s.count)];
      }),
    ),
  );
  if (f.enteredAtShipbobOrder > 0) ctx.io.out(`(${f.enteredAtShipbobOrder} line(s) entered at "ShipBob order created": purchase orders, no OM AWAIT_SHIPPING)`);
  ctx.io.out('');
  if (f.stuck.length === 0) {
    ctx.io.out(`no line stuck for longer than ${f.stuckAfter}`);
  } else {
    ctx.io.out(`stuck for longer than ${f.stuckAfter}:`);
    ctx.io.out(
      table(
        ['ORDER KEY', 'LINE', 'STAGE', 'WAITING FOR', 'FOR'],
        f.stuck.map((s) => [printable(s.orderKey), printable(s.line), s.stage, s.waitingFor, howLong(s.waitingSeconds)]),
      ),
    );
    if (f.stuckTruncated) ctx.io.out('(more stuck lines: see --json or GET /admin/api/funnel?limit=)');
  }
  ctx.io.out('');
  ctx.io.out(
    `billing: ${r.matched} charge(s) matched, ${r.shippedNotBilled.length}${r.shippedNotBilledTruncated ? '+' : ''} shipped and not billed, ${r.billedUnknown.length}${r.billedUnknownTruncated ? '+' : ''} billed for an unknown order${r.notForShipments > 0 ? `, ${r.notForShipments} not for a shipment` : ''}`,
  );
}

function howLong(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}

/** Text from the store made safe for a terminal: control characters shown as U+FFFD. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd');
}
