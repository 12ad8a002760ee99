import type { MappingSet } from '../../config/mappings.ts';
import type { ConnectorConfig } from '../../config/schema.ts';
import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import { fusionRecords } from '../fusion/purchase-orders.ts';
import { fusionShipTo, type FusionSalesOrder } from '../fusion/sales-orders.ts';
import { TransformError } from '../types.ts';

/** What of a connector's `shipbob` block the builders read. */
export type ShipBobSettings = Pick<ShipBobConfig, 'productMap' | 'locationMap' | 'shippingMethod' | 'orderType' | 'referencePrefix' | 'changes'>;
type ShipBobConfig = NonNullable<ConnectorConfig['shipbob']>;

/**
 * One ShipBob order an event is about, and what the event wants of it: the order as it should now
 * be (created, or changed to this), or cancelled.
 */
export interface ShipBobTarget {
  referenceId: string;
  /** The Fusion line it is made from: `fulfillment-line:<FulfillLineId>`, `po-schedule:<LineLocationId>`. */
  lineKey: string;
  /** What messages call it: "fulfilment line 3001 of sales order LEG:SO-1". */
  label: string;
  want: { kind: 'order'; order: ShipBobOrderRequest } | { kind: 'cancelled' };
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

/**
 * The fulfilment lines an OM event names (OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId), in
 * its order, each cancelled when one of `changes.cancelledWhen` holds on it (CancelFlagNewValue Y of
 * FlineClosed, a new status CANCELED of FlineStatusUpdate, by default).
 */
function eventFulfilmentLines(settings: ShipBobSettings, payload: XmlRecord): Array<{ id: string; cancelled: boolean }> {
  const lines: Array<{ id: string; cancelled: boolean }> = [];
  for (const line of records(payload.OrderLine)) {
    for (const fline of records(line.OrderFulfillmentLine)) {
      const id = leaf(fline.FulfillmentOrderLineId);
      if (id === null) continue;
      const cancelled = settings.changes.cancelledWhen.some((c) => {
        const value = leaf(fline[c.field]);
        return value !== null && c.in.includes(value);
      });
      lines.push({ id, cancelled });
    }
  }
  return lines;
}

/**
 * Whether the targets of this OM event need the sales order read from Fusion: a cancellation does
 * not (the reference id is made of the order key and the line id), anything else does.
 */
export function needsSalesOrder(settings: ShipBobSettings, payload: XmlRecord): boolean {
  const lines = eventFulfilmentLines(settings, payload);
  return lines.length === 0 || lines.some((l) => !l.cancelled);
}

/**
 * The ShipBob orders an OM event is about: one per fulfilment line it names (every line of the sales
 * order when it names none). A cancelled line wants its order cancelled; any other wants the order
 * Fusion's sales order now describes (`order`, required then: see needsSalesOrder). Every mapping is
 * checked before anything is sent, so a missing product or location parks the delivery with the
 * missing key and nothing half-done.
 */
export function salesOrderTargets(
  settings: ShipBobSettings,
  orderKey: string,
  payload: XmlRecord,
  order: FusionSalesOrder | null,
  mappings: MappingSet,
): ShipBobTarget[] {
  const named = eventFulfilmentLines(settings, payload);
  const salesOrder = (): FusionSalesOrder => {
    if (!order) throw new TransformError(`sales order ${orderKey} was not read from Fusion`);
    return order;
  };
  const wanted = named.length === 0 ? salesOrder().lines.map((l) => ({ id: l.fulfillLineId, cancelled: false })) : named;
  if (wanted.length === 0) throw new TransformError(`sales order ${orderKey} has no lines to fulfil`);
  const targets: ShipBobTarget[] = [];
  for (const { id, cancelled } of wanted) {
    if (cancelled) {
      targets.push({ referenceId: referenceId(settings, orderKey, id), lineKey: `fulfillment-line:${id}`, label: `fulfilment line ${id} of sales order ${orderKey}`, want: { kind: 'cancelled' } });
      continue;
    }
    const so = salesOrder();
    const line = so.lines.find((l) => l.fulfillLineId === id);
    if (!line) throw new TransformError(`fulfilment line ${id} is not a line of sales order ${so.orderKey} in Fusion`);
    const document = `sales order ${so.orderKey}`;
    const request = orderFor(settings, mappings, {
      document,
      orderKey: so.orderKey,
      orderNumber: so.orderNumber,
      lineId: line.fulfillLineId,
      productNumber: line.productNumber,
      description: line.description,
      quantity: line.quantity,
      organizationCode: line.organizationCode,
      shipTo: completeShipTo(so.shipTo, document),
      tags: [
        { name: 'oracle_order_key', value: so.orderKey },
        { name: 'oracle_fulfill_line_id', value: line.fulfillLineId },
      ],
    });
    targets.push({ referenceId: request.reference_id, lineKey: `fulfillment-line:${id}`, label: `fulfilment line ${id} of ${document}`, want: { kind: 'order', order: request } });
  }
  return targets;
}

/**
 * A polled purchase order (a `PurchaseOrderChanged` event, read with `expand=lines.schedules`): one
 * ShipBob order per schedule, the schedule being where Fusion keeps the ship-to and the quantity.
 * The reference id is `<prefix><PO number>:<LineLocationId>`, so a later change of the same purchase
 * order finds the orders made before. What each schedule wants comes from the StatusCode of the
 * header, its line and itself, read through `changes.purchaseOrderStatus`: cancel when any of them
 * says cancel, fulfil when all say fulfil (a missing status counts as fulfil), otherwise the
 * schedule is left alone (CLOSED, say). Item → product from the product map; the schedule's
 * ShipToOrganizationCode → location from the location map; the ship-to from the schedule's
 * `shipToCustomer` (a drop-ship customer; check the field names against `describe` on your pod).
 */
export function purchaseOrderTargets(settings: ShipBobSettings, orderKey: string, po: XmlRecord, mappings: MappingSet): ShipBobTarget[] {
  const document = `purchase order ${orderKey}`;
  const lines = fusionRecords(po.lines);
  if (lines.length === 0) throw new TransformError(`${document} has no lines in the event (schedules.poller.expand must include lines.schedules)`);
  const status = (v: XmlValue | undefined): 'fulfil' | 'cancel' | 'leave' => {
    const code = leaf(v);
    return code === null ? 'fulfil' : (settings.changes.purchaseOrderStatus[code] ?? 'leave');
  };
  const targets: ShipBobTarget[] = [];
  for (const line of lines) {
    for (const schedule of fusionRecords(line.schedules)) {
      const says = [status(po.StatusCode), status(line.StatusCode), status(schedule.StatusCode)];
      const wants = says.includes('cancel') ? 'cancel' : says.every((s) => s === 'fulfil') ? 'fulfil' : 'leave';
      if (wants === 'leave') continue;
      const lineId = leaf(schedule.LineLocationId);
      if (lineId === null) throw new TransformError(`a schedule of line ${leaf(line.LineNumber) ?? '?'} of ${document} has no LineLocationId`);
      const label = `schedule ${lineId} of ${document}`;
      if (wants === 'cancel') {
        targets.push({ referenceId: referenceId(settings, orderKey, lineId), lineKey: `po-schedule:${lineId}`, label, want: { kind: 'cancelled' } });
        continue;
      }
      const shipTo = completeShipTo(fusionShipTo(fusionRecords(schedule.shipToCustomer)[0]), label);
      const quantity = Number(leaf(schedule.Quantity) ?? leaf(line.Quantity) ?? NaN);
      const request = orderFor(settings, mappings, {
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
      });
      targets.push({ referenceId: request.reference_id, lineKey: `po-schedule:${lineId}`, label, want: { kind: 'order', order: request } });
    }
  }
  if (targets.length === 0) throw new TransformError(`${document} has no open schedules to fulfil`);
  return targets;
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
