import { EventEmitter } from 'node:events';
import type { Router } from '@koa/router';
import { DEFAULT_PRODUCTS, type ProductSeed } from './catalogue.ts';
import { registerCancellationRoutes } from './cancellation.ts';
import { registerControlRoutes } from './control.ts';
import { ShipBobSandboxError } from './errors.ts';
import { resourceRouter, shipBobHttp, type RecordedRequest } from './http.ts';
import { registerLocationRoutes } from './locations.ts';
import { moveShipment, type MoveOptions, type MoveResult, type ShipmentMove } from './milestones.ts';
import { registerOrderRoutes } from './orders.ts';
import { registerProductRoutes } from './products.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';
import { registerShipmentChangeRoutes } from './shipment-changes.ts';
import { deliverOrder, markShipment, registerShipmentRoutes, shipOrder, type ShipOptions, type ShipResult } from './shipments.ts';
import { Simulations } from './simulations.ts';
import { ShipBobStore, type ShipBobSandboxState } from './store.ts';
import { registerSubscriptionRoutes, subscribe } from './subscriptions.ts';
import { isKnownTopic } from './types.ts';
import { SHIPBOB_RETRY_SCHEDULE, SHIPBOB_WEBHOOK_TIMEOUT_MS, type WebhookAttempt, type WebhookMessage, type WebhookSubscription } from './webhooks.ts';

export { ShipBobSandboxError } from './errors.ts';
export type { RecordedRequest } from './http.ts';
export type { MoveOptions, MoveResult, ShipmentMove } from './milestones.ts';
export type { ShipOptions, ShipResult } from './shipments.ts';
export type { ShipBobSandboxState, SimulationRecord } from './store.ts';

export const DEFAULT_API_VERSION = '2026-01';
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 150;

export interface ShipBobSandboxOptions {
  /** The Personal Access Token callers must send as `Authorization: Bearer <token>`. */
  token: string;
  /** The token's write channel (`shipbob_channel_id`). */
  channelId: number;
  /** `whsec_...`: signs webhooks of subscriptions made with subscribe() (API subscriptions get their own). */
  webhookSecret: string;
  /** Sliding window of one minute, across all endpoints (default 150). */
  rateLimitPerMinute?: number;
  /** Epoch ms; drives created dates, the rate limit window and webhook timestamps. */
  now?: () => number;
  /** The dated version served under `/{version}/` (default 2026-01). */
  apiVersion?: string;
  /** Where the routes live on the router (default `/sandbox/shipbob`; `''` for the root). */
  prefix?: string;
  /** The catalogue (default DEFAULT_PRODUCTS). */
  products?: readonly ProductSeed[];
  /**
   * An order line whose reference_id matches no product: 'create' (default) does what ShipBob
   * documents (a product is created from the line's `name`; without a name the order is refused);
   * 'reject' refuses the order (422), to test product mappings.
   */
  unknownProducts?: 'create' | 'reject';
  /** Delay before each webhook attempt (default ShipBob's/Svix's: 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
  webhookRetrySchedule?: readonly number[];
  /** A webhook attempt without an answer by then fails (default 15 s). */
  webhookTimeoutMs?: number;
  /** Length of a "minute" of simulation delays (default 60 000 ms; tests make it short). */
  simulationMinuteMs?: number;
  /**
   * Which URLs POST /webhook may subscribe: null for a URL allowed, else why not (answered as a
   * 422). Also decides whose answers a webhook attempt shows: an attempt to a URL refused here
   * keeps no response body. Without it, every URL is allowed.
   */
  checkWebhookUrl?: (url: string) => string | null;
}

const KEEP_REQUESTS = 500;

/**
 * An emulated ShipBob (developer API, dated version 2026-01) for tests and demos: orders, lookups,
 * cancellations, shipment line-item and address changes, catalogue, locations, channels, webhook
 * subscriptions, signed webhooks with retries, ShipBob's auth, channel header, validation errors
 * and rate limit. Emits 'request' (RecordedRequest) and
 * 'webhook-attempt' (WebhookAttempt).
 *
 * This class puts the parts together and is the in-process API of tests and demos; each resource
 * (orders.ts, cancellation.ts, shipment-changes.ts, shipments.ts, products.ts, locations.ts,
 * subscriptions.ts, simulations.ts, control.ts) registers its own routes, and http.ts is the way in
 * that every request passes. What a shipment may still undergo is progress.ts; what ShipBob's staff
 * do to it, milestones.ts.
 */
export class ShipBobSandbox extends EventEmitter {
  readonly router: Router;
  readonly prefix: string;
  readonly apiVersion: string;
  readonly channelId: number;
  readonly state: ShipBobSandboxState;
  readonly #store: ShipBobStore;
  readonly #simulations: Simulations;
  readonly #requests: RecordedRequest[] = [];

  constructor(options: ShipBobSandboxOptions) {
    super();
    if (!options.token) throw new Error('the ShipBob sandbox needs a token');
    if (!Number.isInteger(options.channelId) || options.channelId < 1 || options.channelId >= 2_147_483_647) {
      throw new Error(`channelId must be a positive int32, got ${options.channelId}`);
    }
    const now = options.now ?? Date.now;
    this.apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
    this.prefix = (options.prefix ?? '/sandbox/shipbob').replace(/\/+$/, '');
    this.channelId = options.channelId;
    const limiter = new SlidingWindowLimiter(options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE);
    const { checkWebhookUrl } = options;
    this.#store = new ShipBobStore({
      channelId: options.channelId,
      apiVersion: this.apiVersion,
      now,
      products: options.products ?? DEFAULT_PRODUCTS,
      webhookSecret: options.webhookSecret,
      webhookRetrySchedule: options.webhookRetrySchedule ?? SHIPBOB_RETRY_SCHEDULE,
      webhookTimeoutMs: options.webhookTimeoutMs ?? SHIPBOB_WEBHOOK_TIMEOUT_MS,
      ...(checkWebhookUrl ? { showWebhookResponse: (url: string) => checkWebhookUrl(url) === null } : {}),
    });
    this.state = this.#store.state;
    this.#store.webhooks.on('attempt', (a: WebhookAttempt) => this.emit('webhook-attempt', a));
    this.#simulations = new Simulations(this.#store, options.simulationMinuteMs ?? 60_000);

    const api = resourceRouter();
    registerOrderRoutes(api, this.#store, options.unknownProducts ?? 'create');
    registerCancellationRoutes(api, this.#store);
    // Before GET /shipment/{shipmentId}, which would take `200000001:getLineItems` as an id (and refuse it).
    registerShipmentChangeRoutes(api, this.#store);
    registerShipmentRoutes(api, this.#store);
    registerProductRoutes(api, this.#store);
    registerLocationRoutes(api, this.#store);
    registerSubscriptionRoutes(api, this.#store, checkWebhookUrl);
    this.#simulations.register(api);
    const control = resourceRouter();
    registerControlRoutes(control, this.#store);
    this.router = shipBobHttp({
      prefix: this.prefix,
      apiVersion: this.apiVersion,
      token: options.token,
      limiter,
      now,
      api,
      control,
      onRequest: (record) => {
        this.#requests.push(record);
        if (this.#requests.length > KEEP_REQUESTS) this.#requests.shift();
        this.emit('request', record);
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // In-process API for tests and demos

  /**
   * Ships the order's open shipment (label bought, scanned: status Completed, tracking set; the
   * order becomes Fulfilled) and sends `order.shipped` with the order as payload to every
   * subscription of that topic. Resolves once each first delivery attempt is made.
   */
  ship(orderId: number, options: ShipOptions = {}): Promise<ShipResult> {
    return shipOrder(this.#store, orderId, options);
  }

  /**
   * Marks the order's shipped shipments delivered and sends `order.shipment.delivered` (shipment
   * payload, one per shipment) and `order.delivered` (order payload; a 2026-07 topic).
   */
  deliver(orderId: number, options: { deliveredAt?: Date | string } = {}): Promise<WebhookMessage[]> {
    return deliverOrder(this.#store, orderId, options);
  }

  /**
   * Puts the order's open shipment on hold or in exception (with a status detail) and sends
   * `order.shipment.on_hold` / `order.shipment.exception` with the shipment as payload.
   */
  markShipment(orderId: number, status: 'OnHold' | 'Exception', description?: string): Promise<WebhookMessage> {
    return markShipment(this.#store, orderId, status, description);
  }

  /**
   * Moves a shipment as ShipBob's staff or carrier would (the control API's
   * `POST /_sandbox/shipments/{shipmentId}/{move}` does the same): 'hold' and 'exception' send
   * `order.shipment.on_hold` / `order.shipment.exception`; 'pick' and 'pack' set the shipment's
   * fulfilment progress (status Processing, status detail Picked / Packed; no webhook), after which
   * the merchant may no longer cancel or change it; 'cancel' sends `order.shipment.cancelled`;
   * 'ship' sends `order.shipped`; 'deliver' sends `order.shipment.delivered` (and `order.delivered`
   * once every shipment of the order is delivered). Resolves once each first delivery attempt is
   * made; rejects with a ShipBobSandboxError (404, or 422 with the reason) when the move is not possible.
   */
  moveShipment(shipmentId: number, move: ShipmentMove, options: MoveOptions = {}): Promise<MoveResult> {
    return moveShipment(this.#store, shipmentId, move, options);
  }

  /** Sends any topic with any payload to the subscriptions of that topic. */
  async sendEvent(topic: string, payload: unknown): Promise<WebhookMessage> {
    if (!isKnownTopic(topic)) throw new ShipBobSandboxError(`unknown webhook topic ${topic}`, 400);
    return this.#store.publish(topic, payload);
  }

  /**
   * Subscribes a URL (or a function giving it at send time) to topics, as the dashboard would; the
   * subscription signs with options.secret or the sandbox's webhookSecret. Any known topic,
   * including 2026-07 ones such as order.delivered, may be given.
   */
  subscribe(url: string | (() => string), topics: readonly string[], options: { secret?: string; description?: string } = {}): WebhookSubscription {
    return subscribe(this.#store, url, topics, options);
  }

  webhookAttempts(): readonly WebhookAttempt[] {
    return this.#store.webhooks.attempts();
  }

  /** Resolves once `n` webhook attempts have been made in all. */
  waitForWebhookAttempts(n: number): Promise<readonly WebhookAttempt[]> {
    return this.#store.webhooks.waitForAttempts(n);
  }

  /** The API requests received (last 500), Authorization left out. */
  requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  /** Stops pending webhook retries and simulations. */
  close(): void {
    this.#store.webhooks.close();
    this.#simulations.close();
  }
}

export function createShipBobSandbox(options: ShipBobSandboxOptions): ShipBobSandbox {
  return new ShipBobSandbox(options);
}
