import type { MappingSet } from '../../config/mappings.ts';
import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import { fusionRecords } from '../fusion/purchase-orders.ts';
import { fusionShipTo, type FusionSalesOrder, type FusionSalesOrderLine } from '../fusion/sales-orders.ts';
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
function referenceId(settings: Pick<ShipBobSettings, 'referencePrefix'>, orderKey: string, fulfillLineId: string): string {
  return `${settings.referencePrefix}${orderKey}:${fulfillLineId}`;
}

/** Fulfilment line ids the event names (OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId). */
function eventFulfillLineIds(payload: XmlRecord): string[] {
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
  const document = `sales order ${order.orderKey}`;
  const shipTo = completeShipTo(order.shipTo, document);
  return lines.map((line) =>
    orderFor(settings, mappings, {
      document,
      orderKey: order.orderKey,
      orderNumber: order.orderNumber,
      lineId: line.fulfillLineId,
      productNumber: line.productNumber,
      description: line.description,
      quantity: line.quantity,
      organizationCode: line.organizationCode,
      shipTo,
      tags: [
        { name: 'oracle_order_key', value: order.orderKey },
        { name: 'oracle_fulfill_line_id', value: line.fulfillLineId },
      ],
    }),
  );
}

/** Schedule statuses of a purchase order that still have something to ship. */
const OPEN_SCHEDULE = new Set(['OPEN']);

/**
 * A polled purchase order (a `PurchaseOrderChanged` event, read with `expand=lines.schedules`): one
 * ShipBob order per open schedule, the schedule being where Fusion keeps the ship-to and the quantity.
 * The reference id is `<prefix><PO number>:<LineLocationId>`, so a later change of the same purchase
 * order finds the orders already created instead of creating them again. Item → product from the
 * product map; the schedule's ShipToOrganizationCode → location from the location map; the ship-to
 * from the schedule's `shipToCustomer` (a drop-ship customer; check the field names against
 * `describe` on your pod).
 */
export function buildShipBobOrdersFromPurchaseOrder(settings: ShipBobSettings, orderKey: string, po: XmlRecord, mappings: MappingSet): ShipBobOrderRequest[] {
  const document = `purchase order ${orderKey}`;
  const lines = fusionRecords(po.lines);
  if (lines.length === 0) throw new TransformError(`${document} has no lines in the event (schedules.poller.expand must include lines.schedules)`);
  const orders: ShipBobOrderRequest[] = [];
  for (const line of lines) {
    if (!isOpen(line.StatusCode)) continue;
    for (const schedule of fusionRecords(line.schedules)) {
      if (!isOpen(schedule.StatusCode)) continue;
      const lineId = leaf(schedule.LineLocationId);
      if (lineId === null) throw new TransformError(`a schedule of line ${leaf(line.LineNumber) ?? '?'} of ${document} has no LineLocationId`);
      const shipTo = completeShipTo(fusionShipTo(fusionRecords(schedule.shipToCustomer)[0]), `schedule ${lineId} of ${document}`);
      const quantity = Number(leaf(schedule.Quantity) ?? leaf(line.Quantity) ?? NaN);
      orders.push(
        orderFor(settings, mappings, {
          document,
          orderKey,
          orderNumber: leaf(po.OrderNumber),
          lineId,
          productNumber: leaf(line.Item),
          description: leaf(line.Description),
          quantity: Number.isNaN(quantity) ? null : quantity,
          organizationCode: leaf(schedule.ShipToOrganizationCode),
          shipTo,
          // What a write-back needs to name the schedule in an ASN (the shipped webhook carries the tags).
          tags: [
            { name: 'oracle_po_number', value: orderKey },
            { name: 'oracle_po_line_number', value: leaf(line.LineNumber) ?? '' },
            { name: 'oracle_po_schedule_number', value: leaf(schedule.ScheduleNumber) ?? '' },
            { name: 'oracle_line_location_id', value: lineId },
          ].filter((t) => t.value !== ''),
        }),
      );
    }
  }
  if (orders.length === 0) throw new TransformError(`${document} has no open schedules to fulfil`);
  return orders;
}

type ShipTo = NonNullable<FusionSalesOrder['shipTo']>;
type CompleteShipTo = ShipTo & { name: string; address1: string; city: string; country: string };

function completeShipTo(ship: FusionSalesOrder['shipTo'], document: string): CompleteShipTo {
  if (!ship?.name || !ship.address1 || !ship.city || !ship.country) {
    throw new TransformError(`${document} has no complete ship-to address (name, address line 1, city, country)`);
  }
  return { ...ship, name: ship.name, address1: ship.address1, city: ship.city, country: ship.country };
}

/** One line to fulfil, wherever it came from. */
interface FulfilmentLine {
  /** What the error messages name ("sales order LEG:SO-1"). */
  document: string;
  orderKey: string;
  orderNumber: string | null;
  /** The Fusion id that makes the reference id (fulfilment line, PO schedule). */
  lineId: string;
  productNumber: string | null;
  description: string | null;
  quantity: number | null;
  organizationCode: string | null;
  shipTo: CompleteShipTo;
  tags: Array<{ name: string; value: string }>;
}

function orderFor(settings: ShipBobSettings, mappings: MappingSet, line: FulfilmentLine): ShipBobOrderRequest {
  if (!line.productNumber) throw new TransformError(`line ${line.lineId} of ${line.orderKey} has no item number`);
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
    throw new TransformError(`line ${line.lineId} of ${line.orderKey} has quantity ${String(line.quantity)}; ShipBob needs a whole number of at least 1`);
  }
  const ship = line.shipTo;
  const request: ShipBobOrderRequest = {
    reference_id: referenceId(settings, line.orderKey, line.lineId),
    shipping_method: settings.shippingMethod,
    type: settings.orderType,
    recipient: {
      name: ship.name,
      address: {
        address1: ship.address1,
        city: ship.city,
        country: ship.country,
        ...(ship.address2 ? { address2: ship.address2 } : {}),
        ...(ship.state ? { state: ship.state } : {}),
        ...(ship.postalCode ? { zip_code: ship.postalCode } : {}),
      },
      ...(ship.email ? { email: ship.email } : {}),
      ...(ship.phone ? { phone_number: ship.phone } : {}),
    },
    products: [{ reference_id: product, name: line.description ?? line.productNumber, quantity }],
    tags: line.tags,
  };
  if (line.orderNumber) request.order_number = line.orderNumber;
  if (locationId !== undefined) request.location_id = locationId;
  return request;
}

function isOpen(status: XmlValue | undefined): boolean {
  const s = leaf(status);
  return s === null || OPEN_SCHEDULE.has(s.toUpperCase());
}

function leaf(v: XmlValue | undefined): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function records(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return [v];
  return [];
}
