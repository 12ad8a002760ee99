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
  /** The Fault's stable code (the gateway's omgw:code detail, else the SOAP fault code), or null. */
  faultCode: string | null;
  /** The Fault's text (faultstring, or env:Text in SOAP 1.2), or null. */
  fault: string | null;
}

/** The endpoint could not be reached at all (refused, unknown host, TLS, reset): nothing was answered. */
export class PushEndpointUnreachable extends Error {
  readonly endpoint: string;
  /** The network error's code (ECONNREFUSED, ENOTFOUND...) or message. */
  readonly reason: string;

  constructor(endpoint: string, reason: string, cause: unknown) {
    super(`cannot reach ${endpoint}: ${reason}`, { cause });
    this.name = 'PushEndpointUnreachable';
    this.endpoint = endpoint;
    this.reason = reason;
  }
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
      // fetch reports every network failure as "fetch failed"; the cause says which.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : String(err);
      throw new PushEndpointUnreachable(options.endpoint, reason, err);
    }
    const text = await res.text();
    results.push({ order, status: res.status, ...faultOf(text) });
  }
  return results;
}

/** The code and text of a SOAP 1.1 or 1.2 Fault in `text`; both null when it holds none. */
function faultOf(text: string): { faultCode: string | null; fault: string | null } {
  if (!/<(?:\w+:)?Fault[\s>]/.test(text)) return { faultCode: null, fault: null };
  const message = /<(?:faultstring|(?:\w+:)?Text)(?:\s[^>]*)?>([^<]*)</.exec(text)?.[1] ?? null;
  const detailCode = /<(?:\w+:)?code>([^<]*)<\/(?:\w+:)?code>/.exec(text)?.[1];
  const soapCode = /<faultcode>([^<]*)</.exec(text)?.[1] ?? /<(?:\w+:)?Value>([^<]*)</.exec(text)?.[1];
  return { faultCode: unescapeXml(detailCode ?? soapCode ?? '') || null, fault: message === null ? null : unescapeXml(message) };
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (whole, name: string) => ENTITIES[name] ?? whole);
}
