import { createHash } from 'node:crypto';

// The values a push carries that Oracle would have made up: 15-digit Fusion-style ids, numbers and
// dates, each derived from the order (system, number), a kind and the line number, so the same
// order always gives the same push, and the emulated Fusion REST can describe the same order.

export interface PushOrder {
  /** Default `LEG`. */
  sourceOrderSystem?: string;
  sourceOrderNumber: string;
  /** Default: a 15-digit id derived from system and number. */
  orchestrationOrderId?: string;
  /** Number of order lines, each with one fulfilment line. Default 1. Ignored by OrderHeaderStatusUpdate. */
  lines?: number;
  /**
   * Status transition. FlineStatusUpdate: line and fulfilment line StatusCode old/new (default
   * AWAIT_SHIPPING → SHIPPED). OrderHeaderStatusUpdate: StatusPriorValue/StatusNewValue (default
   * OPEN → CLOSED). OcResponse: `statusTo` is the CompensationStatus (default SUCCESS). Other
   * events ignore them.
   */
  statusFrom?: string;
  statusTo?: string;
}

export interface OrderContext {
  system: string;
  number: string;
  orchestrationOrderId: string;
  lines: number;
  statusFrom: string | undefined;
  statusTo: string | undefined;
}

export function digestOf(...parts: Array<string | number>): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/** A 15-digit Fusion-style id: `prefix` (6 digits) + 9 digits derived from the order and `kind`. */
export function fusionId(ctx: OrderContext, kind: string, line = 0, prefix = '300100'): string {
  const n = digestOf(ctx.system, ctx.number, kind, line).readUIntBE(0, 6) % 1_000_000_000;
  return prefix + String(n).padStart(9, '0');
}

export function derivedNumber(ctx: OrderContext, kind: string, min: number, span: number, line = 0): number {
  return min + (digestOf(ctx.system, ctx.number, kind, line).readUInt32BE(0) % span);
}

/** A date-time in 2025, the way Oracle SOA formats xsd:dateTime (milliseconds, numeric offset). */
export function orderDateTime(ctx: OrderContext, kind: string, line: number, extraHours = 0): string {
  const day = derivedNumber(ctx, 'day', 0, 360);
  const minutes = derivedNumber(ctx, kind, 0, 8 * 60, line);
  const ms = Date.UTC(2025, 0, 2, 8) + day * 86_400_000 + (minutes + extraHours * 60) * 60_000;
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

export function contextFor(order: PushOrder): OrderContext {
  const lines = order.lines ?? 1;
  if (!Number.isInteger(lines) || lines < 1 || lines > 10_000) {
    throw new RangeError(`lines must be an integer from 1 to 10000, got ${String(order.lines)}`);
  }
  const ctx: OrderContext = {
    system: order.sourceOrderSystem ?? 'LEG',
    number: order.sourceOrderNumber,
    orchestrationOrderId: '',
    lines,
    statusFrom: order.statusFrom,
    statusTo: order.statusTo,
  };
  ctx.orchestrationOrderId = order.orchestrationOrderId ?? fusionId(ctx, 'header');
  return ctx;
}
export const lineNumbers = (ctx: OrderContext): number[] => Array.from({ length: ctx.lines }, (_, i) => i + 1);
export const orchestrationLineId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'line', n);
export const fulfillmentLineId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'fline', n);
export const itemId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'item', n, '300000');
export const inventoryOrgId = (ctx: OrderContext): string => fusionId(ctx, 'org', 0, '300000');
export const customerId = (ctx: OrderContext): string => fusionId(ctx, 'customer', 0, '300000');
export const orchestrationOrderNumber = (ctx: OrderContext): string => String(derivedNumber(ctx, 'orderNumber', 100_000, 900_000));
export const sourceLineId = (ctx: OrderContext, n: number): string => `${ctx.number}-${n}`;

/**
 * The ids this builder derives for an order, so the emulated Fusion REST can describe the same order
 * that an emulated push talks about (same fulfilment line ids, item ids, organization).
 */
export function sandboxOrderIds(order: PushOrder): {
  orchestrationOrderId: string;
  orchestrationOrderNumber: string;
  customerId: string;
  inventoryOrganizationId: string;
  lines: Array<{ lineNumber: number; orchestrationOrderLineId: string; fulfillLineId: string; itemId: string; sourceOrderLineId: string }>;
} {
  const ctx = contextFor(order);
  return {
    orchestrationOrderId: ctx.orchestrationOrderId,
    orchestrationOrderNumber: orchestrationOrderNumber(ctx),
    customerId: customerId(ctx),
    inventoryOrganizationId: inventoryOrgId(ctx),
    lines: lineNumbers(ctx).map((n) => ({
      lineNumber: n,
      orchestrationOrderLineId: orchestrationLineId(ctx, n),
      fulfillLineId: fulfillmentLineId(ctx, n),
      itemId: itemId(ctx, n),
      sourceOrderLineId: sourceLineId(ctx, n),
    })),
  };
}
