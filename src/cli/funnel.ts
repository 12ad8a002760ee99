import { FUNNEL_LIMITS, type FunnelReport, type Reconciliation } from '../services/funnel.ts';
import {
  FUNNEL_DEFAULT_STUCK_AFTER_MS,
  FunnelRangeError,
  parseRangeEnd,
  parseStuckAfter,
  STUCK_AFTER_RULE,
  type FunnelParameter,
  type FunnelRange,
  type RangeEnd,
} from '../services/funnel-range.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';

/**
 * `omgw funnel [--since 24h] [--until T] [--stuck-after 2h] [--limit N] [--json]`: the flow funnel
 * (lines per stage and the drop between stages), the stuck lines, and the billing reconciliation's
 * summary, as the admin API's GET /funnel and GET /billing/reconciliation answer them (`--json`: both
 * answers). The range follows the API's rules (src/services/funnel-range.ts); a range they refuse,
 * like an option it cannot read, is exit code 2 with a message naming the option.
 */

export interface FunnelArgs {
  since?: string | undefined;
  until?: string | undefined;
  'stuck-after'?: string | undefined;
  limit?: string | undefined;
}

const USAGE = 'usage: omgw funnel [--since 24h] [--until T] [--stuck-after 2h] [--limit N] [--json]   (T: ISO 8601, epoch ms or a duration ago)';
const FLAGS: Readonly<Record<FunnelParameter, string>> = { since: '--since', until: '--until', stuckAfter: '--stuck-after' };

export async function funnelCommand(ctx: CommandContext, args: FunnelArgs): Promise<number> {
  const usage = (problem: string): number => {
    ctx.io.err(`${problem}\n${USAGE}`);
    return EXIT.usage;
  };
  const stuckAfter = args['stuck-after'] === undefined ? FUNNEL_DEFAULT_STUCK_AFTER_MS : parseStuckAfter(args['stuck-after']);
  if (stuckAfter === null) return usage(`--stuck-after "${(args['stuck-after'] ?? '').slice(0, 40)}": give ${STUCK_AFTER_RULE}`);
  const limit = args.limit === undefined ? FUNNEL_LIMITS.stuck : /^\d{1,7}$/.test(args.limit) ? Number(args.limit) : null;
  if (limit === null || limit < 1 || limit > FUNNEL_LIMITS.stuckMax) return usage(`--limit "${(args.limit ?? '').slice(0, 40)}": give how many stuck lines to show, from 1 to ${FUNNEL_LIMITS.stuckMax}`);
  const ends: { since?: RangeEnd; until?: RangeEnd } = {};
  for (const name of ['since', 'until'] as const) {
    const text = args[name];
    if (text === undefined) continue;
    const end = parseRangeEnd(text);
    if (end === null) return usage(`--${name} "${text.slice(0, 40)}": give an ISO 8601 time (2026-11-23T12:00:00Z), epoch milliseconds or a duration ago (24h, 7d)`);
    ends[name] = end;
  }
  return withServices(ctx, async ({ store, services }) => {
    let range: FunnelRange;
    try {
      range = services.funnel.range(ends);
    } catch (err) {
      if (!(err instanceof FunnelRangeError)) throw err;
      const text = err.parameter === 'stuckAfter' ? args['stuck-after'] : args[err.parameter];
      return usage(`${FLAGS[err.parameter]}${text === undefined ? '' : ` "${text.slice(0, 40)}"`}: ${err.problem.replace('until', '--until')}`);
    }
    await store.migrate();
    const report = await services.funnel.funnel(range, stuckAfter, limit);
    const reconciliation = await services.funnel.reconciliation(range);
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ database: store.describe, funnel: report, reconciliation }, null, 2));
      return EXIT.ok;
    }
    printFunnel(ctx, report, reconciliation, limit);
    ctx.io.out(`\ndatabase ${store.describe}`);
    return EXIT.ok;
  });
}

function printFunnel(ctx: CommandContext, f: FunnelReport, r: Reconciliation, limit: number): void {
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
    if (f.stuckTruncated) {
      ctx.io.out(
        limit < FUNNEL_LIMITS.stuckMax
          ? `(more stuck lines than the ${limit} shown: --limit N shows up to ${FUNNEL_LIMITS.stuckMax}, the longest waits first)`
          : `(more stuck lines than the ${limit} shown, the longest waits first: narrow the range with --since and --until)`,
      );
    }
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
