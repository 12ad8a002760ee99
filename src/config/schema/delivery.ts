import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `delivery`: this instance's delivery worker. */
export function deliverySchema({ num, bool, duration }: Leaves) {
  return z
    .strictObject({
      /** Run the delivery worker in this instance (several instances may all run it). */
      enabled: bool().default(true),
      /** How often to look for due deliveries when nothing wakes the worker earlier. */
      pollInterval: duration().default(1_000),
      /** Deliveries in flight at once in this instance, across connectors. */
      maxInFlight: num(z.number().int().min(1).max(1024)).default(64),
      /** A claimed delivery's lease is the connector's timeout plus this. */
      leaseMargin: duration().default(30_000),
    })
    .prefault({});
}
