import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, empty, json, parseJsonBody, ShipBobSandboxError } from './errors.ts';
import { isShipmentMove, moveShipment, type MoveOptions } from './milestones.ts';
import type { ShipBobStore } from './store.ts';
import { isKnownTopic } from './types.ts';
import { isObject, type FieldErrors } from './validate.ts';

/**
 * The sandbox's own control endpoints under `/_sandbox/` (not ShipBob's): what tests and demos use
 * to see the webhook attempts, to send any event, and to move a shipment as ShipBob's staff would
 * (milestones.ts). They take the token but not the rate limit, so a test can look without spending
 * the calls it is counting.
 */
export function registerControlRoutes(router: Router, store: ShipBobStore): void {
  router.get('/_sandbox/webhook-attempts', (ctx) => json(ctx, 200, store.webhooks.attempts()));
  router.post('/_sandbox/events', async (ctx) => {
    const body = parseJsonBody(ctx, bodyOf(ctx));
    if (body === undefined) return;
    if (!isObject(body) || typeof body.topic !== 'string' || !isKnownTopic(body.topic)) {
      json(ctx, 400, { topic: ['A known webhook topic is required.'] });
      return;
    }
    const message = await store.publish(body.topic, body.payload ?? {});
    json(ctx, 202, { id: message.id, topic: message.topic, subscription_ids: message.subscriptionIds });
  });
  router.post('/_sandbox/shipments/:shipmentId/:action', (ctx) => move(ctx, store, ctx.params.shipmentId ?? '', ctx.params.action ?? ''));
}

/**
 * `POST /_sandbox/shipments/{shipmentId}/{hold|exception|pick|pack|cancel|ship|deliver}`, with an
 * optional JSON body of MoveOptions. 200 `{shipment, messages}` once each webhook's first attempt is
 * made; a move the shipment's state forbids is a 422 `{"": [reason]}`, an unknown shipment a 404.
 */
async function move(ctx: Context, store: ShipBobStore, rawId: string, action: string): Promise<void> {
  if (!isShipmentMove(action)) {
    empty(ctx, 404);
    return;
  }
  if (!/^\d{1,10}$/.test(rawId)) {
    json(ctx, 400, { shipmentId: [`The value '${rawId}' is not valid.`] });
    return;
  }
  const raw = bodyOf(ctx);
  const body = raw.trim() === '' ? {} : parseJsonBody(ctx, raw);
  if (body === undefined) return;
  const options = moveOptions(body);
  if ('errors' in options) {
    json(ctx, 400, options.errors);
    return;
  }
  try {
    const result = await moveShipment(store, Number(rawId), action, options.value);
    json(ctx, 200, {
      shipment: result.shipment,
      messages: result.messages.map((m) => ({ id: m.id, topic: m.topic, subscription_ids: m.subscriptionIds })),
    });
  } catch (err) {
    if (!(err instanceof ShipBobSandboxError)) throw err;
    json(ctx, err.status, { '': [err.message] });
  }
}

const TEXT_OPTIONS = ['description', 'carrier', 'carrierService', 'tracking', 'trackingUrl'] as const;
const DATE_OPTIONS = ['shippingDate', 'deliveredAt'] as const;

function moveOptions(body: unknown): { value: MoveOptions } | { errors: FieldErrors } {
  if (!isObject(body)) return { errors: { '': ['The body must be a JSON object.'] } };
  const errors: FieldErrors = {};
  const value: MoveOptions = {};
  for (const name of [...TEXT_OPTIONS, ...DATE_OPTIONS]) {
    const v = body[name];
    if (v === undefined || v === null) continue;
    const date = (DATE_OPTIONS as readonly string[]).includes(name);
    if (typeof v !== 'string' || v === '' || (date && Number.isNaN(Date.parse(v)))) {
      errors[name] = [date ? `The ${name} field must be a date-time.` : `The ${name} field must be a non-empty string.`];
      continue;
    }
    value[name] = v;
  }
  return Object.keys(errors).length > 0 ? { errors } : { value };
}
