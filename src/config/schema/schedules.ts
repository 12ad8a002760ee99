import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `schedules`: the scheduled jobs (node-cron expressions, evaluated in `timezone`); see src/jobs/. */
export function schedulesSchema({ str, nonEmpty, num, bool, duration, cron, timezone }: Leaves) {
  return z
    .strictObject({
      /** The recovery run: replays parked deliveries, once per slot across instances. */
      recovery: z
        .strictObject({
          enabled: bool().default(true),
          cron: cron().default('0 2 * * *'),
          timezone: timezone(),
          /** At most this many deliveries per run; the rest wait for the next run. */
          batchCap: num(z.number().int().min(1).max(100_000)).default(1000),
          /** Only these connectors / event codes (empty: all). */
          connectors: z.array(nonEmpty()).default([]),
          eventCodes: z.array(nonEmpty()).default([]),
          /** Only deliveries created within this age. */
          maxAge: duration().optional(),
        })
        .prefault({}),
      /**
       * The purchase-order poller: reads Fusion's purchaseOrders changed since its cursor through an
       * oracle-fusion connector and stores each change as a PurchaseOrderChanged event (src/inbound/poller/).
       */
      poller: z
        .strictObject({
          enabled: bool().default(false),
          cron: cron().default('*/5 * * * *'),
          timezone: timezone(),
          /** The oracle-fusion connector to read through (its URL, auth, restBase and REST-Framework-Version). */
          connector: nonEmpty().optional(),
          /** A row-match condition ANDed to the LastUpdateDate one, e.g. `StatusCode = 'OPEN'`. */
          filter: str().optional(),
          /** Children to read with each purchase order (`lines.schedules` carries the ship-to). */
          expand: str().default('lines.schedules'),
          pageSize: num(z.number().int().min(1).max(500)).default(100),
          /** Pages per run at most; a run that stops there leaves the rest to the next one. */
          maxPages: num(z.number().int().min(1).max(10_000)).default(50),
          /** Each run reads again this far before its cursor: Fusion commits a change after stamping it. */
          overlap: duration().default(10 * 60_000),
          /** How far back the first run reads (no cursor yet). */
          initialLookback: duration().default(86_400_000),
          /** A (POHeaderId, LastUpdateDate) seen within this window is a duplicate, not a new event. */
          dedupeWindow: duration().default(7 * 86_400_000),
        })
        .prefault({}),
      /** The retention job: removes finished history older than the configured ages, in batches. */
      retention: z
        .strictObject({
          enabled: bool().default(true),
          cron: cron().default('30 3 * * *'),
          timezone: timezone(),
          /** Events whose deliveries all finished (and unrouted or duplicate events) older than this. */
          deliveredAfter: duration().default(30 * 86_400_000),
          /** Audit records older than this (keep it longer than deliveredAfter). */
          auditAfter: duration().default(365 * 86_400_000),
          batchSize: num(z.number().int().min(1).max(100_000)).default(1000),
        })
        .prefault({}),
    })
    .prefault({});
}
