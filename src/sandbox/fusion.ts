import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router as KoaRouter, type Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import { registerFusionPurchaseOrders, SANDBOX_SHIP_TO, SandboxPurchaseOrderBook } from './fusion-purchase-orders.ts';
import { sandboxOrderIds } from './om-push.ts';

export const FUSION_PREFIX = '/sandbox/fusion';
export const FUSION_REST_BASE = '/fscmRestApi/resources/11.13.18.05';

/** Items the emulated Fusion sells; their numbers are the keys of the example product map. */
export const SANDBOX_ITEMS = ['OMGW-TSHIRT-M', 'OMGW-MUG-12OZ', 'OMGW-CAP-BLK', 'OMGW-SOCKS-L'] as const;
/** The organization every emulated order line ships from; the key of the example location map. */
export const SANDBOX_ORGANIZATION = 'M1';

export interface FusionRecord {
  at: string;
  method: string;
  path: string;
  body: unknown;
}

export interface FusionSandboxOptions {
  username: string;
  password: string;
  /** Lines per emulated sales order (default 3). */
  linesPerOrder?: number;
  /** Epoch ms; stamps the emulated purchase orders' CreationDate and LastUpdateDate (default Date.now). */
  now?: () => number;
}

/**
 * An emulated Fusion REST: `salesOrdersForOrderHub/{OrderKey}?expand=lines` describes any order key
 * with lines whose ids match what the emulated OM pusher sends for the same order, and write-back
 * endpoints (receiving receipt requests, i.e. ASNs, and sales order line updates) record what they
 * get. HTTP Basic, like a Fusion integration user. Field names follow Oracle's documented resource
 * (HeaderId, OrderKey, SourceTransactionNumber, lines with FulfillLineId, ProductNumber,
 * OrderedQuantity); the ship-to child `shipToCustomer` and its address fields are this sandbox's
 * model of what a tenant returns and should be checked against `describe` on a real instance.
 */
export function registerFusionSandbox(
  router: Router,
  options: FusionSandboxOptions,
): { received: () => readonly FusionRecord[]; purchaseOrders: SandboxPurchaseOrderBook } {
  const received: FusionRecord[] = [];
  const base = `${FUSION_PREFIX}${FUSION_REST_BASE}`;

  const authorized = (ctx: Context): boolean => {
    const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    if (ctx.get('authorization') === expected) return true;
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Basic realm="fusion"');
    ctx.body = { title: 'Unauthorized', status: 401 };
    return false;
  };

  router.get(`${base}/salesOrdersForOrderHub/:orderKey`, (ctx) => {
    if (!authorized(ctx)) return;
    const orderKey = ctx.params.orderKey ?? '';
    const [system, number] = orderKey.includes(':') ? orderKey.split(':', 2) : ['LEG', orderKey];
    if (!number || number.startsWith('MISSING')) {
      ctx.status = 404;
      ctx.body = { title: 'Not Found', status: 404, detail: `The requested resource ${orderKey} was not found.` };
      return;
    }
    ctx.body = salesOrder(system ?? 'LEG', number, options.linesPerOrder ?? 3, String(ctx.query.expand ?? '').includes('lines'));
  });

  const record = async (ctx: Context): Promise<void> => {
    if (!authorized(ctx)) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    received.push({ at: new Date().toISOString(), method: ctx.method, path: ctx.path, body });
    ctx.status = 201;
    ctx.body = { HeaderInterfaceId: 300100900000000 + received.length, ProcessingStatusCode: 'PENDING' };
  };
  router.post(`${base}/receivingReceiptRequests`, record);
  router.patch(`${base}/salesOrdersForOrderHub/:orderKey/child/lines/:lineId`, record);
  router.get(`${FUSION_PREFIX}/received`, (ctx) => {
    ctx.body = received;
  });
  const purchaseOrders = new SandboxPurchaseOrderBook(options.now ?? Date.now);
  registerFusionPurchaseOrders(router, purchaseOrders, authorized);
  return { received: () => received, purchaseOrders };
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

/** Reads a JSON body of at most 1 MB; on failure answers 413 or 400 itself and returns undefined. */
export async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) {
      ctx.status = 413;
      ctx.body = { title: 'Payload Too Large', status: 413 };
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    ctx.status = 400;
    ctx.body = { title: 'Bad Request', status: 400, detail: 'The request body is not valid JSON.' };
    return undefined;
  }
}

export interface RunningFusionSandbox {
  /** The base URL a connector points at: `${url}/fscmRestApi/resources/11.13.18.05/...`. */
  url: string;
  received: () => readonly FusionRecord[];
  /** The purchase orders `GET …/purchaseOrders` serves; add and touch them here or over HTTP. */
  purchaseOrders: SandboxPurchaseOrderBook;
  close(): Promise<void>;
}

/** Serves the emulated Fusion REST on its own port (for tests that keep Fusion apart from the gateway). */
export async function startFusionSandboxServer(options: FusionSandboxOptions & { port?: number }): Promise<RunningFusionSandbox> {
  const router = new KoaRouter();
  const { received, purchaseOrders } = registerFusionSandbox(router, options);
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${FUSION_PREFIX}`,
    received,
    purchaseOrders,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
