import type { Context } from 'koa';
import { discardRestOfBody, isClientAbort } from '../../server/drain.ts';
import type { Router } from '@koa/router';
import type { GatewayConfig } from '../../config/load.ts';
import type { ShipBobWebhookSettings } from '../../config/schema.ts';
import { clip } from '../../domain/clip.ts';
import { GatewayError, isGatewayError, isGatewayFailure, type ErrorCode } from '../../domain/errors.ts';
import type { XmlRecord } from '../../domain/event.ts';
import { gatewayOrderState, type ShipBobOrderRecord } from '../../domain/shipbob-change.ts';
import {
  isKnownShipBobTopic,
  SHIPBOB_DEDUPE_SCOPE,
  shipbobOrderKey,
  shipbobOrderNamed,
  shipbobTopic,
  webhookIdHash,
} from '../../domain/shipbob-webhook.ts';
import type { Logger } from '../../log.ts';
import type { AcceptEvents, AcceptOutcome } from '../../services/accept-events.ts';
import type { Store } from '../../store/index.ts';
import type { BodyBudget, BodyReservation } from '../../server/body-budget.ts';
import { readRawBody } from './body.ts';
import { JsonSyntaxError, parseJsonRecord } from './json.ts';
import { readSignedBody, WebhookVerifier, type VerifyFailure } from './signature.ts';

const SHIPBOB_WEBHOOK_PATH = '/webhooks/shipbob';

/** JSON nesting accepted in a webhook body (ShipBob's order payloads are a few levels deep). */
const MAX_JSON_DEPTH = 64;

export interface ShipBobWebhookDeps {
  config: () => GatewayConfig;
  store: Store;
  newId: () => string;
  now: () => number;
  logger: Logger;
  /**
   * The signed-body budget (inbound.webhooks.bodyBudget), shared with signed callbacks: a webhook is
   * read whole before its signature is checked, so it takes its whole size from there, never waiting.
   */
  signedBodies: BodyBudget;
  /** Routes and stores the event, wakes the delivery worker (src/services/accept-events.ts). */
  accept: AcceptEvents;
  /** Called with every answer: `accepted`, or the refusal (metrics). */
  onWebhook?: (result: string, events: ReadonlyArray<{ eventCode: string; status: string }>) => void;
}

/** Why a webhook was refused: the audit record's result. */
export type WebhookRefusal = VerifyFailure | 'payload_too_large' | 'body_unreadable' | 'invalid_json' | 'gateway_busy';

/** A refusal: the HTTP answer (code, status) and the audit result. */
class Refusal extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly result: WebhookRefusal;

  constructor(result: WebhookRefusal, code: ErrorCode, status: number, message: string) {
    super(message);
    this.result = result;
    this.code = code;
    this.status = status;
  }
}

export interface WebhookRequest {
  path: string;
  remoteAddr: string | null;
  requestId: string;
  webhookId: string;
  topicHeader: string | undefined;
}

/**
 * POST /webhooks/shipbob: ShipBob's signed webhooks (Standard Webhooks). The webhook-* headers are
 * checked first (readSignedBody), then the raw body takes its size of the signed-body budget (503
 * GATEWAY_BUSY at once when there is no room: ShipBob sends it again) and is read with a limit, the
 * signature checked over those exact bytes, the JSON parsed, one event built, routed by the trigger
 * points (source shipbob) and stored; the 204 goes back only after the commit. A replayed
 * webhook-id is acknowledged and recorded as a duplicate. Refusals answer JSON `{code, message}` and
 * leave an audit record (webhook.rejected); nothing else is stored for them.
 */
export function registerShipBobWebhookRoutes(router: Router, deps: ShipBobWebhookDeps): void {
  router.post(SHIPBOB_WEBHOOK_PATH, (ctx) => handleShipBobWebhook(ctx, deps));
}

const verifiers = new WeakMap<ShipBobWebhookSettings, WebhookVerifier>();

/** One verifier per loaded config (secrets are decoded once; a reload brings a new settings object). */
function verifierFor(settings: ShipBobWebhookSettings): WebhookVerifier {
  let verifier = verifiers.get(settings);
  if (!verifier) {
    verifier = new WebhookVerifier(
      settings.secrets.map((s) => s.reveal()),
      { toleranceMs: settings.tolerance },
    );
    verifiers.set(settings, verifier);
  }
  return verifier;
}

async function handleShipBobWebhook(ctx: Context, deps: ShipBobWebhookDeps): Promise<void> {
  const settings = deps.config().gateway.inbound.webhooks.shipbob;
  if (!settings || !settings.enabled) {
    throw new GatewayError('NOT_FOUND', `ShipBob webhooks are not enabled (inbound.webhooks.shipbob in gateway.yaml)`);
  }
  const request: WebhookRequest = {
    path: ctx.path,
    remoteAddr: ctx.request.ip || null,
    requestId: String(ctx.state.requestId ?? ''),
    webhookId: ctx.get('webhook-id'),
    topicHeader: ctx.get('x-webhook-topic') || undefined,
  };
  // What the body holds of the signed-body budget, once its headers passed (set inside readSignedBody's read).
  const taken: { body: BodyReservation | null } = { body: null };
  try {
    const maxBytes = settings.maxBodySize;
    const declared = declaredLength(ctx.get('content-length'));
    if (declared !== null && declared > maxBytes) {
      throw new Refusal('payload_too_large', 'PAYLOAD_TOO_LARGE', 413, `body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
    }
    // Headers first: a stranger without well-formed, current webhook-* headers is refused before its
    // body is read. One with them costs its body's size of the signed-body budget, never more.
    const signed = await readSignedBody(
      verifierFor(settings),
      { id: request.webhookId || undefined, timestamp: ctx.get('webhook-timestamp') || undefined, signature: ctx.get('webhook-signature') || undefined },
      deps.now(),
      () => {
        taken.body = reserve(deps.signedBodies, Math.min(declared ?? maxBytes, maxBytes));
        return readBody(ctx, maxBytes);
      },
    );
    if (!signed.ok) throw new Refusal(signed.reason, 'AUTH_FAILED', 401, `webhook signature refused: ${signed.message}`);
    const { body, verdict } = signed;
    const { text, payload } = parseBody(body);
    const outcome = await acceptShipBobWebhook(deps, request, { raw: text, payload });
    const event = outcome.events[0];
    ctx.state.logFields = {
      webhookId: clip(request.webhookId),
      topic: outcome.topic,
      status: event?.status,
      deliveries: event?.deliveries ?? 0,
      ...(verdict.secretIndex > 0 ? { secretIndex: verdict.secretIndex } : {}),
    };
    if (!isKnownShipBobTopic(outcome.topic)) {
      deps.logger.warn({ topic: outcome.topic, webhookId: clip(request.webhookId), requestId: request.requestId }, 'ShipBob webhook with an unknown topic stored');
    }
    // Svix/ShipBob count any 2xx as delivered; nothing downstream ran before this answer.
    ctx.status = 204;
    deps.onWebhook?.(event?.status === 'duplicate' ? 'duplicate' : 'accepted', outcome.events.map((e) => ({ eventCode: outcome.topic, status: e.status })));
  } catch (err) {
    if (err instanceof Refusal) {
      await recordWebhookRejection(deps, request, err.result, err.message);
      deps.onWebhook?.(err.result, []);
      answer(ctx, err.status, err.code, err.message);
      ctx.state.logFields = { error: err.code, reason: err.result };
      // The sender may still be sending: read and discard the rest for a while, so it reads this answer.
      discardRestOfBody(ctx.req, ctx.res);
      return;
    }
    const error = isGatewayError(err) ? err : new GatewayError('INTERNAL', 'internal error; send the webhook again later', { cause: err });
    if (isGatewayFailure(error)) deps.logger.error({ err: error.cause ?? error, requestId: request.requestId }, error.message);
    ctx.state.logFields = { error: error.code };
    deps.onWebhook?.(error.code.toLowerCase(), []);
    answer(ctx, error.status, error.code, error.message);
  } finally {
    // Success, refusal or a client gone: the body is no longer held.
    taken.body?.release();
  }
}

/** The body's share of the signed-body budget, or a refusal (503) when there is no room now. */
function reserve(budget: BodyBudget, bytes: number): BodyReservation {
  try {
    return budget.reserveNow(bytes);
  } catch (err) {
    if (isGatewayError(err) && err.code === 'GATEWAY_BUSY') throw new Refusal('gateway_busy', err.code, err.status, err.message);
    throw err;
  }
}

function declaredLength(header: string): number | null {
  return /^\d{1,15}$/.test(header) ? Number(header) : null;
}

async function readBody(ctx: Context, maxBytes: number): Promise<Buffer> {
  try {
    // Not destroyed when reading stops at the limit, so that the 413 can still be answered.
    return await readRawBody(ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>, maxBytes);
  } catch (err) {
    if (isGatewayError(err) && err.code === 'PAYLOAD_TOO_LARGE') throw new Refusal('payload_too_large', err.code, 413, err.message);
    if (isClientAbort(ctx.req, err instanceof GatewayError ? err.cause : err)) {
      throw new GatewayError('CLIENT_ABORTED', 'the client closed the connection before its webhook was read', { cause: err });
    }
    throw new Refusal('body_unreadable', 'BAD_REQUEST', 400, 'the request body could not be read');
  }
}

/** The verified body as text (UTF-8, strict) and as an event payload. An empty body is an empty payload. */
function parseBody(body: Buffer): { text: string; payload: XmlRecord } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Refusal('invalid_json', 'BAD_REQUEST', 400, 'the webhook body is not valid UTF-8');
  }
  if (text.length === 0) return { text, payload: {} };
  try {
    return { text, payload: parseJsonRecord(text, { maxDepth: MAX_JSON_DEPTH }) };
  } catch (err) {
    const detail = err instanceof JsonSyntaxError ? err.message : 'not JSON';
    throw new Refusal('invalid_json', 'BAD_REQUEST', 400, `the webhook body is not valid JSON: ${detail}`);
  }
}

/** The field the trigger points read the gateway's state of the webhook's ShipBob order from. */
const GATEWAY_ORDER_STATE_FIELD = 'gatewayOrderState';

/**
 * Accepts one verified webhook as one event (source shipbob, event code = topic, known by its
 * webhook-id), stored with its deliveries and audit record in one transaction. Returns after the
 * commit. Throws GatewayError STORE_UNAVAILABLE when the store fails (the webhook is then answered
 * 500, and ShipBob sends it again).
 */
async function acceptShipBobWebhook(
  deps: Pick<ShipBobWebhookDeps, 'accept' | 'now' | 'store'>,
  request: Pick<WebhookRequest, 'webhookId' | 'topicHeader' | 'requestId'>,
  body: { raw: string; payload: XmlRecord },
): Promise<AcceptOutcome & { topic: string }> {
  const topic = shipbobTopic(request.topicHeader, body.payload);
  const fields = await routingFields(deps.store, topic, body.payload);
  const outcome = await deps.accept.accept({
    source: 'shipbob',
    receivedAt: deps.now(),
    requestId: request.requestId || null,
    events: [
      {
        eventCode: topic,
        orderKey: shipbobOrderKey(topic, body.payload),
        sourceSystem: null,
        position: 0,
        fields,
        payload: JSON.stringify(body.payload),
        raw: body.raw,
        dedupeScope: SHIPBOB_DEDUPE_SCOPE,
        contentHash: webhookIdHash(request.webhookId),
      },
    ],
  });
  return { ...outcome, topic };
}

/**
 * What the trigger points read: ShipBob's payload and, for an order topic, what the gateway knows of
 * that order (`gatewayOrderState`: cancel_requested, cancelled, open, unknown; domain/shipbob-change.ts),
 * so that ShipBob's `order.shipment.cancelled` of a cancellation Oracle asked for is not sent back to
 * Oracle as a hold. One indexed read of shipbob_orders; never stored (the payload stays ShipBob's).
 */
async function routingFields(store: Store, topic: string, payload: XmlRecord): Promise<XmlRecord> {
  const named = shipbobOrderNamed(topic, payload);
  if (named === null) return payload;
  let record: ShipBobOrderRecord | null = null;
  if (named.referenceId !== null) {
    try {
      record = await store.shipbobOrders.findForWebhook(named.referenceId, named.orderId);
    } catch (err) {
      throw new GatewayError('STORE_UNAVAILABLE', 'the webhook could not be stored; send it again later', { cause: err });
    }
  }
  return { ...payload, [GATEWAY_ORDER_STATE_FIELD]: gatewayOrderState(record) };
}

/** An audit record for a refused webhook. It must never turn a refusal into a different error. */
async function recordWebhookRejection(
  deps: Pick<ShipBobWebhookDeps, 'store' | 'newId' | 'now'>,
  request: WebhookRequest,
  result: WebhookRefusal,
  reason: string,
): Promise<void> {
  await deps.store.audit.appendRefusal({
    id: deps.newId(),
    at: deps.now(),
    direction: 'in',
    action: 'webhook.rejected',
    sourceSystem: 'shipbob',
    connector: null,
    result,
    source: request.remoteAddr,
    detail: {
      reason,
      path: request.path,
      remoteAddr: request.remoteAddr,
      webhookId: request.webhookId ? clip(request.webhookId) : null,
      topic: request.topicHeader ? clip(request.topicHeader) : null,
    },
    requestId: request.requestId || null,
  });
}

function answer(ctx: Context, status: number, code: ErrorCode, message: string): void {
  ctx.status = status;
  ctx.body = { code, message };
  // As OM's pushes and the callbacks are told: room is usually back within a second.
  if (code === 'GATEWAY_BUSY') ctx.set('Retry-After', '1');
}
