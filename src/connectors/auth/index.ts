import type { Dispatcher } from 'undici';
import type { ConnectorConfig } from '../../config/schema.ts';
import type { AuthProvider } from '../types.ts';
import { ApiKeyAuth } from './api-key.ts';
import { BasicAuth } from './basic.ts';
import { BearerAuth } from './bearer.ts';
import { NoAuth } from './none.ts';
import { ClientCredentialsAuth } from './oauth2-client-credentials.ts';
import { RefreshTokenAuth } from './oauth2-refresh-token.ts';
import type { TokenStore } from './token-store.ts';
import { WsSecurityAuth } from './ws-security.ts';

export { noTokenStore, type TokenStore } from './token-store.ts';

export interface AuthDeps {
  /** Refresh tokens across restarts and instances (src/store/tokens.ts). */
  tokenStore: TokenStore;
  /** Epoch milliseconds; token lifetimes are measured with it. */
  now: () => number;
  /** The dispatcher a token endpoint is called through (e.g. the connector's Agent). */
  dispatcherFor: (url: string) => Dispatcher;
  /** Pauses while another instance refreshes a token (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** The auth provider for a connector's `auth` settings. Token requests use the connector's timeout. */
export function createAuthProvider(connector: ConnectorConfig, deps: AuthDeps): AuthProvider {
  const auth = connector.auth;
  const oauthDeps = { now: deps.now, dispatcherFor: deps.dispatcherFor, sleep: deps.sleep };
  switch (auth.type) {
    case 'none':
      return new NoAuth();
    case 'basic':
      return new BasicAuth(auth);
    case 'bearer':
      return new BearerAuth(auth);
    case 'api-key':
      return new ApiKeyAuth(auth);
    case 'oauth2-client-credentials':
      return new ClientCredentialsAuth(auth, oauthDeps, connector.timeout);
    case 'oauth2-refresh-token':
      return new RefreshTokenAuth(connector.name, auth, deps.tokenStore, oauthDeps, connector.timeout);
    case 'ws-security':
      return new WsSecurityAuth(auth, connector.soap?.version ?? '1.1');
    default: {
      const unknown: never = auth;
      throw new Error(`unknown auth type ${(unknown as { type: string }).type}`);
    }
  }
}
