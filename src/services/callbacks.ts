import type { GatewayConfig } from '../config/load.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { Clock } from '../domain/clock.ts';
import { GatewayError } from '../domain/errors.ts';
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
}

/**
 * - completed: matched a delivery awaiting its response, and completed it;
 * - late: matched a delivery parked no_response (or retrying after a timeout), and completed it;
 * - unmatched: an unknown or finished correlation id (stored, flagged in audit and metric);
 * - duplicate: the same correlation id was completed by a callback already (nothing changes);
 * - invalid: no correlation id, or a status value in neither list (stored, audited; the edge answers 422).
 */
export const CALLBACK_OUTCOMES = ['completed', 'late', 'unmatched', 'duplicate', 'invalid'] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];

export interface CallbackResult {
  /** The stored callback event (null only for 'duplicate': nothing new is stored). */
  eventId: string | null;
  outcome: CallbackOutcome;
  deliveryId: string | null;
  completedAs: 'delivered' | 'failed' | null;
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

export class CallbackService {
  readonly #deps: CallbackServiceDeps;

  constructor(deps: CallbackServiceDeps) {
    this.#deps = deps;
  }

  /** The callback settings of an async connector; null when there is no such connector or it is not async. */
  connector(name: string): CallbackConnector | null {
    const c = this.#deps.config().connectors.find((x) => x.name === name);
    if (!c || c.mode !== 'async' || !c.async) return null;
    return { name: c.name, protocol: c.protocol, callback: c.async.callback };
  }

  /**
   * Stores, routes and audits one callback and completes the delivery it answers, in one
   * transaction; resolves after the commit. Throws STORE_UNAVAILABLE when the store fails (nothing
   * was acknowledged: the caller sends it again), UNKNOWN_CONNECTOR when the connector is not async.
   */
  accept(input: CallbackInput): Promise<CallbackResult> {
    if (this.connector(input.connector) === null) {
      return Promise.reject(new GatewayError('UNKNOWN_CONNECTOR', `no async connector named "${input.connector}"`));
    }
    return Promise.reject(new GatewayError('INTERNAL', 'callbacks are not accepted yet'));
  }
}
