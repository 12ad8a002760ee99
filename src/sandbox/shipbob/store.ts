import { channelsFor, DEFAULT_LOCATIONS, FIRST_IDS, seedProducts, type ProductSeed } from './catalogue.ts';
import { ShipBobSandboxError } from './errors.ts';
import type { CatalogueProduct, ChannelView, LocationView, OrderView, ShipmentView } from './types.ts';
import type { SimulationStep } from './validate.ts';
import { WebhookDispatcher, type WebhookMessage, type WebhookSubscription } from './webhooks.ts';

export interface SimulationRecord {
  simulation_id: string;
  entity_id: string;
  entity_type: 'Order';
  simulation: SimulationStatus;
}

export interface SimulationStatus {
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

export interface ShipBobStoreOptions {
  channelId: number;
  apiVersion: string;
  now: () => number;
  products: readonly ProductSeed[];
  /** Signs the webhooks of subscriptions made without a secret of their own. */
  webhookSecret: string;
  webhookRetrySchedule: readonly number[];
  webhookTimeoutMs: number;
  showWebhookResponse?: (url: string) => boolean;
}

/**
 * What the emulated ShipBob holds, shared by every resource: its state, the id counters (ids are
 * counted, so a run is repeatable), its clock, and the sender of its webhooks.
 */
export class ShipBobStore {
  readonly state: ShipBobSandboxState;
  readonly channelId: number;
  readonly apiVersion: string;
  readonly now: () => number;
  readonly webhookSecret: string;
  readonly webhooks: WebhookDispatcher;
  readonly #next = { order: FIRST_IDS.order, shipment: FIRST_IDS.shipment, product: 0, subscription: 1, message: 1, simulation: 1, tracking: 1 };

  constructor(options: ShipBobStoreOptions) {
    this.channelId = options.channelId;
    this.apiVersion = options.apiVersion;
    this.now = options.now;
    this.webhookSecret = options.webhookSecret;
    const products = seedProducts(options.products, this.iso());
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
    this.webhooks = new WebhookDispatcher({
      now: options.now,
      schedule: options.webhookRetrySchedule,
      timeoutMs: options.webhookTimeoutMs,
      subscription: (id) => this.state.subscriptions.get(id),
      ...(options.showWebhookResponse ? { showResponse: options.showWebhookResponse } : {}),
    });
  }

  /** The next id of a kind (orders and shipments start at ShipBob-like numbers, the rest at 1). */
  nextId(kind: 'order' | 'shipment' | 'subscription' | 'message' | 'simulation' | 'tracking'): number {
    return this.#next[kind]++;
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** The stored order itself (not a copy); a ShipBobSandboxError 404 when there is none. */
  order(orderId: number): OrderView {
    const order = this.state.orders.get(orderId);
    if (!order) throw new ShipBobSandboxError(`order ${orderId} not found`, 404);
    return order;
  }

  /** The stored shipment and its order (not copies); a ShipBobSandboxError 404 when there is none. */
  shipment(shipmentId: number): { order: OrderView; shipment: ShipmentView } {
    const found = this.findShipment(shipmentId);
    if (!found) throw new ShipBobSandboxError(`shipment ${shipmentId} not found`, 404);
    return found;
  }

  findShipment(shipmentId: number): { order: OrderView; shipment: ShipmentView } | null {
    for (const order of this.state.orders.values()) {
      const shipment = order.shipments.find((s) => s.id === shipmentId);
      if (shipment) return { order, shipment };
    }
    return null;
  }

  addProduct(referenceId: string, name: string, gtin: string | null, upc: string | null): CatalogueProduct {
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
      createdOn: this.iso(),
    };
    this.state.products.push(product);
    return product;
  }

  /** Sends `topic` with `payload` to every enabled subscription of the topic; resolves once each first attempt is made. */
  async publish(topic: string, payload: unknown): Promise<WebhookMessage> {
    const subscriptionIds = [...this.state.subscriptions.values()]
      .filter((s) => s.enabled && s.topics.includes(topic))
      .map((s) => s.id);
    const message: WebhookMessage = {
      id: `msg_sb${String(this.nextId('message')).padStart(8, '0')}`,
      topic,
      body: JSON.stringify(payload),
      subscriptionIds,
    };
    this.state.messages.push(message);
    await this.webhooks.dispatch(message);
    return message;
  }
}
