import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { isGatewayError } from '../domain/errors.ts';
import { requestBaseUrl } from '../inbound/soap/wsdl.ts';
import { readRawBody } from '../inbound/webhooks/body.ts';
import { OTM_DOCUMENT_NS, OTM_SERVICE_NS, otmTransmissionWsdl } from './otm-wsdl.ts';
import { SandboxOutages } from './outages.ts';
import { redactBody, redactHeaders } from './redact.ts';
import { WAREHOUSE_SERVICE_NS, warehouseWsdl } from './warehouse-wsdl.ts';

export const SANDBOX_PREFIX = '/sandbox';

export interface SandboxRecord {
  at: string;
  target: 'rest-sink' | 'otm' | 'warehouse';
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** As received, credential headers (Authorization, Cookie, X-API-Key...) shown as ***. */
  headers: Record<string, string>;
  /** As received, WS-Security passwords and configured secret values shown as ***. */
  body: string;
}

export interface SandboxTargetOptions {
  /** The configured secret values (config.secrets), scrubbed from what the targets keep. */
  secrets: () => readonly string[];
}

const MAX_BODY = 1024 * 1024;
const OTM_PATH = `${SANDBOX_PREFIX}/otm/GC3Services/TransmissionService/call`;
const WAREHOUSE_PATH = `${SANDBOX_PREFIX}/warehouse/ShipmentService`;
const KEEP = 200;

/**
 * Sandbox targets served by the gateway itself, so the example config delivers somewhere with no
 * outside account: a REST sink that accepts anything and an OTM-style TransmissionService that
 * answers `publish` with a TransmissionAck and serves its WSDL at `?wsdl`, and a warehouse
 * ShipmentService known by its WSDL (warehouse-wsdl.ts) that answers CreateShipment. Enabled by
 * `sandbox.enabled` in gateway.yaml; what they received is listed at GET /sandbox/received, with
 * credentials redacted as it is recorded (so no path, in memory or out, holds them). Each can be
 * taken down and brought back over HTTP (outages.ts, /sandbox/outages/{target}).
 */
export function registerSandboxTargets(router: Router, options: SandboxTargetOptions): { received: () => readonly SandboxRecord[] } {
  const received: SandboxRecord[] = [];
  const record = (ctx: Context, entry: Omit<SandboxRecord, 'headers'>): void => {
    const secrets = options.secrets();
    received.push({ ...entry, headers: redactHeaders(ctx.req.headers, secrets), body: redactBody(entry.body, secrets) });
    if (received.length > KEEP) received.shift();
  };
  const outages = new SandboxOutages();
  outages.register(router, SANDBOX_PREFIX);

  router.all(`${SANDBOX_PREFIX}/rest-sink{/*path}`, async (ctx) => {
    const body = await readBody(ctx);
    if (body === null || outages.refuse(ctx, 'rest-sink')) return;
    record(ctx, {
      at: new Date().toISOString(),
      target: 'rest-sink',
      method: ctx.method,
      path: ctx.path,
      idempotencyKey: ctx.get('idempotency-key') || null,
      body,
    });
    ctx.status = 200;
    ctx.body = { received: true, path: ctx.path };
  });

  router.get(OTM_PATH, (ctx) => {
    if (!Object.keys(ctx.query).some((k) => k.toLowerCase() === 'wsdl')) {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = { code: 'METHOD_NOT_ALLOWED', message: `POST a publish request to ${OTM_PATH}; GET ${OTM_PATH}?wsdl for its WSDL` };
      return;
    }
    // The sandbox is served on loopback only (loopback-guard.ts): no proxy headers to trust.
    const base = requestBaseUrl({
      host: ctx.get('host') || undefined,
      encrypted: 'encrypted' in ctx.req.socket && Boolean(ctx.req.socket.encrypted),
      trustProxy: false,
    });
    ctx.type = 'text/xml; charset=utf-8';
    ctx.body = otmTransmissionWsdl(`${base}${ctx.path}`);
  });

  router.post(OTM_PATH, async (ctx) => {
    const body = await readBody(ctx);
    if (body === null || outages.refuse(ctx, 'otm')) return;
    ctx.type = 'text/xml; charset=utf-8';
    if (!/<(\w+:)?Username>[^<]+<\/(\w+:)?Username>/.test(body)) {
      ctx.status = 500;
      ctx.body = soapFault('Client', 'WS-Security UsernameToken required');
      return;
    }
    if (!/<(\w+:)?publish[\s>]/.test(body)) {
      ctx.status = 500;
      ctx.body = soapFault('Client', 'expected a publish request');
      return;
    }
    const sender = /<(?:\w+:)?SenderTransmissionNo>([^<]*)</.exec(body)?.[1] ?? null;
    record(ctx, { at: new Date().toISOString(), target: 'otm', method: 'POST', path: ctx.path, idempotencyKey: sender, body });
    ctx.status = 200;
    ctx.body =
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
      `<publishResponse xmlns="${OTM_SERVICE_NS}">` +
      `<TransmissionAck xmlns="${OTM_DOCUMENT_NS}"><EchoedTransmissionHeader><TransmissionHeader/></EchoedTransmissionHeader><ReferenceTransmissionNo>${received.length}</ReferenceTransmissionNo></TransmissionAck>` +
      '</publishResponse></soapenv:Body></soapenv:Envelope>';
  });

  router.get(WAREHOUSE_PATH, (ctx) => {
    if (!Object.keys(ctx.query).some((k) => k.toLowerCase() === 'wsdl')) {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = { code: 'METHOD_NOT_ALLOWED', message: `POST a CreateShipment request to ${WAREHOUSE_PATH}; GET ${WAREHOUSE_PATH}?wsdl for its WSDL` };
      return;
    }
    const base = requestBaseUrl({ host: ctx.get('host') || undefined, encrypted: 'encrypted' in ctx.req.socket && Boolean(ctx.req.socket.encrypted), trustProxy: false });
    ctx.type = 'text/xml; charset=utf-8';
    ctx.body = warehouseWsdl(`${base}${ctx.path}`);
  });

  router.post(WAREHOUSE_PATH, async (ctx) => {
    const body = await readBody(ctx);
    if (body === null || outages.refuse(ctx, 'warehouse')) return;
    ctx.type = 'text/xml; charset=utf-8';
    // A light check of what the WSDL asks for: the request element in its namespace, a reference and a line.
    const request = new RegExp(`<(\\w+):CreateShipment xmlns:\\1="${WAREHOUSE_SERVICE_NS}"`).test(body);
    const reference = /<(?:\w+:)?reference>([^<]+)</.exec(body)?.[1] ?? null;
    if (!request || reference === null || !/<(?:\w+:)?line>/.test(body)) {
      ctx.status = 500;
      ctx.body = soapFault('Client', 'expected a CreateShipment request with a shipment reference and at least one line');
      return;
    }
    record(ctx, { at: new Date().toISOString(), target: 'warehouse', method: 'POST', path: ctx.path, idempotencyKey: reference, body });
    ctx.status = 200;
    ctx.body =
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
      `<CreateShipmentResponse xmlns="${WAREHOUSE_SERVICE_NS}"><confirmationId>WH-${received.length}</confirmationId></CreateShipmentResponse>` +
      '</soapenv:Body></soapenv:Envelope>';
  });

  router.get(`${SANDBOX_PREFIX}/received`, (ctx) => {
    ctx.body = received;
  });

  return { received: () => received };
}

/** The body as text, or null after answering 413 in this peer's own error shape. */
async function readBody(ctx: Context): Promise<string | null> {
  try {
    return (await readRawBody(ctx.req, MAX_BODY)).toString('utf8');
  } catch (err) {
    if (!isGatewayError(err) || err.code !== 'PAYLOAD_TOO_LARGE') throw err;
      ctx.status = 413;
      ctx.body = { code: 'PAYLOAD_TOO_LARGE', message: 'sandbox targets take bodies up to 1 MB' };
    return null;
  }
}

function soapFault(party: 'Client' | 'Server', message: string): string {
  return (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>' +
    `<faultcode>soapenv:${party}</faultcode><faultstring>${message}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`
  );
}
