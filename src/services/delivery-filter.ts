import { DELIVERY_STATES } from '../domain/delivery.ts';
import { GatewayError } from '../domain/errors.ts';
import type { DeliveryFilter } from '../store/index.ts';

/**
 * The checks every delivery filter, list criterion and page request goes through before it reaches
 * the store, whether it comes from the admin API or the CLI.
 */

export type { DeliveryFilter } from '../store/index.ts';

/** The most ids (or other values) one criterion may list. */
const MAX_LIST = 10_000;
const MAX_PAGE = 500;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface PageRequest {
  /** 1 to 500. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Validates a filter and drops keys given as undefined (throws BAD_REQUEST). */
export function checkFilter(filter: DeliveryFilter): DeliveryFilter {
  const criteria: DeliveryFilter = {};
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FILTER_KEYS.has(key)) throw new GatewayError('BAD_REQUEST', `unknown filter "${key}"`);
  }
  if (filter.ids !== undefined) criteria.ids = filter.ids;
  if (filter.eventIds !== undefined) criteria.eventIds = filter.eventIds;
  if (filter.connectors !== undefined) criteria.connectors = filter.connectors;
  if (filter.states !== undefined) {
    for (const s of filter.states) {
      if (!(DELIVERY_STATES as readonly string[]).includes(s)) {
        throw new GatewayError('BAD_REQUEST', `unknown state "${String(s).slice(0, 40)}" (states: ${DELIVERY_STATES.join(', ')})`);
      }
    }
    criteria.states = filter.states;
  }
  if (filter.eventCodes !== undefined) criteria.eventCodes = filter.eventCodes;
  if (filter.orderKey !== undefined) criteria.orderKey = filter.orderKey;
  if (filter.errorContains !== undefined) criteria.errorContains = filter.errorContains;
  for (const key of ['from', 'to'] as const) {
    const v = filter[key];
    if (v === undefined) continue;
    if (!Number.isFinite(v)) throw new GatewayError('BAD_REQUEST', `${key} must be a time (epoch milliseconds)`);
    criteria[key] = v;
  }
  checkLists(criteria);
  return criteria;
}

const FILTER_KEYS = new Set(['ids', 'eventIds', 'connectors', 'states', 'eventCodes', 'orderKey', 'errorContains', 'from', 'to']);

export function checkLists(criteria: object): void {
  // SQLite ends a bound string at a NUL and PostgreSQL refuses it: a filter "\u0000x" would match like "".
  const nul = (v: unknown): boolean => typeof v === 'string' && v.includes('\u0000');
  for (const [key, value] of Object.entries(criteria)) {
    if (Array.isArray(value)) {
      if (value.length > MAX_LIST) throw new GatewayError('BAD_REQUEST', `${key} lists more than ${MAX_LIST} values`);
      if (value.some((v) => typeof v !== 'string')) throw new GatewayError('BAD_REQUEST', `${key} must list strings`);
      if (value.some(nul)) throw new GatewayError('BAD_REQUEST', `${key} must not contain NUL characters`);
    } else if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') {
      throw new GatewayError('BAD_REQUEST', `${key} has the wrong type`);
    } else if (nul(value)) {
      throw new GatewayError('BAD_REQUEST', `${key} must not contain NUL characters`);
    }
  }
}

export function checkPage(page: PageRequest): { limit: number; cursor?: string } {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new GatewayError('BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_PAGE}`);
  }
  if (page.cursor === undefined) return { limit: page.limit };
  if (!ULID.test(page.cursor)) throw new GatewayError('BAD_REQUEST', 'cursor is not one this API gave out');
  return { limit: page.limit, cursor: page.cursor };
}

export function isUlid(text: string): boolean {
  return ULID.test(text);
}
