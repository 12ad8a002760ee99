/**
 * Where OAuth2 tokens survive restarts and are shared between gateway instances, and the lease that
 * lets one instance at a time refresh a connector's token. The knex implementation is
 * `OAuthTokenRepository` in src/store/tokens.ts (tokens encrypted at rest). `connector` is the
 * connector's name; `owner` names one refresher (an auth provider of one process).
 */
export interface TokenStore {
  /**
   * The gateway instance (or tool run) that leases through this store: the start of every owner
   * its providers write, so a lease in the database says which instance is refreshing.
   */
  readonly holder: string;
  /** What is saved for the connector, or null when nothing is. */
  read(connector: string): Promise<StoredToken | null>;
  /**
   * Takes the connector's refresh lease for `owner` until `until`, when nobody holds it, its
   * holder's time has run out at `now`, or `owner` holds it already. False when another holds it.
   */
  lease(connector: string, owner: string, now: number, until: number): Promise<boolean>;
  /**
   * Saves what a refresh got and releases `owner`'s lease, unless a newer token was saved since
   * `version` was read (then false, and nothing is saved). Resolves once it is durable.
   */
  save(connector: string, owner: string, version: number, tokens: SavedTokens): Promise<boolean>;
  /** Gives `owner`'s lease up without saving (the refresh failed or was not needed). */
  release(connector: string, owner: string): Promise<void>;
}

export interface StoredToken {
  /** The newest refresh token, or null (none saved yet, or unreadable). */
  refreshToken: string | null;
  /** The access token the last refresh got, or null. */
  access: SharedAccessToken | null;
  /** Bumped by every save: tells a newer token from one already tried. */
  version: number;
  /** The refresh under way, or null; one whose `until` has passed is free to take. */
  lease: { owner: string; until: number } | null;
}

export interface SharedAccessToken {
  token: string;
  fetchedAt: number;
  /** Lifetime from `expires_in`, in ms; null when the endpoint gave none. */
  expiresInMs: number | null;
}

export interface SavedTokens {
  refreshToken: string;
  access: SharedAccessToken;
}

/**
 * A TokenStore that keeps nothing (without database.encryptionKey, and for tools): every lease is
 * granted, so each process refreshes on its own, with the newest refresh token it has in memory.
 */
export const noTokenStore: TokenStore = {
  holder: 'local',
  read: async () => null,
  lease: async () => true,
  save: async () => true,
  release: async () => undefined,
};
