import { readFileSync } from 'node:fs';
import type { AttemptReport } from '../../src/delivery/worker.ts';
import { main } from '../../src/main.ts';
import { startFusionSandboxServer, type RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import { startShipBobSandboxServer, type RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { gatewayYaml, startGateway, testEnv, type TestGateway } from './gateway.ts';

/**
 * A gateway between the ShipBob and Fusion sandboxes with every source of an order's history: OM
 * pushes (AWAIT_SHIPPING → a ShipBob order), signed ShipBob webhooks (order.shipped → a write-back to
 * Fusion, billing charges stored), the purchase-order poller (run by the test). Shared by the
 * journey's and the funnel's end-to-end tests.
 */

export const ADMIN_TOKEN = 'admin-token-journey-4c2b9e';
const TOKEN = 'shipbob-pat-a61f0e';
const FUSION_PASSWORD = 'fusion-pw-9e3a';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CHANNEL = 100001;
const ENV = { TEST_FUSION_PASSWORD: FUSION_PASSWORD, TEST_SHIPBOB_TOKEN: TOKEN, TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, TEST_ADMIN_TOKEN: ADMIN_TOKEN };
const SHIPMENT_NOTICE = readFileSync(new URL('../../config/mappings/shipment-notice.jsonata', import.meta.url), 'utf8');

export interface OrderFlow {
  shipbob: RunningShipBobSandbox;
  fusion: RunningFusionSandbox;
  gw: TestGateway;
  /** Resolves with the next attempt at a connector. */
  attemptAt(connector: string): Promise<AttemptReport>;
  /** GET an admin API path (under /admin/api) with the admin token. */
  admin<T>(path: string): Promise<{ status: number; json: T }>;
  /** `omgw ...` against the gateway's config folder and database. */
  cli(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): Promise<void>;
}

export async function startOrderFlow(options: { topics?: readonly string[] } = {}): Promise<OrderFlow> {
  const shipbob = await startShipBobSandboxServer({ token: TOKEN, channelId: CHANNEL, webhookSecret: WEBHOOK_SECRET, webhookRetrySchedule: [0, 20, 50] });
  const fusionNow = Date.now() - 3_600_000;
  const fusion = await startFusionSandboxServer({ username: 'omgw.integration', password: FUSION_PASSWORD, now: () => fusionNow });
  const gw = await startGateway(
    {
      // The poller's schedule never fires by itself in a test (1 January); the test runs it.
      gateway: `${gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 50ms' }).replace(
        'logging:',
        `  webhooks:\n    shipbob:\n      secrets: ['\${env:TEST_WEBHOOK_SECRET}']\nschedules:\n  poller:\n    enabled: true\n    cron: '0 0 1 1 *'\n    connector: fusion\nlogging:`,
      )}admin:\n  token: \${env:TEST_ADMIN_TOKEN}\n`,
      connectors: {
        'fusion.yaml': `protocol: rest
kind: oracle-fusion
url: ${fusion.url}
path: /fscmRestApi/resources/11.13.18.05/receivingReceiptRequests
auth: { type: basic, username: omgw.integration, password: '\${env:TEST_FUSION_PASSWORD}' }
transform: jsonata:shipment-notice
`,
        'shipbob.yaml': `protocol: rest
kind: shipbob
url: ${shipbob.url}
timeout: 5s
headers:
  shipbob_channel_id: '${CHANNEL}'
auth: { type: bearer, token: '\${env:TEST_SHIPBOB_TOKEN}' }
shipbob: { enrichFrom: fusion, productMap: products, locationMap: locations, orderType: DropShip }
rateLimit: { requests: 150, per: 1m }
`,
      },
      triggerPoints: `triggerPoints:
  - name: awaiting-shipping
    source: oracle-om
    eventCodes: [FlineStatusUpdate]
    when: [{ field: OrderLine.OrderFulfillmentLine.StatusCodeNewValue, in: [AWAIT_SHIPPING] }]
    connectors: [shipbob]
  - name: purchase-orders
    source: fusion-po
    eventCodes: [PurchaseOrderChanged]
    when: [{ field: StatusCode, in: [OPEN] }]
    connectors: [shipbob]
  - name: shipped
    source: shipbob
    eventCodes: [order.shipped]
    connectors: [fusion]
`,
      mappings: {
        'products.yaml': 'kind: product-map\nentries:\n  OMGW-TSHIRT-M: TShirtBlueM\n  OMGW-MUG-12OZ: LIGHT-ROAST\n',
        'locations.yaml': "kind: location-map\nentries:\n  M1: '156'\n",
        'shipment-notice.jsonata': SHIPMENT_NOTICE,
      },
    },
    { env: ENV },
  );
  shipbob.sandbox.subscribe(`${gw.url}/webhooks/shipbob`, [...(options.topics ?? ['order.shipped'])]);

  return {
    shipbob,
    fusion,
    gw,
    attemptAt: (connector) =>
      new Promise((resolve) => {
        const on = (a: AttemptReport): void => {
          if (a.connector !== connector) return;
          gw.gateway.worker?.off('attempt', on);
          resolve(a);
        };
        gw.gateway.worker?.on('attempt', on);
      }),
    admin: async <T>(path: string) => {
      const res = await fetch(`${gw.url}/admin/api${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: res.status, json: (await res.json()) as T };
    },
    cli: async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...args, '--config', gw.configDir], { out: (t) => out.push(t), err: (t) => err.push(t) }, testEnv(gw.database, ENV));
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
    close: async () => {
      await gw?.stop();
      await shipbob?.close();
      await fusion?.close();
    },
  };
}
