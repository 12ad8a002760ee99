import { createHash } from 'node:crypto';

/**
 * Oracle changes its mind: what to send for one ShipBob order, decided from what the gateway sent for
 * it before (kept per ShipBob order in the store) and what the latest event wants of it. Pure: the
 * connector (src/connectors/shipbob/) reads the record, asks planShipBobChange, sends, and writes
 * back what applyShipBobAction says once ShipBob confirmed each action. Because the decision compares
 * with what was sent, an event re-sent by OM or a purchase order polled again unchanged sends nothing.
 */

/** Product reference_id → quantity: what an order asks ShipBob to ship. */
export type ShipBobQuantities = Readonly<Record<string, number>>;

/** What an order holds as far as the decision goes: its items, its ship-to (hashed), whether it is cancelled. */
export interface ShipBobOrderState {
  quantities: ShipBobQuantities;
  /** shipBobAddressHash of the recipient: enough to see a change, without keeping the address. */
  addressHash: string;
  cancelled: boolean;
}

/** One ShipBob order the gateway made (or found at ShipBob), as the store keeps it. */
export interface ShipBobOrderRecord extends ShipBobOrderState {
  connector: string;
  /** ShipBob's reference_id: one per fulfilment line or purchase-order schedule, unique for ever. */
  referenceId: string;
  /** The order key of the event that made it (sales order key or PO number). */
  orderKey: string | null;
  /** The Fusion line the reference id was made from: `fulfillment-line:<FulfillLineId>`, `po-schedule:<LineLocationId>`. */
  lineKey: string | null;
  shipbobOrderId: string;
  /** The shipment that line items and address changes go to; null until ShipBob named one. */
  shipmentId: string | null;
  /**
   * When the gateway first asked ShipBob to cancel it (null: never). Written before the request, so
   * that ShipBob's `order.shipment.cancelled`, which may come before ShipBob's answer, is known for
   * the gateway's own; `cancelled` stays what ShipBob confirmed.
   */
  cancelRequestedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What an event wants an order to hold. */
export interface ShipBobOrderContent {
  quantities: ShipBobQuantities;
  addressHash: string;
}

export type ShipBobWant = { kind: 'order'; content: ShipBobOrderContent } | { kind: 'cancelled' };

export type ShipBobAction =
  | { kind: 'create'; content: ShipBobOrderContent }
  | { kind: 'cancel' }
  | { kind: 'updateLineItems'; quantities: ShipBobQuantities }
  | { kind: 'updateAddress'; addressHash: string };

/**
 * Why nothing is sent:
 * - unchanged: ShipBob holds what the event wants (a re-sent or re-polled event);
 * - not_created: no order yet, and this event only changes orders (it never creates one);
 * - nothing_to_cancel: a cancellation for a line that never reached ShipBob;
 * - already_cancelled: the order is cancelled already.
 */
export type ShipBobNothing = 'unchanged' | 'not_created' | 'nothing_to_cancel' | 'already_cancelled';

/**
 * What ShipBob cannot be asked to do, whatever its shipment's progress:
 * - reopen: the order was cancelled and the event wants it again (ShipBob keeps a reference id for
 *   ever, so the gateway cannot create it again under the same one);
 * - items_changed: the event wants other items than the order has (ShipBob's line-item change takes
 *   the inventory of items already on the shipment).
 */
export type ShipBobRefusal = 'reopen' | 'items_changed';

export type ShipBobPlan =
  | { kind: 'send'; actions: ShipBobAction[] }
  | { kind: 'nothing'; why: ShipBobNothing }
  | { kind: 'refused'; refusal: ShipBobRefusal };

/**
 * The actions that bring ShipBob's order from `sent` (null: the gateway knows of none) to `want`.
 * `mayCreate` is false for events that only change orders made before: an order for a line that
 * never reached ShipBob is then left to the event that creates it.
 */
export function planShipBobChange(sent: ShipBobOrderState | null, want: ShipBobWant, mayCreate: boolean): ShipBobPlan {
  if (want.kind === 'cancelled') {
    if (sent === null) return { kind: 'nothing', why: 'nothing_to_cancel' };
    if (sent.cancelled) return { kind: 'nothing', why: 'already_cancelled' };
    return { kind: 'send', actions: [{ kind: 'cancel' }] };
  }
  if (sent === null) return mayCreate ? { kind: 'send', actions: [{ kind: 'create', content: want.content }] } : { kind: 'nothing', why: 'not_created' };
  if (sent.cancelled) return { kind: 'refused', refusal: 'reopen' };
  if (!sameItems(sent.quantities, want.content.quantities)) return { kind: 'refused', refusal: 'items_changed' };
  const actions: ShipBobAction[] = [];
  if (!sameQuantities(sent.quantities, want.content.quantities)) actions.push({ kind: 'updateLineItems', quantities: want.content.quantities });
  if (sent.addressHash !== want.content.addressHash) actions.push({ kind: 'updateAddress', addressHash: want.content.addressHash });
  return actions.length === 0 ? { kind: 'nothing', why: 'unchanged' } : { kind: 'send', actions };
}

/** What ShipBob's order holds once it has confirmed `action`. */
export function applyShipBobAction(state: ShipBobOrderState | null, action: ShipBobAction): ShipBobOrderState {
  if (action.kind === 'create') return { quantities: { ...action.content.quantities }, addressHash: action.content.addressHash, cancelled: false };
  if (state === null) throw new RangeError(`${action.kind} needs an order to apply to`);
  switch (action.kind) {
    case 'cancel':
      return { ...state, cancelled: true };
    case 'updateLineItems':
      return { ...state, quantities: { ...action.quantities } };
    case 'updateAddress':
      return { ...state, addressHash: action.addressHash };
  }
}

/**
 * What the gateway knows of a ShipBob order a webhook names, for the trigger points (the webhook's
 * `gatewayOrderState` field):
 * - cancel_requested: the gateway asked ShipBob to cancel it (Oracle cancelled the line), confirmed or not;
 * - cancelled: ShipBob cancelled it without the gateway asking, as far as the gateway has seen;
 * - open: the gateway made it (or found it at ShipBob) and has not asked to cancel it;
 * - unknown: no record: another channel's order, or one made before the gateway kept records.
 */
export type GatewayOrderState = 'cancel_requested' | 'cancelled' | 'open' | 'unknown';

export function gatewayOrderState(record: Pick<ShipBobOrderRecord, 'cancelled' | 'cancelRequestedAt'> | null): GatewayOrderState {
  if (record === null) return 'unknown';
  if (record.cancelRequestedAt !== null) return 'cancel_requested';
  return record.cancelled ? 'cancelled' : 'open';
}

/** The items wanted more or fewer of, for messages: "TShirtBlueM 2 → 1". */
export function quantityChanges(from: ShipBobQuantities, to: ShipBobQuantities): string[] {
  return [...new Set([...Object.keys(from), ...Object.keys(to)])]
    .sort()
    .filter((item) => (from[item] ?? 0) !== (to[item] ?? 0))
    .map((item) => `${item} ${from[item] ?? 0} → ${to[item] ?? 0}`);
}

function sameItems(a: ShipBobQuantities, b: ShipBobQuantities): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function sameQuantities(a: ShipBobQuantities, b: ShipBobQuantities): boolean {
  return sameItems(a, b) && Object.keys(a).every((k) => a[k] === b[k]);
}

/** A recipient as ShipBob's create-order request and order view carry it. */
export interface ShipBobRecipientLike {
  name?: string | null;
  email?: string | null;
  phone_number?: string | null;
  address: {
    address1?: string | null;
    address2?: string | null;
    company_name?: string | null;
    city?: string | null;
    state?: string | null;
    zip_code?: string | null;
    country?: string | null;
  };
}

/**
 * A digest of the ship-to fields ShipBob's address change can set (name, address lines, company,
 * city, state, zip, country, email, phone). Blank and absent fields count alike, and surrounding
 * spaces do not count, so an order read back from ShipBob (nulls for what was not sent) digests like
 * the request that made it.
 */
export function shipBobAddressHash(recipient: ShipBobRecipientLike): string {
  const a = recipient.address;
  const fields: Array<[string, string | null | undefined]> = [
    ['name', recipient.name],
    ['address1', a.address1],
    ['address2', a.address2],
    ['company_name', a.company_name],
    ['city', a.city],
    ['state', a.state],
    ['zip_code', a.zip_code],
    ['country', a.country],
    ['email', recipient.email],
    ['phone_number', recipient.phone_number],
  ];
  const kept = fields.flatMap(([k, v]) => {
    const t = typeof v === 'string' ? v.trim() : '';
    return t === '' ? [] : [[k, t]];
  });
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex');
}

/** What an order request (or an order read from ShipBob) holds: its quantities per product and its ship-to digest. */
export function shipBobOrderContent(order: { products: ReadonlyArray<{ reference_id: string; quantity: number }>; recipient: ShipBobRecipientLike }): ShipBobOrderContent {
  const quantities: Record<string, number> = {};
  for (const p of order.products) quantities[p.reference_id] = (quantities[p.reference_id] ?? 0) + p.quantity;
  return { quantities, addressHash: shipBobAddressHash(order.recipient) };
}
