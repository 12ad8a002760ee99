import { randomBytes } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, empty, json, objectResult, parseJsonBody, ShipBobSandboxError } from './errors.ts';
import { decodeCursor, encodeCursor, intParam, query } from './params.ts';
import type { ShipBobStore } from './store.ts';
import { isKnownTopic, topicsFor } from './types.ts';
import { validateCreateSubscription, type FieldErrors } from './validate.ts';
import { subscriptionUrl, type WebhookSubscription } from './webhooks.ts';

/**
 * Webhook subscriptions: ShipBob's `/webhook` endpoints, and subscribe() for those made in code
 * (as a merchant would in the dashboard). Sending the webhooks is webhooks.ts's part.
 */

/** Which URLs POST /webhook may subscribe: null for allowed, else why not (ShipBobSandboxOptions.checkWebhookUrl). */
export type WebhookUrlCheck = (url: string) => string | null;

/**
 * Subscribes a URL (or a function giving it at send time) to topics; the subscription signs with
 * options.secret or the sandbox's webhookSecret. Any known topic, 2026-07 ones included, may be given.
 */
export function subscribe(
  store: ShipBobStore,
  url: string | (() => string),
  topics: readonly string[],
  options: { secret?: string; description?: string } = {},
): WebhookSubscription {
  for (const t of topics) if (!isKnownTopic(t)) throw new ShipBobSandboxError(`unknown webhook topic ${t}`, 400);
  const sub: WebhookSubscription = {
    id: String(store.nextId('subscription')),
    url,
    topics: [...topics],
    secret: options.secret ?? store.webhookSecret,
    description: options.description ?? null,
    created_at: store.iso(),
    enabled: true,
  };
  store.state.subscriptions.set(sub.id, sub);
  return sub;
}

export function registerSubscriptionRoutes(router: Router, store: ShipBobStore, checkWebhookUrl: WebhookUrlCheck | undefined): void {
  router.post('/webhook', (ctx) => createSubscription(ctx, store, checkWebhookUrl));
  router.get('/webhook', (ctx) => listSubscriptions(ctx, store));
  router.delete('/webhook/:subscriptionId', (ctx) => {
    if (!store.state.subscriptions.delete(ctx.params.subscriptionId ?? '')) {
      empty(ctx, 404);
      return;
    }
    // The spec says 204; ShipBob answered 200 to the node SDK's tests.
    empty(ctx, 200);
  });
}

function createSubscription(ctx: Context, store: ShipBobStore, checkWebhookUrl: WebhookUrlCheck | undefined): void {
  const body = parseJsonBody(ctx, bodyOf(ctx), (errors) => objectResult(ctx, 422, errors));
  if (body === undefined) return;
  const checked = validateCreateSubscription(body, topicsFor(store.apiVersion));
  if (!checked.ok) {
    // The spec's 422 for POST /webhook is a serialized ASP.NET ObjectResult.
    objectResult(ctx, 422, checked.errors);
    return;
  }
  const refusal = checkWebhookUrl?.(checked.value.url) ?? null;
  if (refusal !== null) {
    objectResult(ctx, 422, { url: [refusal] });
    return;
  }
  const sub = subscribe(store, checked.value.url, checked.value.topics, {
    // ShipBob generates a secret unless one is given; it is returned by this call only.
    secret: checked.value.secret ?? `whsec_${randomBytes(24).toString('base64')}`,
    ...(checked.value.description !== null ? { description: checked.value.description } : {}),
  });
  // The spec says 200; ShipBob answered 201 to the node SDK's tests. The sandbox follows what was observed.
  json(ctx, 201, {
    id: sub.id,
    created_at: sub.created_at,
    description: sub.description,
    secret: sub.secret,
    topics: sub.topics,
    url: subscriptionUrl(sub),
  });
}

/** Never with the secrets: ShipBob shows a secret only in the answer to its creation. */
function listSubscriptions(ctx: Context, store: ShipBobStore): void {
  const q = query(ctx);
  const errors: FieldErrors = {};
  const size = intParam(q.get('recordsperpage'), 'RecordsPerPage', 1, 250, 50, errors);
  if (Object.keys(errors).length > 0) {
    objectResult(ctx, 400, errors);
    return;
  }
  const all = [...store.state.subscriptions.values()];
  const start = Number.parseInt(decodeCursor(q.get('cursor')) ?? '0', 10) || 0;
  const page = all.slice(start, start + size);
  const link = (offset: number) => `/${store.apiVersion}/webhook?RecordsPerPage=${size}&Cursor=${encodeCursor(String(offset))}`;
  json(ctx, 200, {
    items: page.map((s) => ({
      id: s.id,
      created_at: s.created_at,
      description: s.description,
      enabled: s.enabled,
      topics: s.topics,
      url: safeUrl(s),
    })),
    next: start + size < all.length ? link(start + size) : null,
    prev: start > 0 ? link(Math.max(0, start - size)) : null,
  });
}

// A subscription whose URL is a function of a gateway not listening yet has no URL to show.
function safeUrl(sub: WebhookSubscription): string {
  try {
    return subscriptionUrl(sub);
  } catch {
    return '';
  }
}
