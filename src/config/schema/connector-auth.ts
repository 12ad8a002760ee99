import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** A connector's `auth`: how a request to its target is authenticated (src/connectors/auth/). */
export function connectorAuthSchema({ str, nonEmpty, httpUrl, secret, duration }: Leaves) {
  return z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({ type: z.literal('basic'), username: nonEmpty(), password: secret() }),
    z.strictObject({ type: z.literal('bearer'), token: secret() }),
    z.strictObject({
      type: z.literal('api-key'),
      key: secret(),
      in: z.enum(['header', 'query']).default('header'),
      name: nonEmpty().default('X-API-Key'),
    }),
    z.strictObject({
      type: z.literal('oauth2-client-credentials'),
      tokenUrl: httpUrl(),
      clientId: nonEmpty(),
      clientSecret: secret(),
      scope: str().optional(),
      audience: str().optional(),
      /** How the client authenticates to the token endpoint. */
      clientAuth: z.enum(['basic', 'body']).default('basic'),
      refreshBefore: duration().default(60_000),
    }),
    z.strictObject({
      type: z.literal('oauth2-refresh-token'),
      tokenUrl: httpUrl(),
      clientId: nonEmpty(),
      clientSecret: secret().optional(),
      /** The first refresh token; rotated tokens are kept in the database from then on. */
      refreshToken: secret(),
      scope: str().optional(),
      refreshBefore: duration().default(60_000),
    }),
    z.strictObject({
      type: z.literal('ws-security'),
      username: nonEmpty(),
      password: secret(),
      passwordType: z.enum(['text', 'digest']).default('text'),
    }),
  ]);
}
