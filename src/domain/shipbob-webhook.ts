import { createHash } from 'node:crypto';
import type { XmlRecord, XmlValue } from './event.ts';

/**
 * ShipBob webhooks as events: topics, the order key, the dedupe key and the billing fields.
 * Pure rules, no I/O. Facts are from shared/specs/shipbob/NOTES.md §8 (topics, headers, payloads).
 */

/** Billing topics (2026-01+), stored for reconciliation and listed by the store's billing query. */
export const SHIPBOB_BILLING_TOPICS = ['billing.charge.created', 'billing.refund.created', 'billing.credit.created'] as const;

/**
 * Topics ShipBob documents for the dated API versions (2025-07, 2026-01, 2026-07), the Logistics
 * topic, and the legacy 1.0/2.0 names. Any other topic is still stored and acknowledged; it is only
 * logged as unknown.
 */
export const SHIPBOB_TOPICS: readonly string[] = [
  'order.shipped',
  'order.delivered',
  'order.shipment.delivered',
  'order.shipment.exception',
  'order.shipment.on_hold',
  'order.shipment.cancelled',
  'order.shipment.tracking.updated',
  'order.shipment.tracking_received',
  'order.shipment.address.updated',
  'order.shipment.line_item.added',
  'order.shipment.line_item.removed',
  'order.shipment.line_item.updated',
  'order.shipment.shipping_service.updated',
  'return.created',
  'return.updated',
  'return.completed',
  ...SHIPBOB_BILLING_TOPICS,
  'order_shipped',
  'shipment_delivered',
  'shipment_exception',
  'shipment_onhold',
  'shipment_cancelled',
];

/** The event code of a webhook whose topic is missing or not a plain dotted name. */
const UNKNOWN_TOPIC = 'unknown';

/** Webhook ids are the dedupe key: one scope for every ShipBob webhook, whatever the topic. */
export const SHIPBOB_DEDUPE_SCOPE = 'shipbob-webhook';

/** A topic is a dotted name such as order.shipment.on_hold (events.event_code holds 100 characters). */
const TOPIC = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$/;

function isShipBobTopic(text: string): boolean {
  return TOPIC.test(text);
}

export function isKnownShipBobTopic(topic: string): boolean {
  return SHIPBOB_TOPICS.includes(topic);
}

/**
 * The topic of a webhook: the `x-webhook-topic` header, which is where ShipBob puts it. ShipBob's
 * dated payloads carry no topic (NOTES §8.3), so the body is read only when the header is missing:
 * a `topic` field, or `type` as in the Standard Webhooks payload envelope. Neither → "unknown".
 */
export function shipbobTopic(header: string | undefined, payload: XmlRecord): string {
  const fromHeader = header?.trim();
  if (fromHeader) return isShipBobTopic(fromHeader) ? fromHeader : UNKNOWN_TOPIC;
  for (const name of ['topic', 'type']) {
    const v = payload[name];
    if (typeof v === 'string' && isShipBobTopic(v.trim())) return v.trim();
  }
  return UNKNOWN_TOPIC;
}

/** The dedupe hash of a webhook: sha256 of its `webhook-id` (the same on every retry of a message). */
export function webhookIdHash(webhookId: string): string {
  return createHash('sha256').update(webhookId, 'utf8').digest('hex');
}

const ORDER_ID = /^[0-9A-Za-z_-]{1,64}$/;
const MAX_ORDER_KEY = 300;

/**
 * The order key of a ShipBob webhook: `shipbob:<ShipBob order id>`.
 *
 * The ShipBob order id, not the order's reference_id: it is what DESIGN's vocabulary names, it is
 * assigned by ShipBob (an int32, unique and immutable), and it is in every order payload: `order_id`
 * in shipment payloads (ShipmentViewModel, tracking_received), `id` in order payloads
 * (OrderViewModel: order.shipped, order.delivered). reference_id's uniqueness scope is unconfirmed
 * (account or channel, NOTES §4.1) and a re-shipment of one Oracle order needs a new one, so it would
 * split or merge orders. It is used only for an order topic whose payload has no order id
 * (`shipbob-ref:<reference_id>`). Shipment payloads' `id` is the shipment id and is never used.
 * A billing webhook that charges a shipment has the key `shipbob-shipment:<shipment id>`, so the journey
 * of the order that shipment belongs to finds it by an index; other billing, return and receiving
 * topics are not about an order: no key, so nothing waits on them.
 */
export function shipbobOrderKey(topic: string, payload: XmlRecord): string | null {
  if ((SHIPBOB_BILLING_TOPICS as readonly string[]).includes(topic)) {
    const shipment = billedShipmentId(billingFields(payload));
    const key = shipment === null ? null : `shipbob-shipment:${shipment}`;
    return key !== null && key.length <= MAX_ORDER_KEY ? key : null;
  }
  const named = shipbobOrderNamed(topic, payload);
  if (named === null) return null;
  if (named.orderId !== null) return `shipbob:${named.orderId}`;
  if (named.referenceId !== null) {
    const key = `shipbob-ref:${named.referenceId}`;
    return key.length <= MAX_ORDER_KEY ? key : null;
  }
  return null;
}

/**
 * The ShipBob order a webhook of an order topic names (the gateway's reference id and ShipBob's order
 * id, each null when the payload lacks it); null for topics that are not about an order (billing,
 * returns). The order key is made from it.
 */
export function shipbobOrderNamed(topic: string, payload: XmlRecord): { referenceId: string | null; orderId: string | null } | null {
  if (!topic.startsWith('order.') && !topic.startsWith('order_') && !topic.startsWith('shipment_')) return null;
  const orderId = field(payload, 'order_id') ?? (isOrderLevelTopic(topic) ? field(payload, 'id') : null);
  return { referenceId: field(payload, 'reference_id'), orderId: orderId !== null && ORDER_ID.test(orderId) ? orderId : null };
}

/** Topics whose payload is the order (OrderViewModel), where `id` is the order id. */
function isOrderLevelTopic(topic: string): boolean {
  return topic === 'order.shipped' || topic === 'order.delivered' || topic === 'order_shipped';
}

/** What a billing webhook says, taken from its payload when it is read (the raw body is kept). */
export interface BillingFields {
  /** The amount exactly as ShipBob wrote it (a JSON number's text, e.g. "12.50"). */
  amount: string | null;
  currency: string | null;
  /** What was charged: a shipment id, a return id, a WRO id... (see referenceType). */
  reference: string | null;
  referenceType: string | null;
  transactionId: string | null;
  transactionType: string | null;
  invoiceId: string | null;
  invoiceType: string | null;
  /** When the charge happened, as written in the payload (charge_date is a date, YYYY-MM-DD). */
  occurredAt: string | null;
}

/**
 * Billing fields of a billing webhook. ShipBob has published no billing webhook payload (NOTES §8.6,
 * UNCONFIRMED); the likely shape is its billing transaction (`Billing.TransactionDtoV3`, NOTES §5):
 * transaction_id, amount, currency_code, charge_date, invoice_id, invoice_type, transaction_type,
 * reference_id, reference_type. The fields are read at the top level or inside a `data` object
 * (Standard Webhooks envelope), with the common alternative names, so a different shape still yields
 * what it has; the raw body stays stored either way.
 */
export function billingFields(payload: XmlRecord): BillingFields {
  const pick = (...names: string[]): string | null => {
    for (const name of names) {
      const v = field(payload, name);
      if (v !== null) return v;
    }
    return null;
  };
  return {
    amount: pick('amount', 'total_amount', 'total'),
    currency: pick('currency_code', 'currency'),
    reference: pick('reference_id'),
    referenceType: pick('reference_type'),
    transactionId: pick('transaction_id'),
    transactionType: pick('transaction_type'),
    invoiceId: pick('invoice_id'),
    invoiceType: pick('invoice_type'),
    occurredAt: pick('charge_date', 'event_time', 'created_at', 'created_date', 'timestamp'),
  };
}

/**
 * The ShipBob shipment a billing webhook charges, or null when it charges something else. A billing
 * transaction names what it is for by `reference_id` and `reference_type` (NOTES §5: Shipment, Return,
 * WRO...); an order's shipping charge is a Shipment's, and it is linked to the ShipBob order the
 * gateway made by that order's shipment id. A payload without a reference type is taken for a
 * shipment's (ShipBob has published no billing webhook payload, NOTES §8.6).
 */
export function billedShipmentId(billing: Pick<BillingFields, 'reference' | 'referenceType'>): string | null {
  if (billing.reference === null) return null;
  if (billing.referenceType !== null && billing.referenceType.toLowerCase() !== 'shipment') return null;
  return billing.reference;
}

/** A text field at the top level of the payload, or else inside its `data` object. */
function field(payload: XmlRecord, name: string): string | null {
  const top = text(own(payload, name));
  if (top !== null) return top;
  const data = own(payload, 'data');
  if (data !== undefined && data !== null && typeof data === 'object' && !Array.isArray(data)) return text(own(data, name));
  return null;
}

function own(record: XmlRecord, name: string): XmlValue | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function text(v: XmlValue | undefined): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}
