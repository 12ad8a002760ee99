/**
 * Where OAuth2 refresh tokens survive restarts and are shared between gateway instances. The knex
 * implementation is `OAuthTokenRepository` in src/store/tokens.ts (tokens encrypted at rest).
 * `connector` is the connector's name.
 */
export interface TokenStore {
  /** The latest refresh token saved for the connector, or null (none saved, or unreadable). */
  load(connector: string): Promise<{ refreshToken: string } | null>;
  /** Replaces the connector's refresh token. Resolves once it is durable. */
  save(connector: string, refreshToken: string): Promise<void>;
}

/** A TokenStore that keeps nothing (for connectors without refresh tokens, and for tools). */
export const noTokenStore: TokenStore = {
  load: async () => null,
  save: async () => undefined,
};
