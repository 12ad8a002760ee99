import { isUlid, type DeliveryFilter } from '../services/delivery-filter.ts';
import type { AttemptView, AuditView, DeliverySummary } from '../services/delivery-views.ts';
import type { HoldReason } from '../domain/delivery.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { clip, filterFromArgs, stateWithReason, usage, UsageError, whole, withOperationServices, type OperationsArgs } from './operations.ts';
import { table } from './output.ts';

/**
 * The operator's views of deliveries and events, read through the same services as the admin API
 * (options, filters and exit codes: operations.ts):
 *
 *   omgw deliveries list [filters] [--limit N] [--cursor C]
 *   omgw deliveries show ID
 *   omgw events show ID
 *
 * Apart from the actions that change deliveries (delivery-actions.ts): these only read, and print a
 * delivery whole (its attempts, the targets' answers, its audit trail) where an action prints a sample.
 */

/** `omgw deliveries list|show`. */
export async function deliveriesCommand(ctx: CommandContext, sub: string | undefined, id: string | undefined, args: OperationsArgs): Promise<number> {
  if (sub === 'list') {
    if (id !== undefined) return usage(ctx, 'usage: omgw deliveries list [filters] [--limit N] [--cursor C]');
    let filter: DeliveryFilter;
    let limit: number;
    try {
      filter = filterFromArgs(args, Date.now());
      limit = whole('limit', args.limit, 500) ?? 50;
      if (args.cursor !== undefined && !isUlid(args.cursor)) throw new UsageError('--cursor is not a cursor this command printed');
    } catch (err) {
      if (err instanceof UsageError) return usage(ctx, err.message);
      throw err;
    }
    return withOperationServices(ctx, async ({ views, database }) => {
      const page = await views.list(filter, { limit, ...(args.cursor !== undefined ? { cursor: args.cursor } : {}) });
      if (ctx.json) {
        ctx.io.out(JSON.stringify({ database, ...page }, null, 2));
        return EXIT.ok;
      }
      ctx.io.out(page.items.length === 0 ? 'no deliveries match' : deliveryTable(page.items));
      if (page.nextCursor) ctx.io.out(`\nmore: add --cursor ${page.nextCursor}`);
      ctx.io.out(`\ndatabase ${database}`);
      return EXIT.ok;
    });
  }
  if (sub === 'show') {
    if (id === undefined) return usage(ctx, 'usage: omgw deliveries show ID');
    return withOperationServices(ctx, async ({ views, database }) => {
      const detail = await views.show(id);
      if (!detail) {
        ctx.io.err(`no delivery ${id.slice(0, 40)} in ${database}`);
        return EXIT.failed;
      }
      if (ctx.json) {
        ctx.io.out(JSON.stringify({ database, ...detail }, null, 2));
        return EXIT.ok;
      }
      const d = detail.delivery;
      ctx.io.out(
        fields([
          ['delivery', d.id],
          ['connector', d.connector],
          ['state', stateWithReason(d)],
          ...(d.parkedReason !== null ? [['parked reason', d.parkedReason] as [string, string]] : []),
          ...(d.holdReason !== null ? [['hold reason', describeHold(d.holdReason)] as [string, string]] : []),
          ['event', `${d.eventId} ${d.eventCode}${d.orderKey ? ` ${d.orderKey}` : ''}`],
          ['trigger point', d.triggerPoint ?? '-'],
          ['attempts', `${d.attemptCount} (${d.attemptsInCycle} since the last replay)`],
          ['next attempt', d.nextAttemptAt],
          ['created', d.createdAt],
          ['updated', d.updatedAt],
          ['delivered', d.deliveredAt ?? '-'],
          // Async connectors: what the target's callback names it by, and until when it is awaited.
          ...(d.correlationId !== null
            ? ([
                ['correlation id', d.correlationId],
                ['response due', d.responseDueAt ?? '-'],
                ['responded', d.respondedAt ?? '-'],
              ] as Array<[string, string]>)
            : []),
          ['idempotency key', d.idempotencyKey ?? '-'],
          ['last error', d.lastError ?? '-'],
          ['operator reason', d.adminReason ?? '-'],
          ['database', database],
        ]),
      );
      printAttempts(ctx, detail.attempts);
      printAudit(ctx, detail.audit);
      return EXIT.ok;
    });
  }
  return usage(ctx, 'usage: omgw deliveries list [filters] | omgw deliveries show ID');
}

/** `omgw events show ID`. */
export async function eventsCommand(ctx: CommandContext, sub: string | undefined, id: string | undefined): Promise<number> {
  if (sub !== 'show' || id === undefined) return usage(ctx, 'usage: omgw events show ID');
  return withOperationServices(ctx, async ({ views, database }) => {
    const detail = await views.showEvent(id);
    if (!detail) {
      ctx.io.err(`no event ${id.slice(0, 40)} in ${database}`);
      return EXIT.failed;
    }
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ database, ...detail }, null, 2));
      return EXIT.ok;
    }
    const e = detail.event;
    ctx.io.out(
      fields([
        ['event', e.id],
        ['event code', e.eventCode],
        ['order key', e.orderKey ?? '-'],
        ['source', `${e.source}${e.sourceSystem ? ` (${e.sourceSystem})` : ''}`],
        ['received', e.receivedAt],
        ['status', e.status + (e.duplicateOf ? ` of ${e.duplicateOf}` : '')],
        ['push', detail.push ? `${detail.push.id} ${detail.push.path} (${detail.push.rawSize} bytes, ${detail.push.eventCount} event(s))` : '-'],
        ['database', database],
      ]),
    );
    ctx.io.out('');
    ctx.io.out(detail.deliveries.length === 0 ? 'no deliveries' : deliveryTable(detail.deliveries));
    printAttempts(ctx, detail.attempts);
    ctx.io.out('\nparsed event:');
    ctx.io.out(JSON.stringify(e.payload, null, 2));
    if (detail.push) {
      ctx.io.out('\nraw push (passwords redacted):');
      ctx.io.out(detail.push.raw);
    }
    return EXIT.ok;
  });
}

// ------------------------------------------------------------------------------------------------

// Every hold reason the domain has (satisfies), looked up by the string a view carries.
const HOLDS: Readonly<Record<string, string>> = {
  offline: 'offline (the connector is offline; held until it is back online)',
  circuit_open: 'circuit_open (the circuit breaker is open; held until it closes)',
  admin: 'admin (held by an operator until released)',
} satisfies Record<HoldReason, string>;

function describeHold(reason: string): string {
  return HOLDS[reason] ?? reason;
}

function deliveryTable(items: DeliverySummary[]): string {
  return table(
    ['DELIVERY', 'CREATED', 'CONNECTOR', 'STATE', 'EVENT CODE', 'ORDER KEY', 'ATTEMPTS', 'LAST ERROR', 'OPERATOR REASON'],
    items.map((d) => [d.id, d.createdAt.slice(0, 19), d.connector, stateWithReason(d), d.eventCode, d.orderKey ?? '-', d.attemptCount, clip(d.lastError, 60), clip(d.adminReason, 40)]),
  );
}

function printAttempts(ctx: CommandContext, attempts: AttemptView[]): void {
  ctx.io.out('');
  if (attempts.length === 0) {
    ctx.io.out('no attempts yet');
    return;
  }
  ctx.io.out(
    table(
      ['#', 'STARTED', 'DELIVERY', 'OUTCOME', 'STATUS', 'MS', 'ERROR'],
      attempts.map((a) => [a.number, a.startedAt.slice(0, 19), a.deliveryId, a.outcome, a.responseStatus ?? '-', a.durationMs, clip(a.errorMessage, 60)]),
    ),
  );
  // The targets' answers as stored (secrets scrubbed before storage): usually why a delivery was parked.
  for (const a of attempts) {
    if (a.responseSnippet === null || a.responseSnippet === '') continue;
    ctx.io.out('');
    ctx.io.out(`attempt ${a.number} of ${a.deliveryId}: response${a.responseStatus !== null ? ` HTTP ${a.responseStatus}` : ''}`);
    ctx.io.out(indent(printable(a.responseSnippet)));
  }
}

function printAudit(ctx: CommandContext, audit: AuditView[]): void {
  if (audit.length === 0) return;
  ctx.io.out('');
  ctx.io.out(table(['AT', 'ACTION', 'RESULT', 'ACTOR', 'REASON'], audit.map((a) => [a.at.slice(0, 19), a.action, a.result, a.actor ?? '-', clip(reasonOf(a.detail), 80)])));
}

/** The operator's reason an audit record's detail carries (replay, discard, hold, release, connector state). */
function reasonOf(detail: unknown): string | null {
  if (typeof detail !== 'object' || detail === null || !('reason' in detail)) return null;
  return typeof detail.reason === 'string' ? detail.reason : null;
}

/** A target's text made safe for a terminal: control characters (escape sequences included) shown as U+FFFD. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`.trimEnd())
    .join('\n');
}

function fields(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
