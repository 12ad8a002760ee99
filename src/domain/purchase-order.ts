import { createHash } from 'node:crypto';
import type { XmlRecord, XmlValue } from './event.ts';

/**
 * Purchase orders read from Fusion by the poller: what identifies a change, and where the next page
 * starts. Pure rules, no I/O.
 */

export const PO_EVENT_CODE = 'PurchaseOrderChanged';
/** The dedupe scope of polled purchase-order changes (one per gateway: POHeaderId is unique in a pod). */
export const PO_DEDUPE_SCOPE = 'fusion-po';

/** One purchase order of a page, as far as the poller needs it. */
export interface PurchaseOrderChange {
  poHeaderId: string;
  /** LastUpdateDate as Fusion wrote it, and as epoch ms. */
  lastUpdateDate: string;
  at: number;
  /** The order key of its events: the PO number (OrderNumber), else the header id. */
  orderKey: string;
}

/** The change a page item stands for; null when it lacks POHeaderId or a readable LastUpdateDate. */
export function purchaseOrderChange(item: XmlRecord): PurchaseOrderChange | null {
  const poHeaderId = text(item.POHeaderId);
  const lastUpdateDate = text(item.LastUpdateDate);
  if (poHeaderId === null || lastUpdateDate === null) return null;
  const at = Date.parse(lastUpdateDate);
  if (!Number.isFinite(at)) return null;
  return { poHeaderId, lastUpdateDate, at, orderKey: text(item.OrderNumber) ?? poHeaderId };
}

/**
 * The dedupe key of a change: (POHeaderId, LastUpdateDate as an instant), so the same change read by
 * overlapping polls, or written with another timestamp format, is one event.
 */
export function purchaseOrderChangeHash(change: Pick<PurchaseOrderChange, 'poHeaderId' | 'at'>): string {
  return createHash('sha256').update(`${change.poHeaderId}\u0000${change.at}`).digest('hex');
}

/**
 * Where the next page starts: changes at or after `second` (whole seconds, epoch ms), skipping the
 * first `skip` of them, which were read already. Paging by a moving date instead of one offset over
 * the whole run keeps the position right when a purchase order changes while the run pages: it moves
 * to the end instead of shifting every later page by one.
 */
export interface PagePosition {
  second: number;
  skip: number;
}

export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * The position after a page whose items had these change times (oldest first, as asked for; null
 * for an item without a readable time, which still takes its place in the order).
 */
export function nextPagePosition(position: PagePosition, times: ReadonlyArray<number | null>): PagePosition {
  let { second, skip } = position;
  for (const at of times) {
    const s = at === null ? second : wholeSecond(at);
    if (s > second) {
      second = s;
      skip = 1;
    } else skip++;
  }
  return { second, skip };
}

function text(v: XmlValue | undefined): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}
