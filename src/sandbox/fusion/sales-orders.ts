import type { Router } from '@koa/router';
import { sandboxOrderIds } from '../om-push.ts';
import {
  FUSION_PREFIX,
  FUSION_REST_BASE,
  readJson,
  SANDBOX_ITEMS,
  SANDBOX_ORGANIZATION,
  SANDBOX_SHIP_TO,
  type FusionAuthCheck,
  type SandboxShipTo,
} from './common.ts';

/** What a planner changed on a sales order after it was created: line quantities, the ship-to. */
export interface SalesOrderRevision {
  /** FulfillLineId (as text: Fusion ids exceed 2^53) → the new OrderedQuantity. */
  quantities?: Record<string, number>;
  shipTo?: Partial<SandboxShipTo>;
}

/**
 * The changes made to the emulated sales orders, by order key: every order is otherwise derived
 * from its key (the lines the emulated OM pusher sends for it), so only what changed is kept.
 */
export class SandboxSalesOrderRevisions {
  readonly #revisions = new Map<string, { quantities: Map<string, number>; shipTo: Partial<SandboxShipTo> }>();

  /** Changes a line's quantity or the ship-to of the order `orderKey` (`LEG:SO-1`); later reads show it. */
  revise(orderKey: string, revision: SalesOrderRevision): void {
    const current = this.#revisions.get(orderKey) ?? { quantities: new Map<string, number>(), shipTo: {} };
    for (const [line, quantity] of Object.entries(revision.quantities ?? {})) {
      if (!Number.isInteger(quantity) || quantity < 0) throw new RangeError(`a quantity is a whole number, not ${quantity}`);
      current.quantities.set(line, quantity);
    }
    current.shipTo = { ...current.shipTo, ...revision.shipTo };
    this.#revisions.set(orderKey, current);
  }

  quantity(orderKey: string, fulfillLineId: string): number | undefined {
    return this.#revisions.get(orderKey)?.quantities.get(fulfillLineId);
  }

  shipTo(orderKey: string): SandboxShipTo {
    return { ...SANDBOX_SHIP_TO, ...this.#revisions.get(orderKey)?.shipTo };
  }
}

const SHIP_TO_FIELDS: ReadonlyArray<keyof SandboxShipTo> = ['PartyName', 'Address1', 'Address2', 'City', 'State', 'PostalCode', 'Country', 'Email', 'Phone'];

/** The body of `POST ${FUSION_PREFIX}/sales-orders/{OrderKey}`, or why it is refused. */
function revisionOf(body: unknown): SalesOrderRevision | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The body is a JSON object with quantities and/or shipTo.';
  const { quantities, shipTo, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `Unknown fields: ${Object.keys(rest).join(', ')}.`;
  const revision: SalesOrderRevision = {};
  if (quantities !== undefined) {
    if (typeof quantities !== 'object' || quantities === null || Array.isArray(quantities)) return 'quantities maps FulfillLineId to a quantity.';
    const entries = Object.entries(quantities as Record<string, unknown>);
    if (entries.some(([line, q]) => !/^[0-9]+$/.test(line) || typeof q !== 'number' || !Number.isInteger(q) || q < 0)) return 'quantities maps FulfillLineId to a whole number.';
    revision.quantities = Object.fromEntries(entries) as Record<string, number>;
  }
  if (shipTo !== undefined) {
    if (typeof shipTo !== 'object' || shipTo === null || Array.isArray(shipTo)) return 'shipTo is an object of ship-to fields.';
    const fields = Object.entries(shipTo as Record<string, unknown>);
    const unknown = fields.filter(([k, v]) => !SHIP_TO_FIELDS.includes(k as keyof SandboxShipTo) || typeof v !== 'string');
    if (unknown.length > 0) return `shipTo takes text fields ${SHIP_TO_FIELDS.join(', ')}; not ${unknown.map(([k]) => k).join(', ')}.`;
    revision.shipTo = Object.fromEntries(fields);
  }
  return revision;
}

/**
 * `salesOrdersForOrderHub/{OrderKey}?expand=lines` describes any order key with lines whose ids
 * match what the emulated OM pusher sends for the same order (its write-backs are in write-backs.ts).
 * Field names follow Oracle's documented resource (HeaderId, OrderKey, SourceTransactionNumber, lines
 * with FulfillLineId, ProductNumber, OrderedQuantity); the ship-to child `shipToCustomer` is this
 * sandbox's model.
 */
export function registerFusionSalesOrders(router: Router, authorized: FusionAuthCheck, linesPerOrder: number, revisions: SandboxSalesOrderRevisions): void {
  const base = `${FUSION_PREFIX}${FUSION_REST_BASE}`;

  router.get(`${base}/salesOrdersForOrderHub/:orderKey`, (ctx) => {
    if (!authorized(ctx)) return;
    const orderKey = ctx.params.orderKey ?? '';
    const [system, number] = orderKey.includes(':') ? orderKey.split(':', 2) : ['LEG', orderKey];
    if (!number || number.startsWith('MISSING')) {
      ctx.status = 404;
      ctx.body = { title: 'Not Found', status: 404, detail: `The requested resource ${orderKey} was not found.` };
      return;
    }
    ctx.body = salesOrder(system ?? 'LEG', number, linesPerOrder, String(ctx.query.expand ?? '').includes('lines'), revisions);
  });

  // Not Fusion's: a planner's change to an order (a line's quantity, the ship-to), for the sandbox.
  router.post(`${FUSION_PREFIX}/sales-orders/:orderKey`, async (ctx) => {
    if (!authorized(ctx)) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    const revision = revisionOf(body);
    if (typeof revision === 'string') {
      ctx.status = 400;
      ctx.body = { title: 'Bad Request', status: 400, detail: revision, 'o:errorCode': 'OMGW-SANDBOX-BODY' };
      return;
    }
    const orderKey = ctx.params.orderKey ?? '';
    revisions.revise(orderKey, revision);
    ctx.status = 204;
  });
}

function salesOrder(system: string, number: string, lineCount: number, withLines: boolean, revisions: SandboxSalesOrderRevisions): Record<string, unknown> {
  const orderKey = `${system}:${number}`;
  const ids = sandboxOrderIds({ sourceOrderSystem: system, sourceOrderNumber: number, lines: lineCount });
  const header: Record<string, unknown> = {
    HeaderId: Number(ids.orchestrationOrderId),
    OrderKey: orderKey,
    OrderNumber: ids.orchestrationOrderNumber,
    SourceTransactionNumber: number,
    SourceTransactionSystem: system,
    BuyingPartyName: 'Harbor Outfitters',
    BuyingPartyNumber: '10045',
    CustomerPONumber: `PO-${number}`,
    StatusCode: 'OPEN',
    TransactionOn: '2026-11-20T09:30:00+00:00',
    shipToCustomer: [revisions.shipTo(orderKey)],
  };
  if (withLines) {
    header.lines = ids.lines.map((l, i) => ({
      LineId: Number(l.orchestrationOrderLineId),
      FulfillLineId: Number(l.fulfillLineId),
      FulfillLineNumber: 1,
      SourceTransactionLineId: l.sourceOrderLineId,
      ProductId: Number(l.itemId),
      ProductNumber: SANDBOX_ITEMS[i % SANDBOX_ITEMS.length],
      ProductDescription: `Sandbox item ${SANDBOX_ITEMS[i % SANDBOX_ITEMS.length]}`,
      OrderedQuantity: revisions.quantity(orderKey, l.fulfillLineId) ?? i + 1,
      OrderedUOMCode: 'Ea',
      RequestedFulfillmentOrganizationCode: SANDBOX_ORGANIZATION,
      StatusCode: 'AWAIT_SHIPPING',
      UnitSellingPrice: 12.5 + i,
    }));
  }
  return header;
}
