import type { Context } from 'koa';
import type { Router } from '@koa/router';
import type { GatewayConfig } from '../../config/load.ts';
import { clip } from '../../domain/clip.ts';
import { GatewayError, isGatewayError, type ErrorCode } from '../../domain/errors.ts';
import type { Logger } from '../../log.ts';
import type { BodyBudget, BodyReservation } from '../../server/body-budget.ts';
import { discardRestOfBody, isClientAbort } from '../../server/drain.ts';
import type { LoginGuard } from '../../server/login-throttle.ts';
import type { CallbackFormat, CallbackInput, CallbackResult } from '../../services/callbacks.ts';
import type { Store } from '../../store/index.ts';
import type { ParseLimits, SoapVersion } from '../soap/envelope.ts';
import { buildFault, faultStatus, soapContentType } from '../soap/fault.ts';
import { requestBaseUrl } from '../soap/wsdl.ts';
import { readRawBody } from '../webhooks/body.ts';
import { JsonSyntaxError, parseJsonRecord } from '../webhooks/json.ts';
import {
  authenticateHeaders,
  authenticateSignature,
  authenticateUsernameToken,
  decidedByHeaders,
  type CallbackAuthResult,
  type CallbackSettings,
} from './auth.ts';
import { callbackAck, readSoapCallback, soapVersionOf } from './soap.ts';
import { callbackWsdl } from './wsdl.ts';

const CALLBACK_PATH = '/callbacks/:connector';

/** JSON nesting accepted in a callback body. */
const MAX_JSON_DEPTH = 64;

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
  /** The bytes of request bodies held at once (shared with OM's pushes). */
  bodies: BodyBudget;
  logger: Logger;
  /** Delays the answers to repeated failed logins from one source. */
  logins?: LoginGuard;
  /** Told of every callback answered: its outcome, or the refusal's code in lower case (metrics). Must not throw. */
  onCallback?: (connector: string, result: string) => void;
}

interface CallbackRequest {
  connector: string;
  path: string;
  remoteAddr: string | null;
  requestId: string;
  format: CallbackFormat;
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
    soapVersion: soapVersionOf(contentType),
  };
  let reservation: BodyReservation | null = null;
  let username: string | null = null;
  const authorization = ctx.get('authorization') || undefined;
  let credentialsOffered = authorization !== undefined || ctx.get('webhook-signature') !== '';
  try {
    const settings = deps.settings(connector);
    if (settings === null) throw unknownConnector(connector);
    if (request.format === 'soap') checkSoapContentType(contentType);
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
    reservation = deps.bodies.reserveNow(Math.min(declared ?? maxBytes, maxBytes));

    let input: CallbackInput;
    // A UsernameToken's nonce, remembered in the callback's transaction (a replayed token is refused).
    const held: { nonce: { key: string; expiresAt: number } | null } = { nonce: null };
    if (request.format === 'json' || auth.type === 'standard-webhooks') {
      // A signature covers the exact bytes: the whole body is read (bounded) before it is checked.
      const body = await readBody(ctx, maxBytes);
      if (auth.type === 'standard-webhooks') {
        credentialsOffered = credentialsOffered || ctx.get('webhook-id') !== '';
        accepted(
          authenticateSignature(
            auth,
            { id: ctx.get('webhook-id') || undefined, timestamp: ctx.get('webhook-timestamp') || undefined, signature: ctx.get('webhook-signature') || undefined },
            body,
            now,
          ),
        );
      }
      input = request.format === 'json' ? jsonInput(connector, body, contentType) : await soapInput(connector, once(body), contentType, soapLimits(deps, maxBytes));
    } else {
      input = await soapInput(connector, bodyOf(ctx), contentType, soapLimits(deps, maxBytes), auth.type === 'username-token'
        ? (token) => {
            if (token !== null) credentialsOffered = true;
            username = token?.username ?? null;
            const result = accepted(authenticateUsernameToken(auth, token, now));
            held.nonce = result.nonce;
          }
        : undefined);
    }
    const result = await deps.accept({ ...input, requestId: request.requestId || null, ...(held.nonce === null ? {} : { nonce: held.nonce }) });
    if (credentialsOffered) deps.logins?.succeeded(request.remoteAddr);
    ctx.state.logFields = { connector, outcome: result.outcome, eventId: result.eventId, deliveryId: result.deliveryId };
    deps.onCallback?.(connector, result.outcome);
    if (result.outcome === 'invalid') {
      throw new GatewayError('BAD_REQUEST', 'the callback names no correlation id, or a status value the connector does not know (async.callback)', { status: 422 });
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
      deps.onCallback?.(connector, 'client_aborted');
      return;
    }
    const error = isGatewayError(err) ? err : new GatewayError('INTERNAL', 'internal error; send the callback again later', { cause: err });
    // An unknown connector is a 404 and no more: a scan of names must not fill the audit trail.
    if (error.party === 'Client' && error.code !== 'UNKNOWN_CONNECTOR' && error.status !== 422) {
      await recordRefusal(deps, request, error.code.toLowerCase(), error.message, username);
    }
    if (error.code === 'AUTH_FAILED' && credentialsOffered) await deps.logins?.failed(request.remoteAddr);
    if (error.party === 'Server') deps.logger.error({ err: error.cause ?? error, requestId: request.requestId }, error.message);
    ctx.state.logFields = { connector: clip(connector, 80), error: error.code };
    if (error.status !== 422) deps.onCallback?.(connector, error.code.toLowerCase());
    answer(ctx, request, error);
    discardRestOfBody(ctx.req, ctx.res);
  } finally {
    reservation?.release();
  }
}

/** The outcome of a credentials check, or AUTH_FAILED. */
function accepted(result: CallbackAuthResult): Extract<CallbackAuthResult, { ok: true }> {
  if (!result.ok) throw new GatewayError('AUTH_FAILED', `authentication failed: ${result.reason}`);
  return result;
}

function jsonInput(connector: string, body: Buffer, contentType: string): CallbackInput {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'the callback body is not valid UTF-8');
  }
  try {
    return { connector, format: 'json', raw: body, contentType, body: parseJsonRecord(text, { maxDepth: MAX_JSON_DEPTH }) };
  } catch (err) {
    const detail = err instanceof JsonSyntaxError ? err.message : 'not a JSON object';
    throw new GatewayError('BAD_REQUEST', `the callback body is not valid JSON: ${detail}`);
  }
}

async function soapInput(
  connector: string,
  body: AsyncIterable<Buffer>,
  contentType: string,
  limits: ParseLimits,
  onCredentials?: Parameters<typeof readSoapCallback>[2],
): Promise<CallbackInput> {
  const read = await readSoapCallback(body, limits, onCredentials);
  return { connector, format: 'soap', raw: read.redacted, contentType, body: read.fields };
}

async function* once(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}

/** OM's SOAP limits (inbound.soap), the callback's own size limit. */
function soapLimits(deps: Pick<CallbackRouteDeps, 'config'>, maxBytes: number): ParseLimits {
  const soap = deps.config().gateway.inbound.soap;
  return {
    maxBytes,
    maxDepth: soap.maxDepth,
    maxElements: soap.maxElements,
    maxBytesBeforeCredentials: soap.maxBytesBeforeCredentials,
    maxAttributes: soap.maxAttributes,
    maxTotalAttributes: soap.maxTotalAttributes,
    maxNameLength: soap.maxNameLength,
    maxTextLength: soap.maxTextLength,
  };
}

/** The request body as it streams in; not destroyed when reading stops early, so a refusal can still be answered. */
function bodyOf(ctx: Context): AsyncIterable<Buffer> {
  return ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

async function readBody(ctx: Context, maxBytes: number): Promise<Buffer> {
  try {
    return await readRawBody(bodyOf(ctx), maxBytes);
  } catch (err) {
    if (isGatewayError(err) && err.code === 'BAD_REQUEST' && isClientAbort(ctx.req, err.cause)) {
      throw new GatewayError('CLIENT_ABORTED', 'the client closed the connection before its callback was read', { cause: err });
    }
    throw err;
  }
}

function answer(ctx: Context, request: CallbackRequest, error: GatewayError): void {
  if (request.format === 'soap' && error.code !== 'UNKNOWN_CONNECTOR' && error.code !== 'UNSUPPORTED_MEDIA_TYPE') {
    ctx.status = error.status === 422 ? 422 : faultStatus(request.soapVersion, error.party, error.status);
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
