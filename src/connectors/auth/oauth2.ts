import type { Dispatcher } from 'undici';
import { httpRequest } from '../http-client.ts';
import type { AuthProvider, OutboundRequest } from '../types.ts';
import { AuthError } from './errors.ts';
import { basicCredentials, setHeader } from './headers.ts';

/**
 * What both OAuth2 providers share: the token request (RFC 6749 §4.4 / §6), a cached access token
 * that is fetched by one request however many deliveries wait for it, and the bearer provider
 * around it (OAuthBearerAuth).
 */

export interface OAuthDeps {
  now: () => number;
  dispatcherFor: (url: string) => Dispatcher;
  /** Pauses between looks at another instance's refresh (default: a timer). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

export interface TokenResponse {
  accessToken: string;
  /** Lifetime from `expires_in`, in milliseconds; null when the endpoint gave none. */
  expiresInMs: number | null;
  /** A new refresh token, when the endpoint issued one. */
  refreshToken: string | null;
}

/** An access token as a grant hands it to the cache: `fetchedAt` when it was issued earlier (shared). */
export interface FetchedToken {
  accessToken: string;
  expiresInMs: number | null;
  /** When the token was fetched; the start of this fetch when absent. */
  fetchedAt?: number;
}

export interface TokenRequest {
  tokenUrl: string;
  /** Form parameters (grant_type, scope, ...). */
  params: Record<string, string | undefined>;
  /** Client authentication by HTTP Basic (RFC 6749 §2.3.1); otherwise the params carry it. */
  basicAuth?: { clientId: string; clientSecret: string };
  /** Values that must never appear in an error message (client secret, refresh token). */
  secrets: readonly string[];
  timeoutMs: number;
  deps: OAuthDeps;
}

/**
 * POSTs a form-encoded token request and returns the token. A refusal or a bad answer becomes an
 * AuthError naming the endpoint, its status and its OAuth `error` code; an unreachable endpoint
 * surfaces as the http client's NetworkError / TimeoutError with the endpoint's host.
 */
export async function requestToken(req: TokenRequest): Promise<TokenResponse> {
  const url = new URL(req.tokenUrl);
  const where = `${url.host}${url.pathname}`;
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(req.params)) {
    if (value !== undefined && value !== '') form.set(name, value);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (req.basicAuth) {
    // §2.3.1: the client id and secret are form-urlencoded before they go into Basic credentials.
    headers.authorization = basicCredentials(formEncode(req.basicAuth.clientId), formEncode(req.basicAuth.clientSecret));
  }
  const res = await httpRequest(
    req.deps.dispatcherFor(url.toString()),
    { method: 'POST', url, headers, body: form.toString() },
    req.timeoutMs,
  );
  const json = parseJson(res.body);

  if (res.status < 200 || res.status > 299) {
    const code = oauthErrorCode(json, req.secrets);
    throw new AuthError(`token endpoint ${where} answered ${res.status}${code ? ` (${code})` : ''}`, {
      status: res.status,
      oauthError: code,
      retryable: res.status >= 500 || res.status === 429 || res.status === 408,
    });
  }
  const accessToken = json?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new AuthError(`token endpoint ${where} answered ${res.status} without an access_token`, { status: res.status });
  }
  const tokenType = json?.token_type;
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    const shown = typeof tokenType === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(tokenType) ? tokenType : '?';
    throw new AuthError(`token endpoint ${where} issued a token of type ${shown}; only Bearer is supported`, {
      status: res.status,
    });
  }
  const refreshToken = json?.refresh_token;
  return {
    accessToken,
    expiresInMs: parseExpiresIn(json?.expires_in),
    refreshToken: typeof refreshToken === 'string' && refreshToken !== '' ? refreshToken : null,
  };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The `error` code when it looks like one (RFC 6749 §5.2 charset, short) and carries no secret. */
function oauthErrorCode(json: Record<string, unknown> | null, secrets: readonly string[]): string | null {
  const code = json?.error;
  if (typeof code !== 'string' || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(code)) return null;
  if (secrets.some((s) => s !== '' && (code.includes(s) || (code.length >= 8 && s.includes(code))))) return null;
  return code;
}

function parseExpiresIn(value: unknown): number | null {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

/**
 * When a token fetched at `fetchedAt` should be replaced: `refreshBefore` ahead of its expiry, but
 * never before half its lifetime (a token shorter-lived than refreshBefore is still reused). A
 * token without `expires_in` is kept until invalidate().
 */
export function refreshAt(fetchedAt: number, expiresInMs: number | null, refreshBeforeMs: number): number {
  if (expiresInMs === null) return Number.POSITIVE_INFINITY;
  return fetchedAt + Math.max(expiresInMs - refreshBeforeMs, expiresInMs / 2);
}

/**
 * One cached access token with a single-flight refresh: while a fetch is under way, every caller
 * waits for that same fetch. A caller's abort signal stops its own wait, not the shared fetch.
 */
class SingleFlightToken {
  readonly #fetch: () => Promise<FetchedToken>;
  readonly #now: () => number;
  readonly #refreshBeforeMs: number;
  #cached: { accessToken: string; refreshAt: number } | null = null;
  #inflight: Promise<string> | null = null;

  constructor(fetch: () => Promise<FetchedToken>, now: () => number, refreshBeforeMs: number) {
    this.#fetch = fetch;
    this.#now = now;
    this.#refreshBeforeMs = refreshBeforeMs;
  }

  get(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.refreshAt) return Promise.resolve(cached.accessToken);
    if (!this.#inflight) {
      const flight = this.#run();
      this.#inflight = flight;
      // Cleared once settled; the callers below observe the outcome.
      flight.then(
        () => this.#clear(flight),
        () => this.#clear(flight),
      );
    }
    return abortable(this.#inflight, signal);
  }

  /**
   * Drops the cached token, so that the next get() fetches a new one (a fetch under way is kept);
   * given the token a target refused, only when it is still the cached one: a newer one, fetched
   * while the refused request was under way, is kept.
   */
  invalidate(refused?: string): void {
    if (refused === undefined || this.#cached?.accessToken === refused) this.#cached = null;
  }

  /** The cached token, if any (whatever its age). */
  get cached(): string | null {
    return this.#cached?.accessToken ?? null;
  }

  async #run(): Promise<string> {
    const started = this.#now();
    const token = await this.#fetch();
    this.#cached = {
      accessToken: token.accessToken,
      refreshAt: refreshAt(token.fetchedAt ?? started, token.expiresInMs, this.#refreshBeforeMs),
    };
    return token.accessToken;
  }

  #clear(flight: Promise<string>): void {
    if (this.#inflight === flight) this.#inflight = null;
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/**
 * An auth provider that sends an OAuth2 access token as a bearer token, cached until `refreshBefore`
 * ahead of its expiry and fetched by one request however many deliveries wait. After a 401 from the
 * target, invalidate() drops it (when it is the token that request carried) and the worker retries
 * once with a new one. A grant says how a token is fetched (fetchToken) and may note which tokens
 * targets refused (refused); the token is first asked for after construction.
 */
export abstract class OAuthBearerAuth implements AuthProvider {
  readonly #token: SingleFlightToken;

  protected constructor(now: () => number, refreshBeforeMs: number) {
    this.#token = new SingleFlightToken(() => this.fetchToken(), now, refreshBeforeMs);
  }

  protected abstract fetchToken(): Promise<FetchedToken>;

  /** A target refused this access token (a 401): a grant that shares tokens must not hand it out again. */
  protected refused(_token: string): void {}

  async authorize(request: OutboundRequest, signal?: AbortSignal): Promise<void> {
    const token = await this.#token.get(signal);
    setHeader(request.headers, 'Authorization', `Bearer ${token}`);
  }

  async invalidate(refused?: OutboundRequest): Promise<boolean> {
    const sent = refused === undefined ? this.#token.cached : bearerOf(refused);
    if (sent !== null) this.refused(sent);
    // A request that carried no bearer token of ours says nothing about the cached one: keep it.
    this.#token.invalidate(refused === undefined ? undefined : (sent ?? ''));
    return true;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}

/** The bearer token an Authorization header of the request carries, whatever the header's spelling. */
function bearerOf(request: OutboundRequest): string | null {
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.toLowerCase() === 'authorization' && value.startsWith('Bearer ')) return value.slice('Bearer '.length);
  }
  return null;
}
