import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/**
 * `shipbob` of a connector of kind shipbob: how an OM event or a polled purchase order becomes ShipBob
 * orders, and (`changes`) what Oracle's values mean for the orders made before. The defaults are
 * Oracle's values as specs/oracle-om/NOTES.md gives them (§2.3 for the events, §4.2 for purchase
 * orders); status codes are configurable in Oracle, so a tenant's own go here.
 */
export function shipbobSchema(leaves: Leaves) {
  const { str, nonEmpty } = leaves;
  const values = () => z.array(str()).min(1);
  return z.strictObject({
    apiVersion: str().default('2026-01'),
    /** The oracle-fusion connector that reads the sales order (salesOrdersForOrderHub). */
    enrichFrom: nonEmpty(),
    /** mappings/<name>.yaml of kind product-map: Fusion item number → ShipBob product reference_id. */
    productMap: nonEmpty(),
    /** mappings/<name>.yaml of kind location-map: Fusion organization code → ShipBob location_id. */
    locationMap: nonEmpty().optional(),
    shippingMethod: nonEmpty().default('Standard'),
    orderType: z.enum(['DTC', 'DropShip', 'B2B']).default('DTC'),
    /** Prefixed to every reference_id (ShipBob keeps reference ids unique for ever). */
    referencePrefix: str().default(''),
    changes: z
      .strictObject({
        /**
         * A fulfilment line an OM event names is cancelled when one of its fields (OrderFulfillmentLine)
         * holds one of the values: FlineClosed carries CancelFlagNewValue, FlineStatusUpdate the new status.
         */
        cancelledWhen: z
          .array(z.strictObject({ field: nonEmpty(), in: values() }))
          .default([
            { field: 'CancelFlagNewValue', in: ['Y'] },
            { field: 'StatusCodeNewValue', in: ['CANCELED'] },
          ]),
        /**
         * OM events of these codes only change or cancel the ShipBob orders made before; a line
         * they name that never reached ShipBob is left to the event that creates its order.
         */
        changeOnly: z.array(nonEmpty()).default(['OrderAttributeUpdate', 'FlineClosed', 'SPLIT']),
        /**
         * A purchase order's StatusCode (header, line, schedule) → what its ShipBob orders do: fulfil
         * (create, or change to what the schedule now says) or cancel. A status not listed (CLOSED, ...)
         * leaves them as they are.
         */
        purchaseOrderStatus: z.record(z.string().min(1), z.enum(['fulfil', 'cancel'])).default({ OPEN: 'fulfil', CANCELED: 'cancel' }),
      })
      .prefault({}),
  });
}
