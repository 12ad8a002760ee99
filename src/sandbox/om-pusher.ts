import { buildPush, pushHttpHeaders, type PushEventCode } from './om-push.ts';

export interface PusherOptions {
  /** The gateway's SOAP endpoint, e.g. http://127.0.0.1:8080/soap/business-events */
  endpoint: string;
  username: string;
  password: string;
  count: number;
  eventCode: PushEventCode;
  passwordType: 'text' | 'digest';
  soapVersion: '1.1' | '1.2';
  /** Order numbers are `${orderPrefix}-${n}`. */
  orderPrefix: string;
  statusTo?: string;
}

export interface PushResult {
  order: string;
  status: number;
  fault: string | null;
}

/**
 * An emulated Oracle OM connector: sends pushes the way OM does (one OrderHeader per call, Oracle-style
 * SOAP headers and WS-Security), for demos and for trying a gateway before Oracle is connected.
 */
export async function pushSandboxEvents(options: PusherOptions): Promise<PushResult[]> {
  const results: PushResult[] = [];
  for (let n = 1; n <= options.count; n++) {
    const order = `${options.orderPrefix}-${n}`;
    const body = buildPush(
      [{ eventCode: options.eventCode, order: { sourceOrderNumber: order, lines: 2, ...(options.statusTo ? { statusTo: options.statusTo } : {}) } }],
      {
        soapVersion: options.soapVersion,
        style: 'oracle',
        address: options.endpoint,
        security: { kind: options.passwordType, username: options.username, password: options.password },
      },
    );
    let res: Response;
    try {
      res = await fetch(options.endpoint, { method: 'POST', headers: pushHttpHeaders({ soapVersion: options.soapVersion }), body });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach ${options.endpoint}: ${cause?.code ?? cause?.message ?? String(err)} (is the gateway running?)`);
    }
    const text = await res.text();
    const fault = /<(?:faultstring|env:Text)[^>]*>([^<]*)</.exec(text)?.[1] ?? null;
    results.push({ order, status: res.status, fault });
  }
  return results;
}
