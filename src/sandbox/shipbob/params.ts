import type { Context } from 'koa';
import { empty, json } from './errors.ts';
import type { ChannelView } from './types.ts';
import { isObject, type FieldErrors } from './validate.ts';

/**
 * Query, path and header parameters read the way ShipBob's ASP.NET binding reads them: names
 * case-insensitive, a bad value reported as a ModelState field error naming the parameter.
 */

const INT32_MAX = 2_147_483_647;

/** Query parameters with lower-cased names (ASP.NET binds them case-insensitively). */
export function query(ctx: Context): { get(name: string): string | null } {
  const params = new URLSearchParams(ctx.querystring);
  const map = new Map<string, string>();
  for (const [k, v] of params) if (!map.has(k.toLowerCase())) map.set(k.toLowerCase(), v);
  return { get: (name) => map.get(name) ?? null };
}

export function listParam(value: string | null): string[] | null {
  if (value === null || value.trim() === '') return null;
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

export function intParam(value: string | null, name: string, min: number, max: number, fallback: number, errors: FieldErrors): number {
  if (value === null || value === '') return fallback;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n)) {
    errors[name] = [`The value '${value}' is not valid for ${name}.`];
    return fallback;
  }
  if (n < min || n > max) {
    errors[name] = [`The field ${name} must be between ${min} and ${max}.`];
    return fallback;
  }
  return n;
}

export function boolParam(value: string | null, name: string, errors: FieldErrors): boolean | null {
  if (value === null || value === '') return null;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  errors[name] = [`The value '${value}' is not valid for ${name}.`];
  return null;
}

export function dateParam(value: string | null, name: string, errors: FieldErrors): number | null {
  if (value === null || value === '') return null;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    errors[name] = [`The value '${value}' is not valid for ${name}.`];
    return null;
  }
  return t;
}

/** An int32 id from the path, or null after answering 400. */
export function parseId(ctx: Context, raw: string, name: string): number | null {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > INT32_MAX) {
    json(ctx, 400, { [name]: [`The value '${raw}' is not valid.`] });
    return null;
  }
  return Number(raw);
}

export function encodeCursor(value: string): string {
  return Buffer.from(JSON.stringify({ offset: value })).toString('base64url');
}

export function decodeCursor(value: string | null): string | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    return isObject(parsed) && typeof parsed.offset === 'string' ? parsed.offset : null;
  } catch {
    return null;
  }
}

/**
 * `shipbob_channel_id` where the spec requires it (creating an order): missing or not an int32 →
 * 400 ModelState; a channel that is not the token's write channel → 403 ("No access").
 */
export function writeChannel(ctx: Context, channels: readonly ChannelView[]): boolean {
  const raw = ctx.get('shipbob_channel_id');
  if (raw === '') {
    json(ctx, 400, { shipbob_channel_id: ['The shipbob_channel_id field is required.'] });
    return false;
  }
  if (!/^\d{1,10}$/.test(raw.trim()) || Number(raw) > INT32_MAX) {
    json(ctx, 400, { shipbob_channel_id: [`The value '${raw}' is not valid.`] });
    return false;
  }
  const channel = channels.find((c) => c.id === Number(raw));
  if (!channel || !channel.scopes.includes('orders_write')) {
    empty(ctx, 403);
    return false;
  }
  return true;
}

/** The optional channel filter of reads: null when absent, undefined when an error was sent. */
export function readChannel(ctx: Context): number | null | undefined {
  const raw = ctx.get('shipbob_channel_id');
  if (raw === '') return null;
  if (!/^\d{1,10}$/.test(raw.trim()) || Number(raw) > INT32_MAX) {
    json(ctx, 400, { shipbob_channel_id: [`The value '${raw}' is not valid.`] });
    return undefined;
  }
  return Number(raw);
}
