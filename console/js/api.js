// @ts-check
/**
 * The console's one way to the gateway: the admin API under /admin/api, with the bearer token the
 * operator signed in with (kept in this tab's session storage only). An error answer becomes an
 * ApiError carrying the API's own `{code, message}`, which the views show as they are.
 */

const BASE = '/admin/api';
const TOKEN_KEY = 'omgw-token';

export class ApiError extends Error {
  /** @param {string} code @param {string} message @param {number} status */
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} value */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * A query string from a record, leaving out empty values.
 * @param {Record<string, string | number | undefined | null>} params
 */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path under /admin/api
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new ApiError('NETWORK', `the gateway did not answer (${err instanceof Error ? err.message : String(err)})`, 0);
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const code = data && typeof data.code === 'string' ? data.code : `HTTP_${res.status}`;
    const message = data && typeof data.message === 'string' ? data.message : res.statusText;
    throw new ApiError(code, message, res.status);
  }
  return data;
}

/** @type {Promise<any> | null} */
let openapi = null;

/**
 * The values of an enumeration the API documents (components.schemas[schema].properties[field].enum),
 * so that a state the gateway adds shows up here without a change to the console.
 * @param {string} schema @param {string} field @returns {Promise<string[]>}
 */
export async function documentedEnum(schema, field) {
  openapi ??= call('GET', '/openapi.json').catch((err) => {
    openapi = null;
    throw err;
  });
  const doc = await openapi;
  const values = doc?.components?.schemas?.[schema]?.properties?.[field]?.enum;
  return Array.isArray(values) ? values.filter((v) => typeof v === 'string') : [];
}

/** Whether the API has a route (GET or POST), from its OpenAPI document. @param {string} path */
export async function hasRoute(path) {
  openapi ??= call('GET', '/openapi.json');
  const doc = await openapi;
  return Boolean(doc?.paths?.[path]);
}
