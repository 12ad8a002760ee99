import type { ConnectorConfig } from '../config/schema.ts';
import { breakerOutcome, canSend, initialBreaker, recordResult, sharedBreaker, type BreakerPolicy, type BreakerState } from '../domain/breaker.ts';
import type { ConnectorState } from '../domain/connector-state.ts';
import type { FailureInfo } from '../domain/retry.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';

export interface CircuitDeps {
  store: Store;
  logger: Logger;
  newId: () => string;
}

/** Whether a connector's due deliveries may go now (see ConnectorCircuits.admit). */
export type CircuitGate =
  | { allowed: false; /** When the cool-down ends (open), or null. */ wakeAt: number | null }
  | { allowed: true; /** Half open: only one delivery, the probe, may go. */ probeOnly: boolean; /** Call once something was sent. */ sent: () => void };

/**
 * The worker's side of the circuit breaker (the rules are the domain's, src/domain/breaker.ts): the
 * circuit's state is shared in the store, each instance counts its own results in memory. Moves of
 * the shared circuit are compare-and-set, so of several instances one moves it, holds or releases
 * the connector's deliveries and writes the audit record.
 */
export class ConnectorCircuits {
  readonly #deps: CircuitDeps;
  readonly #local = new Map<string, BreakerState>();

  constructor(deps: CircuitDeps) {
    this.#deps = deps;
  }

  /**
   * Whether anything may go now, and whether only the probe may. Open: due deliveries wait on hold,
   * charged nothing, until the cool-down ends. Half open: the probe is out (here or on another
   * instance); nothing else goes until its result. At the end of the cool-down the instance that
   * moves the shared circuit to half open sends the probe.
   */
  async admit(config: ConnectorConfig, state: ConnectorState | undefined, now: number): Promise<CircuitGate> {
    const { store } = this.#deps;
    const name = config.name;
    const policy = breakerPolicy(config);
    const view = sharedBreaker(policy, { circuit: state?.circuit ?? 'closed', until: state?.circuitUntil ?? null }, this.#breaker(name));
    const gate = canSend(policy, view, now);
    if (!gate.allowed) {
      if (view.state !== 'open') return { allowed: false, wakeAt: null };
      await store.deliveries.hold(name, 'circuit_open', now);
      return { allowed: false, wakeAt: gate.reopensAt };
    }
    const probeOnly = gate.state.state === 'half_open';
    if (view.state === 'open') {
      if (!(await store.connectorStates.transitionCircuit(name, ['open'], 'half_open', null, now))) return { allowed: false, wakeAt: null };
      this.#local.set(name, { ...gate.state, probeInFlight: false });
      const released = await store.deliveries.releaseHold(name, 'circuit_open', now);
      await this.#audit(name, 'half_open', now, { released });
    }
    // The probe is out only once something was sent: canSend's state, probeInFlight set.
    return { allowed: true, probeOnly, sent: () => (probeOnly ? this.#local.set(name, gate.state) : undefined) };
  }

  /** An attempt's result. Only target-side failures count against the circuit (see breakerOutcome). */
  async record(config: ConnectorConfig, failure: FailureInfo | null, now: number): Promise<void> {
    const ok = breakerOutcome(failure);
    if (ok === null) return;
    const name = config.name;
    const policy = breakerPolicy(config);
    const before = this.#breaker(name);
    const after = recordResult(policy, before, ok, now);
    this.#local.set(name, after);
    const store = this.#deps.store;
    if (after.state === 'open' && before.state !== 'open') {
      if (await store.connectorStates.transitionCircuit(name, ['closed', 'half_open'], 'open', now + policy.coolDownMs, now)) {
        const held = await store.deliveries.hold(name, 'circuit_open', now);
        await this.#audit(name, 'open', now, { held, coolDownMs: policy.coolDownMs, after: failure?.message ?? null });
        this.#deps.logger.warn({ connector: name, coolDownMs: policy.coolDownMs }, 'circuit opened');
      }
    } else if (after.state === 'closed' && before.state === 'half_open') {
      if (await store.connectorStates.transitionCircuit(name, ['half_open'], 'closed', null, now)) {
        await this.#audit(name, 'closed', now, {});
      }
      this.#deps.logger.info({ connector: name }, 'circuit closed');
    }
  }

  #breaker(name: string): BreakerState {
    let b = this.#local.get(name);
    if (!b) {
      b = initialBreaker();
      this.#local.set(name, b);
    }
    return b;
  }

  /**
   * A circuit transition in the audit trail, written by the instance whose transition took effect:
   * why a connector's deliveries stopped and when they went again, next to the admin's actions.
   */
  async #audit(connector: string, to: 'open' | 'half_open' | 'closed', now: number, detail: Record<string, unknown>): Promise<void> {
    await this.#deps.store.audit.append({
      id: this.#deps.newId(),
      at: now,
      direction: 'out',
      action: `connector.circuit_${to}`,
      connector,
      result: to,
      detail,
      actor: 'gateway',
    });
  }
}

/** A connector's breaker settings as the pure state machine takes them. */
function breakerPolicy(config: ConnectorConfig): BreakerPolicy {
  const b = config.breaker;
  return {
    failureRatio: b.failureRatio,
    minimumRequests: b.minimumRequests,
    windowMs: b.window,
    consecutiveFailures: b.consecutiveFailures,
    coolDownMs: b.coolDown,
  };
}
