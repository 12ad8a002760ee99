import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import type { ConnectorConfig } from '../config/schema.ts';
import type { TlsProblem } from '../domain/retry.ts';
import { tlsFailure, TlsWatch, type TlsSettings } from './tls-failure.ts';
import type { OutboundRequest } from './types.ts';

/**
 * The HTTP layer under every sender and token request: one keep-alive undici Agent per connector,
 * and one request function whose failures are typed as the retry rules need them (network,
 * timeout, or a TLS handshake that failed on a certificate or key). Error messages name the host
 * and the cause, never a header, a query string, a body or a passphrase.
 */

/** Response bodies are read up to this many bytes (unless the request asks for more); the rest is discarded. */
const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

export interface CreateDispatcherOptions {
  /**
   * Folder that relative `tls.ca` / `tls.cert` / `tls.key` paths resolve against (default: cwd).
   * The config loader already made them absolute, against the config folder.
   */
  baseDir?: string;
}

/**
 * A connector's Agent, which knows its TLS settings: a TLS failure of one of its requests is told
 * apart from a network error (src/connectors/tls-failure.ts).
 */
class ConnectorAgent extends Agent {
  readonly tlsWatch: TlsWatch;

  constructor(options: Agent.Options, tlsWatch: TlsWatch) {
    super(options);
    this.tlsWatch = tlsWatch;
  }
}

/**
 * Builds the connector's Agent: keep-alive connections, at most `concurrency` per origin, with the
 * connector's TLS settings (extra CA, client certificate and key for mTLS, rejectUnauthorized).
 * Certificate files are read once, here; a missing file throws now, not at the first delivery.
 */
export function createDispatcher(connector: ConnectorConfig, options: CreateDispatcherOptions = {}): Dispatcher {
  const tls = connector.tls;
  const read = (path: string): Buffer => readFileSync(resolve(options.baseDir ?? process.cwd(), path));
  const settings: TlsSettings = {
    timeout: Math.min(connector.timeout, 30_000),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  };
  if (tls?.ca) settings.ca = read(tls.ca);
  if (tls?.cert) settings.cert = read(tls.cert);
  if (tls?.key) settings.key = read(tls.key);
  if (tls?.passphrase) settings.passphrase = tls.passphrase.reveal();
  const watch = new TlsWatch(settings);
  return new ConnectorAgent(
    {
      connections: connector.concurrency,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      connect: watch.connector(),
    },
    watch,
  );
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The first 64 KB (or the request's maxResponseBytes) of the body as UTF-8 text; the rest is discarded. */
  body: string;
  durationMs: number;
}

/** The request did not produce a response in time (connect, headers or body). */
export class TimeoutError extends Error {
  readonly errorClass = 'timeout' as const;
  readonly durationMs: number;

  constructor(message: string, durationMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TimeoutError';
    this.durationMs = durationMs;
  }
}

/**
 * The request failed below HTTP: DNS, refused or reset connection, a TLS failure that is not a
 * TlsError, malformed response, abort.
 */
export class NetworkError extends Error {
  readonly errorClass = 'network' as const;
  readonly durationMs: number;
  /** The undici / Node error code, when there is one (ECONNREFUSED, UND_ERR_SOCKET, ...). */
  readonly code: string | null;
  /** True when the caller's signal stopped the request (shutdown), not the network. */
  readonly aborted: boolean;

  constructor(
    message: string,
    durationMs: number,
    options?: { cause?: unknown; code?: string | null; aborted?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NetworkError';
    this.durationMs = durationMs;
    this.code = options?.code ?? null;
    this.aborted = options?.aborted ?? false;
  }
}

/**
 * The TLS handshake failed for a reason a retry cannot fix (see TlsProblem in domain/retry.ts): the
 * server refused our client certificate or wanted one, its own certificate is not trusted, or our
 * key cannot be used. Classed 'config': the delivery parks until somebody fixes a certificate.
 */
export class TlsError extends Error {
  readonly errorClass = 'config' as const;
  readonly problem: TlsProblem;
  readonly durationMs: number;
  /** The Node / OpenSSL error code underneath, when there is one. */
  readonly code: string | null;

  constructor(message: string, durationMs: number, options: { problem: TlsProblem; cause?: unknown; code?: string | null }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TlsError';
    this.problem = options.problem;
    this.durationMs = durationMs;
    this.code = options.code ?? null;
  }
}

export function isHttpClientError(err: unknown): err is TimeoutError | NetworkError | TlsError {
  return err instanceof TimeoutError || err instanceof NetworkError || err instanceof TlsError;
}

/**
 * Sends one request through `dispatcher`. `timeoutMs` bounds the whole exchange, body included.
 * Resolves with any HTTP status; rejects with TimeoutError, TlsError or NetworkError.
 */
export async function httpRequest(
  dispatcher: Dispatcher,
  req: OutboundRequest,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<HttpResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timer = new AbortController();
  const timeoutHandle = setTimeout(() => timer.abort(new Error('timeout')), timeoutMs);
  const combined = signal ? AbortSignal.any([timer.signal, signal]) : timer.signal;
  const host = req.url.host;

  try {
    const response = await dispatcher.request({
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: combined,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    const limit = req.maxResponseBytes ?? MAX_RESPONSE_BODY_BYTES;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      const room = limit - size;
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
    // Breaking out of the loop destroys the stream: the rest of a large body is not read.
    return {
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      body: Buffer.concat(chunks, size).toString('utf8'),
      durationMs: elapsed(),
    };
  } catch (err) {
    const durationMs = elapsed();
    if (signal?.aborted && !timer.signal.aborted) {
      throw new NetworkError(`request to ${host} aborted`, durationMs, { cause: err, code: 'ABORTED', aborted: true });
    }
    if (timer.signal.aborted || isUndiciTimeout(err)) {
      throw new TimeoutError(`no complete response from ${host} within ${timeoutMs} ms`, durationMs, { cause: err });
    }
    const code = errorCode(err);
    const tls = await tlsFailure(err, req.url, dispatcher instanceof ConnectorAgent ? dispatcher.tlsWatch : null);
    if (tls) throw new TlsError(tls.message, elapsed(), { problem: tls.problem, cause: err, code });
    throw new NetworkError(`request to ${host} failed: ${describeCause(err)}`, durationMs, { cause: err, code });
  } finally {
    clearTimeout(timeoutHandle);
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function isUndiciTimeout(err: unknown): boolean {
  return (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    errorCode(err) === 'ETIMEDOUT'
  );
}

function errorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown }).cause;
  return cause === undefined || cause === err ? null : errorCode(cause);
}

/** "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1" style: the code and the innermost message. */
function describeCause(err: unknown): string {
  const code = errorCode(err);
  let inner: unknown = err;
  while (typeof inner === 'object' && inner !== null && (inner as { cause?: unknown }).cause instanceof Error) {
    inner = (inner as { cause: unknown }).cause;
  }
  const message = inner instanceof Error ? inner.message : String(inner);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
