import type { DeliveryFilter } from '../services/delivery-filter.ts';
import type { OperationKind, OperationResult } from '../services/delivery-actions.ts';
import { cliActor } from './actor.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { clip, filterFromArgs, stateWithReason, usage, UsageError, whole, withOperationServices, type OperationsArgs } from './operations.ts';
import { table } from './output.ts';

/**
 * The operator's actions on deliveries, through the same services as the admin API (options,
 * filters and exit codes: operations.ts):
 *
 *   omgw replay|discard|hold|release [--id ID]... [--event ID]... [filters] [--dry-run] [--reason TEXT] [--limit N]
 *
 * Apart from the views (deliveries.ts) because these change deliveries: each needs a selection, a
 * discard a reason, and each says what it changed (or, on a dry run, would change) and what it left alone.
 */

/** `omgw replay|discard|hold|release`. */
export async function operationCommand(ctx: CommandContext, action: OperationKind, args: OperationsArgs): Promise<number> {
  let filter: DeliveryFilter;
  let limit: number | undefined;
  try {
    filter = filterFromArgs(args, Date.now());
    if (Object.keys(filter).length === 0) {
      throw new UsageError(`usage: omgw ${action} [--id ID]... [--event ID]... [--connector NAME] [--state STATE] [--event-code CODE] [--order-key KEY] [--error TEXT] [--since T] [--until T] [--dry-run] [--reason TEXT] [--limit N]\n${action} needs a selection: --id, --event or at least one filter`);
    }
    limit = whole('limit', args.limit, 1_000_000);
    if (action === 'discard' && !args.reason?.trim()) throw new UsageError('discard needs --reason TEXT');
  } catch (err) {
    if (err instanceof UsageError) return usage(ctx, err.message);
    throw err;
  }
  return withOperationServices(ctx, async ({ deliveries, database }) => {
    const opts = {
      dryRun: args['dry-run'] ?? false,
      actor: cliActor(ctx.env),
      ...(args.reason !== undefined ? { reason: args.reason } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    const result =
      action === 'replay'
        ? await deliveries.replay(filter, opts)
        : action === 'discard'
          ? await deliveries.discard(filter, { ...opts, reason: args.reason ?? '' })
          : action === 'hold'
            ? await deliveries.hold(filter, opts)
            : await deliveries.release(filter, opts);
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ database, ...result }, null, 2));
      return EXIT.ok;
    }
    ctx.io.out(`database ${database}`);
    ctx.io.out(describeResult(result, filter));
    if (result.sample.length > 0) {
      ctx.io.out('');
      ctx.io.out(sampleTable(result));
      if (result.changed > result.sample.length) ctx.io.out(`... and ${result.changed - result.sample.length} more`);
    }
    if (result.dryRun && result.changed > 0) ctx.io.out(`\nrun again without --dry-run to ${action} them`);
    return EXIT.ok;
  });
}

// ------------------------------------------------------------------------------------------------

const PAST: Record<OperationKind, string> = { replay: 'replayed', discard: 'discarded', hold: 'held', release: 'released' };

function describeResult(r: OperationResult, filter: DeliveryFilter): string {
  const skipped = Object.entries(r.skipped).map(([state, n]) => `${n} ${state}`);
  const head = r.dryRun
    ? `dry run: ${r.action} would change ${r.changed} of ${r.matched} matching deliveries`
    : `${PAST[r.action]} ${r.changed} of ${r.matched} matching deliveries`;
  const lines = [`${head}${skipped.length > 0 ? ` (left alone: ${skipped.join(', ')})` : ''}`];
  if (r.eligible > r.changed) lines.push(`${r.eligible - r.changed} more ${r.dryRun ? 'would be' : 'are'} left by --limit${r.dryRun ? '' : ' (or moved on meanwhile)'}`);
  if (r.action === 'replay' && (r.skipped.delivered ?? 0) > 0 && filter.ids === undefined && filter.eventIds === undefined) {
    lines.push('delivered deliveries are replayed only when chosen with --id or --event');
  }
  if ((r.skipped.in_flight ?? 0) > 0) lines.push('deliveries in flight are never touched: try again when their attempt has finished');
  return lines.join('\n');
}

/**
 * An action's sample: each delivery where it stood before (on a dry run: now), with the reasons it
 * is there, and the state it has (would have) after.
 */
function sampleTable(r: OperationResult): string {
  return table(
    ['DELIVERY', 'CONNECTOR', 'EVENT CODE', 'ORDER KEY', 'ATTEMPTS', r.dryRun ? 'NOW' : 'WAS', 'LAST ERROR', 'OPERATOR REASON', r.dryRun ? 'WOULD BE' : 'NOW'],
    r.sample.map((d) => [
      d.id,
      d.connector,
      d.eventCode,
      d.orderKey ?? '-',
      d.attemptCount,
      stateWithReason(d.before),
      clip(d.before.lastError, 60),
      clip(d.before.adminReason, 40),
      stateWithReason(d),
    ]),
  );
}
