import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `server`: the HTTP listener. */
export function serverSchema({ nonEmpty, num, bool, duration }: Leaves) {
  const tls = z.strictObject({
    cert: nonEmpty(),
    key: nonEmpty(),
    /** Extra CA bundle, for clients that present certificates signed by a private CA. */
    ca: nonEmpty().optional(),
  });

  return z
    .strictObject({
      host: nonEmpty().default('0.0.0.0'),
      port: num(z.number().int().min(0).max(65535)).default(8080),
      /** Honour X-Forwarded-Proto/Host (behind a TLS-terminating proxy). */
      trustProxy: bool().default(false),
      tls: tls.optional(),
      requestTimeout: duration().default(60_000),
      /**
       * Start on a host other than loopback even while the admin token or an inbound credential is
       * a published default (src/config/published-defaults.ts). For a lab only.
       */
      allowPublishedSecrets: bool().default(false),
    })
    .prefault({});
}
