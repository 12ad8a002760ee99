import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, empty, json, parseJsonBody } from './errors.ts';
import { createOrder, type UnknownProducts } from './order-create.ts';
import { boolParam, dateParam, intParam, listParam, parseId, query, readChannel, writeChannel } from './params.ts';
import type { ShipBobStore } from './store.ts';
import type { OrderView } from './types.ts';
import { validateCreateOrder, type FieldErrors } from './validate.ts';

/** ShipBob's order resource: create, list (with its filters and paging headers), get (cancel: cancellation.ts). */
export function registerOrderRoutes(router: Router, store: ShipBobStore, unknownProducts: UnknownProducts): void {
  router.post('/order', (ctx) => postOrder(ctx, store, unknownProducts));
  router.get('/order', (ctx) => listOrders(ctx, store));
  router.get('/order/:orderId', (ctx) => {
    const order = findOrder(ctx, store, ctx.params.orderId ?? '');
    if (order) json(ctx, 200, order);
  });
}

/**
 * The order a read names, seen through the optional `shipbob_channel_id` filter; null after
 * answering 400 (a bad id or channel) or 404 (none, or another channel's).
 */
export function findOrder(ctx: Context, store: ShipBobStore, rawId: string): OrderView | null {
  const channel = readChannel(ctx);
  if (channel === undefined) return null;
  const id = parseId(ctx, rawId, 'orderId');
  if (id === null) return null;
  const order = store.state.orders.get(id);
  if (!order || (channel !== null && order.channel.id !== channel)) {
    empty(ctx, 404);
    return null;
  }
  return order;
}

function postOrder(ctx: Context, store: ShipBobStore, unknownProducts: UnknownProducts): void {
  if (!writeChannel(ctx, store.state.channels)) return;
  const body = parseJsonBody(ctx, bodyOf(ctx));
  if (body === undefined) return;
  const checked = validateCreateOrder(body);
  if (!checked.ok) {
    json(ctx, 400, checked.errors);
    return;
  }
  const request = checked.value;
  if (store.state.referenceIds.has(request.reference_id)) {
    // Errors page: 422 "Duplicate reference ID"; the body ShipBob sends was field-reported as this.
    json(ctx, 422, { '': ['Cannot insert order with existing ReferenceId'] });
    return;
  }
  const created = createOrder(store, request, unknownProducts);
  if (created.ok) json(ctx, 201, created.order);
  else json(ctx, created.status, created.errors);
}

function listOrders(ctx: Context, store: ShipBobStore): void {
  const channel = readChannel(ctx);
  if (channel === undefined) return;
  const q = query(ctx);
  const errors: FieldErrors = {};
  const page = intParam(q.get('page'), 'Page', 1, 2_147_483_647, 1, errors);
  const limit = intParam(q.get('limit'), 'Limit', 1, 250, 50, errors);
  const ids = listParam(q.get('ids'));
  const badId = ids?.find((v) => !/^\d+$/.test(v));
  if (badId !== undefined) errors.IDs = [`The value '${badId}' is not valid.`];
  const hasTracking = boolParam(q.get('hastracking'), 'HasTracking', errors);
  const uploaded = boolParam(q.get('istrackinguploaded'), 'IsTrackingUploaded', errors);
  const dates = {
    start: dateParam(q.get('startdate'), 'StartDate', errors),
    end: dateParam(q.get('enddate'), 'EndDate', errors),
    updatedStart: dateParam(q.get('lastupdatestartdate'), 'LastUpdateStartDate', errors),
    updatedEnd: dateParam(q.get('lastupdateenddate'), 'LastUpdateEndDate', errors),
  };
  if (Object.keys(errors).length > 0) {
    json(ctx, 400, errors);
    return;
  }
  const refs = listParam(q.get('referenceids'));
  const lastUpdate = (o: OrderView) => Math.max(Date.parse(o.created_date), ...o.shipments.map((s) => Date.parse(s.last_update_at)));
  let orders = [...store.state.orders.values()].filter(
    (o) =>
      (channel === null || o.channel.id === channel) &&
      (!refs || refs.includes(o.reference_id)) &&
      (!ids || ids.includes(String(o.id))) &&
      (hasTracking === null || o.shipments.some((s) => s.tracking !== null) === hasTracking) &&
      (uploaded === null || o.shipments.every((s) => s.is_tracking_uploaded) === uploaded) &&
      (dates.start === null || Date.parse(o.created_date) >= dates.start) &&
      (dates.end === null || Date.parse(o.created_date) <= dates.end) &&
      (dates.updatedStart === null || lastUpdate(o) >= dates.updatedStart) &&
      (dates.updatedEnd === null || lastUpdate(o) <= dates.updatedEnd),
  );
  const oldestFirst = (q.get('sortorder') ?? '').toLowerCase() === 'oldest';
  orders.sort((a, b) => (oldestFirst ? a.id - b.id : b.id - a.id));
  const total = orders.length;
  const pages = Math.max(1, Math.ceil(total / limit));
  orders = orders.slice((page - 1) * limit, page * limit);
  ctx.set('Page-Number', String(page));
  ctx.set('Page-Size', String(limit));
  ctx.set('Total-Count', String(total));
  ctx.set('Total-Pages', String(pages));
  if (page < pages) {
    const next = new URLSearchParams(ctx.querystring);
    for (const k of [...next.keys()]) if (k.toLowerCase() === 'page') next.delete(k);
    next.set('Page', String(page + 1));
    ctx.set('Next-Page', `/${store.apiVersion}/order?${next.toString()}`);
  }
  json(ctx, 200, orders);
}
