import { parseJsonKeepingIds } from '../fusion/sales-orders.ts';
import type { ConnectorParts, HttpMethod, OutboundRequest, SendResult } from '../types.ts';
import type { ShipBobOrderRequest } from './order.ts';

/**
 * The ShipBob 2026-01 calls a delivery of kind shipbob makes, each through the connector's parts
 * (authorized, rate-limited, scrubbed), and the few fields of ShipBob's answers it reads. Answers are
 * read leniently: ShipBob's bodies are generated models whose optional fields come and go.
 */

/** A call's outcome: what it read, or the attempt's result when ShipBob did not answer as hoped. */
export type Call<T> = { ok: true; value: T; result: SendResult } | { ok: false; result: SendResult };

/** The parts of `Orders.ShipmentViewModel` a change needs. */
export interface ShipmentView {
  id: string;
  status: string | null;
  /** `status_details[].name`: where picking and packing show (ShipBob's status stays Processing). */
  details: string[];
  trackingNumber: string | null;
  recipient: RecipientView | null;
}

/** The parts of `Orders.OrderViewModel` a change needs. */
export interface OrderView {
  id: string;
  status: string | null;
  products: Array<{ reference_id: string; quantity: number }>;
  recipient: RecipientView | null;
  shipments: ShipmentView[];
}

export interface RecipientView {
  name: string | null;
  email: string | null;
  phone_number: string | null;
  address: { address1: string | null; address2: string | null; company_name: string | null; city: string | null; state: string | null; zip_code: string | null; country: string | null };
}

/** `Orders.ShipmentLineItemDetail`, the fields an update sends back. */
interface LineItemDetail {
  inventory_id: number;
  quantity: number;
  sku: string | null;
  lot_number: string | null;
  lot_date: string | null;
  manual_lot: boolean;
}

/** What ShipBob says of a change it did not make (`is_success: false`, a cancellation's Failure). */
export type ChangeAnswer = { done: true } | { done: false; reason: string };

export class ShipBobApi {
  readonly #parts: ConnectorParts;
  readonly #version: string;

  constructor(parts: ConnectorParts, version: string) {
    this.#parts = parts;
    this.#version = version;
  }

  /** `POST /order`. */
  async createOrder(order: ShipBobOrderRequest): Promise<Call<OrderView | null>> {
    const { result, body } = await this.#call('POST', '/order', order);
    if (!result.ok) return { ok: false, result };
    return { ok: true, value: readOrder(json(body)), result };
  }

  /** `GET /order?ReferenceIds=`: the order with this reference id, or null when ShipBob has none. */
  async findByReference(reference: string): Promise<Call<OrderView | null>> {
    const { result, body } = await this.#call('GET', '/order', null, { ReferenceIds: reference });
    if (!result.ok) return { ok: false, result };
    const doc = json(body);
    const listed = Array.isArray(doc) ? doc : record(doc).items;
    const items: unknown[] = Array.isArray(listed) ? listed : [];
    const found = items.find((item) => record(item).reference_id === reference);
    return { ok: true, value: found === undefined ? null : readOrder(found), result };
  }

  /** `GET /order/{id}`: the order with its shipments, as they stand now. */
  async getOrder(orderId: string): Promise<Call<OrderView>> {
    const { result, body } = await this.#call('GET', `/order/${encodeURIComponent(orderId)}`, null);
    if (!result.ok) return { ok: false, result };
    const order = readOrder(json(body));
    if (order === null) return { ok: false, result: { ...result, ok: false, errorClass: 'http', errorMessage: `ShipBob answered GET order ${orderId} without an order` } };
    return { ok: true, value: order, result };
  }

  /** `POST /order/{id}:cancel`: the order and all its shipments. */
  async cancelOrder(orderId: string): Promise<Call<ChangeAnswer>> {
    const { result, body } = await this.#call('POST', `/order/${encodeURIComponent(orderId)}:cancel`, null);
    const refused = refusal(result, body);
    if (refused !== null) return { ok: true, value: { done: false, reason: refused }, result };
    if (!result.ok) return { ok: false, result };
    const doc = record(json(body));
    const failures = (Array.isArray(doc.canceled_shipment_results) ? doc.canceled_shipment_results : []).map(record).filter((r) => r.is_success === false);
    // `status` is Success, Failure or PartialSuccess; an answer without it is judged by its shipments.
    if (doc.status === 'Success' || (doc.status === undefined && failures.length === 0)) return { ok: true, value: { done: true }, result };
    const reasons = failures.map((r) => text(r.reason) ?? `shipment ${text(r.shipment_id) ?? '?'} was not cancelled`);
    return { ok: true, value: { done: false, reason: reasons.join('; ') || `cancellation ${text(doc.status) ?? 'not confirmed'}` }, result };
  }

  /**
   * `GET /shipment/{id}:getLineItems`, then `POST /shipment/{id}:updateLineItems` with the complete
   * list (ShipBob takes no partial update) in which each item's quantity is the one wanted, the item
   * found by its SKU (a product's reference_id). A shipment of one item takes the one quantity
   * wanted whatever its SKU. Null when an item wanted is not on the shipment.
   */
  async updateQuantities(shipmentId: string, wanted: Readonly<Record<string, number>>): Promise<Call<ChangeAnswer | null>> {
    const path = `/shipment/${encodeURIComponent(shipmentId)}`;
    const read = await this.#call('GET', `${path}:getLineItems`, null);
    if (!read.result.ok) return { ok: false, result: read.result };
    const items = readLineItems(json(read.body));
    const entries = Object.entries(wanted);
    const single = items.length === 1 && entries.length === 1 ? entries[0]?.[1] : undefined;
    const quantities = items.map((item) => single ?? (item.sku === null ? undefined : wanted[item.sku]));
    if (items.length === 0 || quantities.some((q) => q === undefined)) return { ok: true, value: null, result: read.result };
    const body = {
      items: items.map((item, i) => ({
        inventory_id: item.inventory_id,
        quantity: quantities[i],
        ...(item.lot_number === null ? {} : { lot_number: item.lot_number, is_manually_assigned_lot: item.manual_lot }),
        ...(item.lot_date === null ? {} : { lot_date: item.lot_date }),
      })),
    };
    const { result, body: answer } = await this.#call('POST', `${path}:updateLineItems`, body);
    return changeAnswer(result, answer);
  }

  /** `PUT /shipment/{id}:updateAddress` with the order request's recipient, whole. */
  async updateAddress(shipmentId: string, recipient: ShipBobOrderRequest['recipient']): Promise<Call<ChangeAnswer>> {
    const a = recipient.address;
    const body = {
      recipient_name: recipient.name,
      street_address1: a.address1,
      ...(a.address2 ? { street_address2: a.address2 } : {}),
      city: a.city,
      ...(a.state ? { state: a.state } : {}),
      ...(a.zip_code ? { zip_code: a.zip_code } : {}),
      country_code: a.country,
      ...(recipient.email ? { email: recipient.email } : {}),
      ...(recipient.phone_number ? { phone_number: recipient.phone_number } : {}),
    };
    const { result, body: answer } = await this.#call('PUT', `/shipment/${encodeURIComponent(shipmentId)}:updateAddress`, body);
    return changeAnswer(result, answer);
  }

  async #call(method: HttpMethod, path: string, body: unknown, query: Record<string, string> = {}): Promise<{ result: SendResult; body: string | null }> {
    const c = this.#parts.config;
    return this.#parts.raw((): OutboundRequest => {
      const url = new URL(`${c.url.replace(/\/$/, '')}/${this.#version}${path}`);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      return {
        method,
        url,
        headers: {
          ...c.headers,
          accept: 'application/json',
          'user-agent': 'om-connector-gateway',
          ...(body === null ? {} : { 'content-type': 'application/json' }),
        },
        body: body === null ? null : JSON.stringify(body),
      };
    });
  }
}

/**
 * A change ShipBob declined for the state of the order (not for the form of the request): a 409 or
 * a 422, with the reason ShipBob gave. Null for any other answer.
 */
function refusal(result: SendResult, body: string | null): string | null {
  if (result.status !== 409 && result.status !== 422) return null;
  return reasonOf(body) ?? `HTTP ${result.status}`;
}

/** The answer of updateLineItems and updateAddress: `Orders.ShipmentApiResponse` with is_success. */
function changeAnswer(result: SendResult, body: string | null): Call<ChangeAnswer> {
  const refused = refusal(result, body);
  if (refused !== null) return { ok: true, value: { done: false, reason: refused }, result };
  if (!result.ok) return { ok: false, result };
  const doc = record(json(body));
  if (doc.is_success === false) return { ok: true, value: { done: false, reason: reasonOf(body) ?? 'not changed' }, result };
  return { ok: true, value: { done: true }, result };
}

/** The words of a ShipBob error body: `{error: {message}}`, `{code, message}`, or ModelState `{field: [messages]}`. */
function reasonOf(body: string | null): string | null {
  const doc = record(json(body));
  const nested = text(record(doc.error).message);
  if (nested !== null) return nested;
  const message = text(doc.message);
  if (message !== null) return message;
  const messages = Object.values(doc).flatMap((v) => (Array.isArray(v) ? v.filter((m): m is string => typeof m === 'string') : []));
  return messages.length > 0 ? messages.join(' ') : null;
}

function readOrder(value: unknown): OrderView | null {
  const o = record(value);
  const id = text(o.id);
  if (id === null) return null;
  return {
    id,
    status: text(o.status),
    products: (Array.isArray(o.products) ? o.products : []).map(record).flatMap((p) => {
      const reference = text(p.reference_id) ?? text(p.sku);
      const quantity = typeof p.quantity === 'number' ? p.quantity : Number(text(p.quantity));
      return reference === null || !Number.isFinite(quantity) ? [] : [{ reference_id: reference, quantity }];
    }),
    recipient: readRecipient(o.recipient),
    shipments: (Array.isArray(o.shipments) ? o.shipments : []).map(record).flatMap((s) => {
      const sid = text(s.id);
      if (sid === null) return [];
      return [
        {
          id: sid,
          status: text(s.status),
          details: (Array.isArray(s.status_details) ? s.status_details : []).map((d) => text(record(d).name) ?? '').filter((n) => n !== ''),
          trackingNumber: text(record(s.tracking).tracking_number),
          recipient: readRecipient(s.recipient),
        },
      ];
    }),
  };
}

function readRecipient(value: unknown): RecipientView | null {
  const r = record(value);
  if (Object.keys(r).length === 0) return null;
  const a = record(r.address);
  return {
    name: text(r.name),
    email: text(r.email),
    phone_number: text(r.phone_number),
    address: {
      address1: text(a.address1),
      address2: text(a.address2),
      company_name: text(a.company_name),
      city: text(a.city),
      state: text(a.state),
      zip_code: text(a.zip_code),
      country: text(a.country),
    },
  };
}

function readLineItems(value: unknown): LineItemDetail[] {
  return (Array.isArray(value) ? value : []).map(record).flatMap((item) => {
    const inventory = Number(text(item.inventory_id));
    const quantity = Number(text(item.quantity));
    if (!Number.isInteger(inventory) || !Number.isInteger(quantity)) return [];
    const lot = record(item.lot);
    return [
      {
        inventory_id: inventory,
        quantity,
        sku: text(record(item.product_variant).sku),
        lot_number: text(lot.lot_number),
        lot_date: text(lot.lot_date),
        manual_lot: text(lot.selection_method) !== null && text(lot.selection_method) !== 'ShipbobChooses',
      },
    ];
  });
}

function json(body: string | null): unknown {
  if (body === null || body.trim() === '') return null;
  try {
    return parseJsonKeepingIds(body);
  } catch {
    return null;
  }
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}
