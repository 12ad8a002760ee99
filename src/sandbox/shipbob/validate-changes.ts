import { at, Checker, isObject, type FieldErrors, type Validated } from './validate.ts';

/**
 * The bodies of ShipBob's shipment changes (2026-01), checked against the spec's required fields and
 * types the way ASP.NET binds them: `Orders.CancelShipmentsModel`, `Orders.UpdateLineItemsRequest`,
 * `Orders.UpdateAddressRequest`. Unknown properties are ignored.
 */

export interface LineItemInput {
  inventory_id: number;
  quantity: number;
  id: number | null;
  fulfillment_center_id: number | null;
  is_manually_assigned_lot: boolean | null;
  lot_number: string | null;
  /** As sent (the spec gives it no format: `2024-06-01` in its example). */
  lot_date: string | null;
}

export interface AddressChange {
  street_address1: string;
  street_address2: string | null;
  city: string;
  state: string | null;
  zip_code: string | null;
  country_code: string | null;
  company_name: string | null;
  recipient_name: string | null;
  email: string | null;
  phone_number: string | null;
}

function notAnObject(c: Checker): { ok: false; errors: FieldErrors } {
  c.add('', 'A non-empty request body is required.');
  return { ok: false, errors: c.errors };
}

/** `Orders.CancelShipmentsModel`: the spec lets shipment_ids be null, but a batch of nothing is refused. */
export function validateCancelShipments(body: unknown): Validated<{ shipment_ids: number[] }> {
  const c = new Checker();
  if (!isObject(body)) return notAnObject(c);
  const list = c.array(body.shipment_ids, 'shipment_ids', { required: true, minItems: 1 });
  const ids = (list ?? []).map((v, i) => c.int32(v, `shipment_ids[${i}]`, { required: true }));
  if (!c.ok) return { ok: false, errors: c.errors };
  return { ok: true, value: { shipment_ids: ids.filter((id): id is number => id !== null) } };
}

/**
 * `Orders.UpdateLineItemsRequest`: the complete list of the shipment's line items, one per
 * inventory id, each with a quantity of at least 1 (a line left out is removed).
 */
export function validateUpdateLineItems(body: unknown): Validated<{ items: LineItemInput[] }> {
  const c = new Checker();
  if (!isObject(body)) return notAnObject(c);
  const list = c.array(body.items, 'items', { required: true, minItems: 1 });
  const seen = new Set<number>();
  const items = (list ?? []).map((value, i): LineItemInput | null => {
    const path = `items[${i}]`;
    const item = c.object(value, path, 'Orders.ShipmentLineItemsViewModel', { required: true });
    if (!item) return null;
    const inventory_id = c.int32(item.inventory_id, at(path, 'inventory_id'), { required: true });
    const quantity = c.int32(item.quantity, at(path, 'quantity'), { required: true, min: 1 });
    const id = c.int32(item.id, at(path, 'id'));
    const fulfillment_center_id = c.int32(item.fulfillment_center_id, at(path, 'fulfillment_center_id'));
    const manual = item.is_manually_assigned_lot;
    if (manual === null) c.add(at(path, 'is_manually_assigned_lot'), 'The is_manually_assigned_lot field must not be null.');
    else if (manual !== undefined && typeof manual !== 'boolean') {
      c.add(at(path, 'is_manually_assigned_lot'), `The JSON value could not be converted to System.Boolean. Path: $.${at(path, 'is_manually_assigned_lot')}`);
    }
    const lot_number = c.string(item.lot_number, at(path, 'lot_number'), { nullable: true });
    const lot_date = c.string(item.lot_date, at(path, 'lot_date'), { nullable: true, format: 'date-time' });
    if (inventory_id !== null) {
      if (seen.has(inventory_id)) c.add(at(path, 'inventory_id'), `Inventory ${inventory_id} is listed more than once.`);
      seen.add(inventory_id);
    }
    if (inventory_id === null || quantity === null) return null;
    return {
      inventory_id,
      quantity,
      id,
      fulfillment_center_id,
      is_manually_assigned_lot: typeof manual === 'boolean' ? manual : null,
      lot_number,
      lot_date,
    };
  });
  if (!c.ok) return { ok: false, errors: c.errors };
  return { ok: true, value: { items: items.filter((item): item is LineItemInput => item !== null) } };
}

/** `Orders.UpdateAddressRequest`: street_address1 and city required, the rest optional strings. */
export function validateUpdateAddress(body: unknown): Validated<AddressChange> {
  const c = new Checker();
  if (!isObject(body)) return notAnObject(c);
  const optional = (name: string) => c.string(body[name], name, { nullable: true });
  const street_address1 = c.string(body.street_address1, 'street_address1', { required: true, min: 1 });
  const city = c.string(body.city, 'city', { required: true, min: 1 });
  const value = {
    street_address2: optional('street_address2'),
    state: optional('state'),
    zip_code: optional('zip_code'),
    country_code: optional('country_code'),
    company_name: optional('company_name'),
    recipient_name: optional('recipient_name'),
    email: optional('email'),
    phone_number: optional('phone_number'),
  };
  if (!c.ok || street_address1 === null || city === null) return { ok: false, errors: c.errors };
  return { ok: true, value: { street_address1, city, ...value } };
}

/** ModelState errors as the one message of an `Orders.ErrorResponse`. */
export function errorMessage(errors: FieldErrors): string {
  return Object.entries(errors)
    .map(([field, messages]) => (field ? `${field}: ${messages.join(' ')}` : messages.join(' ')))
    .join('; ');
}
