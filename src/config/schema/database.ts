import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** The database URLs the store can open (src/store/database.ts). */
export const DATABASE_URL = /^(sqlite:|postgres:\/\/|postgresql:\/\/)/;

/** gateway.yaml `database`. */
export function databaseSchema({ str, nonEmpty, num, secret }: Leaves) {
  return z
    .strictObject({
      /** `sqlite:./data/omgw.db` or `postgres://...`; DATABASE_URL overrides it. */
      url: nonEmpty()
        .pipe(z.string().regex(DATABASE_URL, 'must start with sqlite: or postgres://'))
        .default('sqlite:./data/omgw.db'),
      poolMax: num(z.number().int().min(1).max(100)).default(10),
      /** Encrypts credentials the gateway must keep (rotated OAuth2 refresh tokens). */
      encryptionKey: secret().optional(),
      /** PostgreSQL schema for the gateway's tables (several gateways can share one database). */
      schema: str()
        .transform((v) => (v === '' ? undefined : v))
        .pipe(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').optional())
        .optional(),
    })
    .prefault({});
}
