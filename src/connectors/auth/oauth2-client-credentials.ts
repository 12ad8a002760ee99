import type { Secret } from '../../config/secret.ts';
import type { AuthProvider, OutboundRequest } from '../types.ts';
import { setHeader } from './headers.ts';
import { requestToken, SingleFlightToken, type OAuthDeps } from './oauth2.ts';

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
 * OAuth2 client credentials (RFC 6749 §4.4): a bearer token from the token endpoint, cached until
 * `refreshBefore` ahead of its expiry and fetched by one request however many deliveries wait.
 * After a 401 from the target, invalidate() drops it and the worker retries once with a new one.
 */
export class ClientCredentialsAuth implements AuthProvider {
  readonly #token: SingleFlightToken;

  constructor(config: ClientCredentialsConfig, deps: OAuthDeps, timeoutMs: number) {
    const fetch = () => {
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
        timeoutMs,
        deps,
      });
    };
    this.#token = new SingleFlightToken(fetch, deps.now, config.refreshBefore);
  }

  async authorize(request: OutboundRequest, signal?: AbortSignal): Promise<void> {
    const token = await this.#token.get(signal);
    setHeader(request.headers, 'Authorization', `Bearer ${token}`);
  }

  async invalidate(): Promise<boolean> {
    this.#token.invalidate();
    return true;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}
