import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { fulfillmentCenterView } from './catalogue.ts';
import { json } from './errors.ts';
import { boolParam, query } from './params.ts';
import type { ShipBobStore } from './store.ts';
import type { FieldErrors } from './validate.ts';

/** Where orders may go and come from: the token's channels, the locations, the fulfilment centres. */
export function registerLocationRoutes(router: Router, store: ShipBobStore): void {
  const { state } = store;
  router.get('/channel', (ctx) => json(ctx, 200, { items: state.channels, next: null, prev: null }));
  router.get('/location', (ctx) => listLocations(ctx, store));
  router.get('/fulfillment-center', (ctx) => json(ctx, 200, state.locations.filter((l) => l.is_active).map(fulfillmentCenterView)));
}

function listLocations(ctx: Context, store: ShipBobStore): void {
  const q = query(ctx);
  const errors: FieldErrors = {};
  const includeInactive = boolParam(q.get('includeinactive'), 'IncludeInactive', errors);
  const receiving = boolParam(q.get('receivingenabled'), 'ReceivingEnabled', errors);
  const granted = boolParam(q.get('accessgranted'), 'AccessGranted', errors);
  if (Object.keys(errors).length > 0) {
    json(ctx, 400, errors);
    return;
  }
  json(
    ctx,
    200,
    store.state.locations.filter(
      (l) =>
        (includeInactive === true || l.is_active) &&
        (receiving === null || l.is_receiving_enabled === receiving) &&
        (granted === null || l.access_granted === granted),
    ),
  );
}
