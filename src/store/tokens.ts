import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * OAuth2 tokens per connector (table `oauth_tokens`), encrypted at rest with AES-256-GCM, and the
 * lease that lets one refresh at a time happen per connector across every instance sharing the
 * database.
 *
 * The 256-bit key is derived with scrypt from the key given to the constructor (a configured
 * secret), so a weak passphrase is still costly to guess. A value is bound to its connector and to
 * its column (both are the GCM additional data): copied to another connector, or from the access
 * token's column to the refresh token's, it does not decrypt.
 *
 * Stored value: `v1:` + base64(iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext).
 *
 * Every write is one statement, conditional on the row's lease or version, so two instances never
 * both believe they hold the lease and a save never overwrites a newer token.
 *
 * Satisfies `TokenStore` (src/connectors/auth/token-store.ts).
 */
export interface OAuthTokenOptions {
  now?: () => number;
  /** Called (with the connector name only) when a stored token cannot be decrypted. */
  onUnreadable?: (connector: string) => void;
  /** The instance whose refresh leases this repository writes (TokenStore.holder); 'local' when not given. */
  holder?: string;
}

/** What the row holds, decrypted. */
export interface StoredOAuthToken {
  /** The newest refresh token, or null when none is saved yet or it does not decrypt (key changed). */
  refreshToken: string | null;
  /** The access token the last refresh got, or null (none, or it does not decrypt). */
  access: StoredAccessToken | null;
  /** Bumped by every save. */
  version: number;
  /** The refresh under way, or null. A lease whose `until` has passed is free to take. */
  lease: { owner: string; until: number } | null;
}

export interface StoredAccessToken {
  token: string;
  fetchedAt: number;
  /** Its lifetime (`expires_in`) in ms, or null when the endpoint gave none. */
  expiresInMs: number | null;
}

/** What a refresh saves: the rotated (or the same) refresh token and the access token it got. */
export interface OAuthTokenSave {
  refreshToken: string;
  access: StoredAccessToken;
}

export class OAuthTokenRepository {
  readonly #knex: Knex;
  readonly #key: Buffer;
  readonly #now: () => number;
  readonly #onUnreadable: ((connector: string) => void) | undefined;
  readonly holder: string;

  constructor(knex: Knex, key: string, options: OAuthTokenOptions = {}) {
    if (key.length === 0) throw new Error('the token encryption key must not be empty');
    this.#knex = knex;
    this.#key = deriveKey(key);
    this.#now = options.now ?? Date.now;
    this.#onUnreadable = options.onUnreadable;
    this.holder = options.holder ?? 'local';
  }

  /** The connector's row, decrypted, or null when it has none. */
  async read(connector: string): Promise<StoredOAuthToken | null> {
    const row = (await this.#knex<OAuthTokenRow>('oauth_tokens').where({ connector }).first()) as OAuthTokenRow | undefined;
    if (!row) return null;
    const refreshToken = open(this.#key, row.token, connector, REFRESH);
    const accessToken = open(this.#key, row.access_token, connector, ACCESS);
    if (refreshToken === undefined || accessToken === undefined) this.#onUnreadable?.(connector);
    const owner = row.refresh_owner;
    const until = row.refresh_until;
    return {
      refreshToken: refreshToken ?? null,
      access:
        accessToken === null || accessToken === undefined || row.access_fetched_at === null
          ? null
          : {
              token: accessToken,
              fetchedAt: Number(row.access_fetched_at),
              expiresInMs: row.access_expires_at === null ? null : Number(row.access_expires_at) - Number(row.access_fetched_at),
            },
      version: Number(row.version),
      lease: owner === null || until === null ? null : { owner, until: Number(until) },
    };
  }

  /**
   * Takes the connector's refresh lease for `owner` until `until`, when nobody holds it, its holder's
   * time ran out at `now`, or `owner` holds it already (then it is extended). False when another
   * holds it. Creates the connector's row (without tokens) when it has none.
   */
  async lease(connector: string, owner: string, now: number, until: number): Promise<boolean> {
    const taken = (await this.#knex('oauth_tokens')
      .insert({ connector, token: null, version: 0, refresh_owner: owner, refresh_until: until, updated_at: this.#now() })
      .onConflict('connector')
      .merge({ refresh_owner: owner, refresh_until: until })
      .where((q) => {
        void q
          .whereNull('oauth_tokens.refresh_owner')
          .orWhere('oauth_tokens.refresh_until', '<=', now)
          .orWhere('oauth_tokens.refresh_owner', owner);
      })
      .returning('connector')) as Array<{ connector: string }>;
    return taken.length === 1;
  }

  /**
   * Saves what a refresh got and bumps the version, unless a newer token was saved since `version`
   * was read (then false, and nothing changes). Releases `owner`'s lease in the same statement; a
   * lease another instance took meanwhile (ours ran out) stays theirs.
   */
  async save(connector: string, owner: string, version: number, tokens: OAuthTokenSave): Promise<boolean> {
    const { access } = tokens;
    const values = {
      token: encrypt(this.#key, tokens.refreshToken, connector, REFRESH),
      access_token: encrypt(this.#key, access.token, connector, ACCESS),
      access_fetched_at: access.fetchedAt,
      access_expires_at: access.expiresInMs === null ? null : access.fetchedAt + access.expiresInMs,
      updated_at: this.#now(),
    };
    const saved = (await this.#knex('oauth_tokens')
      .insert({ connector, ...values, version: version + 1, refresh_owner: null, refresh_until: null })
      .onConflict('connector')
      .merge({
        ...values,
        version: version + 1,
        refresh_owner: this.#knex.raw('case when oauth_tokens.refresh_owner = ? then null else oauth_tokens.refresh_owner end', [owner]),
        refresh_until: this.#knex.raw('case when oauth_tokens.refresh_owner = ? then null else oauth_tokens.refresh_until end', [owner]),
      })
      .where('oauth_tokens.version', version)
      .returning('connector')) as Array<{ connector: string }>;
    return saved.length === 1;
  }

  /** Gives `owner`'s lease up without saving anything (the refresh failed, or was not needed). */
  async release(connector: string, owner: string): Promise<void> {
    await this.#knex('oauth_tokens').where({ connector, refresh_owner: owner }).update({ refresh_owner: null, refresh_until: null });
  }

  async delete(connector: string): Promise<void> {
    await this.#knex('oauth_tokens').where({ connector }).delete();
  }
}

export interface OAuthTokenRow {
  connector: string;
  token: string | null;
  version: number | string;
  access_token: string | null;
  access_fetched_at: number | string | null;
  access_expires_at: number | string | null;
  refresh_owner: string | null;
  refresh_until: number | string | null;
  updated_at: number | string;
}

const VERSION = 'v1:';
const SALT = 'omgw/oauth_tokens/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The additional data of each column: the refresh token keeps the connector name alone, as before. */
const REFRESH = '';
const ACCESS = '\0access_token';

function deriveKey(secret: string): Buffer {
  return scryptSync(secret, SALT, 32, { N: 1 << 14, r: 8, p: 1 });
}

function encrypt(key: Buffer, plaintext: string, connector: string, column: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(connector + column, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return VERSION + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/** The plaintext of a column, null when it is empty, undefined when it does not decrypt. */
function open(key: Buffer, stored: string | null, connector: string, column: string): string | null | undefined {
  if (stored === null) return null;
  return decrypt(key, stored, connector, column) ?? undefined;
}

function decrypt(key: Buffer, stored: string, connector: string, column: string): string | null {
  if (!stored.startsWith(VERSION)) return null;
  const data = Buffer.from(stored.slice(VERSION.length), 'base64');
  if (data.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(connector + column, 'utf8'));
    decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
