import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { isGatewayError } from '../../domain/errors.ts';
import { readRawBody } from '../../inbound/webhooks/body.ts';
import {
  DEFAULT_LOCATIONS,
  DEFAULT_PRODUCTS,
  FIRST_IDS,
  channelsFor,
  fulfillmentCenterView,
  productView,
  seedProducts,
  type ProductSeed,
} from './catalogue.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';
import {
  isKnownTopic,
  topicsFor,
  type CatalogueProduct,
  type ChannelView,
  type CreateOrderRequest,
  type LocationView,
  type OrderProductView,
  type OrderView,
  type ShipmentView,
} from './types.ts';
import {
  isObject,
  validateCreateOrder,
  validateCreateSubscription,
  validateSimulation,
  type FieldErrors,
  type SimulationStep,
} from './validate.ts';
import {
  SHIPBOB_RETRY_SCHEDULE,
  SHIPBOB_WEBHOOK_TIMEOUT_MS,
  WebhookDispatcher,
  subscriptionUrl,
  type WebhookAttempt,
  type WebhookMessage,
  type WebhookSubscription,
} from './webhooks.ts';

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

export interface ShipOptions {
  carrier?: string;
  carrierService?: string;
  /** The tracking number. */
  tracking?: string;
  trackingUrl?: string;
  shippingDate?: Date | string;
}

export interface ShipResult {
  order: OrderView;
  shipment: ShipmentView;
  /** The `order.shipped` message (its id is the `webhook-id`). */
  message: WebhookMessage;
}

export interface RecordedRequest {
  at: string;
  method: string;
  /** Path below the prefix, with the query string. */
  path: string;
  /** Request headers without Authorization. */
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface SimulationRecord {
  simulation_id: string;
  entity_id: string;
  entity_type: 'Order';
  simulation: SimulationStatus;
}

interface SimulationStatus {
  action: SimulationStep['action'];
  status: 'Scheduled' | 'Running' | 'Completed' | 'Failed' | 'Cancelled';
  message: string | null;
  schedule_time: string | null;
  next: SimulationStatus | null;
}

export interface ShipBobSandboxState {
  /** By ShipBob order id. */
  orders: Map<number, OrderView>;
  /** Every reference_id ever used by an order: they stay taken after a cancellation. */
  referenceIds: Set<string>;
  products: CatalogueProduct[];
  locations: LocationView[];
  channels: ChannelView[];
  /** By subscription id. */
  subscriptions: Map<string, WebhookSubscription>;
  messages: WebhookMessage[];
  simulations: Map<string, SimulationRecord>;
}

export class ShipBobSandboxError extends Error {
  readonly status: number;
  constructor(message: string, status = 422) {
    super(message);
    this.name = 'ShipBobSandboxError';
    this.status = status;
  }
}

const MAX_BODY = 1024 * 1024;
const KEEP_REQUESTS = 500;

type Handler = (ctx: Context, params: string[], body: string) => Promise<void> | void;

/**
 * An emulated ShipBob (developer API, dated version 2026-01) for tests and demos: orders, lookups,
 * catalogue, locations, channels, webhook subscriptions, signed webhooks with retries, ShipBob's
 * auth, channel header, validation errors and rate limit. Emits 'request' (RecordedRequest) and
 * 'webhook-attempt' (WebhookAttempt).
 */
export class ShipBobSandbox extends EventEmitter {
  readonly router: Router;
  readonly prefix: string;
  readonly apiVersion: string;
  readonly channelId: number;
  readonly state: ShipBobSandboxState;
  readonly #options: ShipBobSandboxOptions;
  readonly #now: () => number;
  readonly #limiter: SlidingWindowLimiter;
  readonly #dispatcher: WebhookDispatcher;
  readonly #tokenDigest: Buffer;
  readonly #requests: RecordedRequest[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #routes: Array<{ method: string; pattern: RegExp; handler: Handler }>;
  #next = { order: FIRST_IDS.order, shipment: FIRST_IDS.shipment, product: 0, subscription: 1, message: 1, simulation: 1, tracking: 1 };

  constructor(options: ShipBobSandboxOptions) {
    super();
    if (!options.token) throw new Error('the ShipBob sandbox needs a token');
    if (!Number.isInteger(options.channelId) || options.channelId < 1 || options.channelId >= 2_147_483_647) {
      throw new Error(`channelId must be a positive int32, got ${options.channelId}`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
    this.prefix = (options.prefix ?? '/sandbox/shipbob').replace(/\/+$/, '');
    this.channelId = options.channelId;
    this.#tokenDigest = digest(options.token);
    this.#limiter = new SlidingWindowLimiter(options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE);
    const created = this.#iso();
    const products = seedProducts(options.products ?? DEFAULT_PRODUCTS, created);
    this.#next.product = products.length;
    this.state = {
      orders: new Map(),
      referenceIds: new Set(),
      products,
      locations: DEFAULT_LOCATIONS.map((l) => structuredClone(l)),
      channels: channelsFor(options.channelId),
      subscriptions: new Map(),
      messages: [],
      simulations: new Map(),
    };
    this.#dispatcher = new WebhookDispatcher({
      now: this.#now,
      schedule: options.webhookRetrySchedule ?? SHIPBOB_RETRY_SCHEDULE,
      timeoutMs: options.webhookTimeoutMs ?? SHIPBOB_WEBHOOK_TIMEOUT_MS,
      subscription: (id) => this.state.subscriptions.get(id),
      ...(options.checkWebhookUrl ? { showResponse: (url: string) => options.checkWebhookUrl?.(url) === null } : {}),
    });
    this.#dispatcher.on('attempt', (a: WebhookAttempt) => this.emit('webhook-attempt', a));
    this.#routes = this.#buildRoutes();
    this.router = new Router();
    this.router.all(`${this.prefix}{/*rest}`, (ctx) => this.#handle(ctx));
  }

  // -------------------------------------------------------------------------------------------
  // In-process API for tests and demos

  /**
   * Ships the order's open shipment (label bought, scanned: status Completed, tracking set; the
   * order becomes Fulfilled) and sends `order.shipped` with the order as payload to every
   * subscription of that topic. Resolves once each first delivery attempt is made.
   */
  async ship(orderId: number, options: ShipOptions = {}): Promise<ShipResult> {
    const order = this.#order(orderId);
    const shipment = order.shipments.find((s) => s.status !== 'Completed' && s.status !== 'Cancelled');
    if (order.status === 'Cancelled' || !shipment) {
      throw new ShipBobSandboxError(`order ${orderId} has no shipment left to ship (status ${order.status})`);
    }
    const n = this.#next.tracking++;
    const carrier = options.carrier ?? 'USPS';
    const trackingNumber = options.tracking ?? `9400111${String(shipment.id).padStart(12, '0')}${String(n).padStart(3, '0')}`;
    const shippingDate = options.shippingDate ? new Date(options.shippingDate).toISOString() : this.#iso();
    const now = this.#iso();
    shipment.status = 'Completed';
    shipment.tracking = {
      carrier,
      carrier_service: options.carrierService ?? (carrier === 'USPS' ? 'Priority' : 'Ground'),
      tracking_number: trackingNumber,
      tracking_url: options.trackingUrl ?? trackingUrl(carrier, trackingNumber),
      shipping_date: shippingDate,
      bol: null,
      pro_number: null,
      scac: null,
    };
    shipment.actual_fulfillment_date = shippingDate;
    shipment.estimated_fulfillment_date_status = 'FulfilledOnTime';
    shipment.last_update_at = now;
    shipment.last_tracking_update_at = now;
    shipment.invoice_amount = 7.5;
    shipment.invoice_currency_code = 'USD';
    shipment.measurements = { total_weight_oz: 16, length_in: 10, width_in: 8, depth_in: 4 };
    order.status = order.shipments.every((s) => s.status === 'Completed' || s.status === 'Cancelled') ? 'Fulfilled' : 'PartiallyFulfilled';
    const message = await this.#publish('order.shipped', order);
    return { order: structuredClone(order), shipment: structuredClone(shipment), message };
  }

  /**
   * Marks the order's shipped shipments delivered and sends `order.shipment.delivered` (shipment
   * payload, one per shipment) and `order.delivered` (order payload; a 2026-07 topic).
   */
  async deliver(orderId: number, options: { deliveredAt?: Date | string } = {}): Promise<WebhookMessage[]> {
    const order = this.#order(orderId);
    const shipped = order.shipments.filter((s) => s.status === 'Completed' && s.delivery_date === null);
    if (shipped.length === 0) throw new ShipBobSandboxError(`order ${orderId} has no shipped shipment to deliver`);
    const at = options.deliveredAt ? new Date(options.deliveredAt).toISOString() : this.#iso();
    const messages: WebhookMessage[] = [];
    for (const s of shipped) {
      s.delivery_date = at;
      s.last_update_at = this.#iso();
      s.last_tracking_update_at = this.#iso();
      messages.push(await this.#publish('order.shipment.delivered', s));
    }
    if (order.shipments.every((s) => s.status === 'Cancelled' || s.delivery_date !== null)) {
      messages.push(await this.#publish('order.delivered', order));
    }
    return messages;
  }

  /**
   * Puts the order's open shipment on hold or in exception (with a status detail) and sends
   * `order.shipment.on_hold` / `order.shipment.exception` with the shipment as payload.
   */
  async markShipment(orderId: number, status: 'OnHold' | 'Exception', description?: string): Promise<WebhookMessage> {
    const order = this.#order(orderId);
    const shipment = order.shipments.find((s) => s.status !== 'Completed' && s.status !== 'Cancelled');
    if (!shipment) throw new ShipBobSandboxError(`order ${orderId} has no open shipment`);
    shipment.status = status;
    shipment.status_details = [
      status === 'OnHold'
        ? { id: 16, name: 'InvalidAddress', description: description ?? 'Address could not be validated', inventory_id: null, exception_fulfillment_center_id: null, extra_information: null }
        : { id: 2, name: 'OutOfStock', description: description ?? 'Out of stock', inventory_id: null, exception_fulfillment_center_id: shipment.location.id, extra_information: null },
    ];
    shipment.last_update_at = this.#iso();
    if (status === 'Exception') order.status = 'Exception';
    return this.#publish(status === 'OnHold' ? 'order.shipment.on_hold' : 'order.shipment.exception', shipment);
  }

  /** Sends any topic with any payload to the subscriptions of that topic. */
  async sendEvent(topic: string, payload: unknown): Promise<WebhookMessage> {
    if (!isKnownTopic(topic)) throw new ShipBobSandboxError(`unknown webhook topic ${topic}`, 400);
    return this.#publish(topic, payload);
  }

  /**
   * Subscribes a URL (or a function giving it at send time) to topics, as the dashboard would; the
   * subscription signs with options.secret or the sandbox's webhookSecret. Any known topic,
   * including 2026-07 ones such as order.delivered, may be given.
   */
  subscribe(
    url: string | (() => string),
    topics: readonly string[],
    options: { secret?: string; description?: string } = {},
  ): WebhookSubscription {
    for (const t of topics) if (!isKnownTopic(t)) throw new ShipBobSandboxError(`unknown webhook topic ${t}`, 400);
    const sub: WebhookSubscription = {
      id: String(this.#next.subscription++),
      url,
      topics: [...topics],
      secret: options.secret ?? this.#options.webhookSecret,
      description: options.description ?? null,
      created_at: this.#iso(),
      enabled: true,
    };
    this.state.subscriptions.set(sub.id, sub);
    return sub;
  }

  webhookAttempts(): readonly WebhookAttempt[] {
    return this.#dispatcher.attempts();
  }

  /** Resolves once `n` webhook attempts have been made in all. */
  waitForWebhookAttempts(n: number): Promise<readonly WebhookAttempt[]> {
    return this.#dispatcher.waitForAttempts(n);
  }

  /** The API requests received (last 500), Authorization left out. */
  requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  /** Stops pending webhook retries and simulations. */
  close(): void {
    this.#dispatcher.close();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async #handle(ctx: Context): Promise<void> {
    let sub = ctx.path.slice(this.prefix.length) || '/';
    try {
      sub = decodeURIComponent(sub);
    } catch {
      // keep it as sent
    }
    const body = await readBody(ctx);
    if (body !== null) await this.#dispatch(ctx, sub, body);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.request.headers)) {
      if (k !== 'authorization' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const record: RecordedRequest = {
      at: this.#iso(),
      method: ctx.method,
      path: sub + (ctx.querystring ? `?${ctx.querystring}` : ''),
      headers,
      body: body ?? '',
      status: ctx.status,
    };
    this.#requests.push(record);
    if (this.#requests.length > KEEP_REQUESTS) this.#requests.shift();
    this.emit('request', record);
  }

  async #dispatch(ctx: Context, sub: string, body: string): Promise<void> {
    if (!this.#authorized(ctx)) {
      // The spec gives 401 no body ("No access right at this time").
      ctx.set('WWW-Authenticate', 'Bearer');
      empty(ctx, 401);
      return;
    }
    if (sub.startsWith('/_sandbox/')) {
      await this.#control(ctx, sub, body);
      return;
    }
    const limit = this.#limiter.hit(this.#now());
    ctx.set('x-remaining-calls', String(limit.remaining));
    if (!limit.granted) {
      ctx.set('x-retry-after', String(limit.retryAfterSeconds));
      json(ctx, 429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${limit.retryAfterSeconds} seconds.` });
      return;
    }
    const version = `/${this.apiVersion}`;
    if (sub !== version && !sub.startsWith(`${version}/`)) {
      empty(ctx, 404);
      return;
    }
    const rest = sub.slice(version.length) || '/';
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.pattern.exec(rest);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== ctx.method) continue;
      await route.handler(ctx, m.slice(1), body);
      return;
    }
    empty(ctx, pathMatched ? 405 : 404);
  }

  #authorized(ctx: Context): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
    return m !== null && timingSafeEqual(digest(m[1] ?? ''), this.#tokenDigest);
  }

  #buildRoutes(): Array<{ method: string; pattern: RegExp; handler: Handler }> {
    const id = '([^/:]+)';
    return [
      { method: 'POST', pattern: /^\/order$/, handler: (ctx, _p, body) => this.#createOrder(ctx, body) },
      { method: 'GET', pattern: /^\/order$/, handler: (ctx) => this.#listOrders(ctx) },
      { method: 'GET', pattern: new RegExp(`^/order/${id}$`), handler: (ctx, p) => this.#getOrder(ctx, p[0] ?? '') },
      { method: 'POST', pattern: new RegExp(`^/order/${id}:cancel$`), handler: (ctx, p) => this.#cancelOrder(ctx, p[0] ?? '') },
      { method: 'GET', pattern: new RegExp(`^/order/${id}/shipment$`), handler: (ctx, p) => this.#orderShipments(ctx, p[0] ?? '') },
      {
        method: 'GET',
        pattern: new RegExp(`^/order/${id}/shipment/${id}$`),
        handler: (ctx, p) => this.#getShipment(ctx, p[1] ?? '', p[0] ?? ''),
      },
      { method: 'GET', pattern: new RegExp(`^/shipment/${id}$`), handler: (ctx, p) => this.#getShipment(ctx, p[0] ?? '', null) },
      { method: 'GET', pattern: /^\/channel$/, handler: (ctx) => this.#listChannels(ctx) },
      { method: 'GET', pattern: /^\/product$/, handler: (ctx) => this.#listProducts(ctx) },
      { method: 'GET', pattern: /^\/location$/, handler: (ctx) => this.#listLocations(ctx) },
      {
        method: 'GET',
        pattern: /^\/fulfillment-center$/,
        handler: (ctx) => json(ctx, 200, this.state.locations.filter((l) => l.is_active).map(fulfillmentCenterView)),
      },
      { method: 'POST', pattern: /^\/webhook$/, handler: (ctx, _p, body) => this.#createSubscription(ctx, body) },
      { method: 'GET', pattern: /^\/webhook$/, handler: (ctx) => this.#listSubscriptions(ctx) },
      { method: 'DELETE', pattern: /^\/webhook\/([^/]+)$/, handler: (ctx, p) => this.#deleteSubscription(ctx, p[0] ?? '') },
      { method: 'POST', pattern: /^\/simulate\/shipment$/, handler: (ctx, _p, body) => this.#simulate(ctx, body) },
      {
        method: 'GET',
        pattern: /^\/simulate\/status\/([^/]+)$/,
        handler: (ctx, p) => {
          const record = this.state.simulations.get(p[0] ?? '');
          if (record) json(ctx, 200, record);
          else empty(ctx, 404);
        },
      },
    ];
  }

  // --- orders ---------------------------------------------------------------------------------

  #createOrder(ctx: Context, raw: string): void {
    if (!this.#writeChannel(ctx)) return;
    const body = parseJsonBody(ctx, raw);
    if (body === undefined) return;
    const checked = validateCreateOrder(body);
    if (!checked.ok) {
      json(ctx, 400, checked.errors);
      return;
    }
    const request = checked.value;
    if (this.state.referenceIds.has(request.reference_id)) {
      // Errors page: 422 "Duplicate reference ID"; the body ShipBob sends was field-reported as this.
      json(ctx, 422, { '': ['Cannot insert order with existing ReferenceId'] });
      return;
    }
    const resolved = this.#resolveOrder(request);
    if (!resolved.ok) {
      json(ctx, resolved.status, resolved.errors);
      return;
    }
    const order = this.#insertOrder(request, resolved.location, resolved.lines);
    json(ctx, 201, order);
  }

  #resolveOrder(request: CreateOrderRequest):
    | { ok: true; location: LocationView; lines: Array<{ product: CatalogueProduct; line: CreateOrderRequest['products'][number] }> }
    | { ok: false; status: number; errors: FieldErrors } {
    const location = request.location_id === null
      ? this.state.locations.find((l) => l.is_active && l.is_shipping_enabled)
      : this.state.locations.find((l) => l.id === request.location_id && l.is_active && l.access_granted);
    if (!location) {
      return { ok: false, status: 422, errors: { location_id: [`Location ${request.location_id ?? ''} is not available for fulfillment.`] } };
    }
    const errors: FieldErrors = {};
    let status = 400;
    const pending: Array<{ index: number; line: Extract<CreateOrderRequest['products'][number], { by: 'reference_id' }> }> = [];
    const lines: Array<{ product: CatalogueProduct | null; line: CreateOrderRequest['products'][number] }> = request.products.map((line, index) => {
      if (line.by === 'id') {
        const product = this.state.products.find((p) => p.id === line.id) ?? null;
        if (!product) {
          status = 422;
          errors[`products[${index}].id`] = [`Product ${line.id} was not found.`];
        }
        return { product, line };
      }
      const product = this.state.products.find((p) => p.reference_id === line.reference_id) ?? null;
      if (!product) {
        if (this.#options.unknownProducts === 'reject') {
          status = 422;
          errors[`products[${index}].reference_id`] = [`No product with reference_id '${line.reference_id}' exists.`];
        } else if (!line.name) {
          errors[`products[${index}].name`] = [
            `The name field is required when there is no ShipBob product with reference_id '${line.reference_id}'.`,
          ];
        } else {
          pending.push({ index, line });
        }
      }
      return { product, line };
    });
    if (Object.keys(errors).length > 0) return { ok: false, status, errors };
    // ShipBob creates a product from a line it cannot match (guides/orders); one per reference_id.
    for (const { index, line } of pending) {
      const entry = lines[index];
      if (!entry) continue;
      entry.product = this.state.products.find((p) => p.reference_id === line.reference_id) ?? this.#addProduct(line.reference_id, line.name ?? line.reference_id, line.gtin, line.upc);
    }
    return {
      ok: true,
      location,
      lines: lines.flatMap((l) => (l.product ? [{ product: l.product, line: l.line }] : [])),
    };
  }

  #addProduct(referenceId: string, name: string, gtin: string | null, upc: string | null): CatalogueProduct {
    const i = this.#next.product++;
    const product: CatalogueProduct = {
      productId: FIRST_IDS.product + i,
      id: FIRST_IDS.variant + i,
      inventoryId: FIRST_IDS.inventory + i,
      reference_id: referenceId,
      name,
      gtin,
      upc,
      onHand: 0,
      createdOn: this.#iso(),
    };
    this.state.products.push(product);
    return product;
  }

  #insertOrder(
    request: CreateOrderRequest,
    location: LocationView,
    lines: Array<{ product: CatalogueProduct; line: CreateOrderRequest['products'][number] }>,
  ): OrderView {
    const id = this.#next.order++;
    const shipmentId = this.#next.shipment++;
    const now = this.#iso();
    const channel = this.state.channels.find((c) => c.id === this.channelId);
    const products: OrderProductView[] = lines.map(({ product, line }) => ({
      id: product.id,
      reference_id: product.reference_id,
      sku: line.by === 'reference_id' && line.sku ? line.sku : product.reference_id,
      quantity: line.quantity,
      unit_price: line.by === 'reference_id' ? line.unit_price : null,
      external_line_id: line.external_line_id,
      gtin: line.by === 'reference_id' ? (line.gtin ?? product.gtin) : product.gtin,
      upc: line.by === 'reference_id' ? (line.upc ?? product.upc) : product.upc,
      quantity_unit_of_measure_code: line.quantity_unit_of_measure_code,
    }));
    const shipment: ShipmentView = {
      id: shipmentId,
      order_id: id,
      reference_id: request.reference_id,
      recipient: {
        name: request.recipient.name,
        full_name: request.recipient.name,
        address: structuredClone(request.recipient.address),
        email: request.recipient.email,
        phone_number: request.recipient.phone_number,
      },
      created_date: now,
      last_update_at: now,
      last_tracking_update_at: null,
      status: 'Processing',
      status_details: [],
      location: { id: location.id, name: location.name },
      invoice_amount: null,
      invoice_currency_code: null,
      insurance_value: null,
      ship_option: request.shipping_method,
      tracking: null,
      products: lines.map(({ product, line }) => ({
        id: product.id,
        reference_id: product.reference_id,
        name: product.name,
        sku: product.reference_id,
        inventory_items: [
          {
            id: product.inventoryId,
            name: product.name,
            quantity: line.quantity,
            quantity_committed: line.quantity,
            lot: null,
            expiration_date: null,
            serial_numbers: [],
            is_dangerous_goods: false,
          },
        ],
      })),
      parent_cartons: [],
      measurements: { total_weight_oz: 0, length_in: 0, width_in: 0, depth_in: 0 },
      require_signature: false,
      gift_message: request.gift_message,
      estimated_fulfillment_date: new Date(this.#now() + 24 * 3_600_000).toISOString(),
      estimated_fulfillment_date_status: 'PendingOnTime',
      actual_fulfillment_date: null,
      delivery_date: null,
      is_tracking_uploaded: false,
      package_material_type: 'Unknown',
    };
    const order: OrderView = {
      id,
      created_date: now,
      purchase_date: request.purchase_date,
      reference_id: request.reference_id,
      order_number: request.order_number ?? request.reference_id,
      status: 'Processing',
      type: request.type,
      channel: { id: this.channelId, name: channel?.name ?? 'SMA' },
      shipping_method: request.shipping_method,
      recipient: structuredClone(request.recipient),
      products,
      tags: request.tags ?? [],
      shipments: [shipment],
      gift_message: request.gift_message,
      shipping_terms: request.shipping_terms,
      retailer_program_data: request.retailer_program_data,
      financials: { total_price: request.financials?.total_price ?? null },
    };
    this.state.orders.set(id, order);
    this.state.referenceIds.add(request.reference_id);
    return structuredClone(order);
  }

  #listOrders(ctx: Context): void {
    const channel = this.#readChannel(ctx);
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
    let orders = [...this.state.orders.values()].filter(
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
      ctx.set('Next-Page', `/${this.apiVersion}/order?${next.toString()}`);
    }
    json(ctx, 200, orders);
  }

  #getOrder(ctx: Context, rawId: string): void {
    const order = this.#findOrder(ctx, rawId);
    if (order) json(ctx, 200, order);
  }

  #orderShipments(ctx: Context, rawId: string): void {
    const order = this.#findOrder(ctx, rawId);
    if (order) json(ctx, 200, order.shipments);
  }

  #getShipment(ctx: Context, rawShipmentId: string, rawOrderId: string | null): void {
    const channel = this.#readChannel(ctx);
    if (channel === undefined) return;
    const shipmentId = parseId(ctx, rawShipmentId, 'shipmentId');
    if (shipmentId === null) return;
    const orderId = rawOrderId === null ? undefined : parseId(ctx, rawOrderId, 'orderId');
    if (orderId === null) return;
    for (const order of this.state.orders.values()) {
      if (orderId !== undefined && order.id !== orderId) continue;
      if (channel !== null && order.channel.id !== channel) continue;
      const shipment = order.shipments.find((s) => s.id === shipmentId);
      if (shipment) {
        json(ctx, 200, shipment);
        return;
      }
    }
    empty(ctx, 404);
  }

  async #cancelOrder(ctx: Context, rawId: string): Promise<void> {
    const orderId = parseId(ctx, rawId, 'orderId');
    if (orderId === null) return;
    const order = this.state.orders.get(orderId);
    if (!order) {
      empty(ctx, 404);
      return;
    }
    const results = order.shipments.map((s) => {
      const cancellable = s.status !== 'Completed' && s.status !== 'Cancelled';
      return {
        shipment_id: s.id,
        action: 'Cancel',
        is_success: cancellable,
        reason: cancellable ? null : s.status === 'Cancelled' ? 'Shipment is already cancelled' : 'Shipment has already shipped',
      };
    });
    const cancelled = order.shipments.filter((s) => s.status !== 'Completed' && s.status !== 'Cancelled');
    for (const s of cancelled) {
      s.status = 'Cancelled';
      s.last_update_at = this.#iso();
    }
    const ok = results.every((r) => r.is_success);
    const some = results.some((r) => r.is_success);
    if (ok) order.status = 'Cancelled';
    json(ctx, 200, {
      order_id: order.id,
      order: structuredClone(order),
      status: ok ? 'Success' : some ? 'PartialSuccess' : 'Failure',
      canceled_shipment_results: results,
    });
    for (const s of cancelled) await this.#publish('order.shipment.cancelled', s);
  }

  // --- catalogue, locations, channels -----------------------------------------------------

  #listChannels(ctx: Context): void {
    json(ctx, 200, { items: this.state.channels, next: null, prev: null });
  }

  #listProducts(ctx: Context): void {
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
    const matching = this.state.products.filter(
      (p) =>
        (sku === null || p.reference_id === sku) &&
        (sellerSku === null || p.reference_id === sellerSku) &&
        (!productIds || productIds.includes(String(p.productId))) &&
        (search === undefined ||
          [p.name, p.reference_id, String(p.productId), String(p.inventoryId)].some((v) => v.toLowerCase().includes(search))),
    );
    const channel = this.state.channels[0] as ChannelView;
    const items = matching.slice(start, start + size).map((p) => productView(p, channel));
    const link = (offset: number) => {
      const params = new URLSearchParams(ctx.querystring);
      for (const k of [...params.keys()]) if (k.toLowerCase() === 'cursor') params.delete(k);
      params.set('Cursor', encodeCursor(String(offset)));
      return `/${this.apiVersion}/product?${params.toString()}`;
    };
    json(ctx, 200, {
      items,
      first: link(0),
      last: link(Math.max(0, Math.floor((matching.length - 1) / size) * size)),
      next: start + size < matching.length ? link(start + size) : null,
      prev: start > 0 ? link(Math.max(0, start - size)) : null,
    });
  }

  #listLocations(ctx: Context): void {
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
      this.state.locations.filter(
        (l) =>
          (includeInactive === true || l.is_active) &&
          (receiving === null || l.is_receiving_enabled === receiving) &&
          (granted === null || l.access_granted === granted),
      ),
    );
  }

  // --- webhook subscriptions ----------------------------------------------------------------

  #createSubscription(ctx: Context, raw: string): void {
    const body = parseJsonBody(ctx, raw, (errors) => objectResult(ctx, 422, errors));
    if (body === undefined) return;
    const checked = validateCreateSubscription(body, topicsFor(this.apiVersion));
    if (!checked.ok) {
      // The spec's 422 for POST /webhook is a serialized ASP.NET ObjectResult.
      objectResult(ctx, 422, checked.errors);
      return;
    }
    const refusal = this.#options.checkWebhookUrl?.(checked.value.url) ?? null;
    if (refusal !== null) {
      objectResult(ctx, 422, { url: [refusal] });
      return;
    }
    const sub = this.subscribe(checked.value.url, checked.value.topics, {
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

  #listSubscriptions(ctx: Context): void {
    const q = query(ctx);
    const errors: FieldErrors = {};
    const size = intParam(q.get('recordsperpage'), 'RecordsPerPage', 1, 250, 50, errors);
    if (Object.keys(errors).length > 0) {
      objectResult(ctx, 400, errors);
      return;
    }
    const all = [...this.state.subscriptions.values()];
    const start = Number.parseInt(decodeCursor(q.get('cursor')) ?? '0', 10) || 0;
    const page = all.slice(start, start + size);
    const link = (offset: number) => `/${this.apiVersion}/webhook?RecordsPerPage=${size}&Cursor=${encodeCursor(String(offset))}`;
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

  #deleteSubscription(ctx: Context, id: string): void {
    if (!this.state.subscriptions.delete(id)) {
      empty(ctx, 404);
      return;
    }
    // The spec says 204; ShipBob answered 200 to the node SDK's tests.
    empty(ctx, 200);
  }

  // --- simulations (sandbox-only endpoints of ShipBob's 2026-01 developer portal) -------------

  #simulate(ctx: Context, raw: string): void {
    const body = parseJsonBody(ctx, raw);
    if (body === undefined) return;
    const checked = validateSimulation(body);
    if (!checked.ok) {
      json(ctx, 400, checked.errors);
      return;
    }
    const shipmentId = Number(checked.value.shipment_id);
    const order = [...this.state.orders.values()].find((o) => o.shipments.some((s) => s.id === shipmentId));
    if (!order) {
      json(ctx, 404, { shipment_id: [`Shipment ${checked.value.shipment_id} was not found.`] });
      return;
    }
    const n = this.#next.simulation++;
    const simulationId = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    const toStatus = (step: SimulationStep | null): SimulationStatus | null =>
      step ? { action: step.action, status: 'Scheduled', message: null, schedule_time: null, next: toStatus(step.next) } : null;
    const record: SimulationRecord = {
      simulation_id: simulationId,
      entity_id: checked.value.shipment_id,
      entity_type: 'Order',
      simulation: toStatus(checked.value.simulation) as SimulationStatus,
    };
    this.state.simulations.set(simulationId, record);
    this.#runSimulation(order.id, checked.value.simulation, record.simulation);
    json(ctx, 200, { simulation_id: simulationId, message: 'Simulation request submitted successfully.' });
  }

  #runSimulation(orderId: number, step: SimulationStep, status: SimulationStatus): void {
    const minute = this.#options.simulationMinuteMs ?? 60_000;
    const delay = (step.delay ?? 0) * minute;
    status.schedule_time = new Date(this.#now() + delay).toISOString();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      status.status = 'Running';
      const run = step.action === 'ShipOrder' ? this.ship(orderId) : this.deliver(orderId);
      run.then(
        () => {
          status.status = 'Completed';
          if (step.next && status.next) this.#runSimulation(orderId, step.next, status.next);
        },
        (err: unknown) => {
          status.status = 'Failed';
          status.message = err instanceof Error ? err.message : String(err);
          for (let s = status.next; s; s = s.next) s.status = 'Cancelled';
        },
      );
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  // --- sandbox control (not ShipBob endpoints) --------------------------------------------

  async #control(ctx: Context, sub: string, raw: string): Promise<void> {
    if (sub === '/_sandbox/webhook-attempts' && ctx.method === 'GET') {
      json(ctx, 200, this.webhookAttempts());
      return;
    }
    if (sub === '/_sandbox/events' && ctx.method === 'POST') {
      const body = parseJsonBody(ctx, raw);
      if (body === undefined) return;
      if (!isObject(body) || typeof body.topic !== 'string' || !isKnownTopic(body.topic)) {
        json(ctx, 400, { topic: ['A known webhook topic is required.'] });
        return;
      }
      const message = await this.#publish(body.topic, body.payload ?? {});
      json(ctx, 202, { id: message.id, topic: message.topic, subscription_ids: message.subscriptionIds });
      return;
    }
    empty(ctx, 404);
  }

  // --- helpers -------------------------------------------------------------------------------

  async #publish(topic: string, payload: unknown): Promise<WebhookMessage> {
    const subscriptionIds = [...this.state.subscriptions.values()]
      .filter((s) => s.enabled && s.topics.includes(topic))
      .map((s) => s.id);
    const message: WebhookMessage = {
      id: `msg_sb${String(this.#next.message++).padStart(8, '0')}`,
      topic,
      body: JSON.stringify(payload),
      subscriptionIds,
    };
    this.state.messages.push(message);
    await this.#dispatcher.dispatch(message);
    return message;
  }

  #order(orderId: number): OrderView {
    const order = this.state.orders.get(orderId);
    if (!order) throw new ShipBobSandboxError(`order ${orderId} not found`, 404);
    return order;
  }

  #findOrder(ctx: Context, rawId: string): OrderView | null {
    const channel = this.#readChannel(ctx);
    if (channel === undefined) return null;
    const id = parseId(ctx, rawId, 'orderId');
    if (id === null) return null;
    const order = this.state.orders.get(id);
    if (!order || (channel !== null && order.channel.id !== channel)) {
      empty(ctx, 404);
      return null;
    }
    return order;
  }

  /**
   * `shipbob_channel_id` where the spec requires it (creating an order): missing or not an int32 →
   * 400 ModelState; a channel that is not the token's write channel → 403 ("No access").
   */
  #writeChannel(ctx: Context): boolean {
    const raw = ctx.get('shipbob_channel_id');
    if (raw === '') {
      json(ctx, 400, { shipbob_channel_id: ['The shipbob_channel_id field is required.'] });
      return false;
    }
    if (!/^\d{1,10}$/.test(raw.trim()) || Number(raw) > 2_147_483_647) {
      json(ctx, 400, { shipbob_channel_id: [`The value '${raw}' is not valid.`] });
      return false;
    }
    const channel = this.state.channels.find((c) => c.id === Number(raw));
    if (!channel || !channel.scopes.includes('orders_write')) {
      empty(ctx, 403);
      return false;
    }
    return true;
  }

  /** The optional channel filter of reads: null when absent, undefined when an error was sent. */
  #readChannel(ctx: Context): number | null | undefined {
    const raw = ctx.get('shipbob_channel_id');
    if (raw === '') return null;
    if (!/^\d{1,10}$/.test(raw.trim()) || Number(raw) > 2_147_483_647) {
      json(ctx, 400, { shipbob_channel_id: [`The value '${raw}' is not valid.`] });
      return undefined;
    }
    return Number(raw);
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}

export function createShipBobSandbox(options: ShipBobSandboxOptions): ShipBobSandbox {
  return new ShipBobSandbox(options);
}

// ---------------------------------------------------------------------------------------------

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function json(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

function empty(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.body = '';
}

/** ShipBob's webhook endpoints answer errors as a serialized ASP.NET ObjectResult (per the spec). */
function objectResult(ctx: Context, status: number, errors: FieldErrors): void {
  json(ctx, status, {
    $type: status === 422 ? 'UnprocessableEntityObjectResult' : 'BadRequestObjectResult',
    content_types: [],
    declared_type: null,
    formatters: [],
    status_code: status,
    value: errors,
  });
}

/**
 * The JSON body of a write: 415 without a JSON content type (as ASP.NET answers), 400 ModelState for
 * a body that does not parse. Returns undefined when an answer was sent.
 */
function parseJsonBody(ctx: Context, raw: string, onInvalid?: (errors: FieldErrors) => void): unknown {
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(ctx.get('content-type'))) {
    ctx.status = 415;
    ctx.type = 'application/problem+json; charset=utf-8';
    ctx.body = JSON.stringify({
      type: 'https://tools.ietf.org/html/rfc9110#section-15.5.16',
      title: 'Unsupported Media Type',
      status: 415,
    });
    return undefined;
  }
  try {
    if (raw.trim() === '') throw new Error('A non-empty request body is required.');
    return JSON.parse(raw) as unknown;
  } catch (err) {
    const errors = { '': [err instanceof SyntaxError ? `The request body is not valid JSON: ${err.message}` : String((err as Error).message)] };
    if (onInvalid) onInvalid(errors);
    else json(ctx, 400, errors);
    return undefined;
  }
}

/** Query parameters with lower-cased names (ASP.NET binds them case-insensitively). */
function query(ctx: Context): { get(name: string): string | null } {
  const params = new URLSearchParams(ctx.querystring);
  const map = new Map<string, string>();
  for (const [k, v] of params) if (!map.has(k.toLowerCase())) map.set(k.toLowerCase(), v);
  return { get: (name) => map.get(name) ?? null };
}

function listParam(value: string | null): string[] | null {
  if (value === null || value.trim() === '') return null;
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

function intParam(value: string | null, name: string, min: number, max: number, fallback: number, errors: FieldErrors): number {
  if (value === null || value === '') return fallback;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n)) {
    errors[name] = [`The value '${value}' is not valid for ${name}.`];
    return fallback;
  }
  if (n < min || n > max) {
    errors[name] = [`The field ${name} must be between ${min} and ${max}.`];
    return fallback;
  }
  return n;
}

function boolParam(value: string | null, name: string, errors: FieldErrors): boolean | null {
  if (value === null || value === '') return null;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  errors[name] = [`The value '${value}' is not valid for ${name}.`];
  return null;
}

function dateParam(value: string | null, name: string, errors: FieldErrors): number | null {
  if (value === null || value === '') return null;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    errors[name] = [`The value '${value}' is not valid for ${name}.`];
    return null;
  }
  return t;
}

function parseId(ctx: Context, raw: string, name: string): number | null {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647) {
    json(ctx, 400, { [name]: [`The value '${raw}' is not valid.`] });
    return null;
  }
  return Number(raw);
}

function encodeCursor(value: string): string {
  return Buffer.from(JSON.stringify({ offset: value })).toString('base64url');
}

function decodeCursor(value: string | null): string | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    return isObject(parsed) && typeof parsed.offset === 'string' ? parsed.offset : null;
  } catch {
    return null;
  }
}

function safeUrl(sub: WebhookSubscription): string {
  try {
    return subscriptionUrl(sub);
  } catch {
    return '';
  }
}

function trackingUrl(carrier: string, number: string): string {
  switch (carrier.toUpperCase()) {
    case 'USPS':
      return `https://tools.usps.com/go/TrackConfirmAction?tLabels=${number}`;
    case 'UPS':
      return `https://www.ups.com/track?tracknum=${number}`;
    case 'FEDEX':
      return `https://www.fedex.com/fedextrack/?trknbr=${number}`;
    default:
      return `https://sandbox.shipbob.invalid/tracking/${encodeURIComponent(number)}`;
  }
}

/** The body as text, or null after answering 413 in this peer's own error shape. */
async function readBody(ctx: Context): Promise<string | null> {
  try {
    return (await readRawBody(ctx.req, MAX_BODY)).toString('utf8');
  } catch (err) {
    if (!isGatewayError(err) || err.code !== 'PAYLOAD_TOO_LARGE') throw err;
      json(ctx, 413, { '': ['The request body is too large.'] });
    return null;
  }
}

