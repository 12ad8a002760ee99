import type { MappingSet } from '../../config/mappings.ts';
import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import type { FusionSalesOrder, FusionSalesOrderLine } from '../fusion/sales-orders.ts';
import { TransformError } from '../types.ts';

export interface ShipBobSettings {
  productMap: string;
  locationMap?: string | undefined;
  shippingMethod: string;
  orderType: 'DTC' | 'DropShip' | 'B2B';
  referencePrefix: string;
}

/** A ShipBob 2026-01 CreateOrderModel (the fields the gateway fills). */
export interface ShipBobOrderRequest {
  reference_id: string;
  order_number?: string;
  shipping_method: string;
  type: 'DTC' | 'DropShip' | 'B2B';
  location_id?: number;
  recipient: {
    name: string;
    email?: string;
    phone_number?: string;
    address: { address1: string; address2?: string; city: string; state?: string; zip_code?: string; country: string };
  };
  products: Array<{ reference_id: string; name: string; quantity: number }>;
  tags?: Array<{ name: string; value: string }>;
}

/**
 * The reference id of the ShipBob order for one fulfilment line: stable across retries and replays
 * (ShipBob keeps reference ids unique for ever, so it is also what makes a resend harmless).
 */
export function referenceId(settings: Pick<ShipBobSettings, 'referencePrefix'>, orderKey: string, fulfillLineId: string): string {
  return `${settings.referencePrefix}${orderKey}:${fulfillLineId}`;
}

/** Fulfilment line ids the event names (OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId). */
export function eventFulfillLineIds(payload: XmlRecord): string[] {
  const ids: string[] = [];
  for (const line of records(payload.OrderLine)) {
    for (const fline of records(line.OrderFulfillmentLine)) {
      const id = fline.FulfillmentOrderLineId;
      if (typeof id === 'string' && id.trim() !== '') ids.push(id.trim());
    }
  }
  return ids;
}

/**
 * One ShipBob order per fulfilment line of the event (or per line of the sales order when the event
 * names none). Every mapping is checked before anything is sent, so a missing product or location
 * parks the delivery with the missing key and nothing half-created.
 */
export function buildShipBobOrders(
  settings: ShipBobSettings,
  order: FusionSalesOrder,
  payload: XmlRecord,
  mappings: MappingSet,
): ShipBobOrderRequest[] {
  const wanted = eventFulfillLineIds(payload);
  const lines: FusionSalesOrderLine[] =
    wanted.length === 0
      ? order.lines
      : wanted.map((id) => {
          const line = order.lines.find((l) => l.fulfillLineId === id);
          if (!line) throw new TransformError(`fulfilment line ${id} is not a line of sales order ${order.orderKey} in Fusion`);
          return line;
        });
  if (lines.length === 0) throw new TransformError(`sales order ${order.orderKey} has no lines to fulfil`);
  const ship = order.shipTo;
  if (!ship?.name || !ship.address1 || !ship.city || !ship.country) {
    throw new TransformError(`sales order ${order.orderKey} has no complete ship-to address (name, address line 1, city, country)`);
  }
  const address = { name: ship.name, address1: ship.address1, city: ship.city, country: ship.country };

  return lines.map((line) => {
    if (!line.productNumber) throw new TransformError(`line ${line.fulfillLineId} of ${order.orderKey} has no item number`);
    const product = mappings.lookup(settings.productMap, line.productNumber);
    if (product === null) {
      throw new TransformError(`no product mapping for item "${line.productNumber}" in mappings/${settings.productMap}.yaml`);
    }
    let locationId: number | undefined;
    if (settings.locationMap) {
      const org = line.organizationCode ?? '';
      const location = mappings.lookup(settings.locationMap, org);
      if (location === null) {
        throw new TransformError(`no location mapping for organization "${org}" in mappings/${settings.locationMap}.yaml`);
      }
      locationId = Number(location);
      if (!Number.isInteger(locationId)) throw new TransformError(`location for "${org}" in mappings/${settings.locationMap}.yaml is not a ShipBob location id`);
    }
    const quantity = line.quantity ?? 0;
    if (!Number.isInteger(quantity) || quantity < 1) {
      throw new TransformError(`line ${line.fulfillLineId} of ${order.orderKey} has quantity ${String(line.quantity)}; ShipBob needs a whole number of at least 1`);
    }
    const request: ShipBobOrderRequest = {
      reference_id: referenceId(settings, order.orderKey, line.fulfillLineId),
      shipping_method: settings.shippingMethod,
      type: settings.orderType,
      recipient: {
        name: address.name,
        address: {
          address1: address.address1,
          city: address.city,
          country: address.country,
          ...(ship.address2 ? { address2: ship.address2 } : {}),
          ...(ship.state ? { state: ship.state } : {}),
          ...(ship.postalCode ? { zip_code: ship.postalCode } : {}),
        },
        ...(ship.email ? { email: ship.email } : {}),
        ...(ship.phone ? { phone_number: ship.phone } : {}),
      },
      products: [{ reference_id: product, name: line.description ?? line.productNumber, quantity }],
      tags: [
        { name: 'oracle_order_key', value: order.orderKey },
        { name: 'oracle_fulfill_line_id', value: line.fulfillLineId },
      ],
    };
    if (order.orderNumber) request.order_number = order.orderNumber;
    if (locationId !== undefined) request.location_id = locationId;
    return request;
  });
}

function records(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return [v];
  return [];
}
