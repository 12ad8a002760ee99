/**
 * Instants as operators write them: an ISO 8601 date or date-time (2026-11-23, 2026-11-23T12:00:00Z)
 * or epoch milliseconds. Returns null for anything else. Pure, no I/O.
 */
export function parseInstant(text: string): number | null {
  const t = text.trim();
  if (/^\d{1,15}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}
