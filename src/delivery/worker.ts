import { EventEmitter } from 'node:events';
import type { Clock } from '../domain/clock.ts';
import type { Delivery } from '../domain/delivery.ts';
import type { StoredEvent, XmlRecord } from '../domain/event.ts';
import { decideRetry, failureFromError, failureFromSendResult, type FailureInfo, type RetryDecision } from '../domain/retry.ts';
import type { Logger } from '../log.ts';
import type { AttemptInput, Transition } from '../store/deliveries.ts';
import type { Store } from '../store/index.ts';
import { TransformError } from '../connectors/types.ts';
import { AuthError } from '../connectors/auth/errors.ts';
import type { ConnectorRuntime, HeldRuntimes, RuntimeResult } from './runtime.ts';
import { generatesCorrelation, newCorrelationId } from './correlation.ts';
import { expireOverdue } from './response-deadline.ts';
import { ConnectorCircuits } from './circuit.ts';
import { FailureLog } from './failure-log.ts';

/** Longest time between two reclaims of expired leases (and offline-hold releases) by one instance. */
const HOUSEKEEPING_INTERVAL_MS = 1000;

export interface WorkerOptions {
  /** How long to wait for new work when there is none. */
  pollIntervalMs: number;
  /** Deliveries in flight at once across all connectors. */
  maxInFlight: number;
  /** Added to a connector's timeout to make its lease (the lease must outlive the request). */
  leaseMarginMs: number;
}

export interface WorkerDeps {
  store: Store;
  connectors: () => ReadonlyMap<string, ConnectorRuntime>;
  /** The runtimes in force now, held by a delivery from the moment it is sent until it is settled. */
  holdRuntimes: () => HeldRuntimes;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  random: () => number;
  instanceId: string;
  options: WorkerOptions;
}

/** What one attempt ended in; emitted as 'attempt' for observers (metrics, tests). */
export interface AttemptReport {
  deliveryId: string;
  connector: string;
  orderKey: string | null;
  outcome: AttemptInput['outcome'];
  status: number | null;
  errorClass: string | null;
  /** How long the attempt took (as recorded with it). */
  durationMs: number;
}

/**
 * The delivery worker: claims due deliveries per connector (respecting maintenance, the circuit,
 * the rate limit, concurrency and strict ordering), sends them, and records each attempt with the
 * delivery's new state and an audit record in one transaction.
 */
export class DeliveryWorker extends EventEmitter {
  readonly #deps: WorkerDeps;
  /** Claimed and not yet settled (sending, or its attempt being recorded): leases are renewed for these. */
  readonly #inFlight = new Map<string, { connector: string }>();
  /** Requests to a target under way: what a connector's concurrency limits. */
  readonly #sending = new Map<string, { connector: string }>();
  readonly #circuits: ConnectorCircuits;
  /** The admin state each connector had at this instance's last cycle (see cycle). */
  readonly #adminStates = new Map<string, 'online' | 'offline'>();
  /** When the next cycle reclaims expired leases and releases offline holds whatever it has seen. */
  #housekeepingAt = -Infinity;
  readonly #failures: FailureLog;
  #running = false;
  #wake: AbortController = new AbortController();
  #loop: Promise<void> | null = null;
  #leaseTimer: AbortController | null = null;

  constructor(deps: WorkerDeps) {
    super();
    this.#deps = deps;
    this.#failures = new FailureLog(deps.logger);
    this.#circuits = new ConnectorCircuits(deps);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
    this.#leaseTimer = new AbortController();
    void this.#renewLoop(this.#leaseTimer.signal);
  }

  /** Stops claiming; waits for deliveries in flight to finish. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake.abort();
    this.#leaseTimer?.abort();
    await this.#loop;
    while (this.#inFlight.size > 0) await new Promise((r) => this.once('settled', r));
  }

  /**
   * New work may be due now (a push was stored, a connector came online), for `connector` or, without
   * one, for any. A connector this instance does not run is no reason to look.
   */
  notify(connector?: string): void {
    if (connector !== undefined && !this.#deps.connectors().has(connector)) return;
    // abort() builds a DOMException (with a stack) on every call, even when already aborted; this
    // is called for every push stored and every delivery settled.
    if (!this.#wake.signal.aborted) this.#wake.abort();
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #run(): Promise<void> {
    // The earliest time a cycle asked to look again (deliveries given back until the next rate token,
    // an open circuit's end). Kept across cycles: a later cycle that finds nothing due, say one woken
    // early by a settled delivery, must not forget it and sleep the whole poll interval.
    let pendingWakeAt: number | null = null;
    while (this.#running) {
      let claimed = 0;
      let wakeAt: number | null = null;
      const cycleAt = this.#deps.clock.now();
      try {
        const result = await this.cycle();
        claimed = result.claimed;
        wakeAt = result.wakeAt;
        this.#failures.succeeded(this.#deps.clock.now());
      } catch (err) {
        this.#failures.failed(err, this.#deps.clock.now());
      }
      // A cycle that started at or after the pending wake time has looked at what was due by then.
      if (pendingWakeAt !== null && pendingWakeAt <= cycleAt) pendingWakeAt = null;
      if (wakeAt !== null) pendingWakeAt = Math.min(pendingWakeAt ?? Infinity, wakeAt);
      wakeAt = pendingWakeAt;
      this.emit('cycle', { claimed });
      if (!this.#running) break;
      if (claimed > 0 && this.#inFlight.size < this.#deps.options.maxInFlight) continue;
      const now = this.#deps.clock.now();
      const wait = wakeAt !== null ? Math.max(0, Math.min(this.#deps.options.pollIntervalMs, wakeAt - now)) : this.#deps.options.pollIntervalMs;
      // A notify() during the cycle means new work may be due: go round again at once.
      if (this.#wake.signal.aborted) {
        this.#wake = new AbortController();
        continue;
      }
      await this.#deps.clock.sleep(wait, this.#wake.signal);
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
    }
  }

  /** One pass over every connector. Returns how many deliveries were claimed. */
  async cycle(): Promise<{ claimed: number; wakeAt: number | null }> {
    const { store, clock } = this.#deps;
    const now = clock.now();
    // Two statements that almost always change nothing, each taking SQLite's write lock: at most once
    // per housekeeping interval instead of every cycle (a cycle runs for every batch of deliveries).
    // A lease outlives the send by leaseMarginMs, so reclaiming within that interval is on time.
    const housekeeping = now >= this.#housekeepingAt;
    if (housekeeping) {
      await store.deliveries.reclaimExpired(now, { owner: this.#deps.instanceId, ids: [...this.#inFlight.keys()] });
      // Responses past their deadline (async connectors): retried or parked, one instance each.
      const expired = await expireOverdue(this.#deps, this.#deps.connectors());
      if (expired.some((d) => d.state === 'retrying' && d.nextAttemptAt <= now)) this.notify();
      this.#housekeepingAt = now + Math.min(HOUSEKEEPING_INTERVAL_MS, this.#deps.options.leaseMarginMs);
    }
    const states = new Map((await store.connectorStates.all()).map((s) => [s.connector, s]));
    let claimed = 0;
    let wakeAt: number | null = null;
    for (const runtime of this.#deps.connectors().values()) {
      const name = runtime.config.name;
      const state = states.get(name);
      if (state?.adminState === 'offline') {
        await store.deliveries.hold(name, 'offline', now);
        this.#adminStates.set(name, 'offline');
        continue;
      }
      // Offline holds are released when this instance sees the connector come back online, and at
      // housekeeping for holds another instance made while this one never saw the connector offline.
      if (housekeeping || this.#adminStates.get(name) !== 'online') {
        await store.deliveries.releaseHold(name, 'offline', now);
        this.#adminStates.set(name, 'online');
      }

      // The circuit: whether anything may go, and whether only the probe may.
      const gate = await this.#circuits.admit(runtime.config, state, now);
      if (!gate.allowed) {
        if (gate.wakeAt !== null) wakeAt = Math.min(wakeAt ?? Infinity, gate.wakeAt);
        continue;
      }

      const busy = [...this.#sending.values()].filter((f) => f.connector === name).length;
      const free = this.#deps.options.maxInFlight - this.#inFlight.size;
      let limit = Math.min(runtime.config.concurrency - busy, free);
      if (gate.probeOnly) limit = Math.min(limit, 1);
      if (limit <= 0) continue;

      const leaseUntil = now + runtime.config.timeout + this.#deps.options.leaseMarginMs;
      const { deliveries, events } = await store.deliveries.claimWithEvents({
        connector: name,
        strictOrdering: runtime.config.ordering === 'strict',
        limit,
        owner: this.#deps.instanceId,
        now,
        leaseUntil,
      });
      if (deliveries.length === 0) continue;

      let granted = deliveries.length;
      let resumeAt = now;
      let placeAt: number | undefined;
      if (runtime.config.rateLimit) {
        // The clock is read when the window decides, so that each send is recorded at its grant.
        const taken = await store.connectorStates.takeTokens(name, runtime.config.rateLimit, deliveries.length, () => clock.now());
        granted = taken.granted;
        resumeAt = taken.granted > 0 ? now : taken.retryAt;
        placeAt = taken.at;
      }
      const sending = deliveries.slice(0, granted);
      if (sending.length > 0) gate.sent();
      for (const delivery of sending) {
        // Sent with the runtimes in force now, not those this cycle began with: a config reload since
        // applies to it. Held until it is settled, so that a later reload closes their connection
        // pools only after it (a ShipBob delivery, an OAuth2 token fetched first, make requests in turn).
        const held = this.#deps.holdRuntimes();
        const current = held.runtimes.get(name);
        if (current === undefined) {
          // The reload removed the connector: its delivery waits, as the connector's others do.
          held.release();
          await store.deliveries.release(delivery.id, this.#deps.instanceId, now, now);
          continue;
        }
        this.#inFlight.set(delivery.id, { connector: name });
        this.#sending.set(delivery.id, { connector: name });
        // The target is done with a delivery once its answer is in: the next one may go while this
        // attempt is recorded (maxInFlight still counts it until then).
        const sent = (): void => {
          if (this.#sending.delete(delivery.id) && this.#running) this.notify();
        };
        void this.#process(delivery, events.get(delivery.eventId) ?? null, current, placeAt, sent).finally(() => {
          held.release();
          sent();
          this.#inFlight.delete(delivery.id);
          this.emit('settled', delivery.id);
          if (this.#running) this.notify();
        });
      }
      claimed += sending.length;
      // Deliveries over the rate go back unchanged, due when the window has room: no attempt is
      // spent. Only once the granted ones are on their way, so that they leave when granted.
      for (const delivery of deliveries.slice(granted)) {
        await store.deliveries.release(delivery.id, this.#deps.instanceId, resumeAt, now);
      }
      if (granted < deliveries.length) wakeAt = Math.min(wakeAt ?? Infinity, resumeAt);
    }
    return { claimed, wakeAt };
  }

  async #process(claimedDelivery: Delivery, event: StoredEvent | null, runtime: ConnectorRuntime, placeAt: number | undefined, sent: () => void): Promise<void> {
    const { clock } = this.#deps;
    const delivery = await this.#withCorrelationId(claimedDelivery, runtime);
    if (delivery === null) return;
    const startedAt = clock.now();
    const attemptNumber = delivery.attemptsInCycle + 1;
    let result: RuntimeResult | null = null;
    let failure: FailureInfo | null = null;
    try {
      if (!event) throw new TransformError(`event ${delivery.eventId} of this delivery is missing`);
      const payload = JSON.parse(event.payload) as XmlRecord;
      result = await runtime.deliver({
        delivery,
        event: {
          id: event.id,
          source: event.source as 'oracle-om',
          eventCode: event.eventCode,
          orderKey: event.orderKey,
          receivedAt: event.receivedAt,
          payload,
        },
        attempt: attemptNumber,
        placeAt,
      });
      if (!result.ok) failure = failureFromSendResult(result);
    } catch (err) {
      failure = failureOfThrown(err);
    }

    sent();
    const now = clock.now();
    const decision: RetryDecision | null = failure ? decideRetry(runtime.retryPolicy, attemptNumber, failure, now, this.#deps.random) : null;
    const asyncSettings = runtime.config.mode === 'async' ? runtime.config.async : undefined;
    const transition: Transition =
      decision === null
        ? asyncSettings !== undefined && result?.correlationId !== undefined
          ? // Accepted: the target answers later, by callback, by the deadline.
            { state: 'awaiting_response', correlationId: result.correlationId, responseDueAt: now + asyncSettings.responseTimeout }
          : { state: 'delivered' }
        : decision.action === 'retry'
          ? { state: 'retrying', nextAttemptAt: decision.at, error: (failure as FailureInfo).message }
          : { state: 'parked', reason: decision.reason, error: decision.message };
    const outcome: AttemptInput['outcome'] = OUTCOME_OF[transition.state];

    const attemptId = this.#deps.newId();
    try {
      const { applied } = await this.#deps.store.deliveries.complete({
        delivery,
        owner: this.#deps.instanceId,
        now,
        transition,
        attempt: {
          id: attemptId,
          number: delivery.attemptCount + 1,
          startedAt,
          durationMs: result?.durationMs ?? now - startedAt,
          requestSummary: result?.request ?? null,
          responseStatus: result?.status ?? null,
          responseHeaders: result?.headers ?? null,
          responseSnippet: result?.bodySnippet ?? null,
          errorClass: failure?.errorClass ?? null,
          errorMessage: failure?.message ?? null,
          outcome,
        },
        audit: {
          id: this.#deps.newId(),
          at: now,
          direction: 'out',
          action: 'delivery.attempt',
          sourceSystem: event?.sourceSystem ?? event?.source ?? null,
          connector: delivery.connector,
          eventId: delivery.eventId,
          deliveryId: delivery.id,
          result: outcome,
          detail: {
            attempt: delivery.attemptCount + 1,
            status: result?.status ?? null,
            errorClass: failure?.errorClass ?? null,
            error: failure?.message ?? null,
            nextAttemptAt: transition.state === 'retrying' ? transition.nextAttemptAt : null,
            parkedReason: transition.state === 'parked' ? transition.reason : null,
            ...(transition.state === 'awaiting_response' ? { correlationId: transition.correlationId, responseDueAt: transition.responseDueAt } : {}),
          },
        },
      });
      // Also when an async target's callback completed the delivery before this record of its request.
      if (!applied) this.#deps.logger.warn({ deliveryId: delivery.id }, 'lease lost while sending; the attempt is recorded, the state is left to the new owner');
      // After the state is written, so that opening the circuit also holds this delivery.
      await this.#circuits.record(runtime.config, failure, now);
    } catch (err) {
      // The attempt could not be recorded: the lease will expire and the delivery will be sent again.
      this.#deps.logger.error({ err, deliveryId: delivery.id }, 'recording an attempt failed');
      return;
    }
    this.#deps.logger.info(
      { deliveryId: delivery.id, connector: delivery.connector, orderKey: delivery.orderKey, outcome, status: result?.status ?? null, errorClass: failure?.errorClass ?? null },
      'delivery attempt',
    );
    const report: AttemptReport = {
      deliveryId: delivery.id,
      connector: delivery.connector,
      orderKey: delivery.orderKey,
      outcome,
      status: result?.status ?? null,
      errorClass: failure?.errorClass ?? null,
      durationMs: result?.durationMs ?? now - startedAt,
    };
    try {
      this.emit('attempt', report);
    } catch (err) {
      // An observer (metrics, a test) must not break delivery.
      this.#deps.logger.error({ err }, 'an attempt listener failed');
    }
  }

  /**
   * An async connector that makes its correlation ids: the delivery's id, made and kept in the store
   * before its first request goes, so the id a callback carries always names it (a re-send reuses
   * it). Null when the lease was lost meanwhile: nothing is sent.
   */
  async #withCorrelationId(delivery: Delivery, runtime: ConnectorRuntime): Promise<Delivery | null> {
    const correlation = runtime.config.mode === 'async' ? runtime.config.async?.correlation : undefined;
    if (correlation === undefined || !generatesCorrelation(correlation) || delivery.correlationId !== null) return delivery;
    const correlationId = newCorrelationId();
    try {
      if (await this.#deps.store.callbacks.keepCorrelationId(delivery.id, this.#deps.instanceId, correlationId, this.#deps.clock.now())) return { ...delivery, correlationId };
      this.#deps.logger.warn({ deliveryId: delivery.id }, 'lease lost before the request went; not sent');
    } catch (err) {
      // Its lease expires and it is sent again then.
      this.#deps.logger.error({ err, deliveryId: delivery.id }, 'keeping the correlation id failed; not sent');
    }
    return null;
  }

  async #renewLoop(signal: AbortSignal): Promise<void> {
    const { clock, store } = this.#deps;
    while (!signal.aborted) {
      await clock.sleep(this.#deps.options.leaseMarginMs / 2, signal);
      if (signal.aborted || this.#inFlight.size === 0) continue;
      const byConnector = new Map<string, string[]>();
      for (const [id, f] of this.#inFlight) byConnector.set(f.connector, [...(byConnector.get(f.connector) ?? []), id]);
      for (const [connector, ids] of byConnector) {
        const runtime = this.#deps.connectors().get(connector);
        const lease = clock.now() + (runtime?.config.timeout ?? 30_000) + this.#deps.options.leaseMarginMs;
        await store.deliveries.renewLeases(ids, this.#deps.instanceId, lease).catch((err: unknown) => {
          this.#deps.logger.warn({ err, connector }, 'lease renewal failed');
        });
      }
    }
  }
}

/**
 * The failure of an attempt that threw: its class from the error (`errorClass` of the http client's
 * and the auth providers' errors; anything else counts as a network failure), and for an auth
 * provider's error the token endpoint's status and whether it may pass on its own, which the retry
 * rules judge.
 */
function failureOfThrown(err: unknown): FailureInfo {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TransformError) return failureFromError('transform', message);
  if (err instanceof AuthError) return failureFromError('auth', message, { status: err.status, transient: err.retryable });
  const cls = (err as { errorClass?: unknown } | null)?.errorClass;
  return failureFromError(cls === 'network' || cls === 'timeout' || cls === 'auth' || cls === 'config' ? cls : 'network', message);
}

/** The outcome an attempt is recorded with, by the state it leads to. */
const OUTCOME_OF: Record<Transition['state'], AttemptInput['outcome']> = { delivered: 'delivered', retrying: 'retry', parked: 'parked', awaiting_response: 'accepted' };
