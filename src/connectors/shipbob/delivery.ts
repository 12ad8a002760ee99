import { readSalesOrder, type FusionSalesOrder } from '../fusion/sales-orders.ts';
import type { DeliveryResult, KindDelivery, SendResult } from '../types.ts';
import { TransformError } from '../types.ts';
import { ShipBobApi } from './api.ts';
import { settle, type OrderSummary, type SettleContext } from './changes.ts';
import { needsSalesOrder, purchaseOrderTargets, salesOrderTargets, type ShipBobTarget } from './order.ts';

/**
 * kind: shipbob. An event is about ShipBob orders: one per fulfilment line of an OM event, one per
 * schedule of a polled purchase order (source fusion-po). For each, what the event wants (the order
 * as Fusion now describes it, or cancelled; src/connectors/shipbob/order.ts) is compared with what
 * was sent before (the store's shipbob_orders) and only the difference is sent: a create, a
 * cancellation, a quantity or an address change (changes.ts). The sales order is read from Fusion
 * (the events carry internal ids only) unless the event only cancels.
 *
 * ShipBob has no idempotency header and keeps reference ids unique for ever, so a 422 for a
 * duplicate reference id, or a timeout whose outcome is unknown, is settled by looking the order up
 * by `ReferenceIds`: a match counts as made, and an order is never created twice.
 *
 * A change ShipBob can no longer make (the shipment picked, packed or shipped) fails the attempt as
 * `refused`, with what a person has to do in words; the delivery parks as change_refused, after the
 * other orders of the event are settled.
 */
export const shipBobDelivery: KindDelivery = (shipbob, context) => async (input) => {
  const settings = shipbob.config.shipbob;
  if (!settings) throw configError(`connector ${shipbob.config.name} has no shipbob settings`);
  const started = context.now();
  const orderKey = input.event.orderKey;
  let targets: ShipBobTarget[];
  let mayCreate = true;
  if (input.event.source === 'fusion-po') {
    // A polled purchase order carries its lines and schedules: nothing to read first.
    if (!orderKey) throw new TransformError('the purchase order event has no order key (PO number)');
    targets = purchaseOrderTargets(settings, orderKey, input.event.payload, context.mappings);
  } else {
    if (!orderKey) throw new TransformError('the event has no order key to read the sales order with');
    mayCreate = !settings.changes.changeOnly.includes(input.event.eventCode);
    let order: FusionSalesOrder | null = null;
    if (needsSalesOrder(settings, input.event.payload)) {
      const fusion = context.connector(settings.enrichFrom);
      if (!fusion) throw configError(`connector ${settings.enrichFrom} (shipbob.enrichFrom) is not configured`);
      const lookup = await readSalesOrder(fusion, orderKey);
      if (!lookup.found) {
        return { ...lookup.result, errorMessage: `reading sales order ${orderKey} from Fusion: ${lookup.result.errorMessage ?? 'failed'}` };
      }
      order = lookup.order;
    }
    targets = salesOrderTargets(settings, orderKey, input.event.payload, order, context.mappings);
  }

  const results: SendResult[] = [];
  const api = new ShipBobApi(
    {
      ...shipbob,
      raw: async (build) => {
        const call = await shipbob.raw(build);
        results.push(call.result);
        return call;
      },
    },
    settings.apiVersion,
  );
  const ctx: SettleContext = { api, ledger: context.shipbobOrders, connector: shipbob.config.name, orderKey, mayCreate, now: context.now };
  const orders: OrderSummary[] = [];
  for (const target of targets) {
    const settled = await settle(target, ctx);
    if (!settled.ok) return settled.result;
    orders.push(settled.summary);
  }

  const refusals = orders.flatMap((o) => (o.refused === undefined ? [] : [o.refused]));
  const last = results.at(-1);
  const outcome: DeliveryResult = {
    ok: refusals.length === 0,
    status: last?.status ?? null,
    headers: last?.headers ?? {},
    bodySnippet: JSON.stringify({ orders }),
    durationMs: context.now() - started,
    errorClass: refusals.length === 0 ? null : 'refused',
    errorMessage: refusals.length === 0 ? null : refusals.join('; '),
    faultParty: null,
    retryAfterMs: null,
    request: last?.request ?? null,
  };
  return outcome;
};

function configError(message: string): Error & { errorClass: 'config' } {
  return Object.assign(new Error(message), { errorClass: 'config' as const });
}
