import { readSalesOrder, parseJsonKeepingIds } from '../fusion/sales-orders.ts';
import type { ConnectorParts, KindDelivery, OutboundRequest, SendResult } from '../types.ts';
import { TransformError } from '../types.ts';
import { buildShipBobOrders, buildShipBobOrdersFromPurchaseOrder, type ShipBobOrderRequest } from './order.ts';

interface Created {
  reference_id: string;
  id: string | null;
  existing: boolean;
}

/**
 * kind: shipbob. One OM event becomes one ShipBob order per fulfilment line: the sales order is read
 * from Fusion (the events carry internal ids only), items and organizations are mapped, and each
 * order is created with `POST /{version}/order`. A polled purchase order (source fusion-po) becomes
 * one order per open schedule, from the lines and schedules the event carries. ShipBob has no idempotency header and keeps
 * reference ids unique for ever, so a 422 for a duplicate reference id, or a timeout whose outcome is
 * unknown, is settled by looking the order up by `ReferenceIds`: a match counts as created, and an
 * order is never created twice.
 */
export const shipBobDelivery: KindDelivery = (shipbob, context) => async (input) => {
  const settings = shipbob.config.shipbob;
  if (!settings) throw configError(`connector ${shipbob.config.name} has no shipbob settings`);
  const orderKey = input.event.orderKey;
  let orders: ShipBobOrderRequest[];
  if (input.event.source === 'fusion-po') {
    // A polled purchase order carries its lines and schedules: nothing to read first.
    if (!orderKey) throw new TransformError('the purchase order event has no order key (PO number)');
    orders = buildShipBobOrdersFromPurchaseOrder(settings, orderKey, input.event.payload, context.mappings);
  } else {
    const fusion = context.connector(settings.enrichFrom);
    if (!fusion) throw configError(`connector ${settings.enrichFrom} (shipbob.enrichFrom) is not configured`);
    if (!orderKey) throw new TransformError('the event has no order key to read the sales order with');
    const lookup = await readSalesOrder(fusion, orderKey);
    if (!lookup.found) {
      return { ...lookup.result, errorMessage: `reading sales order ${orderKey} from Fusion: ${lookup.result.errorMessage ?? 'failed'}` };
    }
    orders = buildShipBobOrders(settings, lookup.order, input.event.payload, context.mappings);
  }

  const created: Created[] = [];
  let last: SendResult | null = null;
  for (const order of orders) {
    const outcome = await createOnce(shipbob, settings.apiVersion, order);
    if ('failed' in outcome) return outcome.failed;
    created.push(outcome.created);
    last = outcome.result;
  }
  const summary = JSON.stringify({ orders: created });
  return { ...(last as SendResult), ok: true, errorClass: null, errorMessage: null, bodySnippet: summary.slice(0, 2048) };
};

async function createOnce(
  shipbob: ConnectorParts,
  version: string,
  order: ShipBobOrderRequest,
): Promise<{ created: Created; result: SendResult } | { failed: SendResult }> {
  const { result, body } = await shipbob.raw(() => request(shipbob, 'POST', `/${version}/order`, order));
  if (result.ok) return { created: { reference_id: order.reference_id, id: orderId(body), existing: false }, result };
  // Duplicate reference id, or no answer: the order may exist already.
  if (result.status === 422 || result.errorClass === 'timeout' || result.errorClass === 'network') {
    const found = await findByReference(shipbob, version, order.reference_id);
    if (found.id !== null) return { created: { reference_id: order.reference_id, id: found.id, existing: true }, result: found.result };
    if (!found.result.ok) return { failed: found.result };
  }
  return { failed: { ...result, errorMessage: `creating ShipBob order ${order.reference_id}: ${result.errorMessage ?? 'failed'}` } };
}

async function findByReference(shipbob: ConnectorParts, version: string, reference: string): Promise<{ id: string | null; result: SendResult }> {
  const { result, body } = await shipbob.raw(() => {
    const req = request(shipbob, 'GET', `/${version}/order`, null);
    req.url.searchParams.set('ReferenceIds', reference);
    return req;
  });
  if (!result.ok || body === null) return { id: null, result };
  try {
    const doc = parseJsonKeepingIds(body);
    const items = Array.isArray(doc) ? doc : Array.isArray((doc as { items?: unknown }).items) ? (doc as { items: unknown[] }).items : [];
    for (const item of items) {
      const o = item as { reference_id?: unknown; id?: unknown };
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ShipBob's ids are numbers or strings
      if (o.reference_id === reference) return { id: o.id === undefined ? null : String(o.id), result };
    }
  } catch {
    // Not JSON: treat as not found; the create's own failure is reported.
  }
  return { id: null, result };
}

function request(shipbob: ConnectorParts, method: 'GET' | 'POST', path: string, body: unknown): OutboundRequest {
  const c = shipbob.config;
  return {
    method,
    url: new URL(`${c.url.replace(/\/$/, '')}${path}`),
    headers: {
      ...c.headers,
      accept: 'application/json',
      'user-agent': 'om-connector-gateway',
      ...(body === null ? {} : { 'content-type': 'application/json' }),
    },
    body: body === null ? null : JSON.stringify(body),
  };
}

function orderId(body: string | null): string | null {
  if (!body) return null;
  try {
    const doc = parseJsonKeepingIds(body) as { id?: unknown };
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ShipBob's ids are numbers or strings
    return doc.id === undefined ? null : String(doc.id);
  } catch {
    return null;
  }
}

function configError(message: string): Error & { errorClass: 'config' } {
  return Object.assign(new Error(message), { errorClass: 'config' as const });
}
