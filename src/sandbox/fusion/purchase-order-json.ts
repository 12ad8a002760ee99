import type { SandboxPurchaseOrder } from './purchase-order-book.ts';
import { FusionQueryError } from './purchase-order-query.ts';

// The JSON text is built here so POHeaderId keeps all its digits.

export interface PurchaseOrderExpand {
  lines: boolean;
  schedules: boolean;
}

export interface Link {
  rel: string;
  href: string;
  name: string;
  kind: 'item' | 'collection';
}

/** Item links follow Fusion's shape; the sandbox serves only the collection, so following one gives 404. */
function itemObject(po: SandboxPurchaseOrder, expand: PurchaseOrderExpand, itemBase: string | undefined): Record<string, unknown> {
  const { POHeaderId: id, lines, ...header } = po;
  const out: Record<string, unknown> = { ...header };
  const self = itemBase && `${itemBase}/${id}`;
  if (expand.lines) {
    out.lines = lines.map((line) => {
      const { schedules, ...fields } = line;
      const lineOut: Record<string, unknown> = { ...fields };
      const lineSelf = self && `${self}/child/lines/${line.POLineId}`;
      if (expand.schedules) {
        lineOut.schedules = schedules.map((s) => {
          const scheduleOut: Record<string, unknown> = { ...s };
          if (lineSelf) scheduleOut.links = [link('self', `${lineSelf}/child/schedules/${s.LineLocationId}`, 'schedules', 'item')];
          return scheduleOut;
        });
      }
      if (lineSelf) {
        lineOut.links = [link('self', lineSelf, 'lines', 'item'), link('child', `${lineSelf}/child/schedules`, 'schedules', 'collection')];
      }
      return lineOut;
    });
  }
  if (self) out.links = [link('self', self, 'purchaseOrders', 'item'), link('child', `${self}/child/lines`, 'lines', 'collection')];
  return out;
}

export function link(rel: string, href: string, name: string, kind: Link['kind']): Link {
  return { rel, href, name, kind };
}

/** `{"POHeaderId":<digits>, ...rest}` with the digits as a raw number literal. */
function withRawId(id: string, rest: Record<string, unknown>): string {
  if (!/^\d+$/.test(id)) throw new TypeError(`POHeaderId ${id} is not all digits`);
  const tail = JSON.stringify(rest);
  return tail === '{}' ? `{"POHeaderId":${id}}` : `{"POHeaderId":${id},${tail.slice(1)}`;
}

/** One PO as JSON text; `itemBase` (the collection's URL) adds links, leave it out for onlyData. */
export function purchaseOrderJson(po: SandboxPurchaseOrder, expand: PurchaseOrderExpand, itemBase?: string): string {
  return withRawId(po.POHeaderId, itemObject(po, expand, itemBase));
}

export function parseExpand(expand: string): PurchaseOrderExpand {
  const result: PurchaseOrderExpand = { lines: false, schedules: false };
  for (const part of expand.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    if (part === 'all' || part === 'lines.schedules') {
      result.lines = true;
      result.schedules = true;
    } else if (part === 'lines') {
      result.lines = true;
    } else {
      throw new FusionQueryError(`${JSON.stringify(part)} is not a child of purchaseOrders the sandbox can expand (lines, lines.schedules, all).`, 'OMGW-SANDBOX-EXPAND');
    }
  }
  return result;
}
