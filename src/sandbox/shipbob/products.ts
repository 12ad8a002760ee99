import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { productView } from './catalogue.ts';
import { json } from './errors.ts';
import { decodeCursor, encodeCursor, intParam, listParam, query } from './params.ts';
import type { ShipBobStore } from './store.ts';
import type { ChannelView } from './types.ts';
import type { FieldErrors } from './validate.ts';

/** ShipBob's product catalogue with its inventory, as `GET /product` pages it (by cursor). */
export function registerProductRoutes(router: Router, store: ShipBobStore): void {
  router.get('/product', (ctx) => listProducts(ctx, store));
}

function listProducts(ctx: Context, store: ShipBobStore): void {
  const q = query(ctx);
  const errors: FieldErrors = {};
  const size = intParam(q.get('pagesize'), 'PageSize', 1, 250, 50, errors);
  if (Object.keys(errors).length > 0) {
    json(ctx, 400, errors);
    return;
  }
  const sku = q.get('sku');
  const sellerSku = q.get('sellersku');
  const search = q.get('search')?.toLowerCase();
  const productIds = listParam(q.get('productid'));
  const start = Number.parseInt(decodeCursor(q.get('cursor')) ?? '0', 10) || 0;
  const matching = store.state.products.filter(
    (p) =>
      (sku === null || p.reference_id === sku) &&
      (sellerSku === null || p.reference_id === sellerSku) &&
      (!productIds || productIds.includes(String(p.productId))) &&
      (search === undefined ||
        [p.name, p.reference_id, String(p.productId), String(p.inventoryId)].some((v) => v.toLowerCase().includes(search))),
  );
  const channel = store.state.channels[0] as ChannelView;
  const items = matching.slice(start, start + size).map((p) => productView(p, channel));
  const link = (offset: number) => {
    const params = new URLSearchParams(ctx.querystring);
    for (const k of [...params.keys()]) if (k.toLowerCase() === 'cursor') params.delete(k);
    params.set('Cursor', encodeCursor(String(offset)));
    return `/${store.apiVersion}/product?${params.toString()}`;
  };
  json(ctx, 200, {
    items,
    first: link(0),
    last: link(Math.max(0, Math.floor((matching.length - 1) / size) * size)),
    next: start + size < matching.length ? link(start + size) : null,
    prev: start > 0 ? link(Math.max(0, start - size)) : null,
  });
}
