import type { ConnectorParts, SendResult } from '../types.ts';
import { TransformError } from '../types.ts';

/** The fields of a Fusion sales order (salesOrdersForOrderHub) that fulfilment needs. */
export interface FusionSalesOrder {
  orderKey: string;
  orderNumber: string | null;
  customerPoNumber: string | null;
  shipTo: {
    name: string | null;
    address1: string | null;
    address2: string | null;
    city: string | null;
    state: string | null;
    postalCode: string | null;
    country: string | null;
    email: string | null;
    phone: string | null;
  } | null;
  lines: FusionSalesOrderLine[];
}

export interface FusionSalesOrderLine {
  fulfillLineId: string;
  productNumber: string | null;
  description: string | null;
  quantity: number | null;
  organizationCode: string | null;
}

export type SalesOrderLookup = { found: true; order: FusionSalesOrder } | { found: false; result: SendResult };

/**
 * Reads a sales order with its lines by order key (`SourceOrderSystem:SourceOrderId`) through an
 * oracle-fusion connector: `GET {restBase}/salesOrdersForOrderHub/{OrderKey}?expand=lines`.
 */
export async function readSalesOrder(fusion: ConnectorParts, orderKey: string): Promise<SalesOrderLookup> {
  const settings = fusion.config.fusion ?? { restBase: '/fscmRestApi/resources/11.13.18.05', restFrameworkVersion: '4' };
  const url = new URL(`${fusion.config.url.replace(/\/$/, '')}${settings.restBase}/salesOrdersForOrderHub/${encodeURIComponent(orderKey)}`);
  url.searchParams.set('expand', 'lines');
  url.searchParams.set('onlyData', 'true');
  const { result, body } = await fusion.raw(() => ({
    method: 'GET',
    url: new URL(url),
    headers: { accept: 'application/json', 'REST-Framework-Version': settings.restFrameworkVersion, 'user-agent': 'om-connector-gateway' },
    body: null,
  }));
  if (!result.ok || body === null) return { found: false, result };
  let doc: unknown;
  try {
    doc = parseJsonKeepingIds(body);
  } catch {
    throw new TransformError(`Fusion answered salesOrdersForOrderHub/${orderKey} with a body that is not JSON`);
  }
  return { found: true, order: toSalesOrder(doc, orderKey) };
}

/**
 * JSON.parse, except that integers of 16 digits or more become strings first: Fusion ids exceed
 * 2^53 and must not be rounded.
 */
export function parseJsonKeepingIds(text: string): unknown {
  return JSON.parse(text.replace(/([:,[]\s*)(-?\d{16,})(\s*[,}\]])/g, '$1"$2"$3'));
}

function toSalesOrder(doc: unknown, orderKey: string): FusionSalesOrder {
  const header = record(doc);
  const shipTo = record(array(header.shipToCustomer)[0]);
  const lines = array(header.lines).map((l) => {
    const line = record(l);
    return {
      fulfillLineId: text(line.FulfillLineId) ?? '',
      productNumber: text(line.ProductNumber),
      description: text(line.ProductDescription),
      quantity: typeof line.OrderedQuantity === 'number' ? line.OrderedQuantity : Number(text(line.OrderedQuantity) ?? NaN) || null,
      organizationCode: text(line.RequestedFulfillmentOrganizationCode),
    };
  });
  return {
    orderKey: text(header.OrderKey) ?? orderKey,
    orderNumber: text(header.OrderNumber) ?? text(header.SourceTransactionNumber),
    customerPoNumber: text(header.CustomerPONumber),
    shipTo: fusionShipTo(shipTo),
    lines,
  };
}

/**
 * A Fusion ship-to (PartyName, Address1, ...), as the sales order's `shipToCustomer` carries it and
 * the sandbox's purchase-order schedules do; null when there is none.
 */
export function fusionShipTo(r: Record<string, unknown> | undefined): FusionSalesOrder['shipTo'] {
  if (!r || Object.keys(r).length === 0) return null;
  return {
    name: text(r.PartyName),
    address1: text(r.Address1),
    address2: text(r.Address2),
    city: text(r.City),
    state: text(r.State),
    postalCode: text(r.PostalCode),
    country: text(r.Country),
    email: text(r.Email),
    phone: text(r.Phone),
  };
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function array(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  // REST-Framework-Version 3+ wraps child collections: { items: [...] }.
  const items = record(v).items;
  return Array.isArray(items) ? items : [];
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}
