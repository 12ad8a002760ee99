import type { Dispatcher } from 'undici';
import type { ConnectorConfig } from '../config/schema.ts';
import { createAuthProvider, type TokenStore } from './auth/index.ts';
import { createDispatcher } from './http-client.ts';
import type { AuthProvider } from './types.ts';

/**
 * A connector's connections: the target's keep-alive pool, a pool of its own per token endpoint
 * (same TLS settings as the target, so an mTLS client certificate reaches the token endpoint too),
 * and the auth provider that uses them. Used by the delivery runtime and by `omgw connector test`.
 */
export interface ConnectorConnections {
  dispatcher: Dispatcher;
  auth: AuthProvider;
  /** Closes every pool; a pool that fails to close is dropped all the same. */
  close(): Promise<void>;
}

export interface ConnectionDeps {
  tokenStore: TokenStore;
  now: () => number;
  /** Connections per token endpoint: a token request is rare, and one at a time is enough for a probe. */
  tokenConcurrency: number;
}

/** Opens the connector's pools; a certificate file that cannot be read throws here, before any request. */
export function openConnections(connector: ConnectorConfig, deps: ConnectionDeps): ConnectorConnections {
  const dispatcher = createDispatcher(connector);
  const tokenDispatchers = new Map<string, Dispatcher>();
  const close = async (): Promise<void> => {
    await Promise.all([dispatcher, ...tokenDispatchers.values()].map((d) => d.close().catch(() => undefined)));
  };
  try {
    const auth = createAuthProvider(connector, {
      tokenStore: deps.tokenStore,
      now: deps.now,
      dispatcherFor: (url: string) => {
        const origin = new URL(url).origin;
        let d = tokenDispatchers.get(origin);
        if (!d) {
          d = createDispatcher({ ...connector, concurrency: deps.tokenConcurrency });
          tokenDispatchers.set(origin, d);
        }
        return d;
      },
    });
    return { dispatcher, auth, close };
  } catch (err) {
    void close();
    throw err;
  }
}
