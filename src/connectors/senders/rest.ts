import type { ConnectorConfig } from '../../config/schema.ts';
import { retryAfterFromHeaders } from '../../domain/retry.ts';
import { scrubberFor, type Scrubber } from '../../domain/secrets-scrub.ts';
import {
  TransformError,
  type ErrorClass,
  type OutboundRequest,
  type RequestSummary,
  type SendResult,
  type TransformOutput,
} from '../types.ts';

/**
 * REST sender: builds the request for a connector from a transform's output and turns the target's
 * answer (or the transport's failure) into a SendResult. The HTTP transport is a parameter (`send`),
 * so this file does no I/O of its own. The pieces shared with the SOAP sender live here too.
 */

/** What the transport hands back for any HTTP answer (headers with lower-case names). */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  durationMs: number;
}

/** The transport: throws an error with `errorClass: 'network' | 'timeout' | 'config'` (TLS) when there is no answer. */
export type SendFn = (request: OutboundRequest) => Promise<RawResponse>;

export interface SendInput {
  connector: ConnectorConfig;
  request: OutboundRequest;
  send: SendFn;
  /**
   * The secrets to keep out of the result (the request's credentials and every configured one).
   * The snippet and the error message are scrubbed whole before they are cut, so that no part of a
   * secret is kept at the cut. Without it nothing is scrubbed.
   */
  scrubber?: Scrubber;
  /** The gateway's clock: a Retry-After date is read against it (domain/retry.ts). */
  now: () => number;
}

/** Scrubs nothing: for callers that hold no secrets. */
export const NO_SECRETS: Scrubber = scrubberFor([]);

export const USER_AGENT = 'om-connector-gateway';
/** SendResult.bodySnippet is at most this many bytes of UTF-8. */
export const BODY_SNIPPET_BYTES = 2048;
/** SendResult.errorMessage is at most this many characters. */
export const ERROR_MESSAGE_CHARS = 500;

/**
 * The request for a REST connector.
 *
 * - URL: `connector.url` + `connector.path`, `{{name}}` placeholders filled (URL-encoded) from `vars`,
 *   then `transformOutput.pathVars` (the event's own values win a name clash).
 * - Headers: the connector's (placeholders filled, not encoded), Content-Type from the transform and
 *   `User-Agent: om-connector-gateway` unless the connector sets them, then the idempotency header
 *   (`connector.idempotencyKey.header`; none when that is '' or `idempotencyKey` is null).
 * - A GET carries no body.
 *
 * Throws TransformError when a placeholder has no value, a value would make a header line or change the
 * URL path (a `.` or `..` segment), or the result is not a URL.
 */
export function buildRestRequest(
  connector: ConnectorConfig,
  transformOutput: TransformOutput,
  vars: Record<string, string>,
  idempotencyKey: string | null,
): OutboundRequest {
  const values = { ...(transformOutput.pathVars ?? {}), ...vars };
  const url = buildUrl(connector, values);
  const hasBody = connector.method !== 'GET';
  const headers = buildHeaders(connector, values, hasBody ? { 'Content-Type': transformOutput.contentType } : {});
  const idempotencyHeader = connector.idempotencyKey.header;
  if (idempotencyKey !== null && idempotencyHeader !== '') {
    setHeader(headers, idempotencyHeader, checkHeaderValue(idempotencyHeader, idempotencyKey));
  }
  return { method: connector.method, url, headers, body: hasBody ? transformOutput.body : null };
}

/** Sends and classifies: 2xx is ok; any other status is errorClass 'http'; no answer is 'network' or 'timeout'. */
export async function sendRest(input: SendInput): Promise<SendResult> {
  const { request, send } = input;
  const scrubber = input.scrubber ?? NO_SECRETS;
  const outcome = await attempt(request, send, scrubber);
  if ('error' in outcome) return outcome.error;
  const response = outcome.response;
  const ok = response.status >= 200 && response.status < 300;
  return responseResult(
    request,
    response,
    { ok, errorClass: ok ? null : 'http', errorMessage: ok ? null : httpErrorMessage(response.status), faultParty: null },
    input.now(),
    scrubber,
  );
}

// ------------------------------------------------------------------------------------------------
// Shared with the SOAP sender

/** Runs the transport; a thrown error becomes a finished SendResult ('network' unless it says otherwise). */
export async function attempt(
  request: OutboundRequest,
  send: SendFn,
  scrubber: Scrubber = NO_SECRETS,
): Promise<{ response: RawResponse } | { error: SendResult }> {
  const started = performance.now();
  try {
    return { response: await send(request) };
  } catch (err) {
    const durationMs = Math.max(0, Math.round(performance.now() - started));
    const message = err instanceof Error && err.message !== '' ? err.message : String(err);
    return { error: unanswered(request, transportErrorClass(err), message, durationMs, null, scrubber) };
  }
}

/** The result of a request that got no answer: the transport failed, or it was never sent. */
export function unanswered(
  request: OutboundRequest,
  errorClass: ErrorClass,
  message: string,
  durationMs: number,
  retryAfterMs: number | null = null,
  scrubber: Scrubber = NO_SECRETS,
): SendResult {
  return {
    ok: false,
    status: null,
    headers: {},
    bodySnippet: null,
    durationMs,
    errorClass,
    errorMessage: scrubber.clipChars(message, ERROR_MESSAGE_CHARS),
    faultParty: null,
    retryAfterMs,
    request: summarize(request),
  };
}

/**
 * `outcome.errorMessage` may be the target's whole text: it is scrubbed, then cut to ERROR_MESSAGE_CHARS.
 * The retry hint is read from the headers at `now` (the gateway's clock).
 */
export function responseResult(
  request: OutboundRequest,
  response: RawResponse,
  outcome: Pick<SendResult, 'ok' | 'errorClass' | 'errorMessage' | 'faultParty'>,
  now: number,
  scrubber: Scrubber = NO_SECRETS,
): SendResult {
  return {
    ...outcome,
    errorMessage: outcome.errorMessage === null ? null : scrubber.clipChars(outcome.errorMessage, ERROR_MESSAGE_CHARS),
    status: response.status,
    headers: { ...response.headers },
    bodySnippet: response.body === '' ? null : scrubber.clipBytes(response.body, BODY_SNIPPET_BYTES),
    durationMs: response.durationMs,
    retryAfterMs: retryAfterFromHeaders(response.headers, now),
    request: summarize(request),
  };
}

export function httpErrorMessage(status: number): string {
  return `HTTP ${status}`;
}

/** The request as recorded with an attempt. Headers are copied as given: the caller redacts. */
function summarize(request: OutboundRequest): RequestSummary {
  return {
    method: request.method,
    url: request.url.toString(),
    headers: { ...request.headers },
    bodyBytes: request.body === null ? 0 : Buffer.byteLength(request.body, 'utf8'),
  };
}

/** `connector.url` + `connector.path` with `{{name}}` placeholders URL-encoded from `values`. */
export function buildUrl(connector: Pick<ConnectorConfig, 'url' | 'path'>, values: Record<string, string>): URL {
  const path = fillPlaceholders(connector.path, values, 'path', encodeURIComponent);
  const pathPart = path.split(/[?#]/, 1)[0] ?? '';
  // Values are encoded, so they cannot add '/', '?' or '#'; a value that is '.' or '..' could still
  // step out of the configured path (URL parsing resolves %2e%2e as well).
  if (pathPart.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
    throw new TransformError(`path "${clipText(path, 200)}" has a "." or ".." segment`);
  }
  const base = connector.url;
  const joined = base.endsWith('/') && path.startsWith('/') ? base + path.slice(1) : base + path;
  try {
    return new URL(joined);
  } catch {
    throw new TransformError(`"${clipText(joined, 200)}" is not a valid URL`);
  }
}

/**
 * The connector's headers with placeholders filled, then `defaults` for names the connector does not
 * set and the User-Agent.
 */
export function buildHeaders(
  connector: Pick<ConnectorConfig, 'headers'>,
  values: Record<string, string>,
  defaults: Record<string, string>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(connector.headers)) {
    setHeader(headers, name, checkHeaderValue(name, fillPlaceholders(template, values, `header ${name}`, (v) => v)));
  }
  for (const [name, value] of Object.entries({ ...defaults, 'User-Agent': USER_AGENT })) {
    if (findHeader(headers, name) === undefined) headers[name] = value;
  }
  return headers;
}

/** Sets a header, replacing one of the same name in any letter case. */
export function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const existing = findHeader(headers, name);
  if (existing !== undefined && existing !== name) delete headers[existing];
  headers[name] = value;
}

function findHeader(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(headers).find((k) => k.toLowerCase() === lower);
}

/** The placeholder grammar of src/domain/template.ts; here a missing value is an error, not ''. */
const PLACEHOLDER = /\{\{\s*([^\s{}]+)\s*\}\}/g;

function fillPlaceholders(
  template: string,
  values: Record<string, string>,
  where: string,
  encode: (value: string) => string,
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) throw new TransformError(`${where}: no value for {{${name}}}`);
    return encode(value);
  });
}

function checkHeaderValue(name: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    throw new TransformError(`header ${name}: the value contains a line break or control character`);
  }
  return value;
}

/**
 * How the retry rules see a transport failure: as the transport classed it ('timeout', 'network',
 * or 'config' for a TLS handshake that failed on a certificate or key, which no retry can fix),
 * 'network' when it did not say.
 */
function transportErrorClass(err: unknown): ErrorClass {
  if (typeof err === 'object' && err !== null) {
    const e = err as { errorClass?: unknown; name?: unknown };
    if (e.errorClass === 'timeout' || e.errorClass === 'network' || e.errorClass === 'config') return e.errorClass;
    if (e.name === 'TimeoutError') return 'timeout';
  }
  return 'network';
}

function clipText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
