import {
  ADDRESS_TYPES,
  CARRIER_TYPES,
  ORDER_TYPES,
  PAYMENT_TERMS,
  SALES_CHANNELS,
  type AddressInput,
  type CreateOrderRequest,
  type OrderType,
  type ProductLineInput,
  type RecipientInput,
  type RetailerProgramDataInput,
} from './types.ts';

/**
 * ShipBob's validation error body (ASP.NET ModelState): field → messages. `""` keys object-level
 * errors. Keys here are the snake_case JSON paths, e.g. `recipient.address.city`, `products[0].quantity`.
 */
export type FieldErrors = Record<string, string[]>;

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

type Obj = Record<string, unknown>;

const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
/** ISO 8601 date-time as .NET reads it: date, optional time, optional fraction and offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Rules {
  required?: boolean;
  nullable?: boolean;
}

/** Collects errors the way ModelState does: every problem of the body, not only the first. */
export class Checker {
  readonly errors: FieldErrors = {};

  add(path: string, message: string): void {
    (this.errors[path] ??= []).push(message);
  }

  get ok(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  /** undefined: absent (and reported when required); null: JSON null (reported unless nullable). */
  #present(value: unknown, path: string, rules: Rules): boolean {
    if (value === undefined || (value === null && rules.required)) {
      if (rules.required) this.add(path, `The ${leaf(path)} field is required.`);
      return false;
    }
    if (value === null) {
      if (!rules.nullable) this.add(path, `The ${leaf(path)} field must not be null.`);
      return false;
    }
    return true;
  }

  string(
    value: unknown,
    path: string,
    rules: Rules & { min?: number; max?: number; format?: 'date-time' | 'email'; enum?: readonly string[] } = {},
  ): string | null {
    if (!this.#present(value, path, rules)) return null;
    if (typeof value !== 'string') {
      this.add(path, `The JSON value could not be converted to System.String. Path: $.${path}`);
      return null;
    }
    if (rules.min !== undefined && value.length < rules.min) {
      this.add(path, rules.required && value.length === 0
        ? `The ${leaf(path)} field is required.`
        : `The field ${leaf(path)} must be a string with a minimum length of '${rules.min}'.`);
      return null;
    }
    if (rules.max !== undefined && value.length > rules.max) {
      this.add(path, `The field ${leaf(path)} must be a string with a maximum length of '${rules.max}'.`);
      return null;
    }
    if (rules.format === 'date-time' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
      this.add(path, `The JSON value could not be converted to System.DateTime. Path: $.${path}`);
      return null;
    }
    if (rules.format === 'email' && !EMAIL.test(value)) {
      this.add(path, `The ${leaf(path)} field is not a valid e-mail address.`);
      return null;
    }
    if (rules.enum && !rules.enum.includes(value)) {
      this.add(path, `The JSON value could not be converted to an allowed value (${rules.enum.join(', ')}). Path: $.${path}`);
      return null;
    }
    return value;
  }

  int32(value: unknown, path: string, rules: Rules & { min?: number; max?: number } = {}): number | null {
    if (!this.#present(value, path, rules)) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value > INT32_MAX || value < INT32_MIN) {
      this.add(path, `The JSON value could not be converted to System.Int32. Path: $.${path}`);
      return null;
    }
    if ((rules.min !== undefined && value < rules.min) || (rules.max !== undefined && value > rules.max)) {
      this.add(path, `The field ${leaf(path)} must be between ${rules.min ?? INT32_MIN} and ${rules.max ?? INT32_MAX}.`);
      return null;
    }
    return value;
  }

  number(value: unknown, path: string, rules: Rules = {}): number | null {
    if (!this.#present(value, path, rules)) return null;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.add(path, `The JSON value could not be converted to System.Decimal. Path: $.${path}`);
      return null;
    }
    return value;
  }

  object(value: unknown, path: string, model: string, rules: Rules = {}): Obj | null {
    if (!this.#present(value, path, rules)) return null;
    if (!isObject(value)) {
      this.add(path, `The JSON value could not be converted to ${model}. Path: $.${path}`);
      return null;
    }
    return value;
  }

  array(value: unknown, path: string, rules: Rules & { minItems?: number; maxItems?: number } = {}): unknown[] | null {
    if (!this.#present(value, path, rules)) return null;
    if (!Array.isArray(value)) {
      this.add(path, `The JSON value could not be converted to a list. Path: $.${path}`);
      return null;
    }
    if (rules.minItems !== undefined && value.length < rules.minItems) {
      this.add(path, rules.minItems === 1 ? `The ${leaf(path)} field must contain at least one item.`
        : `The field ${leaf(path)} must have at least ${rules.minItems} items.`);
      return null;
    }
    if (rules.maxItems !== undefined && value.length > rules.maxItems) {
      this.add(path, `The field ${leaf(path)} must have at most ${rules.maxItems} items.`);
      return null;
    }
    return value as unknown[];
  }
}

function leaf(path: string): string {
  const last = path.split('.').pop() ?? path;
  return last.replace(/\[\d+\]$/, '') || path;
}

export function at(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function address(c: Checker, value: unknown, path: string, withType: 'optional' | 'required'): AddressInput | null {
  const a = c.object(value, path, 'Orders.AddressViewModel', { required: true });
  if (!a) return null;
  const out: AddressInput = {
    address1: c.string(a.address1, at(path, 'address1'), { required: true, min: 1 }) ?? '',
    address2: c.string(a.address2, at(path, 'address2'), { nullable: true }),
    city: c.string(a.city, at(path, 'city'), { required: true, min: 1 }) ?? '',
    company_name: c.string(a.company_name, at(path, 'company_name'), { nullable: true }),
    country: c.string(a.country, at(path, 'country'), { required: true, min: 1 }) ?? '',
    state: c.string(a.state, at(path, 'state'), { nullable: true }),
    zip_code: c.string(a.zip_code, at(path, 'zip_code'), { nullable: true }),
  };
  // A recipient address may be either model of the spec's oneOf; only the retailer one has `type`.
  const type = c.string(a.type, at(path, 'type'), { required: withType === 'required', nullable: withType === 'optional', enum: ADDRESS_TYPES });
  if (type) out.type = type as AddressInput['type'];
  return out;
}

function productLine(c: Checker, value: unknown, path: string): ProductLineInput | null {
  const p = c.object(value, path, 'Orders.AddProductToOrderModel', { required: true });
  if (!p) return null;
  const quantity = c.int32(p.quantity, at(path, 'quantity'), { required: true, min: 1 });
  const external_line_id = c.int32(p.external_line_id, at(path, 'external_line_id'), { nullable: true });
  const quantity_unit_of_measure_code = c.string(p.quantity_unit_of_measure_code, at(path, 'quantity_unit_of_measure_code'), { nullable: true });
  // The spec's oneOf: by reference_id (AddProductToOrderByReferenceIdModel) or by ShipBob id
  // (AddProductToOrderByProductIdModel, whose `required` names a non-existent `product_id`: the
  // property is `id`). A line with reference_id is read as the first.
  if (p.reference_id !== undefined && p.reference_id !== null) {
    const reference_id = c.string(p.reference_id, at(path, 'reference_id'), { required: true, min: 1 });
    const line: ProductLineInput = {
      by: 'reference_id',
      reference_id: reference_id ?? '',
      name: c.string(p.name, at(path, 'name'), { nullable: true }),
      sku: c.string(p.sku, at(path, 'sku'), { nullable: true }),
      gtin: c.string(p.gtin, at(path, 'gtin'), { nullable: true, max: 50 }),
      upc: c.string(p.upc, at(path, 'upc'), { nullable: true, max: 50 }),
      unit_price: c.number(p.unit_price, at(path, 'unit_price'), { nullable: true }),
      external_line_id,
      quantity: quantity ?? 0,
      quantity_unit_of_measure_code,
    };
    if (p.id !== undefined && p.id !== null) c.int32(p.id, at(path, 'id'));
    return line;
  }
  if (p.id !== undefined && p.id !== null) {
    const id = c.int32(p.id, at(path, 'id'), { required: true });
    return { by: 'id', id: id ?? 0, external_line_id, quantity: quantity ?? 0, quantity_unit_of_measure_code };
  }
  c.add(at(path, 'reference_id'), 'The reference_id field is required (or give the ShipBob product id).');
  return null;
}

function retailerProgramData(c: Checker, value: unknown, path: string): RetailerProgramDataInput | null {
  const r = c.object(value, path, 'Orders.RetailerProgramDataViewModel', { nullable: true });
  if (!r) return null;
  const addresses = c.array(r.addresses, at(path, 'addresses'), { nullable: true });
  return {
    // The spec's `required` says purchaseOrderNumber / retailerProgramType (C# names); the JSON
    // properties are snake_case.
    purchase_order_number: c.string(r.purchase_order_number, at(path, 'purchase_order_number'), { required: true, min: 1 }) ?? '',
    retailer_program_type: c.string(r.retailer_program_type, at(path, 'retailer_program_type'), { required: true, min: 1 }) ?? '',
    mark_for_store: c.string(r.mark_for_store, at(path, 'mark_for_store'), { nullable: true }),
    department: c.string(r.department, at(path, 'department'), { nullable: true }),
    delivery_date: c.string(r.delivery_date, at(path, 'delivery_date'), { nullable: true, format: 'date-time' }),
    customer_ticket_number: c.string(r.customer_ticket_number, at(path, 'customer_ticket_number'), { nullable: true }),
    shipByDate: c.string(r.shipByDate, at(path, 'shipByDate'), { nullable: true, format: 'date-time' }),
    doNotShipBeforeDate: c.string(r.doNotShipBeforeDate, at(path, 'doNotShipBeforeDate'), { nullable: true, format: 'date-time' }),
    addresses: addresses
      ? addresses.map((a, i) => address(c, a, `${at(path, 'addresses')}[${i}]`, 'required')).filter((a): a is AddressInput => a !== null)
      : null,
  };
}

/**
 * Checks a `POST /order` body against the required fields and types of the 2026-01
 * `Orders.CreateOrderModel` (written from the spec; the sandbox does not read the spec file).
 * Unknown properties are ignored, as ASP.NET does.
 */
export function validateCreateOrder(body: unknown): Validated<CreateOrderRequest> {
  const c = new Checker();
  if (!isObject(body)) {
    c.add('', 'A non-empty request body is required.');
    return { ok: false, errors: c.errors };
  }
  const reference_id = c.string(body.reference_id, 'reference_id', { required: true, min: 1, max: 300 });
  const order_number = c.string(body.order_number, 'order_number', { nullable: true, max: 400 });
  const shipping_method = c.string(body.shipping_method, 'shipping_method', { required: true, min: 1 });
  const type = c.string(body.type, 'type', { required: true, enum: ORDER_TYPES });

  let recipient: RecipientInput | null = null;
  const r = c.object(body.recipient, 'recipient', 'Orders.RecipientInfoViewModel', { required: true });
  if (r) {
    const name = c.string(r.name, 'recipient.name', { required: true, min: 1, max: 300 });
    const addr = address(c, r.address, 'recipient.address', 'optional');
    const email = c.string(r.email, 'recipient.email', { nullable: true, format: 'email' });
    const phone_number = c.string(r.phone_number, 'recipient.phone_number', { nullable: true, max: 50 });
    if (name !== null && addr) recipient = { name, address: addr, email, phone_number };
  }

  const lines = c.array(body.products, 'products', { required: true, minItems: 1 });
  const products = (lines ?? []).map((p, i) => productLine(c, p, `products[${i}]`));

  const location_id = c.int32(body.location_id, 'location_id', { nullable: true });
  const purchase_date = c.string(body.purchase_date, 'purchase_date', { nullable: true, format: 'date-time' });
  const requested_delivery_date = c.string(body.requested_delivery_date, 'requested_delivery_date', { nullable: true, format: 'date-time' });
  const gift_message = c.string(body.gift_message, 'gift_message', { nullable: true, max: 500 });
  const sales_channel = c.string(body.sales_channel, 'sales_channel', { nullable: true, enum: SALES_CHANNELS });
  const origin_platform_program = c.string(body.origin_platform_program, 'origin_platform_program', { nullable: true, max: 100 });

  const tagList = c.array(body.tags, 'tags', { nullable: true });
  const tags = tagList
    ? tagList.map((t, i) => {
        const tag = c.object(t, `tags[${i}]`, 'Orders.TagViewModel', { required: true });
        if (!tag) return null;
        const name = c.string(tag.name, `tags[${i}].name`, { required: true, min: 1, max: 50 });
        const value = c.string(tag.value, `tags[${i}].value`, { required: true, min: 1, max: 500 });
        return name !== null && value !== null ? { name, value } : null;
      })
    : null;

  const f = c.object(body.financials, 'financials', 'Orders.Financials', { nullable: true });
  const financials = f ? { total_price: c.number(f.total_price, 'financials.total_price', { nullable: true }) } : null;

  const st = c.object(body.shipping_terms, 'shipping_terms', 'Orders.ShippingTermsViewModel', { nullable: true });
  const shipping_terms = st
    ? {
        carrier_type: c.string(st.carrier_type, 'shipping_terms.carrier_type', { nullable: true, enum: CARRIER_TYPES }),
        payment_term: c.string(st.payment_term, 'shipping_terms.payment_term', { nullable: true, enum: PAYMENT_TERMS }),
      }
    : null;

  const retailer_program_data = retailerProgramData(c, body.retailer_program_data, 'retailer_program_data');

  if (!c.ok || reference_id === null || shipping_method === null || type === null || recipient === null) {
    return { ok: false, errors: c.errors };
  }
  return {
    ok: true,
    value: {
      reference_id,
      order_number,
      shipping_method,
      type: type as OrderType,
      recipient,
      products: products.filter((p): p is ProductLineInput => p !== null),
      location_id,
      purchase_date,
      requested_delivery_date,
      tags: tags ? tags.filter((t): t is { name: string; value: string } => t !== null) : null,
      financials,
      gift_message,
      shipping_terms,
      retailer_program_data,
      sales_channel,
      origin_platform_program,
    },
  };
}

export interface CreateSubscriptionRequest {
  topics: string[];
  url: string;
  description: string | null;
  secret: string | null;
}

const WEBHOOK_SECRET_PATTERN = /^whsec_[a-zA-Z0-9+/]{32}$/;

/** `Webhooks.V2.CreateSubscriptionRequest`, with the topics the API version knows. */
export function validateCreateSubscription(body: unknown, topics: readonly string[]): Validated<CreateSubscriptionRequest> {
  const c = new Checker();
  if (!isObject(body)) {
    c.add('', 'A non-empty request body is required.');
    return { ok: false, errors: c.errors };
  }
  const list = c.array(body.topics, 'topics', { required: true, minItems: 1 });
  const chosen = (list ?? []).map((t, i) => c.string(t, `topics[${i}]`, { required: true, enum: topics }));
  const url = c.string(body.url, 'url', { required: true, min: 1 });
  if (url !== null) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) c.add('url', 'The url field is not a valid absolute URL.');
  }
  const description = c.string(body.description, 'description', { nullable: true });
  const secret = c.string(body.secret, 'secret', { nullable: true });
  if (secret !== null && !WEBHOOK_SECRET_PATTERN.test(secret)) {
    c.add('secret', 'The secret must match ^whsec_[a-zA-Z0-9+/]{32}$ (whsec_ and 24 bytes in base64).');
  }
  if (!c.ok || url === null) return { ok: false, errors: c.errors };
  return {
    ok: true,
    value: { topics: chosen.filter((t): t is string => t !== null), url, description, secret },
  };
}

export interface SimulationStep {
  action: 'ShipOrder' | 'DeliverOrder';
  delay: number | null;
  next: SimulationStep | null;
}

/** `Simulation.orderSimulationRequestModel` of the developer-portal spec (sandbox only). */
export function validateSimulation(body: unknown): Validated<{ shipment_id: string; simulation: SimulationStep }> {
  const c = new Checker();
  if (!isObject(body)) {
    c.add('', 'A non-empty request body is required.');
    return { ok: false, errors: c.errors };
  }
  // shipment_id is typed string in the spec; a number is taken as well.
  const rawId = typeof body.shipment_id === 'number' ? String(body.shipment_id) : body.shipment_id;
  const shipment_id = c.string(rawId, 'shipment_id', { required: true, min: 1 });
  const step = (value: unknown, path: string, depth: number): SimulationStep | null => {
    const s = c.object(value, path, 'Simulation.simulationModel', { required: depth === 0, nullable: depth > 0 });
    if (!s) return null;
    if (depth > 10) {
      c.add(path, 'Simulations chain at most 10 actions.');
      return null;
    }
    const action = c.string(s.action, at(path, 'action'), { required: true, enum: ['ShipOrder', 'DeliverOrder'] });
    const delay = c.int32(s.delay, at(path, 'delay'), { nullable: true, min: 0 });
    const next = step(s.next, at(path, 'next'), depth + 1);
    return action ? { action: action as SimulationStep['action'], delay, next } : null;
  };
  const simulation = step(body.simulation, 'simulation', 0);
  if (!c.ok || shipment_id === null || simulation === null) return { ok: false, errors: c.errors };
  return { ok: true, value: { shipment_id, simulation } };
}
