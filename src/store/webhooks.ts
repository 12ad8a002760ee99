import type { Knex } from 'knex';
import { parseStoredPayload, type StoredEvent } from '../domain/event.ts';
import { billingFields, SHIPBOB_BILLING_TOPICS, webhookIdHash, type BillingFields } from '../domain/shipbob-webhook.ts';
import { toStoredEvent, type EventRow } from './rows/mapping.ts';

/** One billing webhook as stored, with the fields reconciliation needs read from its payload. */
export interface BillingEvent extends BillingFields {
  eventId: string;
  /** billing.charge.created, billing.refund.created or billing.credit.created. */
  topic: string;
  status: string;
  duplicateOf: string | null;
  receivedAt: number;
  /** The body exactly as ShipBob sent it. */
  raw: string | null;
}

export interface BillingFilter {
  /** Received at or after (epoch ms). */
  from?: number;
  /** Received before (epoch ms). */
  to?: number;
  /** Some of the billing topics only. */
  topics?: readonly string[];
  /** Replays of a webhook-id are left out unless asked for. */
  includeDuplicates?: boolean;
  /** Page after this event id (ids sort by arrival). */
  afterId?: string;
  limit?: number;
}

/**
 * The largest page of billing records the admin API serves. The store reads up to one row more, the
 * row that tells the API whether there is a next page.
 */
export const MAX_BILLING_PAGE = 1000;

/**
 * ShipBob webhook events. Billing webhooks are kept as ordinary events (source shipbob, event code =
 * topic, raw body kept); their amount, currency and reference are read from the stored payload when
 * listed, so the list always agrees with what was received, and a change to the reading rules
 * (ShipBob has not published billing payloads) applies to everything already stored.
 */
export class ShipBobWebhookRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async listBilling(filter: BillingFilter = {}): Promise<BillingEvent[]> {
    const topics = (filter.topics ?? SHIPBOB_BILLING_TOPICS).filter((t) => (SHIPBOB_BILLING_TOPICS as readonly string[]).includes(t));
    if (topics.length === 0) return [];
    const q = this.#knex<EventRow>('events')
      .where('source', 'shipbob')
      .whereIn('event_code', topics)
      .orderBy('id', 'asc')
      .limit(Math.min(Math.max(filter.limit ?? 100, 1), MAX_BILLING_PAGE + 1));
    if (!filter.includeDuplicates) q.whereNot('status', 'duplicate');
    if (filter.from !== undefined) q.where('received_at', '>=', filter.from);
    if (filter.to !== undefined) q.where('received_at', '<', filter.to);
    if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
    const rows = (await q.select('id', 'event_code', 'status', 'duplicate_of', 'received_at', 'payload', 'raw')) as Array<
      Pick<EventRow, 'id' | 'event_code' | 'status' | 'duplicate_of' | 'received_at' | 'payload' | 'raw'>
    >;
    return rows.map((row) => ({
      eventId: row.id,
      topic: row.event_code,
      status: row.status,
      duplicateOf: row.duplicate_of,
      receivedAt: Number(row.received_at),
      ...billingFields(parseStoredPayload(row.payload)),
      raw: row.raw,
    }));
  }

  /** The events stored for one webhook-id: the first, then any replays recorded as duplicates. */
  async findByWebhookId(webhookId: string): Promise<StoredEvent[]> {
    const rows = (await this.#knex<EventRow>('events')
      .where({ source: 'shipbob', content_hash: webhookIdHash(webhookId) })
      .orderBy('id', 'asc')
      .select()) as EventRow[];
    return rows.map(toStoredEvent);
  }
}
