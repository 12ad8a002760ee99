import type { Context } from 'koa';
import type { Router } from '@koa/router';
import type { GatewayConfig } from '../../config/load.ts';
import type { CallbackRefusal } from '../../domain/callback.ts';
import { clip } from '../../domain/clip.ts';
import { GatewayError, isGatewayError, isGatewayFailure, type ErrorCode } from '../../domain/errors.ts';
import type { Logger } from '../../log.ts';
import { budgetedBody, type BodyBudget, type BodyReservation } from '../../server/body-budget.ts';
import { discardRestOfBody, isClientAbort } from '../../server/drain.ts';
import type { LoginGuard } from '../../server/login-throttle.ts';
import type { CallbackFormat, CallbackInput, CallbackResult } from '../../services/callbacks.ts';
import type { Store } from '../../store/index.ts';
import type { SoapVersion } from '../soap/envelope.ts';
import { buildFault, faultStatus, soapContentType } from '../soap/fault.ts';
import { requestBaseUrl } from '../soap/wsdl.ts';
import {
  authenticateHeaders,
  authenticateSigned,
  authenticateUsernameToken,
  decidedByHeaders,
  type CallbackAuthResult,
  type CallbackSettings,
} from './auth.ts';
import { checkFields, jsonInput, once, readBody, refusalOf, soapInput, soapLimits } from './body.ts';
import { callbackAck, soapVersionOf } from './soap.ts';
import { callbackWsdl } from './wsdl.ts';

const CALLBACK_PATH = '/callbacks/:connector';

export interface CallbackRouteDeps {
  config: () => GatewayConfig;
  /** An async connector's callback settings; null when no async connector has that name. */
  settings: (connector: string) => CallbackSettings | null;
  /**
   * Stores the callback as an event and completes its delivery; resolves after the commit
   * (src/services/callbacks.ts). A UsernameToken's nonce comes with it, refused (AUTH_FAILED) the second time.
   */
  accept: (input: CallbackInput) => Promise<CallbackResult>;
  store: Store;
  newId: () => string;
  now: () => number;
  /**
   * The bytes of request bodies held at once, shared with OM's pushes: a callback authenticated by
   * Basic, bearer or a UsernameToken takes what a stranger may (inbound.soap.maxBytesBeforeCredentials)
   * until its credentials are proven.
   */
  bodies: BodyBudget;
  /**
   * The signed-body budget (inbound.webhooks.bodyBudget), shared with ShipBob's webhooks: a
   * `standard-webhooks` callback is read whole before its signature is checked, so it takes its
   * whole size from there, never waiting.
   */
  signedBodies: BodyBudget;
  logger: Logger;
  /** Delays the answers to repeated failed logins from one source. */
  logins?: LoginGuard;
  /**
   * Told of every refused callback of an async connector (metrics; the accepted ones are counted by
   * the callback service). Not told of an unknown connector: its name is the sender's. Must not throw.
   */
  onRefused?: (connector: string, refusal: CallbackRefusal) => void;
}

interface CallbackRequest {
  connector: string;
  path: string;
  remoteAddr: string | null;
  requestId: string;
  format: CallbackFormat;
  /** The Content-Type's, until the envelope is read; then the envelope's. */
  soapVersion: SoapVersion;
}

/**
 * `POST /callbacks/{connector}`: an async target's later answer, REST JSON or SOAP; `GET
 * /callbacks/{connector}?wsdl`: the WSDL of the SOAP form. The caller is refused before the gateway
 * spends on it: an unknown connector (404), a declared size over the limit (413), credentials
 * (401). A refusal stores nothing but the bounded refusal record. An accepted callback is answered
 * only after accept() has committed it.
 */
export function registerCallbackRoutes(router: Router, deps: CallbackRouteDeps): void {
  router.get(CALLBACK_PATH, (ctx) => serveWsdl(ctx, deps, ctx.params.connector ?? ''));
  router.post(CALLBACK_PATH, (ctx) => handleCallback(ctx, deps, ctx.params.connector ?? ''));
}

function serveWsdl(ctx: Context, deps: CallbackRouteDeps, connector: string): void {
  const settings = deps.settings(connector);
  if (settings === null) throw unknownConnector(connector);
  if (!Object.keys(ctx.query).some((k) => k.toLowerCase() === 'wsdl')) {
    throw new GatewayError('NOT_FOUND', `GET ${ctx.path} serves the callback's WSDL: add ?wsdl`);
  }
  const base = requestBaseUrl({
    host: ctx.get('host') || undefined,
    encrypted: ctx.req.socket && 'encrypted' in ctx.req.socket ? Boolean(ctx.req.socket.encrypted) : false,
    forwardedProto: ctx.get('x-forwarded-proto') || undefined,
    forwardedHost: ctx.get('x-forwarded-host') || undefined,
    trustProxy: deps.config().gateway.server.trustProxy,
  });
  ctx.type = 'text/xml; charset=utf-8';
  ctx.body = callbackWsdl({ connector, address: `${base}${ctx.path}`, usernameToken: settings.auth.type === 'username-token' });
}

async function handleCallback(ctx: Context, deps: CallbackRouteDeps, connector: string): Promise<void> {
  const contentType = ctx.get('content-type');
  const request: CallbackRequest = {
    connector,
    path: ctx.path,
    remoteAddr: ctx.request.ip || null,
    requestId: String(ctx.state.requestId ?? ''),
    format: /^\s*application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType) ? 'json' : 'soap',
    // Until the envelope is read, the Content-Type says which SOAP version a Fault is written in.
    soapVersion: soapVersionOf(contentType),
  };
  let reservation: BodyReservation | null = null;
  let username: string | null = null;
  let known = false;
  const authorization = ctx.get('authorization') || undefined;
  let credentialsOffered = authorization !== undefined || ctx.get('webhook-signature') !== '';
  try {
    const settings = deps.settings(connector);
    if (settings === null) throw unknownConnector(connector);
    known = true;
    if (request.format === 'soap') checkSoapContentType(contentType);
    const config = deps.config();
    const maxBytes = settings.maxBodySize;
    const declared = declaredLength(ctx.get('content-length'));
    if (declared !== null && declared > maxBytes) {
      throw new GatewayError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
    }
    const { auth } = settings;
    const now = deps.now();
    // Credentials before work: Basic and bearer before a byte of the body is read.
    if (decidedByHeaders(auth)) username = accepted(authenticateHeaders(auth, authorization)).username;
    if (auth.type === 'username-token' && request.format !== 'soap') {
      throw new GatewayError('AUTH_FAILED', 'authentication failed: this connector takes SOAP callbacks with a WS-Security UsernameToken');
    }

    let input: CallbackInput;
    // A UsernameToken's nonce, remembered in the callback's transaction (a replayed token is refused).
    const held: { nonce: { key: string; expiresAt: number } | null } = { nonce: null };
    let webhookId: { id: string; rememberUntil: number } | null = null;
    if (auth.type === 'standard-webhooks') {
      // A signature covers the exact bytes, so the whole body is read before the sender is known.
      // The headers are checked first; then the body takes its size of the signed-body budget (kept
      // apart from OM's pushes, so forged callbacks cannot starve them), refused at once when there
      // is no room.
      credentialsOffered = credentialsOffered || ctx.get('webhook-id') !== '';
      const signed = await authenticateSigned(
        auth,
        { id: ctx.get('webhook-id') || undefined, timestamp: ctx.get('webhook-timestamp') || undefined, signature: ctx.get('webhook-signature') || undefined },
        now,
        () => {
          reservation = deps.signedBodies.reserveNow(Math.min(declared ?? maxBytes, maxBytes));
          return readBody(ctx.req, bodyOf(ctx), maxBytes);
        },
      );
      if (!signed.ok) throw new GatewayError('AUTH_FAILED', `authentication failed: ${signed.reason}`);
      webhookId = { id: signed.webhookId, rememberUntil: signed.rememberUntil };
      input = request.format === 'json' ? jsonInput(connector, signed.body, contentType) : await readSoap(request, connector, once(signed.body), contentType, soapLimits(config, maxBytes));
    } else {
      // What a stranger may make the gateway read (and hold of the body budget it shares with OM's
      // pushes) before its credentials are proven: the same allowance as a push's.
      const allowance = config.gateway.inbound.soap.maxBytesBeforeCredentials;
      // Basic and bearer are proven already; a UsernameToken when the SOAP Header closes. Until
      // then the callback holds a stranger's share of the budget, then grows to its full size.
      let authenticated = decidedByHeaders(auth);
      const taken = deps.bodies.reserveNow(authenticated ? 0 : Math.min(declared ?? allowance, allowance));
      reservation = taken;
      const body = budgetedBody(ctx.req, () => authenticated, () => taken.growTo(Math.min(declared ?? maxBytes, maxBytes), config.gateway.inbound.soap.bodyWait));
      if (request.format === 'json') {
        input = jsonInput(connector, await readBody(ctx.req, body, maxBytes), contentType);
      } else {
        input = await readSoap(request, connector, body, contentType, soapLimits(config, maxBytes), auth.type === 'username-token'
          ? (token) => {
              if (token !== null) credentialsOffered = true;
              username = token?.username ?? null;
              const result = accepted(authenticateUsernameToken(auth, token, now));
              held.nonce = result.nonce;
              authenticated = true;
            }
          : undefined);
      }
    }
    checkFields(input, settings);
    const result = await deps.accept({ ...input, requestId: request.requestId || null, ...(held.nonce === null ? {} : { nonce: held.nonce }), ...(webhookId === null ? {} : { webhookId }) });
    if (credentialsOffered) deps.logins?.succeeded(request.remoteAddr);
    ctx.state.logFields = { connector, outcome: result.outcome, eventId: result.eventId, deliveryId: result.deliveryId };
    if (result.outcome === 'invalid') {
      // Audited by the service already: answered with its reason, nothing more stored.
      answer(ctx, request, new GatewayError('CALLBACK_INVALID', result.message ?? 'the callback names no correlation id, or a status value the connector does not know (async.callback)'));
      return;
    }
    const ack = { eventId: result.eventId, outcome: result.outcome, deliveryId: result.deliveryId };
    ctx.status = 200;
    if (request.format === 'json') {
      ctx.body = ack;
    } else {
      const soap = callbackAck(request.soapVersion, ack);
      ctx.type = soap.contentType;
      ctx.body = soap.body;
    }
  } catch (err) {
    if (isClientAbort(ctx.req, err)) {
      deps.logger.info({ requestId: request.requestId, remoteAddr: request.remoteAddr }, 'client closed the connection before its callback was read');
      ctx.state.logFields = { connector: clip(connector, 80), error: 'CLIENT_ABORTED' };
      ctx.status = 400;
      if (known) deps.onRefused?.(connector, 'client_aborted');
      return;
    }
    const error = isGatewayError(err) ? err : new GatewayError('INTERNAL', 'internal error; send the callback again later', { cause: err });
    // An unknown connector is a 404 and no more: a scan of names must not fill the audit trail.
    if (error.party === 'Client' && error.code !== 'UNKNOWN_CONNECTOR') {
      await recordRefusal(deps, request, error.code.toLowerCase(), error.message, username);
    }
    if (error.code === 'AUTH_FAILED' && credentialsOffered) await deps.logins?.failed(request.remoteAddr);
    if (isGatewayFailure(error)) deps.logger.error({ err: error.cause ?? error, requestId: request.requestId }, error.message);
    ctx.state.logFields = { connector: clip(connector, 80), error: error.code };
    if (known) deps.onRefused?.(connector, refusalOf(error));
    answer(ctx, request, error);
    discardRestOfBody(ctx.req, ctx.res);
  } finally {
    reservation?.release();
  }
}

/** A SOAP callback read; from here on it is answered in its envelope's SOAP version. */
async function readSoap(request: CallbackRequest, ...args: Parameters<typeof soapInput>): Promise<CallbackInput> {
  const read = await soapInput(...args);
  request.soapVersion = read.soapVersion;
  return read.input;
}

/** The outcome of a credentials check, or AUTH_FAILED. */
function accepted(result: CallbackAuthResult): Extract<CallbackAuthResult, { ok: true }> {
  if (!result.ok) throw new GatewayError('AUTH_FAILED', `authentication failed: ${result.reason}`);
  return result;
}

/** The request body as it streams in; not destroyed when reading stops early, so a refusal can still be answered. */
function bodyOf(ctx: Context): AsyncIterable<Buffer> {
  return ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

function answer(ctx: Context, request: CallbackRequest, error: GatewayError): void {
  if (request.format === 'soap' && error.code !== 'UNKNOWN_CONNECTOR' && error.code !== 'UNSUPPORTED_MEDIA_TYPE') {
    ctx.status = error.code === 'CALLBACK_INVALID' ? 422 : faultStatus(request.soapVersion, error.party, error.status);
    ctx.type = soapContentType(request.soapVersion);
    ctx.body = buildFault(request.soapVersion, error.party, error.code, error.message);
  } else {
    ctx.status = error.status;
    ctx.body = { code: error.code satisfies ErrorCode, message: error.message };
  }
  if (error.code === 'GATEWAY_BUSY') ctx.set('Retry-After', '1');
}

/** The bounded refusal record (clipped, folded per source and minute by the store): never the body. */
async function recordRefusal(
  deps: Pick<CallbackRouteDeps, 'store' | 'newId' | 'now'>,
  request: CallbackRequest,
  result: string,
  reason: string,
  username: string | null,
): Promise<void> {
  await deps.store.audit.appendRefusal({
    id: deps.newId(),
    at: deps.now(),
    direction: 'in',
    action: 'callback.rejected',
    sourceSystem: 'callback',
    connector: request.connector,
    result,
    source: request.remoteAddr,
    detail: { reason, path: request.path, remoteAddr: request.remoteAddr, format: request.format, username },
    requestId: request.requestId || null,
  });
}

function unknownConnector(name: string): GatewayError {
  return new GatewayError('UNKNOWN_CONNECTOR', `no async connector named "${clip(name, 80)}" is configured`);
}

function declaredLength(header: string): number | null {
  return /^\d{1,15}$/.test(header) ? Number(header) : null;
}

function checkSoapContentType(contentType: string): void {
  if (!/^\s*(text\/xml|application\/soap\+xml|application\/xml)\s*(;|$)/i.test(contentType)) {
    throw new GatewayError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${clip(contentType || '(none)', 100)} is not accepted: send application/json, or a SOAP envelope as text/xml or application/soap+xml`,
    );
  }
}
