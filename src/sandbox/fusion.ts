import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router as KoaRouter, type Router } from '@koa/router';
import Koa from 'koa';
import { basicAuth, FUSION_PREFIX, SANDBOX_HOLD_CODES } from './fusion/common.ts';
import { SandboxPurchaseOrderBook } from './fusion/purchase-order-book.ts';
import { registerFusionPurchaseOrders } from './fusion/purchase-order-routes.ts';
import { registerFusionSalesOrders, SandboxSalesOrderRevisions } from './fusion/sales-orders.ts';
import { registerFusionWriteBacks, type FusionRecord } from './fusion/write-backs.ts';

export { FUSION_PREFIX, FUSION_REST_BASE, SANDBOX_ITEMS, SANDBOX_ORGANIZATION } from './fusion/common.ts';
export type { FusionRecord } from './fusion/write-backs.ts';

export interface FusionSandboxOptions {
  username: string;
  password: string;
  /** Lines per emulated sales order (default 3). */
  linesPerOrder?: number;
  /** Epoch ms; stamps the emulated purchase orders' CreationDate and LastUpdateDate (default Date.now). */
  now?: () => number;
  /** Hold codes Order Management has set up; applyHold refuses any other (default SANDBOX_HOLD_CODES). */
  holdCodes?: readonly string[];
}

/**
 * An emulated Fusion REST, with HTTP Basic like a Fusion integration user: sales orders
 * (fusion/sales-orders.ts), the write-backs (fusion/write-backs.ts: shipment notices and receipts,
 * holds on fulfilment lines), and purchase orders (fusion/purchase-order-*.ts).
 * The ship-to child `shipToCustomer` and its address fields are this sandbox's model of what a
 * tenant returns and should be checked against `describe` on a real instance.
 */
export function registerFusionSandbox(
  router: Router,
  options: FusionSandboxOptions,
): { received: () => readonly FusionRecord[]; purchaseOrders: SandboxPurchaseOrderBook; salesOrders: SandboxSalesOrderRevisions } {
  const authorized = basicAuth(options.username, options.password);
  const salesOrders = new SandboxSalesOrderRevisions();
  registerFusionSalesOrders(router, authorized, options.linesPerOrder ?? 3, salesOrders);
  const { received } = registerFusionWriteBacks(router, authorized, options.holdCodes ?? SANDBOX_HOLD_CODES);
  const purchaseOrders = new SandboxPurchaseOrderBook(options.now ?? Date.now);
  registerFusionPurchaseOrders(router, purchaseOrders, authorized);
  return { received, purchaseOrders, salesOrders };
}

export interface RunningFusionSandbox {
  /** The base URL a connector points at: `${url}/fscmRestApi/resources/11.13.18.05/...`. */
  url: string;
  received: () => readonly FusionRecord[];
  /** The purchase orders `GET …/purchaseOrders` serves; add and touch them here or over HTTP. */
  purchaseOrders: SandboxPurchaseOrderBook;
  /** Changes to the sales orders `GET …/salesOrdersForOrderHub` serves (a line's quantity, the ship-to). */
  salesOrders: SandboxSalesOrderRevisions;
  close(): Promise<void>;
}

/** Serves the emulated Fusion REST on its own port (for tests that keep Fusion apart from the gateway). */
export async function startFusionSandboxServer(options: FusionSandboxOptions & { port?: number }): Promise<RunningFusionSandbox> {
  const router = new KoaRouter();
  const { received, purchaseOrders, salesOrders } = registerFusionSandbox(router, options);
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  // Koa's callback answers every error itself (ctx.onerror): its promise never rejects.
  const callback = app.callback();
  const server = http.createServer((req, res) => void callback(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${FUSION_PREFIX}`,
    received,
    purchaseOrders,
    salesOrders,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
