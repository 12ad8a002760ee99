import type { GatewayConfig } from '../../config/load.ts';
import type { XmlRecord } from '../../domain/event.ts';
import { canonicalJson, hashOfCanonicalJson, identifyOmEvent } from '../../domain/om-event.ts';
import type { LoginGuard } from '../../server/login-throttle.ts';
import type { AcceptEvents, AcceptOutcome, EventBatch } from '../../services/accept-events.ts';
import type { Store } from '../../store/index.ts';
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
  /** Routes and stores the events, wakes the delivery worker (src/services/accept-events.ts). */
  accept: AcceptEvents;
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

/**
 * Starts the push's batch of events and gives the function that adds each OrderHeader to it as the
 * parser hands it over (identity, canonical payload and content hash; the batch routes it), so that
 * only the events are kept, not the parsed trees.
 */
export function eventBuilder(deps: Pick<PushHandlerDeps, 'accept'>, receivedAt: number, ctx: Pick<PushContext, 'path' | 'connectorScope'>): { batch: EventBatch; add: (header: XmlRecord, position: number) => void } {
  // OM re-sends a payload after an error with no message id: the same content on the same path is the same event.
  const dedupeScope = `oracle-om:${ctx.path}`;
  const batch = deps.accept.begin({ source: 'oracle-om', receivedAt, connectorScope: ctx.connectorScope });
  const add = (header: XmlRecord, position: number): void => {
    const identity = identifyOmEvent(header);
    const payload = canonicalJson(header);
    batch.add({
      eventCode: identity.eventCode,
      orderKey: identity.orderKey,
      sourceSystem: identity.sourceSystem,
      position,
      fields: header,
      payload,
      raw: null,
      dedupeScope,
      contentHash: hashOfCanonicalJson(payload),
    });
  };
  return { batch, add };
}

/**
 * Stores one parsed, authenticated push whose OrderHeaders are in `batch`: push, events, deliveries
 * and audit records in one transaction. It returns only after the commit; the caller acknowledges
 * then. Throws GatewayError for every refusal (a nonce used before is found in that transaction,
 * across instances; a store failure is STORE_UNAVAILABLE).
 */
export async function acceptPush(
  deps: Pick<PushHandlerDeps, 'logins'>,
  batch: EventBatch,
  parsed: ParsedPush,
  auth: Extract<AuthResult, { ok: true }>,
  ctx: PushContext,
): Promise<AcceptOutcome> {
  const outcome = await batch.submit({
    push: {
      path: ctx.path,
      soapVersion: parsed.soapVersion,
      contentType: ctx.contentType,
      headers: ctx.headers,
      raw: parsed.redactedXml,
      rawSize: parsed.byteLength,
      authMethod: auth.method,
      authUser: auth.username,
      remoteAddr: ctx.remoteAddr,
    },
    nonce: auth.nonce,
    requestId: ctx.requestId,
  });
  deps.logins?.succeeded(ctx.remoteAddr);
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
