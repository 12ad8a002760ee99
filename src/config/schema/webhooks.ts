import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/**
 * gateway.yaml `inbound.webhooks`: ShipBob webhooks on POST /webhooks/shipbob, signed per Standard
 * Webhooks (verified by src/inbound/webhooks/signature.ts). List two secrets while one is rotated.
 * Without the `shipbob` block, or with enabled: false, the endpoint answers 404.
 *
 * `bodyBudget` is the memory of every signed body read whole before its signature is checked
 * (ShipBob's webhooks, async connectors' `standard-webhooks` callbacks), apart from OM's push
 * budget. Each signed route's maxBodySize must fit in it (the callbacks' are checked by
 * src/config/load.ts, as they sit in the connector files).
 */
export function webhooksSchema({ webhookSecret, bool, duration, size }: Leaves) {
  const shipbob = z
    .strictObject({
      enabled: bool().default(true),
      secrets: z.array(webhookSecret()).default([]),
      /** How far webhook-timestamp may lie from now, both ways. */
      tolerance: duration().default(5 * 60_000),
      maxBodySize: size().default(1024 * 1024),
      /** A webhook-id seen within this window is a duplicate (ShipBob retries for about a day). */
      dedupeWindow: duration().default(7 * 24 * 3_600_000),
    })
    .superRefine((w, zctx) => {
      if (w.enabled && w.secrets.length === 0) {
        zctx.addIssue({ code: 'custom', path: ['secrets'], message: 'at least one secret is needed while enabled' });
      }
      // A signed message is accepted from timestamp - tolerance to timestamp + tolerance: the dedupe
      // window must cover that, or a replay could be stored twice.
      if (w.dedupeWindow < 2 * w.tolerance) {
        zctx.addIssue({ code: 'custom', path: ['dedupeWindow'], message: 'must be at least twice the tolerance' });
      }
    });

  return z
    .strictObject({
      /** Bytes of signed bodies held at once before their signatures are checked, across requests. */
      bodyBudget: size().default(16 * 1024 * 1024),
      shipbob: shipbob.optional(),
    })
    .superRefine((w, zctx) => {
      if (w.shipbob && w.bodyBudget < w.shipbob.maxBodySize) {
        zctx.addIssue({ code: 'custom', path: ['bodyBudget'], message: `must be at least shipbob.maxBodySize (${w.shipbob.maxBodySize} bytes): a webhook of that size must fit` });
      }
    })
    .prefault({});
}
