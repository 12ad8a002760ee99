/**
 * Async connectors' callbacks, as pure rules: reading a field of a JSON document by a dotted path
 * (the callback's correlation id, status and message; the correlation id in a target's answer),
 * writing one (the correlation id into a request body), which outcome a status value means, and the
 * callback as an event's payload. No I/O.
 */
import type { XmlRecord, XmlValue } from './event.ts';

/** The event code of a stored callback (source `callback`): what trigger points route it by. */
export const CALLBACK_EVENT_CODE = 'CallbackReceived';

/**
 * The longest correlation id kept (deliveries.correlation_id, migration 014): the engine refuses a
 * longer one in a target's answer (src/delivery/correlation.ts), so a longer one in a callback can
 * match no delivery.
 */
export const MAX_CORRELATION_ID_LENGTH = 200;

/** The longest status value a callback may carry (configured values are short words). */
const MAX_STATUS_LENGTH = 200;

const NONE: ReadonlySet<number> = new Set();
/** In a free-text message, tabs and line breaks are fine. */
const TEXT_LAYOUT: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0d]);

/** Control characters (C0 and DEL): never in an id or a status (PostgreSQL refuses NUL in text outright). */
function hasControl(value: string, allowed: ReadonlySet<number> = NONE): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 || code === 0x7f) && !allowed.has(code)) return true;
  }
  return false;
}
/** A callback's fields as read, checked by callbackFieldProblem before anything is stored. */
export interface CallbackFieldValues {
  correlationId: string | null;
  status: string | null;
  message: string | null;
}

/**
 * What is wrong with the fields a callback carries, naming the field (null when nothing is): an id or
 * a status longer than the gateway keeps, or with a control character in it. Absent fields are the
 * callback service's to judge (it audits them as an invalid callback).
 */
export function callbackFieldProblem(fields: CallbackFieldValues): string | null {
  const checks: Array<[string, string | null, number, ReadonlySet<number>]> = [
    ['correlation id', fields.correlationId, MAX_CORRELATION_ID_LENGTH, NONE],
    ['status', fields.status, MAX_STATUS_LENGTH, NONE],
    ['message', fields.message, Number.POSITIVE_INFINITY, TEXT_LAYOUT],
  ];
  for (const [name, value, max, allowed] of checks) {
    if (value === null) continue;
    if (value.length > max) return `the callback's ${name} is ${value.length} characters long: at most ${max} are accepted`;
    if (hasControl(value, allowed)) return `the callback's ${name} contains a control character`;
  }
  return null;
}

/**
 * How a callback that was not accepted is counted (omgw_callbacks_total's outcome, beside the
 * outcomes of accepted ones): a closed set, so a sender cannot grow the metric's series.
 */
export const CALLBACK_REFUSALS = ['auth_failed', 'too_large', 'busy', 'invalid', 'malformed', 'unsupported_media_type', 'client_aborted', 'error'] as const;
export type CallbackRefusal = (typeof CALLBACK_REFUSALS)[number];

/** What a callback's status value means for its delivery. */
export type CallbackVerdict = 'delivered' | 'failed';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The value at a dotted path ("data.requestId"), as text: a string as it is, a number or boolean
 * written out; null when the path leads nowhere, to null, to an object or to an array, or to "".
 */
export function textAtPath(doc: unknown, path: string): string | null {
  let here: unknown = doc;
  for (const key of path.split('.')) {
    if (!isObject(here) || !Object.hasOwn(here, key)) return null;
    here = here[key];
  }
  if (typeof here === 'string') return here === '' ? null : here;
  if (typeof here === 'number' || typeof here === 'boolean') return String(here);
  return null;
}

/**
 * Writes `value` at a dotted path of a JSON object, making the objects on the way. Returns false when
 * something on the way is there and not an object (the document's shape says no).
 */
export function setAtPath(doc: Record<string, unknown>, path: string, value: string): boolean {
  const keys = path.split('.');
  let here: Record<string, unknown> = doc;
  for (const key of keys.slice(0, -1)) {
    const next = here[key];
    if (next === undefined || next === null) {
      const made: Record<string, unknown> = {};
      here[key] = made;
      here = made;
    } else if (isObject(next)) here = next;
    else return false;
  }
  here[keys[keys.length - 1] as string] = value;
  return true;
}

/** The verdict a status value gives (matched exactly, as configured), or null when it is in neither list. */
export function callbackVerdict(status: string, lists: { delivered: readonly string[]; failed: readonly string[] }): CallbackVerdict | null {
  if (lists.delivered.includes(status)) return 'delivered';
  if (lists.failed.includes(status)) return 'failed';
  return null;
}

/**
 * A JSON value in the event form trigger points and transforms read (records with text leaves, as
 * parsed XML): numbers and booleans as text, an array of primitives as records `{ "#text": v }`,
 * a top-level value that is no object as `{ "#text": v }`. Depth is bounded by the caller's parser.
 */
export function jsonAsRecord(value: unknown): XmlRecord {
  const leaf = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  const item = (v: unknown): XmlRecord => (isObject(v) ? jsonAsRecord(v) : { '#text': leaf(v) });
  if (!isObject(value)) return Array.isArray(value) ? { '#array': value.map(item) } : { '#text': leaf(value) };
  const out: XmlRecord = {};
  for (const [k, v] of Object.entries(value)) {
    let converted: XmlValue;
    if (isObject(v)) converted = jsonAsRecord(v);
    else if (Array.isArray(v)) converted = v.map(item);
    else converted = leaf(v);
    out[k] = converted;
  }
  return out;
}

/**
 * The element a `responseXPath` names, by local name: the forms `//*[local-name()='Name']` (quotes
 * single or double) and `//Name` or `//prefix:Name`, each meaning the first element of that local
 * name anywhere in the answer. Null for any other expression (the config refuses it).
 */
export function xpathLocalName(expression: string): string | null {
  const text = expression.trim();
  const byFunction = /^\/\/\*\[\s*local-name\(\)\s*=\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(text);
  if (byFunction) return byFunction[1] ?? byFunction[2] ?? null;
  const byName = /^\/\/(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)$/.exec(text);
  return byName?.[1] ?? null;
}
