/**
 * An auth provider could not obtain credentials: the token endpoint refused or failed. The message
 * names the endpoint's host, its HTTP status and its OAuth `error` code, never a secret or a token.
 * (When the token endpoint cannot be reached at all, the http client's NetworkError / TimeoutError
 * is thrown instead, so the usual retry rules for network failures apply.)
 */
export class AuthError extends Error {
  readonly errorClass = 'auth' as const;
  /** The token endpoint's HTTP status, or null when the failure was not an HTTP answer. */
  readonly status: number | null;
  /** The OAuth `error` code of the answer (invalid_grant, invalid_client, ...), when it had one. */
  readonly oauthError: string | null;
  /** True for failures that may pass on their own (token endpoint 5xx, 429, 408). */
  readonly retryable: boolean;

  constructor(
    message: string,
    details: { status?: number | null; oauthError?: string | null; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AuthError';
    this.status = details.status ?? null;
    this.oauthError = details.oauthError ?? null;
    this.retryable = details.retryable ?? false;
  }
}
