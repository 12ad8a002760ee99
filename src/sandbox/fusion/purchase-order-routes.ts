import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { FUSION_PREFIX, FUSION_REST_BASE, readJson, type FusionAuthCheck, type SandboxShipTo } from './common.ts';
import {
  PURCHASE_ORDER_STATUS_CODES,
  type PurchaseOrderStatusCode,
  type SandboxPurchaseOrder,
  type SandboxPurchaseOrderBook,
  type SandboxPurchaseOrderChanges,
  type SandboxPurchaseOrderInput,
  type SandboxPurchaseOrderLineInput,
} from './purchase-order-book.ts';
import { link, parseExpand, purchaseOrderJson, type PurchaseOrderExpand } from './purchase-order-json.ts';
import { DEFAULT_LIMIT, FusionQueryError, queryPurchaseOrders } from './purchase-order-query.ts';

// The purchase orders over HTTP: the parameters and body checks of the routes, and the collection
// envelope around the items purchase-order-json.ts writes.

const COLLECTION_TYPE = 'application/vnd.oracle.adf.resourcecollection+json';
const ITEM_TYPE = 'application/vnd.oracle.adf.resourceitem+json';
const FULL: PurchaseOrderExpand = { lines: true, schedules: true };
const SHIP_TO_FIELDS: readonly (keyof SandboxShipTo)[] = ['PartyName', 'Address1', 'Address2', 'City', 'State', 'PostalCode', 'Country', 'Email', 'Phone'];

function badRequest(ctx: Context, detail: string, code: string): void {
  ctx.status = 400;
  ctx.body = { title: 'Bad Request', status: 400, detail, 'o:errorCode': code };
}

function single(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new FusionQueryError(`The query parameter ${name} is given more than once.`, 'OMGW-SANDBOX-PARAMETER');
  return value;
}

function integerParameter(ctx: Context, name: string): number | undefined {
  const text = single(ctx, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new FusionQueryError(`The query parameter ${name}=${text} is not a non-negative integer.`, 'OMGW-SANDBOX-PARAMETER');
  return Number(text);
}

function frameworkVersion(ctx: Context): number {
  const header = ctx.get('rest-framework-version').trim();
  if (header === '') return 1;
  if (!/^[1-9]\d*$/.test(header)) throw new FusionQueryError(`REST-Framework-Version ${header} is not a version number.`, 'OMGW-SANDBOX-VERSION');
  return Number(header);
}

function collectionBody(ctx: Context, collection: string, orders: readonly SandboxPurchaseOrder[]): string {
  for (const unsupported of ['finder', 'fields']) {
    if (ctx.query[unsupported] !== undefined) {
      throw new FusionQueryError(`The sandbox does not emulate the ${unsupported} parameter.`, 'OMGW-SANDBOX-PARAMETER');
    }
  }
  const page = queryPurchaseOrders(orders, {
    q: single(ctx, 'q') ?? '',
    frameworkVersion: frameworkVersion(ctx),
    orderBy: single(ctx, 'orderBy') ?? '',
    limit: integerParameter(ctx, 'limit') ?? DEFAULT_LIMIT,
    offset: integerParameter(ctx, 'offset') ?? 0,
  });
  const expand = parseExpand(single(ctx, 'expand') ?? '');
  const onlyData = single(ctx, 'onlyData') === 'true';
  const totalResults = single(ctx, 'totalResults') === 'true';
  const pageHref = (offset: number): string => {
    const params = new URLSearchParams(ctx.querystring);
    params.set('limit', String(page.limit));
    params.set('offset', String(offset));
    return `${collection}?${params.toString()}`;
  };
  const links = [link('self', pageHref(page.offset), 'purchaseOrders', 'collection')];
  if (page.hasMore) links.push(link('next', pageHref(page.offset + page.limit), 'purchaseOrders', 'collection'));
  const envelope: Record<string, unknown> = {
    count: page.items.length,
    hasMore: page.hasMore,
    limit: page.limit,
    offset: page.offset,
    ...(totalResults ? { totalResults: page.total } : {}),
    links,
  };
  const items = page.items.map((po) => purchaseOrderJson(po, expand, onlyData ? undefined : collection)).join(',');
  return `{"items":[${items}],${JSON.stringify(envelope).slice(1)}`;
}

type BodyCheck<T> = { ok: true; value: T } | { ok: false; detail: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkBody(body: unknown, allowed: readonly string[]): BodyCheck<SandboxPurchaseOrderInput> {
  if (!isRecord(body)) return { ok: false, detail: 'The body must be a JSON object.' };
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) return { ok: false, detail: `Unknown fields: ${extra.join(', ')}; allowed: ${allowed.join(', ')}.` };
  const out: SandboxPurchaseOrderInput = {};
  if (body.orderNumber !== undefined) {
    if (typeof body.orderNumber !== 'string' || body.orderNumber === '') return { ok: false, detail: 'orderNumber must be a non-empty string.' };
    out.orderNumber = body.orderNumber;
  }
  if (body.statusCode !== undefined) {
    if (typeof body.statusCode !== 'string' || !(PURCHASE_ORDER_STATUS_CODES as readonly string[]).includes(body.statusCode)) {
      return { ok: false, detail: `statusCode must be one of ${PURCHASE_ORDER_STATUS_CODES.join(', ')}.` };
    }
    out.statusCode = body.statusCode as PurchaseOrderStatusCode;
  }
  if (body.lines !== undefined) {
    if (!Array.isArray(body.lines)) return { ok: false, detail: 'lines must be an array.' };
    const lines: SandboxPurchaseOrderLineInput[] = [];
    for (const [i, line] of (body.lines as unknown[]).entries()) {
      if (!isRecord(line) || typeof line.item !== 'string' || line.item === '' || typeof line.quantity !== 'number' || !(line.quantity > 0)) {
        return { ok: false, detail: `lines[${i}] must be { item: non-empty string, quantity: positive number }.` };
      }
      lines.push({ item: line.item, quantity: line.quantity });
    }
    out.lines = lines;
  }
  if (body.shipTo !== undefined) {
    if (!isRecord(body.shipTo)) return { ok: false, detail: 'shipTo must be an object.' };
    const shipTo: Partial<SandboxShipTo> = {};
    for (const [key, value] of Object.entries(body.shipTo)) {
      if (!(SHIP_TO_FIELDS as readonly string[]).includes(key) || typeof value !== 'string') {
        return { ok: false, detail: `shipTo.${key} is not one of ${SHIP_TO_FIELDS.join(', ')} with a string value.` };
      }
      shipTo[key as keyof SandboxShipTo] = value;
    }
    out.shipTo = shipTo;
  }
  return { ok: true, value: out };
}

// A touch without changes is the common case; readJson refuses an empty body as invalid JSON.
function hasNoBody(ctx: Context): boolean {
  return ctx.request.length === 0 || (ctx.request.length === undefined && !ctx.get('transfer-encoding'));
}

/**
 * Fusion's `GET …/purchaseOrders` over `book`, plus sandbox-only management routes under
 * `${FUSION_PREFIX}/purchase-orders` (create, touch) that are not Fusion's. `authorized` is the
 * sandbox's HTTP Basic check, which answers 401 itself.
 */
export function registerFusionPurchaseOrders(router: Router, book: SandboxPurchaseOrderBook, authorized: FusionAuthCheck): void {
  const collectionPath = `${FUSION_PREFIX}${FUSION_REST_BASE}/purchaseOrders`;

  router.get(collectionPath, (ctx) => {
    if (!authorized(ctx)) return;
    try {
      // Not ctx.origin: since Koa 3 that is the Origin request header.
      const body = collectionBody(ctx, `${ctx.protocol}://${ctx.host}${collectionPath}`, book.all());
      ctx.type = COLLECTION_TYPE;
      ctx.body = body;
    } catch (err) {
      if (!(err instanceof FusionQueryError)) throw err;
      badRequest(ctx, err.message, err.code);
    }
  });

  router.post(`${FUSION_PREFIX}/purchase-orders`, async (ctx) => {
    if (!authorized(ctx)) return;
    const body = hasNoBody(ctx) ? {} : await readJson(ctx);
    if (body === undefined) return;
    const input = checkBody(body, ['orderNumber', 'lines', 'statusCode', 'shipTo']);
    if (!input.ok) return badRequest(ctx, input.detail, 'OMGW-SANDBOX-BODY');
    if (input.value.orderNumber !== undefined && book.get(input.value.orderNumber)) {
      ctx.status = 409;
      ctx.body = { title: 'Conflict', status: 409, detail: `The purchase order ${input.value.orderNumber} exists already.`, 'o:errorCode': 'OMGW-SANDBOX-EXISTS' };
      return;
    }
    ctx.status = 201;
    ctx.type = ITEM_TYPE;
    ctx.body = purchaseOrderJson(book.add(input.value), FULL);
  });

  router.post(`${FUSION_PREFIX}/purchase-orders/:orderNumber/touch`, async (ctx) => {
    if (!authorized(ctx)) return;
    const orderNumber = ctx.params.orderNumber ?? '';
    if (!book.get(orderNumber)) {
      ctx.status = 404;
      ctx.body = { title: 'Not Found', status: 404, detail: `The requested resource ${orderNumber} was not found.` };
      return;
    }
    const body = hasNoBody(ctx) ? {} : await readJson(ctx);
    if (body === undefined) return;
    const input = checkBody(body, ['statusCode', 'lines']);
    if (!input.ok) return badRequest(ctx, input.detail, 'OMGW-SANDBOX-BODY');
    const changes: SandboxPurchaseOrderChanges = {};
    if (input.value.statusCode) changes.statusCode = input.value.statusCode;
    if (input.value.lines) changes.lines = input.value.lines;
    ctx.type = ITEM_TYPE;
    ctx.body = purchaseOrderJson(book.touch(orderNumber, changes), FULL);
  });
}
