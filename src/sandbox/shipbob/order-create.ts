import type { ShipBobStore } from './store.ts';
import type { CatalogueProduct, CreateOrderRequest, LocationView, OrderProductView, OrderView, ShipmentView } from './types.ts';
import type { FieldErrors } from './validate.ts';

/**
 * `POST /order` past validation: the request's lines resolved against the catalogue, its location
 * against the fulfilment centres, and the order ShipBob would store (one shipment, Processing).
 */

type OrderLine = CreateOrderRequest['products'][number];
type ResolvedLine = { product: CatalogueProduct; line: OrderLine };

/** What to do with a line whose reference_id matches no product (ShipBobSandboxOptions.unknownProducts). */
export type UnknownProducts = 'create' | 'reject';

export type CreateOrderResult = { ok: true; order: OrderView } | { ok: false; status: number; errors: FieldErrors };

/** Stores the order and returns a copy; a reference_id used before is the caller's check. */
export function createOrder(store: ShipBobStore, request: CreateOrderRequest, unknownProducts: UnknownProducts): CreateOrderResult {
  const resolved = resolveOrder(store, request, unknownProducts);
  if (!resolved.ok) return resolved;
  return { ok: true, order: insertOrder(store, request, resolved.location, resolved.lines) };
}

function resolveOrder(
  store: ShipBobStore,
  request: CreateOrderRequest,
  unknownProducts: UnknownProducts,
): { ok: true; location: LocationView; lines: ResolvedLine[] } | { ok: false; status: number; errors: FieldErrors } {
  const { state } = store;
  const location = request.location_id === null
    ? state.locations.find((l) => l.is_active && l.is_shipping_enabled)
    : state.locations.find((l) => l.id === request.location_id && l.is_active && l.access_granted);
  if (!location) {
    return { ok: false, status: 422, errors: { location_id: [`Location ${request.location_id ?? ''} is not available for fulfillment.`] } };
  }
  const errors: FieldErrors = {};
  let status = 400;
  const pending: Array<{ index: number; line: Extract<OrderLine, { by: 'reference_id' }> }> = [];
  const lines: Array<{ product: CatalogueProduct | null; line: OrderLine }> = request.products.map((line, index) => {
    if (line.by === 'id') {
      const product = state.products.find((p) => p.id === line.id) ?? null;
      if (!product) {
        status = 422;
        errors[`products[${index}].id`] = [`Product ${line.id} was not found.`];
      }
      return { product, line };
    }
    const product = state.products.find((p) => p.reference_id === line.reference_id) ?? null;
    if (!product) {
      if (unknownProducts === 'reject') {
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
  // Only once the whole order is known to be good, so a refused order leaves the catalogue as it was.
  for (const { index, line } of pending) {
    const entry = lines[index];
    if (!entry) continue;
    entry.product =
      state.products.find((p) => p.reference_id === line.reference_id) ??
      store.addProduct(line.reference_id, line.name ?? line.reference_id, line.gtin, line.upc);
  }
  return {
    ok: true,
    location,
    lines: lines.flatMap((l) => (l.product ? [{ product: l.product, line: l.line }] : [])),
  };
}

function insertOrder(store: ShipBobStore, request: CreateOrderRequest, location: LocationView, lines: ResolvedLine[]): OrderView {
  const id = store.nextId('order');
  const shipmentId = store.nextId('shipment');
  const now = store.iso();
  const channel = store.state.channels.find((c) => c.id === store.channelId);
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
    estimated_fulfillment_date: new Date(store.now() + 24 * 3_600_000).toISOString(),
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
    channel: { id: store.channelId, name: channel?.name ?? 'SMA' },
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
  store.state.orders.set(id, order);
  store.state.referenceIds.add(request.reference_id);
  return structuredClone(order);
}
