import type { Context } from 'koa';
import type { Router } from '@koa/router';
import { clip } from '../../domain/clip.ts';
import { GatewayError, isGatewayError, isGatewayFailure } from '../../domain/errors.ts';
import type { Logger } from '../../log.ts';
import { parsePush, type SoapVersion } from './envelope.ts';
import { buildFault, faultStatus, soapContentType } from './fault.ts';
import { acceptPush, eventBuilder, recordRejection, storableHeaders, type PushHandlerDeps } from './push-handler.ts';
import { authenticateHttp, authenticateToken, type AuthResult } from './auth.ts';
import { budgetedBody, type BodyBudget, type BodyReservation } from '../../server/body-budget.ts';
import { discardRestOfBody, isClientAbort } from '../../server/drain.ts';
import { requestBaseUrl, type WsdlDocument } from './wsdl.ts';

const SOAP_PATH = '/soap/business-events';

export interface SoapRouteDeps extends PushHandlerDeps {
  wsdl: WsdlDocument;
  /** The bytes of push bodies held at once (shared by every push). */
  bodies: BodyBudget;
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
  let reservation: BodyReservation | null = null;
  // The username the push gave (refused or accepted), for the audit record of a refusal.
  let username: string | null = null;
  let credentialsOffered = ctx.get('authorization') !== '';
  try {
    const config = deps.config();
    if (connectorScope !== null && !config.connectors.some((c) => c.name === connectorScope)) {
      throw new GatewayError('UNKNOWN_CONNECTOR', `no connector named "${clip(connectorScope, 80)}" is configured`);
    }
    checkContentType(contentType);
    const limits = config.gateway.inbound.soap;
    const declared = declaredLength(ctx.get('content-length'));
    if (declared !== null && declared > limits.maxBodySize) {
      throw new GatewayError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the limit of ${limits.maxBodySize} bytes`);
    }
    const now = deps.now();
    const policy = { methods: limits.auth, passwordTypes: limits.passwordTypes, createdWindowMs: limits.createdWindow, users: limits.users };
    const authorization = ctx.get('authorization') || undefined;

    // Credentials before work: HTTP Basic is decided here, before a byte of the body is read; a
    // WS-Security token when the SOAP Header closes, before any of the Body is parsed.
    let auth: AuthResult | null = authenticateHttp(policy, authorization);
    if (auth !== null && !auth.ok) throw new GatewayError('AUTH_FAILED', `authentication failed: ${auth.reason}`);
    const allowance = limits.maxBytesBeforeCredentials;
    reservation = deps.bodies.reserveNow(auth !== null ? 0 : Math.min(declared ?? allowance, allowance));
    const held = reservation;
    const fullSize = declared ?? limits.maxBodySize;
    const body = budgetedBody(ctx.req, () => auth !== null, () => held.growTo(fullSize, limits.bodyWait));

    const { batch, add: addHeader } = eventBuilder(deps, now, base);
    const parsed = await parsePush(
      body,
      {
        maxBytes: limits.maxBodySize,
        maxDepth: limits.maxDepth,
        maxElements: limits.maxElements,
        maxBytesBeforeCredentials: allowance,
        maxAttributes: limits.maxAttributes,
        maxTotalAttributes: limits.maxTotalAttributes,
        maxNameLength: limits.maxNameLength,
        maxTextLength: limits.maxTextLength,
      },
      addHeader,
      // Decided by HTTP Basic already: no token to wait for, and no allowance before it.
      auth !== null ? undefined : (token) => {
        if (token !== null) credentialsOffered = true;
        const result = authenticateToken(policy, token, authorization, now);
        if (!result.ok) {
          username = token?.username ?? null;
          throw new GatewayError('AUTH_FAILED', `authentication failed: ${result.reason}`);
        }
        auth = result;
      },
    );
    if (auth === null || !auth.ok) throw new GatewayError('AUTH_FAILED', 'authentication failed: no credentials');
    username = auth.username;
    const outcome = await acceptPush(deps, batch, parsed, auth, { ...base, contentType: contentType || null, headers: storableHeaders(ctx.req.headers) });
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
    if (isClientAbort(ctx.req, err)) {
      // Nobody is left to answer: a client event, not a fault of the gateway.
      deps.logger.info({ requestId, remoteAddr: base.remoteAddr }, 'client closed the connection before its push was read');
      ctx.state.logFields = { error: 'CLIENT_ABORTED' };
      ctx.status = 400;
      deps.onPush?.({ result: 'client_aborted', events: [] });
      return;
    }
    const error = isGatewayError(err) ? err : new GatewayError('INTERNAL', 'internal error; send the push again later', { cause: err });
    if (error.party === 'Client') await recordRejection(deps, base, error.code.toLowerCase(), error.message, username);
    // Guessing credentials gets slower with each failure from the same source (never a lockout).
    // A push that offered no credentials guesses nothing: it is refused without a delay.
    if (error.code === 'AUTH_FAILED' && credentialsOffered) await deps.logins?.failed(base.remoteAddr);
    if (isGatewayFailure(error)) deps.logger.error({ err: error.cause ?? error, requestId }, error.message);
    ctx.state.logFields = { error: error.code };
    ctx.status = faultStatus(version, error.party, error.status);
    ctx.type = soapContentType(version);
    if (error.code === 'GATEWAY_BUSY') ctx.set('Retry-After', '1');
    ctx.body = buildFault(version, error.party, error.code, error.message);
    // The client may still be sending: read and discard the rest for a while, so it reads this answer.
    discardRestOfBody(ctx.req, ctx.res);
    deps.onPush?.({ result: error.code.toLowerCase(), events: [] });
  } finally {
    reservation?.release();
  }
}

function declaredLength(header: string): number | null {
  if (!/^\d{1,15}$/.test(header)) return null;
  return Number(header);
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
