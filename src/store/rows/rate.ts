/**
 * A connector's rate window row (`rate_windows`, migration 008) and the domain's send log, both
 * ways, without I/O. The log is stored as text, the same on both databases: the send times in ms,
 * ascending, comma-separated.
 */
import type { SendLog } from '../../domain/rate.ts';

export interface RateWindowRow {
  sends: string;
  /** bigint: a driver may hand it over as text. */
  version: number | string;
}

export function sendLogText(log: SendLog): string {
  return log.join(',');
}

/** Anything that is not a time (a hand-edited row) is left out rather than failing every take. */
export function sendLogOf(text: string): number[] {
  if (text === '') return [];
  return text
    .split(',')
    .map(Number)
    .filter((t) => Number.isFinite(t));
}
