/** The `shipbob_orders` table's rows and the domain's ShipBobOrderRecord, both ways (migration 012). */
import type { ShipBobOrderRecord, ShipBobQuantities } from '../../domain/shipbob-change.ts';

export interface ShipBobOrderRow {
  connector: string;
  reference_id: string;
  order_key: string | null;
  line_key: string | null;
  shipbob_order_id: string;
  shipment_id: string | null;
  quantities: string;
  address_hash: string;
  cancelled: boolean | number;
  cancel_requested_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

export function shipBobOrderRow(r: ShipBobOrderRecord): Record<string, string | number | boolean | null> {
  return {
    connector: r.connector,
    reference_id: r.referenceId,
    order_key: r.orderKey,
    line_key: r.lineKey,
    shipbob_order_id: r.shipbobOrderId,
    shipment_id: r.shipmentId,
    quantities: JSON.stringify(r.quantities),
    address_hash: r.addressHash,
    cancelled: r.cancelled,
    cancel_requested_at: r.cancelRequestedAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/** Times come back as text from PostgreSQL's bigint, the flag as 0/1 from SQLite. */
export function toShipBobOrder(row: ShipBobOrderRow): ShipBobOrderRecord {
  return {
    connector: row.connector,
    referenceId: row.reference_id,
    orderKey: row.order_key,
    lineKey: row.line_key,
    shipbobOrderId: row.shipbob_order_id,
    shipmentId: row.shipment_id,
    quantities: JSON.parse(row.quantities) as ShipBobQuantities,
    addressHash: row.address_hash,
    cancelled: Boolean(row.cancelled),
    cancelRequestedAt: row.cancel_requested_at === null ? null : Number(row.cancel_requested_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
