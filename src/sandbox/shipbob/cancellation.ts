import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, empty, json, parseJsonBody } from './errors.ts';
import { parseId, writeChannel } from './params.ts';
import { changeRefusal, isOpen, settleOrderStatus } from './progress.ts';
import type { ShipBobStore } from './store.ts';
import type { OrderView, ShipmentView } from './types.ts';
import { validateCancelShipments } from './validate-changes.ts';
import type { WebhookMessage } from './webhooks.ts';

/**
 * ShipBob's cancellations (2026-01): an order with all its shipments, one shipment (by its id, or by
 * order and shipment id), and a batch of shipments. A merchant may cancel a shipment only while it
 * is not picked, packed or shipped (progress.ts); each shipment cancelled sends
 * `order.shipment.cancelled` with the shipment as payload, before the answer goes out.
 */

/** `Orders.CanceledShipmentViewModel` */
export interface CanceledShipmentResult {
  shipment_id: number;
  action: 'Cancel';
  is_success: boolean;
  reason: string | null;
}

export function registerCancellationRoutes(router: Router, store: ShipBobStore): void {
  router.post('/order/:orderId\\:cancel', (ctx) => cancelOrder(ctx, store, ctx.params.orderId ?? ''));
  router.post('/shipment/:shipmentId\\:cancel', (ctx) => cancelOne(ctx, store, ctx.params.shipmentId ?? '', null));
  router.post('/order/:orderId/shipment/:shipmentId\\:cancel', (ctx) =>
    cancelOne(ctx, store, ctx.params.shipmentId ?? '', ctx.params.orderId ?? ''),
  );
  router.post('/shipment\\:batchCancel', (ctx) => cancelBatch(ctx, store));
}

/**
 * Cancels those of `shipments` that may be cancelled: by the merchant's rule (not picked, packed or
 * shipped), or as ShipBob staff would (`asStaff`: anything not shipped or cancelled). Settles the
 * order's status; the caller publishes the shipments cancelled.
 */
export function cancelShipments(
  store: ShipBobStore,
  order: OrderView,
  shipments: readonly ShipmentView[],
  asStaff = false,
): { results: CanceledShipmentResult[]; cancelled: ShipmentView[] } {
  const cancelled: ShipmentView[] = [];
  const results = shipments.map((s): CanceledShipmentResult => {
    const refusal = asStaff && isOpen(s) ? null : changeRefusal(s, 'cancelled');
    if (refusal === null) {
      s.status = 'Cancelled';
      s.status_details = [];
      s.last_update_at = store.iso();
      cancelled.push(s);
    }
    return { shipment_id: s.id, action: 'Cancel', is_success: refusal === null, reason: refusal };
  });
  if (cancelled.length > 0) settleOrderStatus(order);
  return { results, cancelled };
}

export async function publishCancelled(store: ShipBobStore, shipments: readonly ShipmentView[]): Promise<WebhookMessage[]> {
  const messages: WebhookMessage[] = [];
  for (const s of shipments) messages.push(await store.publish('order.shipment.cancelled', s));
  return messages;
}

/** `Orders.CanceledOrderViewModel`: a refusal is a 200 with status Failure (or PartialSuccess) and each shipment's reason. */
async function cancelOrder(ctx: Context, store: ShipBobStore, rawId: string): Promise<void> {
  const orderId = parseId(ctx, rawId, 'orderId');
  if (orderId === null) return;
  const order = store.state.orders.get(orderId);
  if (!order) {
    empty(ctx, 404);
    return;
  }
  const { results, cancelled } = cancelShipments(store, order, order.shipments);
  const ok = results.every((r) => r.is_success);
  json(ctx, 200, {
    order_id: order.id,
    order: structuredClone(order),
    status: ok ? 'Success' : cancelled.length > 0 ? 'PartialSuccess' : 'Failure',
    canceled_shipment_results: results,
  });
  await publishCancelled(store, cancelled);
}

/** 200 with the cancelled `Orders.ShipmentViewModel`; a refusal is a 422 ModelState with the reason. */
async function cancelOne(ctx: Context, store: ShipBobStore, rawShipmentId: string, rawOrderId: string | null): Promise<void> {
  const shipmentId = parseId(ctx, rawShipmentId, 'shipmentId');
  if (shipmentId === null) return;
  const orderId = rawOrderId === null ? null : parseId(ctx, rawOrderId, 'orderId');
  if (rawOrderId !== null && orderId === null) return;
  const found = store.findShipment(shipmentId);
  if (!found || (orderId !== null && found.order.id !== orderId)) {
    empty(ctx, 404);
    return;
  }
  const { results, cancelled } = cancelShipments(store, found.order, [found.shipment]);
  const reason = results[0]?.reason;
  if (cancelled.length === 0) {
    json(ctx, 422, { '': [reason ?? `Shipment ${shipmentId} cannot be cancelled.`] });
    return;
  }
  json(ctx, 200, found.shipment);
  await publishCancelled(store, cancelled);
}

/**
 * `Orders.CanceledShipmentsViewModel`: one result per shipment id (unknown ids too), in the order
 * given. The spec documents no 400 here: a body it cannot read is a 422 ModelState.
 */
async function cancelBatch(ctx: Context, store: ShipBobStore): Promise<void> {
  if (!writeChannel(ctx, store.state.channels)) return;
  const body = parseJsonBody(ctx, bodyOf(ctx), (errors) => json(ctx, 422, errors));
  if (body === undefined) return;
  const checked = validateCancelShipments(body);
  if (!checked.ok) {
    json(ctx, 422, checked.errors);
    return;
  }
  const results: CanceledShipmentResult[] = [];
  const cancelled: ShipmentView[] = [];
  for (const id of new Set(checked.value.shipment_ids)) {
    const found = store.findShipment(id);
    if (!found) {
      results.push({ shipment_id: id, action: 'Cancel', is_success: false, reason: `Shipment ${id} was not found.` });
      continue;
    }
    const one = cancelShipments(store, found.order, [found.shipment]);
    results.push(...one.results);
    cancelled.push(...one.cancelled);
  }
  json(ctx, 200, { results });
  await publishCancelled(store, cancelled);
}
