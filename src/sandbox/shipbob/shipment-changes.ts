import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, json, parseJsonBody } from './errors.ts';
import { changeRefusal } from './progress.ts';
import type { ShipBobStore } from './store.ts';
import type { CatalogueProduct, OrderView, ShipmentProductView, ShipmentView } from './types.ts';
import { errorMessage, validateUpdateAddress, validateUpdateLineItems, type AddressChange, type LineItemInput } from './validate-changes.ts';

/**
 * ShipBob's shipment changes (2026-01): read the line items, replace them, change the address. These
 * endpoints answer in `Orders.ErrorResponse` (`{code, message}`) rather than ModelState: a body that
 * does not bind is a 400 INVALID_PARAMETER, an unknown shipment a 404 NOT_FOUND. A change the
 * shipment's status forbids (picked, packed, shipped, cancelled) is the documented 200 with
 * `is_success: false` and an error CONFLICT saying why. A change made sends the 2026-07 topic for it
 * (`order.shipment.line_item.*`, `order.shipment.address.updated`) to the subscriptions that asked.
 */

type ErrorCode = 'INVALID_PARAMETER' | 'VALIDATION_ERROR' | 'NOT_FOUND' | 'CONFLICT';

/** `Orders.ShipmentLineItemResponse` */
interface LineItemChange {
  action: 'AddLineItem' | 'RemoveLineItem' | 'UpdateLineItem';
  inventory_id: number;
  previous_value: string | null;
  new_value: string | null;
}

const LINE_ITEM_TOPICS = {
  AddLineItem: 'order.shipment.line_item.added',
  RemoveLineItem: 'order.shipment.line_item.removed',
  UpdateLineItem: 'order.shipment.line_item.updated',
} as const;

export function registerShipmentChangeRoutes(router: Router, store: ShipBobStore): void {
  router.get('/shipment/:shipmentId\\:getLineItems', (ctx) => {
    const found = shipmentOf(ctx, store, ctx.params.shipmentId ?? '');
    if (found) json(ctx, 200, lineItemDetails(found.shipment));
  });
  router.post('/shipment/:shipmentId\\:updateLineItems', (ctx) => updateLineItems(ctx, store, ctx.params.shipmentId ?? ''));
  router.put('/shipment/:shipmentId\\:updateAddress', (ctx) => updateAddress(ctx, store, ctx.params.shipmentId ?? ''));
}

function fail(ctx: Context, status: number, code: ErrorCode, message: string): void {
  json(ctx, status, { code, message });
}

function shipmentOf(ctx: Context, store: ShipBobStore, raw: string): { order: OrderView; shipment: ShipmentView } | null {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647) {
    fail(ctx, 400, 'INVALID_PARAMETER', `The value '${raw}' is not valid for shipmentId.`);
    return null;
  }
  const found = store.findShipment(Number(raw));
  if (!found) fail(ctx, 404, 'NOT_FOUND', 'Shipment not found');
  return found;
}

/** The JSON body, or undefined after answering 415 or a 400 INVALID_PARAMETER. */
function readBody(ctx: Context): unknown {
  return parseJsonBody(ctx, bodyOf(ctx), (errors) => fail(ctx, 400, 'INVALID_PARAMETER', errorMessage(errors)));
}

/** `Orders.ShipmentLineItemDetail` per inventory item of the shipment. */
function lineItemDetails(shipment: ShipmentView): unknown[] {
  return shipment.products.flatMap((p) =>
    p.inventory_items.map((inv) => ({
      committed_quantity: inv.quantity_committed,
      inventory_id: inv.id,
      is_hazmat: inv.is_dangerous_goods,
      is_lot: inv.lot !== null,
      lot: { lot_date: inv.expiration_date, lot_number: inv.lot, selection_method: inv.lot !== null ? 'Specific' : 'ShipbobChooses' },
      product_variant: { id: p.id, name: p.name, sku: p.sku },
      quantity: inv.quantity,
      serial_numbers: inv.serial_numbers,
    })),
  );
}

async function updateLineItems(ctx: Context, store: ShipBobStore, rawId: string): Promise<void> {
  const found = shipmentOf(ctx, store, rawId);
  if (!found) return;
  const body = readBody(ctx);
  if (body === undefined) return;
  const checked = validateUpdateLineItems(body);
  if (!checked.ok) {
    fail(ctx, 400, 'INVALID_PARAMETER', errorMessage(checked.errors));
    return;
  }
  const { order, shipment } = found;
  const products = new Map<number, CatalogueProduct>();
  for (const item of checked.value.items) {
    const product = store.state.products.find((p) => p.inventoryId === item.inventory_id);
    if (!product) {
      fail(ctx, 400, 'VALIDATION_ERROR', `Inventory ${item.inventory_id} was not found.`);
      return;
    }
    products.set(item.inventory_id, product);
  }
  const refusal = changeRefusal(shipment, 'changed');
  if (refusal !== null) {
    json(ctx, 200, { id: shipment.id, is_success: false, error: { code: 'CONFLICT', message: refusal }, shipment_line_items: null });
    return;
  }
  const changes = replaceLineItems(store, order, shipment, checked.value.items, products);
  json(ctx, 200, { id: shipment.id, is_success: true, shipment_line_items: changes });
  for (const action of new Set(changes.map((c) => c.action))) await store.publish(LINE_ITEM_TOPICS[action], shipment);
}

/**
 * Makes `items` the shipment's line items (one product per inventory item, as in the sandbox's
 * catalogue) and the order's product lines follow. Returns the changes, quantities as text.
 */
function replaceLineItems(
  store: ShipBobStore,
  order: OrderView,
  shipment: ShipmentView,
  items: readonly LineItemInput[],
  products: ReadonlyMap<number, CatalogueProduct>,
): LineItemChange[] {
  const before = new Map<number, { product: ShipmentProductView; quantity: number }>();
  for (const p of shipment.products) for (const inv of p.inventory_items) before.set(inv.id, { product: p, quantity: inv.quantity });
  const changes: LineItemChange[] = [];
  const next: ShipmentProductView[] = [];
  for (const item of items) {
    const product = products.get(item.inventory_id);
    if (!product) continue;
    const old = before.get(item.inventory_id);
    if (!old) changes.push({ action: 'AddLineItem', inventory_id: item.inventory_id, previous_value: null, new_value: String(item.quantity) });
    else if (old.quantity !== item.quantity) {
      changes.push({ action: 'UpdateLineItem', inventory_id: item.inventory_id, previous_value: String(old.quantity), new_value: String(item.quantity) });
    }
    const view = old ? structuredClone(old.product) : newShipmentProduct(product);
    view.inventory_items = view.inventory_items.filter((inv) => inv.id === item.inventory_id);
    for (const inv of view.inventory_items) {
      inv.quantity = item.quantity;
      inv.quantity_committed = item.quantity;
      if (item.lot_number !== null) inv.lot = item.lot_number;
      if (item.lot_date !== null) inv.expiration_date = new Date(item.lot_date).toISOString();
    }
    next.push(view);
    syncOrderLine(order, product, item.quantity);
  }
  for (const [inventoryId, old] of before) {
    if (items.some((i) => i.inventory_id === inventoryId)) continue;
    changes.push({ action: 'RemoveLineItem', inventory_id: inventoryId, previous_value: String(old.quantity), new_value: null });
    order.products = order.products.filter((line) => line.id !== old.product.id);
  }
  shipment.products = next;
  if (changes.length > 0) shipment.last_update_at = store.iso();
  return changes;
}

function newShipmentProduct(product: CatalogueProduct): ShipmentProductView {
  return {
    id: product.id,
    reference_id: product.reference_id,
    name: product.name,
    sku: product.reference_id,
    inventory_items: [
      { id: product.inventoryId, name: product.name, quantity: 0, quantity_committed: 0, lot: null, expiration_date: null, serial_numbers: [], is_dangerous_goods: false },
    ],
  };
}

/** The order's product line of `product` gets the shipment's quantity (sandbox orders have one shipment). */
function syncOrderLine(order: OrderView, product: CatalogueProduct, quantity: number): void {
  const line = order.products.find((l) => l.id === product.id);
  if (line) {
    line.quantity = quantity;
    return;
  }
  order.products.push({
    id: product.id,
    reference_id: product.reference_id,
    sku: product.reference_id,
    quantity,
    unit_price: null,
    external_line_id: null,
    gtin: product.gtin,
    upc: product.upc,
    quantity_unit_of_measure_code: null,
  });
}

async function updateAddress(ctx: Context, store: ShipBobStore, rawId: string): Promise<void> {
  const found = shipmentOf(ctx, store, rawId);
  if (!found) return;
  const body = readBody(ctx);
  if (body === undefined) return;
  const checked = validateUpdateAddress(body);
  if (!checked.ok) {
    fail(ctx, 400, 'INVALID_PARAMETER', errorMessage(checked.errors));
    return;
  }
  const { shipment } = found;
  const refusal = changeRefusal(shipment, 'changed');
  if (refusal !== null) {
    json(ctx, 200, { id: shipment.id, is_success: false, error: { code: 'CONFLICT', message: refusal } });
    return;
  }
  applyAddress(shipment, checked.value);
  shipment.last_update_at = store.iso();
  json(ctx, 200, { id: shipment.id, is_success: true });
  await store.publish('order.shipment.address.updated', shipment);
}

/**
 * The address is replaced as a whole (an address line or state left out is cleared); the country,
 * which an address cannot lack, and the recipient's name, e-mail and phone stay when not given.
 */
function applyAddress(shipment: ShipmentView, change: AddressChange): void {
  const { recipient } = shipment;
  recipient.address = {
    address1: change.street_address1,
    address2: change.street_address2,
    city: change.city,
    company_name: change.company_name,
    country: change.country_code ?? recipient.address.country,
    state: change.state,
    zip_code: change.zip_code,
  };
  if (change.recipient_name !== null) {
    recipient.name = change.recipient_name;
    recipient.full_name = change.recipient_name;
  }
  if (change.email !== null) recipient.email = change.email;
  if (change.phone_number !== null) recipient.phone_number = change.phone_number;
}
