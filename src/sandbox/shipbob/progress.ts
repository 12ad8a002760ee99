import type { OrderStatus, OrderView, ShipmentView } from './types.ts';

/**
 * How far a shipment has got in the fulfilment centre, and what that allows. ShipBob's shipment
 * status (`Orders.OrderStatusEnum`) has no picked or packed value: a shipment being worked on is
 * still `Processing`. The spec's `Orders.ShipmentStatusFilter` names the stages (Processing, OnHold,
 * Exception, Picked, Packed, Shipped, ...), so the sandbox keeps picking and packing as a status
 * detail of a Processing shipment, named after those stages. Their ids are the sandbox's own:
 * ShipBob's status-detail table is not published in the spec.
 */

export type StatusDetail = ShipmentView['status_details'][number];

export const PICKED_DETAIL_ID = 101;
export const PACKED_DETAIL_ID = 102;

export type FulfilmentStage = 'open' | 'picked' | 'packed' | 'shipped' | 'cancelled' | 'other';

export function progressDetail(stage: 'picked' | 'packed'): StatusDetail {
  return stage === 'picked'
    ? { id: PICKED_DETAIL_ID, name: 'Picked', description: 'The items have been picked in the fulfillment center', inventory_id: null, exception_fulfillment_center_id: null, extra_information: null }
    : { id: PACKED_DETAIL_ID, name: 'Packed', description: 'The shipment has been packed in the fulfillment center', inventory_id: null, exception_fulfillment_center_id: null, extra_information: null };
}

export function stageOf(shipment: ShipmentView): FulfilmentStage {
  switch (shipment.status) {
    case 'Processing':
      if (shipment.status_details.some((d) => d.id === PACKED_DETAIL_ID)) return 'packed';
      if (shipment.status_details.some((d) => d.id === PICKED_DETAIL_ID)) return 'picked';
      return 'open';
    case 'OnHold':
    case 'Exception':
      return 'open';
    case 'Completed':
    case 'LabeledCreated':
      return 'shipped';
    case 'Cancelled':
      return 'cancelled';
    default:
      return 'other';
  }
}

/** Whether the shipment has not left ShipBob and is not cancelled (staff may still act on it). */
export function isOpen(shipment: ShipmentView): boolean {
  const stage = stageOf(shipment);
  return stage === 'open' || stage === 'picked' || stage === 'packed';
}

/**
 * Why a merchant may not cancel or change the shipment, in words; null when it may. ShipBob allows
 * it only while the shipment is not picked, packed or shipped: Processing, OnHold or Exception.
 */
export function changeRefusal(shipment: ShipmentView, change: 'cancelled' | 'changed'): string | null {
  const what = `Shipment ${shipment.id} cannot be ${change}`;
  switch (stageOf(shipment)) {
    case 'open':
      return null;
    case 'picked':
      return `${what}: it has already been picked.`;
    case 'packed':
      return `${what}: it has already been packed.`;
    case 'shipped':
      return `${what}: it has already shipped.`;
    case 'cancelled':
      return change === 'cancelled' ? `Shipment ${shipment.id} is already cancelled.` : `${what}: it is cancelled.`;
    default:
      return `${what} in status ${shipment.status}.`;
  }
}

/** The order's status as its shipments make it, after one of them moved. */
export function settleOrderStatus(order: OrderView): OrderStatus {
  const all = order.shipments;
  const done = (s: ShipmentView) => s.status === 'Completed' || s.status === 'LabeledCreated';
  if (all.length > 0 && all.every((s) => s.status === 'Cancelled')) order.status = 'Cancelled';
  else if (all.every((s) => done(s) || s.status === 'Cancelled')) order.status = 'Fulfilled';
  else if (all.some(done)) order.status = 'PartiallyFulfilled';
  else if (all.some((s) => s.status === 'Exception')) order.status = 'Exception';
  else order.status = 'Processing';
  return order.status;
}
