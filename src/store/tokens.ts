import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * OAuth2 refresh tokens per connector (table `oauth_tokens`), encrypted at rest with AES-256-GCM.
 * The 256-bit key is derived with scrypt from the key given to the constructor (a configured
 * secret), so a weak passphrase is still costly to guess. A row is bound to its connector (the name
 * is the GCM additional data): copied to another connector, it does not decrypt.
 *
 * Stored value: `v1:` + base64(iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext).
 *
 * Satisfies `TokenStore` (src/connectors/auth/token-store.ts).
 */
export interface OAuthTokenOptions {
  now?: () => number;
  /** Called (with the connector name only) when a stored token cannot be decrypted. */
  onUnreadable?: (connector: string) => void;
}

export class OAuthTokenRepository {
  readonly #knex: Knex;
  readonly #key: Buffer;
  readonly #now: () => number;
  readonly #onUnreadable: ((connector: string) => void) | undefined;

  constructor(knex: Knex, key: string, options: OAuthTokenOptions = {}) {
    if (key.length === 0) throw new Error('the token encryption key must not be empty');
    this.#knex = knex;
    this.#key = deriveKey(key);
    this.#now = options.now ?? Date.now;
    this.#onUnreadable = options.onUnreadable;
  }

  /** The connector's refresh token, or null when none is stored or it does not decrypt (key changed). */
  async load(connector: string): Promise<{ refreshToken: string } | null> {
    const row = await this.#knex<OAuthTokenRow>('oauth_tokens').where({ connector }).first('token');
    if (!row) return null;
    const refreshToken = decrypt(this.#key, row.token, connector);
    if (refreshToken === null) {
      this.#onUnreadable?.(connector);
      return null;
    }
    return { refreshToken };
  }

  async save(connector: string, refreshToken: string): Promise<void> {
    const row: OAuthTokenRow = {
      connector,
      token: encrypt(this.#key, refreshToken, connector),
      updated_at: this.#now(),
    };
    await this.#knex('oauth_tokens').insert(row).onConflict('connector').merge(['token', 'updated_at']);
  }

  async delete(connector: string): Promise<void> {
    await this.#knex('oauth_tokens').where({ connector }).delete();
  }
}

export interface OAuthTokenRow {
  connector: string;
  token: string;
  updated_at: number;
}

const VERSION = 'v1:';
const SALT = 'omgw/oauth_tokens/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function deriveKey(secret: string): Buffer {
  return scryptSync(secret, SALT, 32, { N: 1 << 14, r: 8, p: 1 });
}

function encrypt(key: Buffer, plaintext: string, connector: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(connector, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return VERSION + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

function decrypt(key: Buffer, stored: string, connector: string): string | null {
  if (!stored.startsWith(VERSION)) return null;
  const data = Buffer.from(stored.slice(VERSION.length), 'base64');
  if (data.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(connector, 'utf8'));
    decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
