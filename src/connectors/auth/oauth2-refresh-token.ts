import { randomUUID } from 'node:crypto';
import type { Secret } from '../../config/secret.ts';
import { TimeoutError } from '../http-client.ts';
import { AuthError } from './errors.ts';
import { OAuthBearerAuth, refreshAt, requestToken, type FetchedToken, type OAuthDeps, type TokenResponse } from './oauth2.ts';
import type { StoredToken, TokenStore } from './token-store.ts';

export interface RefreshTokenConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret?: Secret | undefined;
  refreshToken: Secret;
  scope?: string | undefined;
  refreshBefore: number;
}

/**
 * How long a refresh lease lasts beyond the token request's own timeout: the reads and the save
 * around the request must fit in it, so that a live holder never loses its lease.
 */
const LEASE_MARGIN_MS = 10_000;
/** Pauses between looks at another instance's refresh: short at first, then doubling up to the cap. */
const FIRST_PAUSE_MS = 20;
const MAX_PAUSE_MS = 250;
/** How many newer tokens an invalid_grant may send us to before the refusal counts as real. */
const MAX_RACES = 3;

/**
 * OAuth2 refresh-token grant (RFC 6749 §6) with rotation, one refresh at a time per connector
 * across every instance (and every `omgw connector test`) sharing the TokenStore.
 *
 * - The access token is shared: the last refresh's token is saved with the refresh token, and a
 *   provider that needs a token uses the saved one while it is fresh (and no target refused it).
 * - Otherwise the provider takes the connector's lease in the store. While another holds it, the
 *   provider looks at the store again after growing pauses until the holder has saved its token
 *   (then uses it) or its lease has run out (a dead holder; then takes the lease itself). The lease
 *   lasts the token request's timeout plus a margin, so a live holder keeps it.
 * - Under the lease, the refresh token used is the newest in the store (else the newest this
 *   provider knows, at first the configured one), so a rotated refresh token is never sent twice.
 *   The rotated refresh token and the new access token are saved, and the lease released, in one
 *   write before the access token is used. If saving fails the access token is not used and the
 *   lease is kept until it runs out; the next refresh starts from the unsaved token and saves again.
 * - `invalid_grant` while the store holds a newer token than the one sent (a holder whose lease ran
 *   out saved it meanwhile) starts over with that token. Only `invalid_grant` on the newest token
 *   is the configuration's fault.
 * - A client secret, when configured, authenticates by HTTP Basic; a public client sends client_id.
 * - Without a shared store (noTokenStore) every lease is granted and the provider refreshes alone.
 */
export class RefreshTokenAuth extends OAuthBearerAuth {
  readonly #connector: string;
  readonly #config: RefreshTokenConfig;
  readonly #store: TokenStore;
  readonly #deps: OAuthDeps;
  readonly #timeoutMs: number;
  readonly #leaseMs: number;
  /** Names this provider's leases in the store: its instance, then itself (a reload builds new providers). */
  readonly #owner: string;
  /** The newest refresh token this provider has seen. */
  #latest: string;
  /** A rotated token the store has not accepted yet, and the version of the row it was read from. */
  #unsaved: { token: string; version: number } | null = null;
  /** Access tokens a target refused: never taken from the store again. */
  readonly #refused = new Set<string>();

  constructor(connector: string, config: RefreshTokenConfig, store: TokenStore, deps: OAuthDeps, timeoutMs: number) {
    super(deps.now, config.refreshBefore);
    this.#owner = `${store.holder}/${randomUUID().slice(0, 8)}`;
    this.#connector = connector;
    this.#config = config;
    this.#store = store;
    this.#deps = deps;
    this.#timeoutMs = timeoutMs;
    this.#leaseMs = timeoutMs + LEASE_MARGIN_MS;
    this.#latest = config.refreshToken.reveal();
  }

  protected override refused(token: string): void {
    // A few are enough: only the latest ones can still be in the store.
    if (this.#refused.size >= 8) this.#refused.clear();
    this.#refused.add(token);
  }

  protected override async fetchToken(): Promise<FetchedToken> {
    const sleep = this.#deps.sleep ?? pause;
    // Longest wait for others: their lease, plus one pause for their save to be seen.
    const maxWaitMs = this.#leaseMs + MAX_PAUSE_MS;
    let waited = 0;
    let next = FIRST_PAUSE_MS;
    let races = 0;
    for (;;) {
      const row = await this.#store.read(this.#connector);
      const shared = this.#usable(row);
      if (shared) return shared;
      const now = this.#deps.now();
      const held = row?.lease && row.lease.owner !== this.#owner && row.lease.until > now;
      if (!held && (await this.#store.lease(this.#connector, this.#owner, now, now + this.#leaseMs))) {
        const outcome = await this.#refreshUnderLease();
        if (outcome !== 'raced') return outcome;
        // Someone saved a newer token meanwhile: start over with it (bounded: each time it is newer).
        if (++races >= MAX_RACES) throw new AuthError(`the refresh token of connector ${this.#connector} kept changing during refreshes`, { retryable: true });
        continue;
      }
      // Another instance is refreshing: wait for what it saves.
      if (waited >= maxWaitMs) {
        throw new TimeoutError(`no token from the refresh of connector ${this.#connector} under way elsewhere within ${waited} ms`, waited);
      }
      await sleep(next);
      waited += next;
      next = Math.min(next * 2, MAX_PAUSE_MS);
    }
  }

  /** A shared access token that may be used now, or null. */
  #usable(row: StoredToken | null): FetchedToken | null {
    const access = row?.access;
    if (!access || this.#refused.has(access.token)) return null;
    if (this.#deps.now() >= refreshAt(access.fetchedAt, access.expiresInMs, this.#config.refreshBefore)) return null;
    return { accessToken: access.token, expiresInMs: access.expiresInMs, fetchedAt: access.fetchedAt };
  }

  /** Refreshes while holding the lease; 'raced' when an invalid_grant met a newer token in the store. */
  async #refreshUnderLease(): Promise<FetchedToken | 'raced'> {
    /** False once the lease is released (by the save) or must be kept (the save failed). */
    let release = true;
    try {
      // Read again under the lease: a holder before us may have saved since our last look.
      const row = await this.#store.read(this.#connector);
      const shared = this.#usable(row);
      if (shared) return shared;
      const version = row?.version ?? 0;
      const unsaved = this.#unsaved?.version === version ? this.#unsaved.token : null;
      const used = unsaved ?? row?.refreshToken ?? this.#latest;
      const fetchedAt = this.#deps.now();
      let response: TokenResponse;
      try {
        response = await this.#exchange(used);
      } catch (err) {
        if (!(err instanceof AuthError) || err.oauthError !== 'invalid_grant') throw err;
        const reread = await this.#store.read(this.#connector);
        if (reread && reread.version !== version) return 'raced';
        throw err;
      }
      const next = response.refreshToken ?? used;
      this.#latest = next;
      this.#unsaved = { token: next, version };
      const access = { token: response.accessToken, fetchedAt, expiresInMs: response.expiresInMs };
      let saved: boolean;
      try {
        saved = await this.#store.save(this.#connector, this.#owner, version, { refreshToken: next, access });
      } catch (err) {
        // Keep the lease until it runs out: others would send the token this refresh rotated away.
        release = false;
        // The store's message is not repeated: it may quote the statement.
        throw new AuthError(`the rotated refresh token of connector ${this.#connector} could not be saved`, {
          retryable: true,
          cause: err,
        });
      }
      this.#unsaved = null;
      // Saving released the lease. Not saved: a newer token was saved meanwhile (our lease ran out
      // and someone refreshed after us); the store's is the one to use next, and our lease goes.
      release = !saved;
      return { accessToken: access.token, expiresInMs: access.expiresInMs, fetchedAt };
    } finally {
      if (release) await this.#store.release(this.#connector, this.#owner).catch(() => undefined);
    }
  }

  async #exchange(refreshToken: string): Promise<TokenResponse> {
    const secret = this.#config.clientSecret?.reveal();
    return requestToken({
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
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
