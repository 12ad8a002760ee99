import { createHash } from 'node:crypto';
import type { GatewayConfig } from '../config/load.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import { clip } from '../domain/clip.ts';
import { CALLBACK_EVENT_CODE, callbackVerdict, jsonAsRecord, textAtPath, type CallbackVerdict } from '../domain/callback.ts';
import type { Clock } from '../domain/clock.ts';
import { appliesFrom, type Delivery } from '../domain/delivery.ts';
import { GatewayError } from '../domain/errors.ts';
import type { XmlRecord } from '../domain/event.ts';
import { scrubberFor } from '../domain/secrets-scrub.ts';
import { route } from '../routing/trigger-points.ts';
import type { CallbackPlan } from '../store/callbacks.ts';
import type { Store } from '../store/index.ts';

/**
 * Callbacks: the later answer of an async connector's target (POST /callbacks/{connector}), matched
 * to its delivery by correlation id. The edge (src/inbound/callbacks/) authenticates the caller and
 * parses the body; here, in one transaction, the callback is stored as an event (source `callback`),
 * routed by the trigger points like any event, audited, and completes the delivery it answers.
 */

export type CallbackFormat = 'json' | 'soap';

export interface CallbackInput {
  /** The {connector} of the path: the edge has checked it is an async connector and authenticated the caller. */
  connector: string;
  format: CallbackFormat;
  /** The body as received: stored as the event's raw bytes. */
  raw: Buffer;
  contentType: string;
  /** json: the parsed JSON body; soap: the fields of the callback element, { correlationId, status, message? } as strings. */
  body: unknown;
  /** The request's id, for the audit record. */
  requestId?: string | null;
  /**
   * A WS-Security UsernameToken's nonce (src/inbound/soap/auth.ts), claimed in the callback's
   * transaction: one used before and not expired refuses the callback (AUTH_FAILED), writing nothing.
   */
  nonce?: { key: string; expiresAt: number } | null;
  /**
   * A Standard Webhooks callback's verified webhook-id, remembered per connector until its timestamp
   * could no longer pass: the same message again is a duplicate that writes nothing (a sender's retry).
   */
  webhookId?: { id: string; rememberUntil: number } | null;
}

/**
 * - completed: matched a delivery awaiting its response, and completed it (by the id of its latest
 *   request or of an earlier one: an async connector that reads its ids from the answers gets a new
 *   one with each re-send);
 * - late: matched a delivery parked no_response (or retrying after a timeout), and completed it;
 * - unmatched: an unknown or finished correlation id (stored, flagged in audit and metric);
 * - duplicate: a callback with the same correlation id completed the delivery already (nothing changes);
 * - invalid: no correlation id, or a status value in neither list (stored, audited; the edge answers 422).
 */
export const CALLBACK_OUTCOMES = ['completed', 'late', 'unmatched', 'duplicate', 'invalid'] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];

export interface CallbackResult {
  /** The stored callback event (null only for 'duplicate': nothing new is stored). */
  eventId: string | null;
  outcome: CallbackOutcome;
  deliveryId: string | null;
  completedAs: CallbackVerdict | null;
  /** Why a callback is invalid or unmatched, in words (null otherwise). */
  message: string | null;
}

/** What each accepted callback reports to observers (metrics): its result and, when known, the response time. */
export interface CallbackReport extends CallbackResult {
  connector: string;
  /** Seconds from the accepted request to this callback (deliveries that were awaiting it). */
  responseSeconds: number | null;
}

/** An async connector's callback settings, as the edge needs them. */
export interface CallbackConnector {
  name: string;
  protocol: ConnectorConfig['protocol'];
  callback: NonNullable<ConnectorConfig['async']>['callback'];
}

export interface CallbackServiceDeps {
  store: Store;
  /** Read per callback, so a reload applies from the next one on. */
  config: () => GatewayConfig;
  clock: Clock;
  newId: () => string;
  /** Wakes the delivery worker (a routed callback made deliveries, a strict order moved on). */
  notify: () => void;
}

/** How much of a callback's body is kept beside the delivery's attempts. */
const SNIPPET_BYTES = 2048;

/** What a callback says, read by the connector's callback settings. */
interface CallbackFields {
  correlationId: string | null;
  status: string | null;
  message: string | null;
}

export class CallbackService {
  readonly #deps: CallbackServiceDeps;
  readonly #observers: Array<(report: CallbackReport) => void> = [];

  constructor(deps: CallbackServiceDeps) {
    this.#deps = deps;
  }

  /** The callback settings of an async connector; null when there is no such connector or it is not async. */
  connector(name: string): CallbackConnector | null {
    const c = this.#deps.config().connectors.find((x) => x.name === name);
    if (!c || c.mode !== 'async' || !c.async) return null;
    return { name: c.name, protocol: c.protocol, callback: c.async.callback };
  }

  /** Calls `observer` with every callback's result once it is committed (metrics). */
  observe(observer: (report: CallbackReport) => void): void {
    this.#observers.push(observer);
  }

  /**
   * Stores, routes and audits one callback and completes the delivery it answers, in one
   * transaction; resolves after the commit. Throws STORE_UNAVAILABLE when the store fails (nothing
   * was acknowledged: the caller sends it again), UNKNOWN_CONNECTOR when the connector is not async,
   * AUTH_FAILED when its UsernameToken's nonce was used before (a replayed token: nothing written).
   *
   * - completed: the delivery awaited this response (or its request was being recorded): delivered,
   *   or parked response_failed, the callback beside its attempts;
   * - late: the delivery had expired (retrying, re-sent, parked no_response): completed the same way;
   * - unmatched: no delivery of the connector was sent with this id, or it is finished (discarded,
   *   delivered without a callback, or completed by a callback with another of its ids): stored and
   *   routed all the same, flagged in the audit record;
   * - duplicate: a callback with this id completed this delivery already: nothing is written;
   * - invalid: no correlation id, or a status in neither list: only an audit record.
   */
  async accept(input: CallbackInput): Promise<CallbackResult> {
    const connector = this.connector(input.connector);
    if (connector === null) throw new GatewayError('UNKNOWN_CONNECTOR', `no async connector named "${input.connector}"`);
    const settings = connector.callback;
    const fields = readFields(input, settings);
    const now = this.#deps.clock.now();
    const message = messageClaim(connector.name, input.webhookId ?? null);
    const repeated = (): CallbackResult =>
      this.#report({ eventId: null, outcome: 'duplicate', deliveryId: null, completedAs: null, message: 'this message (its webhook-id) was received before: nothing changes' }, connector.name, null);
    const verdict = fields.status === null ? null : callbackVerdict(fields.status, settings);
    if (fields.correlationId === null || verdict === null) {
      const reason =
        fields.correlationId === null
          ? `the callback has no correlation id${input.format === 'json' ? ` at ${settings.correlationPath}` : ''}`
          : fields.status === null
            ? `the callback has no status${input.format === 'json' ? ` at ${settings.statusPath}` : ''}`
            : `status "${fields.status.slice(0, 60)}" is in neither delivered (${settings.delivered.join(', ')}) nor failed (${settings.failed.join(', ')})`;
      const audited = await this.#storing(() =>
        this.#deps.store.callbacks.recordInvalid({
          nonce: input.nonce ?? null,
          message,
          now,
          audit: {
            id: this.#deps.newId(),
            at: now,
            direction: 'in',
            action: 'callback.received',
            sourceSystem: 'callback',
            connector: connector.name,
            result: 'invalid',
            // Clipped: what a sender chose is kept within bounds (the edge refuses longer ids and statuses).
            detail: { correlationId: clipped(fields.correlationId), status: clipped(fields.status), reason },
            requestId: input.requestId ?? null,
          },
        }),
      );
      if (audited === 'nonce_replayed') throw nonceReplayed();
      if (audited === 'message_seen') return repeated();
      return this.#report({ eventId: null, outcome: 'invalid', deliveryId: null, completedAs: null, message: reason }, connector.name, null);
    }

    const config = this.#deps.config();
    const snippet = scrubberFor(config.secrets).clipBytes(input.raw.toString('utf8'), SNIPPET_BYTES);
    let outcome: CallbackOutcome = 'unmatched';
    let answered = false;
    const planOf = (match: Delivery | null, idAnswered: boolean): CallbackPlan => {
      answered = idAnswered;
      outcome = outcomeFor(match, idAnswered);
      if (outcome === 'duplicate') return { write: false };
      const completes = outcome === 'completed' || outcome === 'late';
      const eventId = this.#deps.newId();
      const routed: XmlRecord = {
        connector: connector.name,
        correlationId: fields.correlationId,
        status: fields.status,
        message: fields.message,
        outcome,
        completedAs: completes ? verdict : null,
        deliveryId: match?.id ?? null,
        deliveredEventId: match?.eventId ?? null,
        response: jsonAsRecord(input.body),
      };
      const routes = route({ source: 'callback', eventCode: CALLBACK_EVENT_CODE, payload: routed }, config.triggerPoints);
      const orderKey = match?.orderKey ?? null;
      const error = verdict === 'failed' ? `callback ${fields.status ?? ''}${fields.message ? `: ${fields.message}` : ''}` : null;
      return {
        write: true,
        receivedAt: now,
        requestId: input.requestId ?? null,
        event: {
          id: eventId,
          source: 'callback',
          eventCode: CALLBACK_EVENT_CODE,
          orderKey,
          sourceSystem: connector.name,
          connectorScope: null,
          position: 0,
          payload: JSON.stringify(routed),
          raw: input.raw.toString('utf8'),
          contentHash: createHash('sha256').update(input.raw).digest('hex'),
          dedupeScope: `callback:${connector.name}`,
          dedupeSince: now,
          deliveries: routes.map((r) => ({ id: this.#deps.newId(), connector: r.connector, triggerPoint: r.triggerPoint, orderKey, idempotencyKey: null })),
        },
        audit: {
          id: this.#deps.newId(),
          at: now,
          direction: 'in',
          action: 'callback.received',
          sourceSystem: 'callback',
          connector: connector.name,
          eventId,
          deliveryId: match?.id ?? null,
          result: outcome,
          detail: {
            correlationId: fields.correlationId,
            status: fields.status,
            completedAs: completes ? verdict : null,
            // A callback nobody awaited: worth a look (the target's ids, or a delivery discarded meanwhile).
            flagged: outcome === 'unmatched',
            deliveryState: match?.state ?? null,
          },
          requestId: input.requestId ?? null,
        },
        completion:
          completes && match !== null
            ? {
                event: verdict === 'delivered' ? 'respond' : 'respond_failed',
                error,
                attempt: {
                  id: this.#deps.newId(),
                  // The attempt it answers.
                  number: Math.max(1, match.attemptCount),
                  startedAt: now,
                  durationMs: 0,
                  requestSummary: { callback: { eventId, format: input.format, contentType: input.contentType, correlationId: fields.correlationId, status: fields.status } },
                  responseStatus: null,
                  responseHeaders: null,
                  responseSnippet: snippet,
                  errorClass: null,
                  errorMessage: error,
                  outcome: verdict === 'delivered' ? 'delivered' : 'parked',
                },
              }
            : null,
      };
    };
    const correlationId = fields.correlationId;
    const recorded = await this.#storing(() =>
      this.#deps.store.callbacks.record({ connector: connector.name, correlationId, now, nonce: input.nonce ?? null, message, plan: planOf }),
    );
    if (recorded.refused !== false) {
      if (recorded.refused === 'message_seen') return repeated();
      throw nonceReplayed();
    }
    const { plan, before, after } = recorded;
    const completedAs = plan.write && plan.completion !== null && after !== null && after.respondedAt !== null ? verdict : null;
    if (plan.write && (plan.event.deliveries.length > 0 || completedAs !== null)) this.#deps.notify();
    const acceptedAt = before?.state === 'awaiting_response' && before.responseDueAt !== null ? before.responseDueAt - (this.#responseTimeout(connector.name) ?? 0) : null;
    return this.#report(
      {
        eventId: plan.write ? plan.event.id : null,
        outcome,
        deliveryId: before?.id ?? null,
        completedAs,
        message: outcome === 'unmatched' ? unmatchedMessage(connector.name, correlationId, before, answered) : null,
      },
      connector.name,
      completedAs !== null && acceptedAt !== null ? Math.max(0, now - acceptedAt) / 1000 : null,
    );
  }

  #responseTimeout(name: string): number | null {
    return this.#deps.config().connectors.find((c) => c.name === name)?.async?.responseTimeout ?? null;
  }

  async #storing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      throw new GatewayError('STORE_UNAVAILABLE', 'the callback could not be stored; send it again later', { cause: err });
    }
  }

  #report(result: CallbackResult, connector: string, responseSeconds: number | null): CallbackResult {
    for (const observer of this.#observers) {
      try {
        observer({ ...result, connector, responseSeconds });
      } catch {
        // An observer (metrics) must not fail a callback that is committed.
      }
    }
    return result;
  }
}

/**
 * A signed callback's message id as a claim in the nonce table: keyed by a digest of the connector and
 * the id (apart from UsernameToken nonces, which are digests of a user and a nonce's bytes).
 */
function messageClaim(connector: string, webhookId: { id: string; rememberUntil: number } | null): { key: string; expiresAt: number } | null {
  if (webhookId === null) return null;
  return { key: createHash('sha256').update(`callback-message\u0000${connector}\u0000${webhookId.id}`, 'utf8').digest('hex'), expiresAt: webhookId.rememberUntil };
}

/** A value a sender chose, clipped for the audit trail. */
function clipped(value: string | null): string | null {
  return value === null ? null : clip(value);
}

/** A UsernameToken whose nonce was used before: a replay, refused as AcceptEvents refuses a push's. */
function nonceReplayed(): GatewayError {
  return new GatewayError('AUTH_FAILED', 'authentication failed: the nonce was used before');
}

/** What a callback says: JSON by the connector's paths, SOAP by the fields the edge read. */
function readFields(input: CallbackInput, settings: CallbackConnector['callback']): CallbackFields {
  if (input.format === 'soap') {
    const body = (typeof input.body === 'object' && input.body !== null ? input.body : {}) as Record<string, unknown>;
    const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
    return { correlationId: text(body.correlationId), status: text(body.status), message: text(body.message) };
  }
  return {
    correlationId: textAtPath(input.body, settings.correlationPath),
    status: textAtPath(input.body, settings.statusPath),
    message: settings.messagePath === undefined ? null : textAtPath(input.body, settings.messagePath),
  };
}

/**
 * Where a callback stands with the delivery its correlation id names (the latest id it was sent
 * with or an earlier one: either completes it). Once a callback has completed the delivery, the same
 * callback again (its id answered) is a duplicate; one with another of its ids answers a request the
 * delivery no longer needs, a finished one (unmatched).
 */
function outcomeFor(match: Delivery | null, answered: boolean): CallbackOutcome {
  if (match === null) return 'unmatched';
  if (match.respondedAt !== null) return answered ? 'duplicate' : 'unmatched';
  if (!appliesFrom('respond').includes(match.state)) return 'unmatched';
  return match.state === 'awaiting_response' || match.state === 'in_flight' ? 'completed' : 'late';
}

/** Why a callback completed nothing, in words. */
function unmatchedMessage(connector: string, correlationId: string, match: Delivery | null, answered: boolean): string {
  if (match === null) return `no delivery of ${connector} has correlation id ${correlationId.slice(0, 80)}`;
  if (match.respondedAt !== null && !answered) return `a callback with another correlation id completed the delivery (${match.state}): nothing awaits this response`;
  return `the delivery is ${match.state}: nothing awaits this response`;
}
