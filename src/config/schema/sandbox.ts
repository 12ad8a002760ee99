import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `sandbox`: the emulated peers and demo targets (src/sandbox/). */
export function sandboxSchema({ str, nonEmpty, secret, num, bool }: Leaves) {
  return z
    .strictObject({
      /** Serve sandbox targets under /sandbox (a REST sink, an OTM-style SOAP service) for demos. */
      enabled: bool().default(false),
      /** The emulated Fusion REST under /sandbox/fusion (HTTP Basic). */
      fusion: z
        .strictObject({ username: nonEmpty().default('omgw.integration'), password: secret() })
        .optional(),
      /** The emulated ShipBob API under /sandbox/shipbob (src/sandbox/shipbob); every key has a default (`shipbob: {}`). */
      shipbob: z
        .strictObject({
          token: secret().prefault('${env:OMGW_SANDBOX_SHIPBOB_TOKEN:-sandbox-shipbob-token}'),
          webhookSecret: secret()
            .refine((s) => /^whsec_[a-zA-Z0-9+/]{32}$/.test(s.reveal()), 'must be whsec_ and 32 base64 characters (24 bytes)')
            .prefault('${env:OMGW_SANDBOX_SHIPBOB_WEBHOOK_SECRET:-whsec_b21ndy1zYW5kYm94LXNoaXBib2Ita2V5}'),
          channelId: num(z.number().int().min(1).max(2_147_483_646)).default(100001),
          /** Where the sandbox sends its webhooks; default the gateway's own /webhooks/shipbob, '' for none. */
          webhookTarget: str().pipe(z.union([z.literal(''), z.url({ protocol: /^https?$/ })])).optional(),
        })
        .optional(),
    })
    .prefault({});
}
