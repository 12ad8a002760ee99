import type { Secret } from '../../config/secret.ts';
import { AuthError } from './errors.ts';
import { OAuthBearerAuth, requestToken, type OAuthDeps, type TokenResponse } from './oauth2.ts';
import type { TokenStore } from './token-store.ts';

export interface RefreshTokenConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret?: Secret | undefined;
  refreshToken: Secret;
  scope?: string | undefined;
  refreshBefore: number;
}

/**
 * OAuth2 refresh-token grant (RFC 6749 §6) with rotation; the access token is cached and invalidated
 * as OAuthBearerAuth says.
 *
 * - The refresh token used is the latest one in the TokenStore (shared by all instances), else the
 *   newest this instance knows, which at first is the configured one.
 * - A rotated refresh token is saved before the new access token is used, so a restart (or another
 *   instance) continues with it. If saving fails the access token is not used, and the next refresh
 *   starts from the unsaved token and saves again.
 * - `invalid_grant` usually means another instance rotated the token meanwhile: the store is read
 *   once more and, when it holds a different token, the refresh is retried with it.
 * - A client secret, when configured, authenticates by HTTP Basic; a public client sends client_id.
 */
export class RefreshTokenAuth extends OAuthBearerAuth {
  readonly #connector: string;
  readonly #config: RefreshTokenConfig;
  readonly #store: TokenStore;
  readonly #deps: OAuthDeps;
  readonly #timeoutMs: number;
  /** The newest refresh token this instance has seen. */
  #latest: string;
  /** A rotated token the store has not accepted yet. */
  #unsaved: string | null = null;

  constructor(connector: string, config: RefreshTokenConfig, store: TokenStore, deps: OAuthDeps, timeoutMs: number) {
    super(deps.now, config.refreshBefore);
    this.#connector = connector;
    this.#config = config;
    this.#store = store;
    this.#deps = deps;
    this.#timeoutMs = timeoutMs;
    this.#latest = config.refreshToken.reveal();
  }

  protected override async fetchToken(): Promise<TokenResponse> {
    const stored = await this.#store.load(this.#connector);
    const used = this.#unsaved ?? stored?.refreshToken ?? this.#latest;
    try {
      return await this.#exchange(used);
    } catch (err) {
      if (!(err instanceof AuthError) || err.oauthError !== 'invalid_grant') throw err;
      // Another instance may have rotated the token after our read: look once more.
      const reread = await this.#store.load(this.#connector);
      if (!reread || reread.refreshToken === used) throw err;
      return await this.#exchange(reread.refreshToken);
    }
  }

  async #exchange(refreshToken: string): Promise<TokenResponse> {
    const secret = this.#config.clientSecret?.reveal();
    const response = await requestToken({
      tokenUrl: this.#config.tokenUrl,
      params: {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        scope: this.#config.scope,
        client_id: secret === undefined ? this.#config.clientId : undefined,
      },
      basicAuth: secret === undefined ? undefined : { clientId: this.#config.clientId, clientSecret: secret },
      secrets: secret === undefined ? [refreshToken] : [refreshToken, secret],
      timeoutMs: this.#timeoutMs,
      deps: this.#deps,
    });
    const next = response.refreshToken ?? refreshToken;
    this.#latest = next;
    if (next !== refreshToken || this.#unsaved === refreshToken) {
      this.#unsaved = next;
      try {
        await this.#store.save(this.#connector, next);
      } catch (err) {
        // The store's message is not repeated: it may quote the statement.
        throw new AuthError(`the rotated refresh token of connector ${this.#connector} could not be saved`, {
          retryable: true,
          cause: err,
        });
      }
      this.#unsaved = null;
    }
    return response;
  }
}
