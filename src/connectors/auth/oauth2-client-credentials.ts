import type { Secret } from '../../config/secret.ts';
import { OAuthBearerAuth, requestToken, type OAuthDeps, type TokenResponse } from './oauth2.ts';

export interface ClientCredentialsConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret: Secret;
  scope?: string | undefined;
  audience?: string | undefined;
  clientAuth: 'basic' | 'body';
  refreshBefore: number;
}

/**
 * OAuth2 client credentials (RFC 6749 §4.4): a bearer token from the token endpoint (see
 * OAuthBearerAuth for its caching and invalidation).
 */
export class ClientCredentialsAuth extends OAuthBearerAuth {
  readonly #config: ClientCredentialsConfig;
  readonly #deps: OAuthDeps;
  readonly #timeoutMs: number;

  constructor(config: ClientCredentialsConfig, deps: OAuthDeps, timeoutMs: number) {
    super(deps.now, config.refreshBefore);
    this.#config = config;
    this.#deps = deps;
    this.#timeoutMs = timeoutMs;
  }

  protected override fetchToken(): Promise<TokenResponse> {
    const config = this.#config;
    const secret = config.clientSecret.reveal();
    const inBody = config.clientAuth === 'body';
    return requestToken({
      tokenUrl: config.tokenUrl,
      params: {
        grant_type: 'client_credentials',
        scope: config.scope,
        audience: config.audience,
        client_id: inBody ? config.clientId : undefined,
        client_secret: inBody ? secret : undefined,
      },
      basicAuth: inBody ? undefined : { clientId: config.clientId, clientSecret: secret },
      secrets: [secret],
      timeoutMs: this.#timeoutMs,
      deps: this.#deps,
    });
  }
}
