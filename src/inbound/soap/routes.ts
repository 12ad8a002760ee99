import type { Context } from 'koa';
import type { Router } from '@koa/router';
import { GatewayError, isGatewayError } from '../../domain/errors.ts';
import type { Logger } from '../../log.ts';
import { parsePush, type SoapVersion } from './envelope.ts';
import { buildFault, faultStatus, soapContentType } from './fault.ts';
import type { IngestEvent } from '../../store/index.ts';
import { acceptPush, eventBuilder, recordRejection, storableHeaders, type PushHandlerDeps } from './push-handler.ts';
import { requestBaseUrl, type WsdlDocument } from './wsdl.ts';

export const SOAP_PATH = '/soap/business-events';

export interface SoapRouteDeps extends PushHandlerDeps {
  wsdl: WsdlDocument;
  logger: Logger;
  /** Told of every push answered: `accepted` with its stored events, or the fault code (metrics). Must not throw. */
  onPush?: (report: { result: string; events: ReadonlyArray<{ eventCode: string; status: string }> }) => void;
}

/**
 * The OM connector endpoint: the WSDL on GET ?wsdl, pushes on POST (all trigger points, or one
 * connector's). Every refusal is a SOAP Fault in the version the client spoke.
 */
export function registerSoapRoutes(router: Router, deps: SoapRouteDeps): void {
  const serveWsdl = (ctx: Context): void => {
    const keys = Object.keys(ctx.query).map((k) => k.toLowerCase());
    if (!keys.includes('wsdl')) {
      throw new GatewayError('NOT_FOUND', `GET ${SOAP_PATH} serves the WSDL: add ?wsdl`);
    }
    const config = deps.config();
    const base = requestBaseUrl({
      host: ctx.get('host') || undefined,
      encrypted: ctx.req.socket && 'encrypted' in ctx.req.socket ? Boolean(ctx.req.socket.encrypted) : false,
      forwardedProto: ctx.get('x-forwarded-proto') || undefined,
      forwardedHost: ctx.get('x-forwarded-host') || undefined,
      trustProxy: config.gateway.server.trustProxy,
    });
    ctx.type = 'text/xml; charset=utf-8';
    ctx.body = deps.wsdl.render(`${base}${ctx.path}`);
  };
  router.get(SOAP_PATH, serveWsdl);
  router.get(`${SOAP_PATH}/:connector`, serveWsdl);
  router.post(SOAP_PATH, (ctx) => handlePush(ctx, deps, null));
  router.post(`${SOAP_PATH}/:connector`, (ctx) => handlePush(ctx, deps, ctx.params.connector ?? null));
}

async function handlePush(ctx: Context, deps: SoapRouteDeps, connectorScope: string | null): Promise<void> {
  const contentType = ctx.get('content-type');
  const version: SoapVersion = /application\/soap\+xml/i.test(contentType) ? '1.2' : '1.1';
  const requestId = String(ctx.state.requestId ?? '');
  const base = {
    path: ctx.path,
    connectorScope,
    remoteAddr: ctx.request.ip || null,
    requestId,
  };
  try {
    const config = deps.config();
    if (connectorScope !== null && !config.connectors.some((c) => c.name === connectorScope)) {
      throw new GatewayError('UNKNOWN_CONNECTOR', `no connector named "${connectorScope}" is configured`);
    }
    checkContentType(contentType);
    const limits = config.gateway.inbound.soap;
    const declared = Number(ctx.get('content-length') || '0');
    if (declared > limits.maxBodySize) {
      throw new GatewayError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the limit of ${limits.maxBodySize} bytes`);
    }
    const scope = { config, now: deps.now() };
    const events: IngestEvent[] = [];
    const toEvent = eventBuilder(deps, scope, base);
    const parsed = await parsePush(
      ctx.req,
      { maxBytes: limits.maxBodySize, maxDepth: limits.maxDepth, maxElements: limits.maxElements },
      (header, position) => events.push(toEvent(header, position)),
    );
    const outcome = await acceptPush(
      deps,
      parsed,
      { ...base, contentType: contentType || null, headers: storableHeaders(ctx.req.headers), authorization: ctx.get('authorization') || undefined },
      scope,
      events,
    );
    ctx.state.logFields = {
      events: outcome.events.length,
      statuses: outcome.events.map((e) => e.status),
      deliveries: outcome.events.reduce((n, e) => n + e.deliveries, 0),
    };
    // One-way operation: an empty 202 is the acknowledgement, sent only after the commit.
    ctx.body = '';
    ctx.status = 202;
    deps.onPush?.({ result: 'accepted', events: outcome.events });
  } catch (err) {
    const error = isGatewayError(err) ? err : new GatewayError('INTERNAL', 'internal error; send the push again later', { cause: err });
    if (error.code !== 'AUTH_FAILED' && error.party === 'Client') {
      await recordRejection(deps, base, error.code.toLowerCase(), error.message, null);
    }
    if (error.party === 'Server') deps.logger.error({ err: error.cause ?? error, requestId }, error.message);
    ctx.state.logFields = { error: error.code };
    ctx.status = faultStatus(version, error.party, error.status);
    ctx.type = soapContentType(version);
    ctx.body = buildFault(version, error.party, error.code, error.message);
    // A refusal before the whole body was read leaves the rest of it on the connection: close it, or
    // the client's next request on this keep-alive connection would hang behind those bytes.
    if (error.code === 'PAYLOAD_TOO_LARGE' || !ctx.req.complete) ctx.set('Connection', 'close');
    deps.onPush?.({ result: error.code.toLowerCase(), events: [] });
  }
}

function checkContentType(contentType: string): void {
  if (!contentType) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type is missing: send text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)');
  }
  if (/multipart\//i.test(contentType)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'SOAP with attachments (multipart) is not supported: send the envelope alone');
  }
  if (!/^\s*(text\/xml|application\/soap\+xml|application\/xml)\s*(;|$)/i.test(contentType)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${contentType.slice(0, 100)} is not accepted: send text/xml or application/soap+xml`);
  }
}
