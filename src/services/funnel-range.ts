import { formatDuration, parseDuration } from '../config/units.ts';
import { GatewayError } from '../domain/errors.ts';
import { parseInstant } from '../domain/time.ts';

/**
 * The time range of the flow funnel and the billing reconciliation, as the admin API
 * (GET /funnel, /billing/reconciliation) and `omgw funnel` both read it: each end a duration back
 * from now (24h) or a time; since defaults to a day back, until to now; since before until; at
 * most MAX_FUNNEL_SPAN_MS long. One set of rules for both edges: a range an edge cannot take is a
 * FunnelRangeError naming the parameter, which the API answers as a 400 and the CLI as exit code 2.
 */

const DAY_MS = 86_400_000;

/** A time range, epoch ms: [since, until). */
export interface FunnelRange {
  since: number;
  until: number;
}

/** A range end as written: a duration back from now, or a time (epoch ms). */
export type RangeEnd = { ago: number } | { at: number };

/** The parameters a range is written with (the CLI's --since, --until, --stuck-after). */
export type FunnelParameter = 'since' | 'until' | 'stuckAfter';

const FUNNEL_DEFAULT_SINCE_MS = DAY_MS;
export const FUNNEL_DEFAULT_STUCK_AFTER_MS = 2 * 3_600_000;
/**
 * The longest range, and the longest stuckAfter: a year and a day, more than any record is kept by
 * default (the audit trail's 365 days; deliveries 30), and far more than the funnel's reads hold
 * (FUNNEL_LIMITS): a longer range could only be a typing mistake.
 */
export const MAX_FUNNEL_SPAN_MS = 366 * DAY_MS;
/** The latest time an end may name: the last millisecond of year 9999, the last an ISO 8601 time writes. */
const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A range parameter the rules refuse. `problem` is for people, without the parameter's name. */
export class FunnelRangeError extends GatewayError {
  readonly parameter: FunnelParameter;
  readonly problem: string;

  constructor(parameter: FunnelParameter, problem: string) {
    super('BAD_REQUEST', `${parameter}: ${problem}`);
    this.name = 'FunnelRangeError';
    this.parameter = parameter;
    this.problem = problem;
  }
}

/** A range end as written, or null when it is neither a duration nor a time. */
export function parseRangeEnd(text: string): RangeEnd | null {
  const ago = parseDuration(text);
  if (ago !== null) return { ago };
  const at = parseInstant(text);
  return at === null ? null : { at };
}

/** A stuckAfter as written: a positive duration up to MAX_FUNNEL_SPAN_MS, or null. */
export function parseStuckAfter(text: string): number | null {
  const ms = parseDuration(text);
  return ms === null || ms <= 0 || ms > MAX_FUNNEL_SPAN_MS ? null : ms;
}

/** What a stuckAfter parseStuckAfter refused must be, for the message. */
export const STUCK_AFTER_RULE = `a duration from 1ms to ${formatDuration(MAX_FUNNEL_SPAN_MS)} (30m, 2h, 1d)`;

/** The range `since`/`until` name at `now` (defaults: the last day), or a FunnelRangeError. */
export function resolveFunnelRange(now: number, ends: { since?: RangeEnd | undefined; until?: RangeEnd | undefined }): FunnelRange {
  const until = ends.until === undefined ? now : resolve('until', now, ends.until);
  const since = ends.since === undefined ? now - FUNNEL_DEFAULT_SINCE_MS : resolve('since', now, ends.since);
  if (since >= until) throw new FunnelRangeError('since', 'must be before until');
  if (until - since > MAX_FUNNEL_SPAN_MS) throw new FunnelRangeError('since', `the range may span at most ${formatDuration(MAX_FUNNEL_SPAN_MS)}`);
  return { since, until };
}

function resolve(parameter: 'since' | 'until', now: number, end: RangeEnd): number {
  if ('ago' in end) {
    // Checked before subtracting: a duration of 20 digits is a number, but no time is that far back.
    if (end.ago > MAX_FUNNEL_SPAN_MS) throw new FunnelRangeError(parameter, `at most ${formatDuration(MAX_FUNNEL_SPAN_MS)} back from now`);
    return now - end.ago;
  }
  if (!Number.isFinite(end.at) || end.at < 0 || end.at > LATEST_TIME_MS) throw new FunnelRangeError(parameter, 'a time from 1970 to 9999');
  return end.at;
}
