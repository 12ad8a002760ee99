import type { GatewayConfig } from '../config/load.ts';
import { parseDuration } from '../config/units.ts';
import type { ProbeReport } from '../connectors/probe.ts';
import type { ConnectorOperations } from '../services/connectors.ts';
import type { DeliveryActions, OperationKind, OperationResult } from '../services/delivery-actions.ts';
import { isUlid, type DeliveryFilter } from '../services/delivery-filter.ts';
import type { AttemptView, AuditView, DeliverySummary, DeliveryViews } from '../services/delivery-views.ts';
import { DELIVERY_STATES, type DeliveryState, type HoldReason } from '../domain/delivery.ts';
import { isGatewayError } from '../domain/errors.ts';
import { parseInstant } from '../domain/time.ts';
import { cliActor } from './actor.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices as withCliServices } from './services.ts';

/**
 * The operator's CLI commands, backed by the same services as the admin API (not by HTTP):
 *
 *   omgw deliveries list [filters] [--limit N] [--cursor C]
 *   omgw deliveries show ID
 *   omgw events show ID
 *   omgw replay|discard|hold|release [--id ID]... [--event ID]... [filters] [--dry-run] [--reason TEXT] [--limit N]
 *   omgw connector test NAME | --all
 *
 * Filters: --connector NAME, --state STATE, --event-code CODE (each repeatable or comma-separated),
 * --order-key KEY, --error TEXT, --since T, --until T (T: ISO 8601, epoch ms, or a duration ago: 24h).
 * Exit codes (EXIT): 0 ok; 1 failed (not found, a connector test failed); 2 usage (bad option,
 * nothing selected, discard without --reason); 3 config invalid; 4 unavailable (the database).
 */

/** The options these commands read (parsed by src/main.ts). */
export interface OperationsArgs {
  id?: string[] | undefined;
  event?: string[] | undefined;
  connector?: string[] | undefined;
  state?: string[] | undefined;
  'event-code'?: string[] | undefined;
  'order-key'?: string | undefined;
  error?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: string | undefined;
  cursor?: string | undefined;
  'dry-run'?: boolean | undefined;
  reason?: string | undefined;
  all?: boolean | undefined;
}

class UsageError extends Error {}

/** What these commands use of the services (src/services/index.ts). */
interface CommandServices {
  config: GatewayConfig;
  /** The database read, without its password: each command names it, so a wrong folder or URL shows. */
  database: string;
  deliveries: DeliveryActions;
  views: DeliveryViews;
  connectors: ConnectorOperations;
}

async function withServices(ctx: CommandContext, fn: (s: CommandServices) => Promise<number>): Promise<number> {
  try {
    return await withCliServices(ctx, async ({ config, store, services }) => {
      await store.migrate();
      // A running gateway's worker picks replayed and released deliveries up at its next poll.
      return fn({ config, database: store.describe, deliveries: services.deliveries, views: services.views, connectors: services.connectors });
    });
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.io.err(err.message);
      return EXIT.usage;
    }
    if (isGatewayError(err) && err.code === 'BAD_REQUEST') {
      ctx.io.err(err.message);
      return EXIT.usage;
    }
    if (isGatewayError(err) && err.code === 'NOT_FOUND') {
      ctx.io.err(err.message);
      return EXIT.failed;
    }
    throw err;
  }
}

/** Splits repeated and comma-separated values. */
function values(list: string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function time(name: string, text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  const at = parseInstant(text);
  if (at === null) throw new UsageError(`--${name} "${text.slice(0, 40)}": give an ISO 8601 time (2026-11-23T12:00:00Z), epoch milliseconds or a duration ago (24h, 7d)`);
  return at;
}

function whole(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  return n;
}

/** The delivery filter the options describe. Throws UsageError for a bad value. */
function filterFromArgs(args: OperationsArgs, now: number): DeliveryFilter {
  const filter: DeliveryFilter = {};
  const ids = values(args.id);
  const eventIds = values(args.event);
  for (const [flag, list] of [['id', ids], ['event', eventIds]] as const) {
    const bad = list?.find((v) => !isUlid(v));
    if (bad !== undefined) throw new UsageError(`--${flag} "${bad.slice(0, 40)}" is not an id (ids are 26-character ULIDs)`);
  }
  if (ids) filter.ids = ids;
  if (eventIds) filter.eventIds = eventIds;
  const connectors = values(args.connector);
  if (connectors) filter.connectors = connectors;
  const states = values(args.state);
  if (states) {
    const bad = states.find((s) => !(DELIVERY_STATES as readonly string[]).includes(s));
    if (bad !== undefined) throw new UsageError(`--state "${bad.slice(0, 40)}" is not a state (states: ${DELIVERY_STATES.join(', ')})`);
    filter.states = states as DeliveryState[];
  }
  const codes = values(args['event-code']);
  if (codes) filter.eventCodes = codes;
  if (args['order-key'] !== undefined) filter.orderKey = args['order-key'];
  if (args.error !== undefined) filter.errorContains = args.error;
  const from = time('since', args.since, now);
  const to = time('until', args.until, now);
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  return filter;
}

// ------------------------------------------------------------------------------------------------

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
    return withServices(ctx, async ({ views, database }) => {
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
    return withServices(ctx, async ({ views, database }) => {
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
  return withServices(ctx, async ({ views, database }) => {
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
  return withServices(ctx, async ({ deliveries, database }) => {
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

/** `omgw connector test NAME | --all`. */
export async function connectorTestCommand(ctx: CommandContext, name: string | undefined, args: OperationsArgs): Promise<number> {
  if ((name === undefined) === !args.all) return usage(ctx, 'usage: omgw connector test NAME | omgw connector test --all');
  return withServices(ctx, async ({ connectors, database }) => {
    const reports = name !== undefined ? [await connectors.test(name, cliActor(ctx.env))] : await connectors.testAll(cliActor(ctx.env));
    // The database named, as every command that opens it does (the tests are audited there).
    if (ctx.json) ctx.io.out(JSON.stringify(name !== undefined ? { database, ...reports[0] } : { database, reports }, null, 2));
    else {
      ctx.io.out(`database ${database}`);
      ctx.io.out(reports.length === 0 ? 'no connectors configured' : reports.map(describeProbe).join('\n\n'));
    }
    return reports.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
  });
}

// ------------------------------------------------------------------------------------------------

function usage(ctx: CommandContext, text: string): number {
  ctx.io.err(text);
  return EXIT.usage;
}

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

function clip(text: string | null, max: number): string {
  if (text === null) return '-';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A state with the reason for it: `parked (permanent_error)`, `on_hold (hold: offline)`. */
function stateWithReason(d: { state: string; parkedReason: string | null; holdReason: string | null }): string {
  if (d.state === 'parked' && d.parkedReason !== null) return `parked (${d.parkedReason})`;
  if (d.state === 'on_hold' && d.holdReason !== null) return `on_hold (hold: ${d.holdReason})`;
  return d.state;
}

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

function describeProbe(r: ProbeReport): string {
  const head = `connector ${r.connector}: ${r.ok ? 'OK' : 'FAILED'} (${r.durationMs} ms)`;
  return `${head}\n${table(
    ['STEP', 'RESULT', 'MS', 'DETAIL'],
    r.steps.map((s) => [s.name, s.ok ? 'ok' : 'FAILED', s.durationMs, s.detail]),
  )}`;
}
