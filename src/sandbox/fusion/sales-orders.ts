import type { Router } from '@koa/router';
import { sandboxOrderIds } from '../om-push.ts';
import {
  FUSION_PREFIX,
  FUSION_REST_BASE,
  SANDBOX_ITEMS,
  SANDBOX_ORGANIZATION,
  SANDBOX_SHIP_TO,
  type FusionAuthCheck,
} from './common.ts';

/**
 * `salesOrdersForOrderHub/{OrderKey}?expand=lines` describes any order key with lines whose ids
 * match what the emulated OM pusher sends for the same order (its write-backs are in write-backs.ts).
 * Field names follow Oracle's documented resource (HeaderId, OrderKey, SourceTransactionNumber, lines
 * with FulfillLineId, ProductNumber, OrderedQuantity); the ship-to child `shipToCustomer` is this
 * sandbox's model.
 */
export function registerFusionSalesOrders(router: Router, authorized: FusionAuthCheck, linesPerOrder: number): void {
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
    ctx.body = salesOrder(system ?? 'LEG', number, linesPerOrder, String(ctx.query.expand ?? '').includes('lines'));
  });
}

function salesOrder(system: string, number: string, lineCount: number, withLines: boolean): Record<string, unknown> {
  const ids = sandboxOrderIds({ sourceOrderSystem: system, sourceOrderNumber: number, lines: lineCount });
  const header: Record<string, unknown> = {
    HeaderId: Number(ids.orchestrationOrderId),
    OrderKey: `${system}:${number}`,
    OrderNumber: ids.orchestrationOrderNumber,
    SourceTransactionNumber: number,
    SourceTransactionSystem: system,
    BuyingPartyName: 'Harbor Outfitters',
    BuyingPartyNumber: '10045',
    CustomerPONumber: `PO-${number}`,
    StatusCode: 'OPEN',
    TransactionOn: '2026-11-20T09:30:00+00:00',
    shipToCustomer: [{ ...SANDBOX_SHIP_TO }],
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
      OrderedQuantity: i + 1,
      OrderedUOMCode: 'Ea',
      RequestedFulfillmentOrganizationCode: SANDBOX_ORGANIZATION,
      StatusCode: 'AWAIT_SHIPPING',
      UnitSellingPrice: 12.5 + i,
    }));
  }
  return header;
}
