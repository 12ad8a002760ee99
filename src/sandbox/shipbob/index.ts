import type { Router } from '@koa/router';
import { SANDBOX_PREFIX } from '../targets.ts';
import { ShipBobSandbox } from './sandbox.ts';
import { topicsFor } from './types.ts';

export {
  ShipBobSandbox,
  ShipBobSandboxError,
  createShipBobSandbox,
  DEFAULT_API_VERSION,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  type RecordedRequest,
  type ShipBobSandboxOptions,
  type ShipBobSandboxState,
  type ShipOptions,
  type ShipResult,
  type SimulationRecord,
} from './sandbox.ts';
export { startShipBobSandboxServer, type RunningShipBobSandbox, type ShipBobSandboxServerOptions } from './server.ts';
export {
  SHIPBOB_RETRY_SCHEDULE,
  SHIPBOB_WEBHOOK_TIMEOUT_MS,
  signWebhook,
  type WebhookAttempt,
  type WebhookMessage,
  type WebhookSubscription,
} from './webhooks.ts';
export { DEFAULT_PRODUCTS, DEFAULT_LOCATIONS, type ProductSeed } from './catalogue.ts';
export { validateCreateOrder, type FieldErrors } from './validate.ts';
export { TOPICS_2026_01, TOPICS_2026_07_EXTRA, topicsFor } from './types.ts';
export type { OrderView, ShipmentView, TrackingView, CreateOrderRequest, WebhookTopic } from './types.ts';

/** Where the gateway serves the emulated ShipBob: `${gateway}/sandbox/shipbob/2026-01/order`. */
export const SHIPBOB_SANDBOX_PREFIX = `${SANDBOX_PREFIX}/shipbob`;

/** `sandbox.shipbob` of gateway.yaml (secrets are config Secrets, or plain strings in tests). */
export interface ShipBobSandboxSettings {
  token: string | { reveal(): string };
  webhookSecret: string | { reveal(): string };
  channelId: number;
  /** Where the sandbox's pre-made subscription points; default the gateway's /webhooks/shipbob, '' for none. */
  webhookTarget?: string | undefined;
}

/**
 * Mounts the emulated ShipBob on the gateway's router under /sandbox/shipbob and subscribes the
 * webhook target (default: the gateway's own /webhooks/shipbob, resolved when a webhook is sent)
 * to every topic of the API version, signed with the configured webhookSecret, as a merchant would
 * in ShipBob's dashboard.
 */
export function mountShipBobSandbox(router: Router, settings: ShipBobSandboxSettings, gatewayUrl: () => string): ShipBobSandbox {
  const reveal = (v: string | { reveal(): string }) => (typeof v === 'string' ? v : v.reveal());
  const sandbox = new ShipBobSandbox({
    token: reveal(settings.token),
    webhookSecret: reveal(settings.webhookSecret),
    channelId: settings.channelId,
    prefix: SHIPBOB_SANDBOX_PREFIX,
  });
  router.use(sandbox.router.routes());
  if (settings.webhookTarget !== '') {
    const target = settings.webhookTarget;
    sandbox.subscribe(target ?? (() => `${gatewayUrl()}/webhooks/shipbob`), topicsFor(sandbox.apiVersion), {
      description: 'gateway (sandbox.shipbob.webhookTarget)',
    });
  }
  return sandbox;
}
