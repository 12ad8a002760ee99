import type { DeliveryState } from '../../src/domain/delivery.ts';
import type { ShipBobOrderRecord } from '../../src/domain/shipbob-change.ts';
import { createIdGenerator } from '../../src/domain/ids.ts';
import type { Knex } from 'knex';

/**
 * Writes events, deliveries and attempts straight into the tables (TestDatabase.tables()), for tests
 * of the operator surface that need deliveries in every state without running pushes and a worker. Ids are ULIDs from the
 * given clock, so they sort in the order the rows are seeded.
 */
export interface SeedDelivery {
  connector: string;
  state: DeliveryState;
  orderKey?: string | null;
  eventCode?: string;
  lastError?: string | null;
  parkedReason?: string | null;
  holdReason?: string | null;
  attempts?: number;
  /** The event to attach to (default: a new event per delivery). */
  eventId?: string;
  createdAt?: number;
  /** Async connectors (migrations 014, 016): the correlation id (on the delivery and among the ids it was sent with) and, awaiting a response, its deadline. */
  correlationId?: string;
  responseDueAt?: number;
}

export class Seeder {
  readonly #tables: Knex;
  now: number;
  readonly #newId: () => string;

  constructor(tables: Knex, start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.#tables = tables;
    this.now = start;
    this.#newId = createIdGenerator(() => this.now);
  }

  newId(): string {
    return this.#newId();
  }

  /** Moves the seeding clock on (ids and created_at follow it). */
  tick(ms = 1000): void {
    this.now += ms;
  }

  async event(opts: { eventCode?: string; orderKey?: string | null; payload?: unknown; withPush?: boolean; source?: string } = {}): Promise<string> {
    const id = this.newId();
    let pushId: string | null = null;
    if (opts.withPush) {
      pushId = this.newId();
      await this.#tables('pushes').insert({
        id: pushId,
        received_at: this.now,
        path: '/soap/business-events',
        connector_scope: null,
        soap_version: '1.1',
        content_type: 'text/xml',
        headers: JSON.stringify({ 'content-type': 'text/xml' }),
        raw: '<Envelope><Header><Password>***</Password></Header><Body>push</Body></Envelope>',
        raw_size: 80,
        event_count: 1,
        auth_method: 'ws-security',
        auth_user: 'om-connector',
        remote_addr: '127.0.0.1',
        request_id: 'req-1',
      });
    }
    await this.#tables('events').insert({
      id,
      push_id: pushId,
      source: opts.source ?? 'oracle-om',
      event_code: opts.eventCode ?? 'HOLD',
      order_key: opts.orderKey === undefined ? 'LEG:SO-1' : opts.orderKey,
      source_system: 'LEG',
      received_at: this.now,
      status: 'routed',
      duplicate_of: null,
      content_hash: id,
      connector_scope: null,
      position: 0,
      payload: JSON.stringify(opts.payload ?? { SourceOrderNumber: 'SO-1' }),
      raw: null,
    });
    return id;
  }

  async delivery(d: SeedDelivery): Promise<string> {
    const eventCode = d.eventCode ?? 'HOLD';
    const orderKey = d.orderKey === undefined ? 'LEG:SO-1' : d.orderKey;
    const eventId = d.eventId ?? (await this.event({ eventCode, orderKey }));
    const id = this.newId();
    const created = d.createdAt ?? this.now;
    const attempts = d.attempts ?? (['parked', 'retrying', 'delivered'].includes(d.state) ? 2 : 0);
    await this.#tables('deliveries').insert({
      id,
      event_id: eventId,
      connector: d.connector,
      trigger_point: 'all',
      order_key: orderKey,
      event_code: eventCode,
      state: d.state,
      attempt_count: attempts,
      attempts_in_cycle: attempts,
      next_attempt_at: created,
      lease_owner: d.state === 'in_flight' ? 'other-instance' : null,
      lease_expires_at: d.state === 'in_flight' ? created + 60_000 : null,
      idempotency_key: null,
      last_error: d.lastError === undefined ? (d.state === 'parked' || d.state === 'retrying' ? 'HTTP 503' : null) : d.lastError,
      parked_reason: d.parkedReason === undefined ? (d.state === 'parked' ? 'attempts_exhausted' : null) : d.parkedReason,
      hold_reason: d.holdReason === undefined ? (d.state === 'on_hold' ? 'offline' : null) : d.holdReason,
      created_at: created,
      updated_at: created,
      delivered_at: d.state === 'delivered' ? created : null,
      ...(d.correlationId !== undefined ? { correlation_id: d.correlationId } : {}),
      ...(d.responseDueAt !== undefined ? { response_due_at: d.responseDueAt } : {}),
    });
    // As the gateway keeps it: among the ids the delivery was sent with (migration 016).
    if (d.correlationId !== undefined) {
      await this.#tables('delivery_correlations').insert({ connector: d.connector, correlation_id: d.correlationId, delivery_id: id, created_at: created });
    }
    for (let n = 1; n <= attempts; n++) {
      await this.#tables('attempts').insert({
        id: this.newId(),
        delivery_id: id,
        number: n,
        started_at: created,
        duration_ms: 5,
        request_summary: JSON.stringify({ method: 'POST', url: 'http://target/x', headers: { Authorization: '***' }, bodyBytes: 10 }),
        response_status: d.state === 'delivered' && n === attempts ? 200 : 503,
        response_headers: JSON.stringify({ 'content-type': 'application/json' }),
        response_snippet: 'down',
        error_class: d.state === 'delivered' && n === attempts ? null : 'http',
        error_message: d.state === 'delivered' && n === attempts ? null : 'HTTP 503',
        outcome: d.state === 'delivered' && n === attempts ? 'delivered' : n === attempts && d.state === 'parked' ? 'parked' : 'retry',
      });
    }
    return id;
  }
}

/** What the ShipBob connector keeps of an order it made: line 3001 of LEG:SO-1, one T-shirt, no shipment yet. */
export function shipbobOrderRecord(at: number, overrides: Partial<ShipBobOrderRecord> = {}): ShipBobOrderRecord {
  return {
    connector: 'shipbob',
    referenceId: 'LEG:SO-1:3001',
    orderKey: 'LEG:SO-1',
    lineKey: 'fulfillment-line:3001',
    shipbobOrderId: '100000001',
    shipmentId: null,
    quantities: { TShirtBlueM: 1 },
    addressHash: 'a'.repeat(64),
    cancelled: false,
    cancelRequestedAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}
