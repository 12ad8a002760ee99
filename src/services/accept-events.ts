import type { GatewayConfig } from '../config/load.ts';
import { GatewayError } from '../domain/errors.ts';
import type { EventSource, EventStatus, XmlRecord } from '../domain/event.ts';
import { route } from '../routing/trigger-points.ts';
import type { IngestEvent, IngestItem, IngestOutcome, Store } from '../store/index.ts';

/**
 * Accepting events: what the three inbound paths (OM's SOAP pushes, ShipBob's webhooks, the
 * purchase-order poll) share once each has turned its input into events. Here, and nowhere else:
 *
 * - routing: each event gets one delivery per connector its trigger points name (limited to the
 *   push's connector on /soap/business-events/{connector}), with the event's order key;
 * - dedupe: an event whose (dedupe scope, content hash) was seen within its source's dedupe window is
 *   stored as a duplicate and gets no delivery (decided by the store in the same transaction);
 * - storing: events, deliveries, audit records (and a push's envelope and nonce) in one transaction
 *   through the store's ingest writer, returning only after the commit, so the caller answers then;
 * - errors: a store failure is STORE_UNAVAILABLE (the sender sends again), a WS-Security nonce used
 *   before is AUTH_FAILED; each edge translates them (SOAP Fault, HTTP status, poll run record);
 * - waking the delivery worker when the commit created deliveries.
 *
 * What an event is (identity, order key, stored payload, what makes two of them the same) and what the
 * sender is answered stay with each inbound path.
 */

/** One event as its inbound path read it, before routing. */
export interface EventToAccept {
  eventCode: string;
  orderKey: string | null;
  /** The system that raised it, when the event says (OM's SourceOrderSystem). */
  sourceSystem: string | null;
  /** Its place in the request: the OrderHeader's in a push, the purchase order's in a page. */
  position: number;
  /** The parsed event the trigger points' conditions read; not kept once the event is routed. */
  fields: XmlRecord;
  /** The payload as stored (and transformed at delivery time). */
  payload: string;
  /** The event's own bytes, when they are kept beside the payload (a webhook's body). */
  raw: string | null;
  /** Two events with the same scope and hash within the source's dedupe window are one event. */
  dedupeScope: string;
  contentHash: string;
}

/** Where a batch of events came from, fixed when it starts. */
export interface AcceptScope {
  source: EventSource;
  /** When the gateway received the request, by its clock: the events' time and their dedupe window's end. */
  receivedAt: number;
  /** Route to this connector only (a push on /soap/business-events/{connector}). */
  connectorScope?: string | null;
}

/** A SOAP push's envelope, stored beside its events. */
export type PushEnvelope = Omit<NonNullable<IngestItem['push']>, 'id' | 'receivedAt' | 'connectorScope' | 'requestId'>;

/** What is stored with the events besides them. */
export interface AcceptTail {
  requestId: string | null;
  /** SOAP only: the push itself (its redacted envelope, headers, authentication). */
  push?: PushEnvelope;
  /** SOAP only: a WS-Security nonce; one used before (and not expired) refuses the whole request. */
  nonce?: { key: string; expiresAt: number } | null;
}

/** Everything one request wants accepted, when its events are all at hand. */
export interface AcceptInput extends AcceptScope, AcceptTail {
  events: readonly EventToAccept[];
}

/** One stored event: routed (with deliveries), unrouted (no trigger point matched) or a duplicate. */
export interface AcceptedEvent {
  id: string;
  eventCode: string;
  status: EventStatus;
  /** The event this one repeats, when it is a duplicate. */
  duplicateOf: string | null;
  /** Deliveries created (none for a duplicate). */
  deliveries: number;
}

export interface AcceptOutcome {
  /** The id of the stored push, for a SOAP push. */
  pushId: string | null;
  /** In the order they were added. */
  events: AcceptedEvent[];
}

export interface AcceptEventsDeps {
  store: Store;
  /** Read at the start of each batch, so a reload applies from the next request on. */
  config: () => GatewayConfig;
  newId: () => string;
  /** Wakes the delivery worker (a CLI process has none). */
  notify: () => void;
}

export class AcceptEvents {
  readonly #deps: AcceptEventsDeps;

  constructor(deps: AcceptEventsDeps) {
    this.#deps = deps;
  }

  /** Routes and stores the events of one request; returns after the commit. */
  async accept(input: AcceptInput): Promise<AcceptOutcome> {
    const batch = this.begin(input);
    for (const event of input.events) batch.add(event);
    return batch.submit(input);
  }

  /**
   * A batch to add events to as they are read, each routed as it comes, so a large push keeps only
   * the events and never all its parsed trees; `submit` stores them.
   */
  begin(scope: AcceptScope): EventBatch {
    const config = this.#deps.config();
    return new EventBatch(this.#deps, scope, config.triggerPoints, scope.receivedAt - dedupeWindow(config, scope.source));
  }
}

export class EventBatch {
  readonly #deps: AcceptEventsDeps;
  readonly #scope: AcceptScope;
  readonly #triggerPoints: GatewayConfig['triggerPoints'];
  readonly #dedupeSince: number;
  readonly #events: IngestEvent[] = [];
  #submitted = false;

  constructor(deps: AcceptEventsDeps, scope: AcceptScope, triggerPoints: GatewayConfig['triggerPoints'], dedupeSince: number) {
    this.#deps = deps;
    this.#scope = scope;
    this.#triggerPoints = triggerPoints;
    this.#dedupeSince = dedupeSince;
  }

  /** Events added so far. */
  get size(): number {
    return this.#events.length;
  }

  add(event: EventToAccept): void {
    const { source } = this.#scope;
    const connectorScope = this.#scope.connectorScope ?? null;
    const routes = route({ source, eventCode: event.eventCode, payload: event.fields }, this.#triggerPoints, connectorScope);
    this.#events.push({
      id: this.#deps.newId(),
      source,
      eventCode: event.eventCode,
      orderKey: event.orderKey,
      sourceSystem: event.sourceSystem,
      connectorScope,
      position: event.position,
      payload: event.payload,
      raw: event.raw,
      contentHash: event.contentHash,
      dedupeScope: event.dedupeScope,
      dedupeSince: this.#dedupeSince,
      deliveries: routes.map((r) => ({
        id: this.#deps.newId(),
        connector: r.connector,
        triggerPoint: r.triggerPoint,
        orderKey: event.orderKey,
        // None stored: the runtime renders the connector's idempotencyKey template at delivery time.
        idempotencyKey: null,
      })),
    });
  }

  /**
   * Stores the batch in one transaction (the ingest writer splits a very large one into consecutive
   * parts) and returns after the commit. Throws STORE_UNAVAILABLE when the store fails (nothing of
   * the request is acknowledged, so its sender sends it again), AUTH_FAILED when the nonce was used
   * before.
   */
  async submit(tail: AcceptTail): Promise<AcceptOutcome> {
    if (this.#submitted) throw new Error('this batch of events was submitted already');
    this.#submitted = true;
    const { source, receivedAt } = this.#scope;
    const push = tail.push
      ? { ...tail.push, id: this.#deps.newId(), receivedAt, connectorScope: this.#scope.connectorScope ?? null, requestId: tail.requestId }
      : null;
    const item: IngestItem = { push, receivedAt, nonce: tail.nonce ?? null, events: this.#events, requestId: tail.requestId };
    let outcome: IngestOutcome;
    try {
      outcome = await this.#deps.store.ingest.submit(item);
    } catch (err) {
      throw new GatewayError('STORE_UNAVAILABLE', NOT_STORED[source], { cause: err });
    }
    if (!outcome.accepted) {
      // Only an item with a nonce can be refused.
      if (item.nonce === null) throw new GatewayError('INTERNAL', 'the events were not accepted by the store');
      throw new GatewayError('AUTH_FAILED', 'authentication failed: the nonce was used before');
    }
    if (outcome.events.some((e) => e.deliveries > 0)) this.#deps.notify();
    return { pushId: push?.id ?? null, events: outcome.events };
  }
}

/** What a store failure tells each source's sender: it is sent (or read) again later. */
const NOT_STORED: Record<EventSource, string> = {
  'oracle-om': 'the push could not be stored; send it again later',
  shipbob: 'the webhook could not be stored; send it again later',
  'fusion-po': 'the purchase orders could not be stored; the next poll reads them again',
  callback: 'the callback could not be stored; send it again later',
};

/** How long an event of each source is remembered for dedupe (gateway.yaml). */
function dedupeWindow(config: GatewayConfig, source: EventSource): number {
  const g = config.gateway;
  switch (source) {
    case 'oracle-om':
      return g.inbound.soap.dedupeWindow;
    case 'shipbob':
      // Webhooks reach here only while inbound.webhooks.shipbob is configured.
      return g.inbound.webhooks.shipbob?.dedupeWindow ?? 0;
    case 'fusion-po':
      return g.schedules.poller.dedupeWindow;
    case 'callback':
      // Callbacks are stored by services/callbacks.ts, which tells a repeated one by its delivery.
      return 0;
  }
}
