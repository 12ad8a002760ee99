import type { GatewayConfig } from '../../config/load.ts';
import { GatewayError } from '../../domain/errors.ts';
import type { XmlRecord } from '../../domain/event.ts';
import { canonicalJson, hashOfCanonicalJson, identifyOmEvent } from '../../domain/om-event.ts';
import { route } from '../../routing/trigger-points.ts';
import type { LoginGuard } from '../../server/login-throttle.ts';
import type { IngestEvent, IngestItem, IngestOutcome, Store } from '../../store/index.ts';
import type { AuthResult } from './auth.ts';
import type { ParsedPush } from './envelope.ts';

export interface PushContext {
  path: string;
  connectorScope: string | null;
  contentType: string | null;
  headers: Record<string, string>;
  remoteAddr: string | null;
  requestId: string;
}

export interface PushHandlerDeps {
  config: () => GatewayConfig;
  store: Store;
  newId: () => string;
  now: () => number;
  /** Called after a commit that created deliveries (wakes the delivery worker). */
  onStored?: () => void;
  /** Delays the answers to repeated failed logins from one source (src/server/login-throttle.ts). */
  logins?: LoginGuard;
}

/** Headers that carry credentials or session state: never stored. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export function storableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || SECRET_HEADERS.has(name.toLowerCase())) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** What is fixed for the whole of one push: the config, its receipt time and where it came in. */
export interface PushScope {
  config: GatewayConfig;
  now: number;
}

/**
 * Turns each OrderHeader of a push into an event as the parser hands it over (identity, routes,
 * canonical payload and content hash), so that only the events are kept, not the parsed trees.
 */
export function eventBuilder(deps: Pick<PushHandlerDeps, 'newId'>, scope: PushScope, ctx: Pick<PushContext, 'path' | 'connectorScope'>): (header: XmlRecord, position: number) => IngestEvent {
  const { config, now } = scope;
  const dedupeScope = `oracle-om:${ctx.path}`;
  const dedupeSince = now - config.gateway.inbound.soap.dedupeWindow;
  return (header, position) => {
    const identity = identifyOmEvent(header);
    const routes = route({ source: 'oracle-om', eventCode: identity.eventCode, payload: header }, config.triggerPoints, ctx.connectorScope);
    const payload = canonicalJson(header);
    return {
      id: deps.newId(),
      source: 'oracle-om',
      eventCode: identity.eventCode,
      orderKey: identity.orderKey,
      sourceSystem: identity.sourceSystem,
      connectorScope: ctx.connectorScope,
      position,
      payload,
      raw: null,
      contentHash: hashOfCanonicalJson(payload),
      dedupeScope,
      dedupeSince,
      deliveries: routes.map((r) => ({
        id: deps.newId(),
        connector: r.connector,
        triggerPoint: r.triggerPoint,
        orderKey: identity.orderKey,
        idempotencyKey: null,
      })),
    };
  };
}

/**
 * Stores one parsed, authenticated push whose OrderHeaders eventBuilder has turned into `events`:
 * push, events, deliveries and audit records in one transaction. It returns only after the commit;
 * the caller acknowledges then. Throws GatewayError for every refusal (a nonce used before is found
 * in that transaction, across instances).
 */
export async function acceptPush(
  deps: PushHandlerDeps,
  parsed: ParsedPush,
  auth: Extract<AuthResult, { ok: true }>,
  ctx: PushContext,
  scope: PushScope,
  events: IngestEvent[],
): Promise<IngestOutcome & { accepted: true }> {
  const item: IngestItem = {
    push: {
      id: deps.newId(),
      receivedAt: scope.now,
      path: ctx.path,
      connectorScope: ctx.connectorScope,
      soapVersion: parsed.soapVersion,
      contentType: ctx.contentType,
      headers: ctx.headers,
      raw: parsed.redactedXml,
      rawSize: parsed.byteLength,
      authMethod: auth.method,
      authUser: auth.username,
      remoteAddr: ctx.remoteAddr,
      requestId: ctx.requestId,
    },
    nonce: auth.nonce,
    events,
    requestId: ctx.requestId,
  };

  let outcome: IngestOutcome;
  try {
    outcome = await deps.store.ingest.submit(item);
  } catch (err) {
    throw new GatewayError('STORE_UNAVAILABLE', 'the push could not be stored; send it again later', { cause: err });
  }
  if (!outcome.accepted) throw new GatewayError('AUTH_FAILED', 'authentication failed: the nonce was used before');
  deps.logins?.succeeded(ctx.remoteAddr);
  if (outcome.events.some((e) => e.deliveries > 0)) deps.onStored?.();
  return outcome;
}

/**
 * An audit record for a refused push. It must never turn a refusal into a different error. The store
 * clips what the client chose (username, path, connector) and folds repeats per source and minute.
 */
export async function recordRejection(
  deps: Pick<PushHandlerDeps, 'store' | 'newId' | 'now'>,
  ctx: Pick<PushContext, 'path' | 'connectorScope' | 'remoteAddr' | 'requestId'>,
  result: string,
  reason: string,
  username: string | null,
): Promise<void> {
  await deps.store.audit.appendRefusal({
    id: deps.newId(),
    at: deps.now(),
    direction: 'in',
    action: 'push.rejected',
    sourceSystem: 'oracle-om',
    connector: ctx.connectorScope,
    result,
    source: ctx.remoteAddr,
    detail: { reason, path: ctx.path, remoteAddr: ctx.remoteAddr, username },
    requestId: ctx.requestId,
  });
}
