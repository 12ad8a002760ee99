import { readFileSync } from 'node:fs';
import type { AttemptReport } from '../../src/delivery/worker.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { main } from '../../src/main.ts';
import { startFusionSandboxServer, type RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import { startShipBobSandboxServer, type RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { gatewayYaml, SCHEDULES_OFF, startGateway, testEnv, type TestGateway } from './gateway.ts';

/**
 * A gateway between the ShipBob and Fusion sandboxes with every source of an order's history: OM
 * pushes (AWAIT_SHIPPING → a ShipBob order), signed ShipBob webhooks (order.shipped → a write-back to
 * Fusion, billing charges stored), the purchase-order poller (run by the test). The one setup of the
 * end-to-end tests that run orders through ShipBob and Fusion; a test changes only what it is about
 * (OrderFlowOptions).
 */

export const ADMIN_TOKEN = 'admin-token-journey-4c2b9e';
export const SHIPBOB_TOKEN = 'shipbob-pat-a61f0e';
export const SHIPBOB_CHANNEL = 100001;
export const FUSION_PASSWORD = 'fusion-pw-9e3a';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ENV = { TEST_FUSION_PASSWORD: FUSION_PASSWORD, TEST_SHIPBOB_TOKEN: SHIPBOB_TOKEN, TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, TEST_ADMIN_TOKEN: ADMIN_TOKEN };
const SHIPMENT_NOTICE = readFileSync(new URL('../../config/mappings/shipment-notice.jsonata', import.meta.url), 'utf8');
export const PRODUCTS = 'kind: product-map\nentries:\n  OMGW-TSHIRT-M: TShirtBlueM\n  OMGW-MUG-12OZ: LIGHT-ROAST\n';

/** OM's lines awaiting shipping and Fusion's open purchase orders to ShipBob, ShipBob's shipments back to Fusion. */
export const ORDER_FLOW_TRIGGER_POINTS = `triggerPoints:
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
`;

export interface OrderFlowSandboxes {
  shipbob: RunningShipBobSandbox;
  fusion: RunningFusionSandbox;
  close(): Promise<void>;
}

export interface OrderFlowSandboxOptions {
  /** The emulated ShipBob's redelivery schedule of a webhook its receiver refused (ms). */
  webhookRetrySchedule?: number[];
  /** The emulated ShipBob's time (created dates, its rate window, webhook timestamps). */
  shipbobNow?: () => number;
  /** The emulated Fusion's time, which stamps purchase orders (default an hour ago, standing still). */
  fusionNow?: () => number;
}

/** The emulated ShipBob and Fusion, for a test that runs several gateways against the same two. */
export async function startOrderFlowSandboxes(options: OrderFlowSandboxOptions = {}): Promise<OrderFlowSandboxes> {
  const shipbob = await startShipBobSandboxServer({
    token: SHIPBOB_TOKEN,
    channelId: SHIPBOB_CHANNEL,
    webhookSecret: WEBHOOK_SECRET,
    webhookRetrySchedule: options.webhookRetrySchedule ?? [0, 20, 50],
    ...(options.shipbobNow ? { now: options.shipbobNow } : {}),
  });
  const fusionNow = Date.now() - 3_600_000;
  const fusion = await startFusionSandboxServer({ username: 'omgw.integration', password: FUSION_PASSWORD, now: options.fusionNow ?? (() => fusionNow) });
  return {
    shipbob,
    fusion,
    close: async () => {
      await shipbob.close();
      await fusion.close();
    },
  };
}

export interface OrderFlowOptions extends OrderFlowSandboxOptions {
  /** ShipBob webhook topics the emulated ShipBob sends the gateway (default order.shipped; none when empty). */
  topics?: readonly string[];
  /** Sandboxes the test started (and closes); otherwise the flow starts its own and closes them. */
  sandboxes?: OrderFlowSandboxes;
  /** The purchase-order poller's schedule, with these extra lines (like `    pageSize: 2\n`); false: no poller. */
  poller?: string | false;
  /** The worker's poll interval (default 50ms). */
  pollInterval?: string;
  /** The ShipBob connector's settings that differ from the flow's. */
  shipbobConnector?: {
    /** Where the gateway sends ShipBob requests (default the sandbox): a proxy in front of it. */
    url?: string;
    timeout?: string;
    orderType?: 'DTC' | 'DropShip' | 'B2B';
    rateLimit?: string;
  };
  /** The whole trigger-points.yaml (default ORDER_FLOW_TRIGGER_POINTS). */
  triggerPoints?: string;
  /** More connector files, by name (or one of the flow's replaced). */
  connectors?: Record<string, string>;
  /** More mapping files, by name (or one of the flow's replaced). */
  mappings?: Record<string, string>;
  /** More environment variables for the gateway and the CLI. */
  env?: Record<string, string>;
  /** The gateway's clock. */
  clock?: Clock;
}

export interface OrderFlow {
  shipbob: RunningShipBobSandbox;
  fusion: RunningFusionSandbox;
  gw: TestGateway;
  /** Resolves with the next attempt at a connector. */
  attemptAt(connector: string): Promise<AttemptReport>;
  /** Resolves with the next `n` attempts at a connector. */
  attemptsAt(connector: string, n: number): Promise<AttemptReport[]>;
  /** GET an admin API path (under /admin/api) with the admin token. */
  admin<T>(path: string): Promise<{ status: number; json: T }>;
  /** `omgw ...` against the gateway's config folder and database. */
  cli(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  /** `omgw ...` with some of the environment changed (a wrong password, say). */
  cliWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): Promise<void>;
}

export async function startOrderFlow(options: OrderFlowOptions = {}): Promise<OrderFlow> {
  const sandboxes = options.sandboxes ?? (await startOrderFlowSandboxes(options));
  const { shipbob, fusion } = sandboxes;
  const env = { ...ENV, ...options.env };
  const sb = options.shipbobConnector ?? {};
  // The poller's schedule never fires by itself in a test (1 January); the test runs it.
  const poller = options.poller === false ? '' : `  poller:\n    enabled: true\n    cron: '0 0 1 1 *'\n    connector: fusion\n${options.poller ?? ''}`;
  let gw: TestGateway;
  try {
    gw = await startGateway(
      {
        gateway: `${gatewayYaml('', { delivery: `  enabled: true\n  pollInterval: ${options.pollInterval ?? '50ms'}`, schedules: `${SCHEDULES_OFF}${poller}` }).replace(
          'logging:',
          `  webhooks:\n    shipbob:\n      secrets: ['\${env:TEST_WEBHOOK_SECRET}']\nlogging:`,
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
url: ${sb.url ?? shipbob.url}
timeout: ${sb.timeout ?? '5s'}
headers:
  shipbob_channel_id: '${SHIPBOB_CHANNEL}'
auth: { type: bearer, token: '\${env:TEST_SHIPBOB_TOKEN}' }
shipbob: { enrichFrom: fusion, productMap: products, locationMap: locations, orderType: ${sb.orderType ?? 'DropShip'} }
rateLimit: ${sb.rateLimit ?? '{ requests: 150, per: 1m }'}
`,
          ...options.connectors,
        },
        triggerPoints: options.triggerPoints ?? ORDER_FLOW_TRIGGER_POINTS,
        mappings: {
          'products.yaml': PRODUCTS,
          'locations.yaml': "kind: location-map\nentries:\n  M1: '156'\n",
          'shipment-notice.jsonata': SHIPMENT_NOTICE,
          ...options.mappings,
        },
      },
      { env, ...(options.clock ? { clock: options.clock } : {}) },
    );
  } catch (e) {
    if (!options.sandboxes) await sandboxes.close();
    throw e;
  }
  const topics = options.topics ?? ['order.shipped'];
  if (topics.length > 0) shipbob.sandbox.subscribe(`${gw.url}/webhooks/shipbob`, [...topics]);

  const attemptsAt = (connector: string, n: number): Promise<AttemptReport[]> =>
    new Promise((resolve) => {
      const seen: AttemptReport[] = [];
      const on = (a: AttemptReport): void => {
        if (a.connector !== connector) return;
        seen.push(a);
        if (seen.length < n) return;
        gw.gateway.worker?.off('attempt', on);
        resolve(seen);
      };
      gw.gateway.worker?.on('attempt', on);
    });
  const cliWith = async (more: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--config', gw.configDir], { out: (t) => out.push(t), err: (t) => err.push(t) }, testEnv(gw.database, { ...env, ...more }));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  return {
    shipbob,
    fusion,
    gw,
    attemptsAt,
    attemptAt: async (connector) => (await attemptsAt(connector, 1))[0] as AttemptReport,
    admin: async <T>(path: string) => {
      const res = await fetch(`${gw.url}/admin/api${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: res.status, json: (await res.json()) as T };
    },
    cli: (...args) => cliWith({}, ...args),
    cliWith,
    close: async () => {
      await gw.stop();
      if (!options.sandboxes) await sandboxes.close();
    },
  };
}
