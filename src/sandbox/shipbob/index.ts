import type { Router } from '@koa/router';
import { isLoopbackHost } from '../../server/loopback.ts';
import { SANDBOX_PREFIX } from '../targets.ts';
import { ShipBobSandbox } from './sandbox.ts';
import { topicsFor } from './types.ts';

export {
  ShipBobSandbox,
  ShipBobSandboxError,
  createShipBobSandbox,
  DEFAULT_API_VERSION,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  type MoveOptions,
  type MoveResult,
  type RecordedRequest,
  type ShipmentMove,
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
export { SHIPMENT_MOVES } from './milestones.ts';
export { PICKED_DETAIL_ID, PACKED_DETAIL_ID } from './progress.ts';
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
 * in ShipBob's dashboard. Subscriptions made through its API may only name the gateway's own
 * /webhooks/shipbob: the sandbox runs with a published token, and a subscription to any other URL
 * would make the gateway fetch it (an internal address, say) on the caller's behalf.
 */
export function mountShipBobSandbox(router: Router, settings: ShipBobSandboxSettings, gatewayUrl: () => string): ShipBobSandbox {
  const reveal = (v: string | { reveal(): string }) => (typeof v === 'string' ? v : v.reveal());
  const sandbox = new ShipBobSandbox({
    token: reveal(settings.token),
    webhookSecret: reveal(settings.webhookSecret),
    channelId: settings.channelId,
    prefix: SHIPBOB_SANDBOX_PREFIX,
    checkWebhookUrl: (url) => checkGatewayWebhookUrl(url, gatewayUrl()),
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

/** The path the gateway takes ShipBob webhooks on (src/inbound/webhooks/shipbob.ts). */
const GATEWAY_WEBHOOK_PATH = '/webhooks/shipbob';

/**
 * Null when `raw` is the gateway's own webhook URL: `${gateway}/webhooks/shipbob` with the same
 * origin as the URL the gateway gives its clients, or any loopback name or address with the
 * gateway's scheme and port (127.0.0.1, localhost, [::1]). Otherwise the reason, in the words a
 * ShipBob field error would use.
 */
export function checkGatewayWebhookUrl(raw: string, gatewayUrl: string): string | null {
  const own = `${new URL(gatewayUrl).origin}${GATEWAY_WEBHOOK_PATH}`;
  const refusal = `The sandbox ShipBob delivers webhooks only to this gateway: the url must be ${own}.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refusal;
  }
  const gateway = new URL(gatewayUrl);
  if (url.pathname !== GATEWAY_WEBHOOK_PATH || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return refusal;
  if (url.origin === gateway.origin) return null;
  const loopback = url.protocol === gateway.protocol && isLoopbackHost(url.hostname) && portOf(url) === portOf(gateway);
  return loopback ? null : refusal;
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}
