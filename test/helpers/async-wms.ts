import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Delivery } from '../../src/domain/delivery.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from './gateway.ts';
import { everything } from './pages.ts';

/**
 * A gateway whose one connector, wms, is async: OM's fulfilment-line events go to a target that
 * accepts each request (a 202) and answers later at POST /callbacks/wms, signed in as WMS_CALLBACK_USER.
 */

export const WMS_CALLBACK_USER = 'wms';
export const WMS_CALLBACK_PASSWORD = `cb-${randomBytes(8).toString('hex')}`;
const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

export interface AsyncWmsOptions {
  /** How the callback signs in (default basic). */
  callbackAuth?: 'basic' | 'username-token';
  /** How long the gateway waits for the callback (default 10m). */
  responseTimeout?: string;
  /** Strict ordering and a 200 ms retry of up to maxAttempts (default 3) attempts; false: the connector's defaults. */
  retry?: { maxAttempts?: number } | false;
}

function asyncWmsConnector(url: string, options: AsyncWmsOptions = {}): string {
  const retry = options.retry === false ? undefined : options.retry ?? {};
  return `protocol: rest
url: ${url}
path: /requests/{{orderKey}}
mode: async
${retry ? 'ordering: strict\n' : ''}async:
  responseTimeout: ${options.responseTimeout ?? '10m'}
  correlation: { header: X-Correlation-Id }
  callback:
    auth: { type: ${options.callbackAuth ?? 'basic'}, username: ${WMS_CALLBACK_USER}, password: '\${env:CB_PASSWORD}' }
    delivered: [COMPLETED]
    failed: [FAILED]
${retry ? `retry:\n  schedule: [200ms]\n  jitter: 0\n  maxAttempts: ${retry.maxAttempts ?? 3}\n` : ''}`;
}

export function startAsyncWmsGateway(targetUrl: string, options: AsyncWmsOptions = {}): Promise<TestGateway> {
  return startGateway(
    {
      gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 200ms' }),
      connectors: { 'wms.yaml': asyncWmsConnector(targetUrl, options) },
      triggerPoints: 'triggerPoints:\n  - name: lines-to-wms\n    source: oracle-om\n    eventCodes: [FlineStatusUpdate]\n    connectors: [wms]\n',
    },
    { env: { CB_PASSWORD: WMS_CALLBACK_PASSWORD } },
  );
}

/** OM pushes a FlineStatusUpdate of sales order `order`; the gateway takes it (202). */
export async function pushLineStatus(gw: TestGateway, order: string, statusTo = 'AWAIT_SHIPPING'): Promise<void> {
  const res = await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'FlineStatusUpdate', order: { sourceOrderNumber: order, statusTo } }], { security }));
  expect(res.status, res.body).to.equal(202);
}

/** The wms delivery of an order, if any. */
export async function wmsDeliveryOf(gw: TestGateway, orderKey: string): Promise<Delivery | undefined> {
  return (await everything((page) => gw.gateway.store.browse.deliveries({ connectors: ['wms'] }, page))).find((d) => d.orderKey === orderKey);
}
