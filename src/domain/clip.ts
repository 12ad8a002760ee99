/**
 * How much of a value a client chose (a username, a path, a header) the gateway keeps in an audit
 * record or a log line. A refusal must not cost the gateway more than it cost the sender: without a
 * limit, five pushes with 9.5 MB usernames added 47 MB to an audit trail that is kept for a year.
 */
const MAX_KEPT_CHARS = 200;

/** `value` cut to `max` characters, with an ellipsis mark when something was cut. */
export function clip(value: string, max = MAX_KEPT_CHARS): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** Every string in `value` (objects and arrays followed a few levels down, arrays cut to 20 items) clipped. */
export function clipDeep(value: unknown, max = MAX_KEPT_CHARS, depth = 4): unknown {
  if (typeof value === 'string') return clip(value, max);
  if (value === null || typeof value !== 'object') return value;
  if (depth <= 0) return '…';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => clipDeep(v, max, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 40)) out[clip(k, 60)] = clipDeep(v, max, depth - 1);
  return out;
}
