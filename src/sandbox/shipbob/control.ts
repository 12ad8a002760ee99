import type { Router } from '@koa/router';
import { bodyOf, json, parseJsonBody } from './errors.ts';
import type { ShipBobStore } from './store.ts';
import { isKnownTopic } from './types.ts';
import { isObject } from './validate.ts';

/**
 * The sandbox's own control endpoints under `/_sandbox/` (not ShipBob's): what tests and demos use
 * to see the webhook attempts and to send any event. They take the token but not the rate limit,
 * so a test can look without spending the calls it is counting.
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
}
