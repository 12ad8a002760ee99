import type { XmlRecord, XmlValue } from '../../domain/event.ts';
import type { ConnectorParts, SendResult } from '../types.ts';

/** One page of Fusion's purchaseOrders collection, as the poller asks for it. */
export interface PurchaseOrderPageRequest {
  /** Changes at or after this instant (epoch ms; sent to the second, rounded down). */
  since: number;
  /** A row-match condition ANDed to the date one (REST-Framework-Version 2 or higher). */
  filter?: string | undefined;
  expand: string;
  limit: number;
  offset: number;
}

export type PurchaseOrderPage = { ok: true; body: string; result: SendResult } | { ok: false; result: SendResult };

/** A page body this large or larger is refused as cut off (lower schedules.poller.pageSize). */
export const MAX_PAGE_BYTES = 32 * 1024 * 1024;

/**
 * An instant as a Fusion `q` literal: `2026-12-01T10:00:00+00:00`. Whole seconds, rounded down, so a
 * `>=` condition never misses a change stamped within the second (the forms Fusion accepts with
 * milliseconds are not documented; the page read again is deduplicated).
 */
function fusionInstant(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;
}

/**
 * `GET {restBase}/purchaseOrders?q=LastUpdateDate >= '…'&orderBy=LastUpdateDate:asc,POHeaderId:asc…`:
 * oldest change first, ties in a fixed order, so that paging by offset within one instant is stable.
 */
function purchaseOrdersUrl(fusion: Pick<ConnectorParts['config'], 'url' | 'fusion'>, req: PurchaseOrderPageRequest): URL {
  const restBase = fusion.fusion?.restBase ?? '/fscmRestApi/resources/11.13.18.05';
  const url = new URL(`${fusion.url.replace(/\/$/, '')}${restBase}/purchaseOrders`);
  const filter = req.filter?.trim();
  url.searchParams.set('q', `LastUpdateDate >= '${fusionInstant(req.since)}'${filter ? ` and ${filter}` : ''}`);
  url.searchParams.set('orderBy', 'LastUpdateDate:asc,POHeaderId:asc');
  url.searchParams.set('limit', String(req.limit));
  url.searchParams.set('offset', String(req.offset));
  if (req.expand) url.searchParams.set('expand', req.expand);
  url.searchParams.set('onlyData', 'true');
  return url;
}

/**
 * Reads one page through an oracle-fusion connector (its auth, TLS and timeout). The row-match `q`
 * syntax needs REST-Framework-Version 2 or higher; the connector's own version is sent when it is.
 */
export async function readPurchaseOrderPage(fusion: ConnectorParts, req: PurchaseOrderPageRequest): Promise<PurchaseOrderPage> {
  const configured = Number(fusion.config.fusion?.restFrameworkVersion ?? '4');
  const version = Number.isInteger(configured) && configured >= 2 ? String(configured) : '4';
  const url = purchaseOrdersUrl(fusion.config, req);
  const { result, body } = await fusion.raw(() => ({
    method: 'GET',
    url: new URL(url),
    headers: { accept: 'application/json', 'REST-Framework-Version': version, 'user-agent': 'om-connector-gateway' },
    body: null,
    maxResponseBytes: MAX_PAGE_BYTES,
  }));
  if (!result.ok || body === null) return { ok: false, result };
  return { ok: true, body, result };
}

/**
 * The records of a Fusion collection or child collection in the gateway's parsed form: an array, or
 * with REST-Framework-Version 3 and higher an object wrapping it as `{ items: [...] }`.
 */
export function fusionRecords(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') {
    const items = v.items;
    return Array.isArray(items) ? items : [v];
  }
  return [];
}
