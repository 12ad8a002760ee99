import type { GatewayConfig } from '../config/load.ts';
import type { TokenStore } from '../connectors/auth/index.ts';
import { shipBobDelivery } from '../connectors/shipbob/delivery.ts';
import { createTransformRegistry } from '../connectors/transforms/index.ts';
import type { ConnectorParts } from '../connectors/types.ts';
import { createRateGate } from '../delivery/rate-gate.ts';
import { createConnectorRuntimes, type ConnectorRuntime } from '../delivery/runtime.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../store/index.ts';

export interface ConnectorRuntimesDeps {
  config: () => GatewayConfig;
  store: Store;
  clock: Clock;
  /** Refresh tokens survive restarts and are shared between instances. */
  tokenStore: TokenStore;
}

/**
 * The connectors' runtimes (auth, transforms, delivery kinds, the shared rate gate, connection pools)
 * for the config in force: one set for the delivery worker, the purchase-order poller and the CLI
 * alike. Built at first use; rebuilt after a config reload.
 */
export class ConnectorRuntimes {
  readonly #deps: ConnectorRuntimesDeps;
  #current: Map<string, ConnectorRuntime> | null = null;

  constructor(deps: ConnectorRuntimesDeps) {
    this.#deps = deps;
  }

  /** Every configured connector's runtime, by name. */
  get all(): Map<string, ConnectorRuntime> {
    this.#current ??= this.#build();
    return this.#current;
  }

  /** One connector's parts (the poller reads Fusion through them), or undefined when none has that name. */
  parts(name: string): ConnectorParts | undefined {
    return this.all.get(name)?.parts;
  }

  /**
   * Builds the runtimes again from the config now in force (after a reload). Deliveries in flight keep
   * their own runtime; the old pools close once they are idle.
   */
  rebuild(): void {
    const previous = this.#current;
    this.#current = this.#build();
    for (const runtime of previous?.values() ?? []) void runtime.close().catch(() => undefined);
  }

  /** Closes every runtime's pools. */
  async close(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    await Promise.all([...(current?.values() ?? [])].map((r) => r.close().catch(() => undefined)));
  }

  #build(): Map<string, ConnectorRuntime> {
    const { config, store, clock, tokenStore } = this.#deps;
    const current = config();
    return createConnectorRuntimes(current, {
      secrets: () => config().secrets,
      tokenStore,
      now: () => clock.now(),
      transforms: createTransformRegistry({ mappings: current.mappings }),
      kinds: { shipbob: shipBobDelivery },
      shipbobOrders: store.shipbobOrders,
      rateGate: createRateGate(store.connectorStates, clock),
    });
  }
}
