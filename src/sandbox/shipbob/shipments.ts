import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { empty, json, ShipBobSandboxError } from './errors.ts';
import { findOrder } from './orders.ts';
import { parseId, readChannel } from './params.ts';
import { isOpen, settleOrderStatus } from './progress.ts';
import type { ShipBobStore } from './store.ts';
import type { OrderView, ShipmentView } from './types.ts';
import type { WebhookMessage } from './webhooks.ts';

/**
 * Shipments and their tracking: the read endpoints, and what moves a shipment on (ship, deliver,
 * hold, exception), each change sending the webhook ShipBob sends for it. The in-process API and
 * the simulations both move shipments through these functions.
 */

export interface ShipOptions {
  carrier?: string;
  carrierService?: string;
  /** The tracking number. */
  tracking?: string;
  trackingUrl?: string;
  shippingDate?: Date | string;
}

export interface ShipResult {
  order: OrderView;
  shipment: ShipmentView;
  /** The `order.shipped` message (its id is the `webhook-id`). */
  message: WebhookMessage;
}

export function registerShipmentRoutes(router: Router, store: ShipBobStore): void {
  router.get('/order/:orderId/shipment', (ctx) => {
    const order = findOrder(ctx, store, ctx.params.orderId ?? '');
    if (order) json(ctx, 200, order.shipments);
  });
  router.get('/order/:orderId/shipment/:shipmentId', (ctx) => getShipment(ctx, store, ctx.params.shipmentId ?? '', ctx.params.orderId ?? ''));
  router.get('/shipment/:shipmentId', (ctx) => getShipment(ctx, store, ctx.params.shipmentId ?? '', null));
}

function getShipment(ctx: Context, store: ShipBobStore, rawShipmentId: string, rawOrderId: string | null): void {
  const channel = readChannel(ctx);
  if (channel === undefined) return;
  const shipmentId = parseId(ctx, rawShipmentId, 'shipmentId');
  if (shipmentId === null) return;
  const orderId = rawOrderId === null ? undefined : parseId(ctx, rawOrderId, 'orderId');
  if (orderId === null) return;
  for (const order of store.state.orders.values()) {
    if (orderId !== undefined && order.id !== orderId) continue;
    if (channel !== null && order.channel.id !== channel) continue;
    const shipment = order.shipments.find((s) => s.id === shipmentId);
    if (shipment) {
      json(ctx, 200, shipment);
      return;
    }
  }
  empty(ctx, 404);
}

/**
 * Ships the order's open shipment (label bought, scanned: status Completed, tracking set; the
 * order becomes Fulfilled) and sends `order.shipped` with the order as payload to every
 * subscription of that topic. Resolves once each first delivery attempt is made.
 */
export async function shipOrder(store: ShipBobStore, orderId: number, options: ShipOptions = {}): Promise<ShipResult> {
  const order = store.order(orderId);
  const shipment = order.shipments.find(isOpen);
  if (order.status === 'Cancelled' || !shipment) {
    throw new ShipBobSandboxError(`order ${orderId} has no shipment left to ship (status ${order.status})`);
  }
  return shipShipment(store, order, shipment, options);
}

/** Ships one open shipment of `order` (see shipOrder). */
export async function shipShipment(store: ShipBobStore, order: OrderView, shipment: ShipmentView, options: ShipOptions = {}): Promise<ShipResult> {
  if (!isOpen(shipment)) throw new ShipBobSandboxError(`shipment ${shipment.id} cannot be shipped (status ${shipment.status})`);
  const n = store.nextId('tracking');
  const carrier = options.carrier ?? 'USPS';
  const trackingNumber = options.tracking ?? `9400111${String(shipment.id).padStart(12, '0')}${String(n).padStart(3, '0')}`;
  const shippingDate = options.shippingDate ? new Date(options.shippingDate).toISOString() : store.iso();
  const now = store.iso();
  shipment.status = 'Completed';
  shipment.status_details = [];
  shipment.tracking = {
    carrier,
    carrier_service: options.carrierService ?? (carrier === 'USPS' ? 'Priority' : 'Ground'),
    tracking_number: trackingNumber,
    tracking_url: options.trackingUrl ?? trackingUrl(carrier, trackingNumber),
    shipping_date: shippingDate,
    bol: null,
    pro_number: null,
    scac: null,
  };
  shipment.actual_fulfillment_date = shippingDate;
  shipment.estimated_fulfillment_date_status = 'FulfilledOnTime';
  shipment.last_update_at = now;
  shipment.last_tracking_update_at = now;
  shipment.invoice_amount = 7.5;
  shipment.invoice_currency_code = 'USD';
  shipment.measurements = { total_weight_oz: 16, length_in: 10, width_in: 8, depth_in: 4 };
  settleOrderStatus(order);
  const message = await store.publish('order.shipped', order);
  return { order: structuredClone(order), shipment: structuredClone(shipment), message };
}

/**
 * Marks the order's shipped shipments delivered and sends `order.shipment.delivered` (shipment
 * payload, one per shipment) and `order.delivered` (order payload; a 2026-07 topic).
 */
export async function deliverOrder(store: ShipBobStore, orderId: number, options: DeliverOptions = {}): Promise<WebhookMessage[]> {
  const order = store.order(orderId);
  const shipped = order.shipments.filter(awaitingDelivery);
  if (shipped.length === 0) throw new ShipBobSandboxError(`order ${orderId} has no shipped shipment to deliver`);
  return deliverShipments(store, order, shipped, options);
}

export interface DeliverOptions {
  deliveredAt?: Date | string;
}

function awaitingDelivery(s: ShipmentView): boolean {
  return s.status === 'Completed' && s.delivery_date === null;
}

/** Delivers shipped shipments of `order` (see deliverOrder). */
export async function deliverShipments(store: ShipBobStore, order: OrderView, shipments: readonly ShipmentView[], options: DeliverOptions = {}): Promise<WebhookMessage[]> {
  for (const s of shipments) {
    if (!awaitingDelivery(s)) throw new ShipBobSandboxError(`shipment ${s.id} cannot be delivered (status ${s.status}${s.delivery_date ? ', delivered already' : ''})`);
  }
  const at = options.deliveredAt ? new Date(options.deliveredAt).toISOString() : store.iso();
  const messages: WebhookMessage[] = [];
  for (const s of shipments) {
    s.delivery_date = at;
    s.last_update_at = store.iso();
    s.last_tracking_update_at = store.iso();
    messages.push(await store.publish('order.shipment.delivered', s));
  }
  if (order.shipments.every((s) => s.status === 'Cancelled' || s.delivery_date !== null)) {
    messages.push(await store.publish('order.delivered', order));
  }
  return messages;
}

/**
 * Puts the order's open shipment on hold or in exception (with a status detail) and sends
 * `order.shipment.on_hold` / `order.shipment.exception` with the shipment as payload.
 */
export async function markShipment(store: ShipBobStore, orderId: number, status: 'OnHold' | 'Exception', description?: string): Promise<WebhookMessage> {
  const order = store.order(orderId);
  const shipment = order.shipments.find(isOpen);
  if (!shipment) throw new ShipBobSandboxError(`order ${orderId} has no open shipment`);
  return holdShipment(store, order, shipment, status, description);
}

/** Puts one open shipment of `order` on hold or in exception (see markShipment); picking and packing are undone. */
export async function holdShipment(
  store: ShipBobStore,
  order: OrderView,
  shipment: ShipmentView,
  status: 'OnHold' | 'Exception',
  description?: string,
): Promise<WebhookMessage> {
  if (!isOpen(shipment)) throw new ShipBobSandboxError(`shipment ${shipment.id} cannot be put ${status === 'OnHold' ? 'on hold' : 'in exception'} (status ${shipment.status})`);
  shipment.status = status;
  shipment.status_details = [
    status === 'OnHold'
      ? { id: 16, name: 'InvalidAddress', description: description ?? 'Address could not be validated', inventory_id: null, exception_fulfillment_center_id: null, extra_information: null }
      : { id: 2, name: 'OutOfStock', description: description ?? 'Out of stock', inventory_id: null, exception_fulfillment_center_id: shipment.location.id, extra_information: null },
  ];
  shipment.last_update_at = store.iso();
  settleOrderStatus(order);
  return store.publish(status === 'OnHold' ? 'order.shipment.on_hold' : 'order.shipment.exception', shipment);
}

function trackingUrl(carrier: string, number: string): string {
  switch (carrier.toUpperCase()) {
    case 'USPS':
      return `https://tools.usps.com/go/TrackConfirmAction?tLabels=${number}`;
    case 'UPS':
      return `https://www.ups.com/track?tracknum=${number}`;
    case 'FEDEX':
      return `https://www.fedex.com/fedextrack/?trknbr=${number}`;
    default:
      return `https://sandbox.shipbob.invalid/tracking/${encodeURIComponent(number)}`;
  }
}
