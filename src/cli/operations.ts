import type { GatewayConfig } from '../config/load.ts';
import { parseDuration } from '../config/units.ts';
import type { ConnectorOperations } from '../services/connectors.ts';
import type { DeliveryActions } from '../services/delivery-actions.ts';
import { isUlid, type DeliveryFilter } from '../services/delivery-filter.ts';
import type { DeliveryViews } from '../services/delivery-views.ts';
import { DELIVERY_STATES, type DeliveryState } from '../domain/delivery.ts';
import { isGatewayError } from '../domain/errors.ts';
import { parseInstant } from '../domain/time.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { withServices as withCliServices } from './services.ts';

/**
 * What the operator's CLI commands share, backed by the same services as the admin API (not by HTTP):
 *
 *   omgw deliveries list [filters] [--limit N] [--cursor C]      (deliveries.ts)
 *   omgw deliveries show ID                                       (deliveries.ts)
 *   omgw events show ID                                           (deliveries.ts)
 *   omgw replay|discard|hold|release [--id ID]... [--event ID]... [filters] [--dry-run] [--reason TEXT] [--limit N]
 *                                                                 (delivery-actions.ts)
 *   omgw connector test NAME | --all                              (connector-tools.ts)
 *
 * Filters: --connector NAME, --state STATE, --event-code CODE (each repeatable or comma-separated),
 * --order-key KEY, --error TEXT, --since T, --until T (T: ISO 8601, epoch ms, or a duration ago: 24h).
 * Exit codes (EXIT): 0 ok; 1 failed (not found, a connector test failed); 2 usage (bad option,
 * nothing selected, discard without --reason); 3 config invalid; 4 unavailable (the database).
 * Here: the options, the filter they describe, the services with their errors as exit codes, and
 * how a delivery's state and a long text are printed, the same in the views and in the actions.
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

export class UsageError extends Error {}

/** What these commands use of the services (src/services/index.ts). */
interface OperationServices {
  config: GatewayConfig;
  /** The database read, without its password: each command names it, so a wrong folder or URL shows. */
  database: string;
  deliveries: DeliveryActions;
  views: DeliveryViews;
  connectors: ConnectorOperations;
}

/** The migrated store's services for fn; a usage error, a bad request or a miss ends it with its exit code. */
export async function withOperationServices(ctx: CommandContext, fn: (s: OperationServices) => Promise<number>): Promise<number> {
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

export function usage(ctx: CommandContext, text: string): number {
  ctx.io.err(text);
  return EXIT.usage;
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

/** A whole number option from 1 to max. Throws UsageError for a bad value. */
export function whole(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  return n;
}

/** The delivery filter the options describe. Throws UsageError for a bad value. */
export function filterFromArgs(args: OperationsArgs, now: number): DeliveryFilter {
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

/** A text on one line, cut to max characters (`-` for none). */
export function clip(text: string | null, max: number): string {
  if (text === null) return '-';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A state with the reason for it: `parked (permanent_error)`, `on_hold (hold: offline)`. */
export function stateWithReason(d: { state: string; parkedReason: string | null; holdReason: string | null }): string {
  if (d.state === 'parked' && d.parkedReason !== null) return `parked (${d.parkedReason})`;
  if (d.state === 'on_hold' && d.holdReason !== null) return `on_hold (hold: ${d.holdReason})`;
  return d.state;
}
