import {
  applyShipBobAction,
  planShipBobChange,
  quantityChanges,
  shipBobAddressHash,
  shipBobOrderContent,
  type ShipBobAction,
  type ShipBobNothing,
  type ShipBobOrderRecord,
  type ShipBobQuantities,
  type ShipBobWant,
} from '../../domain/shipbob-change.ts';
import type { SendResult, ShipBobOrderLedger } from '../types.ts';
import type { Call, ChangeAnswer, OrderView, ShipBobApi, ShipmentView } from './api.ts';
import type { ShipBobTarget } from './order.ts';

/**
 * One ShipBob order brought to what an event wants: created, left alone, or changed by the
 * difference from what was sent before (src/domain/shipbob-change.ts decides; this file asks
 * ShipBob and records). Before a change it reads the order as ShipBob has it now, so that a shipment
 * already picked, packed or shipped is refused in words without sending the change, and a replay of
 * such a refusal reads again but sends nothing.
 */

export interface SettleContext {
  api: ShipBobApi;
  ledger: ShipBobOrderLedger;
  connector: string;
  /** The order key of the event (sales order key or PO number), kept with new records. */
  orderKey: string | null;
  /** False for events that only change orders made before (changes.changeOnly). */
  mayCreate: boolean;
  now: () => number;
}

/** What a delivery's summary says of one order (its attempt's response snippet). */
export interface OrderSummary {
  reference_id: string;
  id: string | null;
  /** Found at ShipBob (made by an earlier attempt, or before the gateway kept records) rather than created now. */
  existing: boolean;
  /** The requests that changed something: create, cancel, updateLineItems, updateAddress. */
  sent: Array<ShipBobAction['kind']>;
  /** Why nothing was sent, when nothing was. */
  nothing?: ShipBobNothing;
  /** Why ShipBob cannot make the change: what a person has to do. */
  refused?: string;
}

export type Settled = { ok: true; summary: OrderSummary } | { ok: false; result: SendResult };

type Stage = 'open' | 'picked' | 'packed' | 'shipped' | 'cancelled';

export async function settle(target: ShipBobTarget, ctx: SettleContext): Promise<Settled> {
  const summary: OrderSummary = { reference_id: target.referenceId, id: null, existing: false, sent: [] };
  const want: ShipBobWant = target.want.kind === 'order' ? { kind: 'order', content: shipBobOrderContent(target.want.order) } : { kind: 'cancelled' };
  const mayCreate = ctx.mayCreate && target.want.kind === 'order';
  // An event whose order key lacks the source system (FlineClosed) still finds the order by its line.
  let record = (await ctx.ledger.get(ctx.connector, target.referenceId)) ?? (await ctx.ledger.findByLine(ctx.connector, target.lineKey));
  if (record) summary.reference_id = record.referenceId;

  if (record === null && !mayCreate) {
    // An order made before the gateway kept records of them still gets the change.
    const found = await ctx.api.findByReference(target.referenceId);
    if (!found.ok) return failed(found.result, `looking up ShipBob order ${target.referenceId}`);
    if (found.value) record = await adopt(ctx, target, found.value, summary);
  }

  let plan = planShipBobChange(record, want, mayCreate);
  if (plan.kind === 'send' && plan.actions[0]?.kind === 'create' && target.want.kind === 'order') {
    const create = plan.actions[0];
    const made = await ctx.api.createOrder(target.want.order);
    if (made.ok && made.value) {
      record = await save(ctx, newRecord(ctx, target, made.value, applyShipBobAction(null, create)));
      summary.sent.push('create');
      summary.id = record.shipbobOrderId;
      return { ok: true, summary };
    }
    // A duplicate reference id, no answer, or an answer without the order: it may exist already.
    const unknown = made.ok || made.result.status === 422 || made.result.errorClass === 'timeout' || made.result.errorClass === 'network';
    if (!unknown) return failed(made.result, `creating ShipBob order ${target.referenceId}`);
    const found = await ctx.api.findByReference(target.referenceId);
    if (!found.ok) return failed(found.result, `looking up ShipBob order ${target.referenceId}`);
    if (!found.value) return failed(made.result, `creating ShipBob order ${target.referenceId}`);
    record = await adopt(ctx, target, found.value, summary);
    plan = planShipBobChange(record, want, mayCreate);
  }

  summary.id = record?.shipbobOrderId ?? null;
  if (plan.kind === 'nothing') return { ok: true, summary: { ...summary, nothing: plan.why } };
  if (record === null) return { ok: true, summary: { ...summary, nothing: 'not_created' } };
  if (plan.kind === 'refused') {
    const why =
      plan.refusal === 'reopen'
        ? `ShipBob order ${record.shipbobOrderId} for ${target.label} was cancelled and Oracle wants it again: create a new order by hand (ShipBob keeps reference id ${record.referenceId} for ever)`
        : `${target.label} now wants other items than ShipBob order ${record.shipbobOrderId} (${itemsChange(record.quantities, want)}): cancel it and create a new order by hand`;
    return { ok: true, summary: { ...summary, refused: why } };
  }
  return change(ctx, target, record, plan.actions, summary);
}

/** Sends the changes after reading the order as ShipBob has it now. */
async function change(ctx: SettleContext, target: ShipBobTarget, sent: ShipBobOrderRecord, actions: ShipBobAction[], summary: OrderSummary): Promise<Settled> {
  let record = sent;
  const id = record.shipbobOrderId;
  const now = await ctx.api.getOrder(id);
  if (!now.ok) return failed(now.result, `reading ShipBob order ${id}`);
  const open = now.value.shipments.filter((s) => s.status !== 'Cancelled');
  if (isCancelled(now.value)) {
    if (!record.cancelled) record = await save(ctx, { ...record, cancelled: true, updatedAt: ctx.now() });
    if (actions.some((a) => a.kind === 'cancel')) return { ok: true, summary: { ...summary, nothing: 'already_cancelled' } };
    return { ok: true, summary: { ...summary, refused: `ShipBob order ${id} was cancelled at ShipBob: create a new order for ${target.label} by hand` } };
  }
  if (open.length > 1) {
    return { ok: true, summary: { ...summary, refused: `ShipBob split order ${id} into shipments ${open.map((s) => s.id).join(', ')}: change them by hand` } };
  }
  const shipment = open[0] ?? null;
  const stage = shipment === null ? 'open' : stageOf(shipment);
  const first = actions[0];
  if (stage !== 'open' && first) return { ok: true, summary: { ...summary, refused: tooLate(first, id, stage, shipment, record.quantities) } };
  const shipmentId = shipment?.id ?? record.shipmentId;
  if (shipmentId !== record.shipmentId) record = { ...record, shipmentId };

  for (const action of actions) {
    if (action.kind !== 'cancel' && shipmentId === null) {
      return { ok: true, summary: { ...summary, refused: `ShipBob order ${id} has no shipment to change: change it by hand` } };
    }
    if (action.kind === 'cancel' && record.cancelRequestedAt === null) {
      // Before the request: ShipBob may send order.shipment.cancelled before it answers, and the
      // webhook receiver must already know the cancellation for the gateway's own.
      record = await save(ctx, { ...record, cancelRequestedAt: ctx.now(), updatedAt: ctx.now() });
    }
    const answer = await send(ctx, target, action, id, shipmentId ?? '');
    if (!answer.ok) return failed(answer.result, `${verb(action)} ShipBob order ${id}`);
    if (answer.value === null) {
      const changes = action.kind === 'updateLineItems' ? quantityChanges(record.quantities, action.quantities).join(', ') : '';
      return { ok: true, summary: { ...summary, refused: `shipment ${shipmentId ?? '?'} of ShipBob order ${id} does not hold the items Oracle changed (${changes}): change it by hand` } };
    }
    if (!answer.value.done) return { ok: true, summary: { ...summary, refused: `ShipBob did not ${verb(action)} order ${id}: ${answer.value.reason}` } };
    record = await save(ctx, { ...record, ...applyShipBobAction(record, action), updatedAt: ctx.now() });
    summary.sent.push(action.kind);
  }
  return { ok: true, summary };
}

/** One change request; null when the shipment does not hold the items to change. */
function send(ctx: SettleContext, target: ShipBobTarget, action: ShipBobAction, orderId: string, shipmentId: string): Promise<Call<ChangeAnswer | null>> {
  switch (action.kind) {
    case 'cancel':
      return ctx.api.cancelOrder(orderId);
    case 'updateLineItems':
      return ctx.api.updateQuantities(shipmentId, action.quantities);
    case 'updateAddress':
      if (target.want.kind !== 'order') throw new RangeError('an address change needs the order wanted');
      return ctx.api.updateAddress(shipmentId, target.want.order.recipient);
    case 'create':
      throw new RangeError('a create is sent before any change');
  }
}

/** The record of an order found at ShipBob, made from what ShipBob holds (its shipment's ship-to first: address changes go there). */
async function adopt(ctx: SettleContext, target: ShipBobTarget, order: OrderView, summary: OrderSummary): Promise<ShipBobOrderRecord> {
  summary.existing = true;
  summary.id = order.id;
  const shipment = order.shipments.find((s) => s.status !== 'Cancelled') ?? order.shipments[0];
  const recipient = shipment?.recipient ?? order.recipient;
  return save(
    ctx,
    newRecord(ctx, target, order, {
      quantities: shipBobOrderContent({ products: order.products, recipient: recipient ?? { address: {} } }).quantities,
      addressHash: recipient ? shipBobAddressHash(recipient) : '',
      cancelled: isCancelled(order),
    }),
  );
}

function newRecord(ctx: SettleContext, target: ShipBobTarget, order: OrderView, state: Pick<ShipBobOrderRecord, 'quantities' | 'addressHash' | 'cancelled'>): ShipBobOrderRecord {
  const at = ctx.now();
  const shipment = order.shipments.find((s) => s.status !== 'Cancelled') ?? order.shipments[0];
  return {
    connector: ctx.connector,
    referenceId: target.referenceId,
    orderKey: ctx.orderKey,
    lineKey: target.lineKey,
    shipbobOrderId: order.id,
    shipmentId: shipment?.id ?? null,
    cancelRequestedAt: null,
    ...state,
    createdAt: at,
    updatedAt: at,
  };
}

async function save(ctx: SettleContext, record: ShipBobOrderRecord): Promise<ShipBobOrderRecord> {
  await ctx.ledger.save(record);
  return record;
}

function isCancelled(order: OrderView): boolean {
  return order.status === 'Cancelled' || (order.shipments.length > 0 && order.shipments.every((s) => s.status === 'Cancelled'));
}

/**
 * How far a shipment has got. ShipBob's status stays Processing while a shipment is picked and
 * packed (its status filter names those stages); they show as status details of that name.
 */
function stageOf(shipment: ShipmentView): Stage {
  if (shipment.status === 'Cancelled') return 'cancelled';
  if (shipment.status === 'Completed' || shipment.status === 'LabeledCreated' || shipment.trackingNumber !== null) return 'shipped';
  const details = shipment.details.map((d) => d.toLowerCase());
  if (details.includes('packed')) return 'packed';
  if (details.includes('picked')) return 'picked';
  return 'open';
}

function verb(action: ShipBobAction): string {
  switch (action.kind) {
    case 'create':
      return 'create';
    case 'cancel':
      return 'cancel';
    case 'updateLineItems':
      return 'change the quantities of';
    case 'updateAddress':
      return 'change the ship-to of';
  }
}

/** What a person has to do about a change that comes too late for ShipBob. */
function tooLate(action: ShipBobAction, id: string, stage: Exclude<Stage, 'open'>, shipment: ShipmentView | null, sent: ShipBobQuantities): string {
  const where =
    stage === 'shipped'
      ? `ShipBob order ${id} already shipped${shipment?.trackingNumber ? ` (tracking ${shipment.trackingNumber})` : ''}`
      : `ShipBob order ${id} is already ${stage}`;
  switch (action.kind) {
    case 'cancel':
      return stage === 'shipped' ? `${where}: arrange a return` : `${where}: ask ShipBob to stop it, or arrange a return once it ships`;
    case 'updateLineItems': {
      const changes = quantityChanges(sent, action.quantities).join(', ');
      return stage === 'shipped'
        ? `${where} (${changes}): arrange a return of what is too many, or a new order for what is missing`
        : `${where} (${changes}): ask ShipBob to change it, or settle the difference once it ships`;
    }
    case 'updateAddress':
      return stage === 'shipped' ? `${where} to the old address: ask the carrier to redirect it, or arrange a return` : `${where}: ask ShipBob to change the address before it ships`;
    case 'create':
      return `${where}`;
  }
}

function itemsChange(sent: ShipBobQuantities, want: ShipBobWant): string {
  const to = want.kind === 'order' ? want.content.quantities : {};
  return `${Object.keys(sent).sort().join(', ') || 'none'} → ${Object.keys(to).sort().join(', ') || 'none'}`;
}

/** A call that did not go as hoped, as the attempt's failure (never ok: an answer without the order is one too). */
function failed(result: SendResult, doing: string): Settled {
  const errorClass = result.errorClass ?? (result.status !== null ? 'http' : 'network');
  return { ok: false, result: { ...result, ok: false, errorClass, errorMessage: `${doing}: ${result.errorMessage ?? (result.status !== null ? `HTTP ${result.status}` : 'failed')}` } };
}
