import type { GatewayConfig } from '../config/load.ts';
import { configVersion } from '../config/version.ts';
import type { Clock } from '../domain/clock.ts';
import type { Instance } from '../domain/instance.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';

/** Who this instance is, as it registers (src/domain/instance.ts). */
export interface InstanceIdentity {
  /** The id its delivery worker and scheduled runs hold their leases under. */
  id: string;
  host: string;
  pid: number;
  version: string;
}

export interface HeartbeatDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  identity: InstanceIdentity;
  /** The config in force now: its version is written with each beat, and `cluster` sets the pace. */
  config: () => GatewayConfig;
}

/**
 * This instance's entry in the store's list of instances: registered at start, a heartbeat every
 * `cluster.heartbeat` on the injected clock (with the config version in force), stopped at a clean
 * stop. A beat that fails (the database is away) is logged once, and again when beats work again;
 * other instances then see this one go stale, which is what it is to them.
 */
export class InstanceHeartbeat {
  readonly #deps: HeartbeatDeps;
  #startedAt = 0;
  #stop: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #failing = false;

  constructor(deps: HeartbeatDeps) {
    this.#deps = deps;
  }

  /** Registers this instance (forgetting those gone for longer than `cluster.forgetAfter`) and starts beating. */
  async start(): Promise<void> {
    if (this.#loop) return;
    const now = this.#deps.clock.now();
    this.#startedAt = now;
    await this.#deps.store.instances.register(this.#record(now), now - this.#deps.config().gateway.cluster.forgetAfter);
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = this.#run(stop.signal);
  }

  /** After a reload: the new config version goes to the store now rather than at the next beat. */
  async configChanged(): Promise<void> {
    if (this.#loop) await this.#beat();
  }

  /** Stops beating and marks this instance stopped. */
  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#stop?.abort();
    await this.#loop;
    this.#loop = null;
    try {
      await this.#deps.store.instances.markStopped(this.#deps.identity.id, this.#deps.clock.now());
    } catch (err) {
      this.#deps.logger.warn({ err }, 'instance could not be marked stopped; other instances will see it go stale');
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#deps.clock.sleep(this.#deps.config().gateway.cluster.heartbeat, signal);
      if (signal.aborted) return;
      await this.#beat();
    }
  }

  async #beat(): Promise<void> {
    try {
      await this.#deps.store.instances.beat(this.#record(this.#deps.clock.now()));
      if (this.#failing) this.#deps.logger.info('instance heartbeat written again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#deps.logger.warn({ err }, 'instance heartbeat could not be written; other instances will see this one go stale until it is');
      this.#failing = true;
    }
  }

  #record(now: number): Instance {
    const { id, host, pid, version } = this.#deps.identity;
    return { id, host, pid, version, configVersion: configVersion(this.#deps.config()), startedAt: this.#startedAt, heartbeatAt: now, stoppedAt: null };
  }
}
