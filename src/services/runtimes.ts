import type { GatewayConfig } from '../config/load.ts';
import type { TokenStore } from '../connectors/auth/index.ts';
import { shipBobDelivery } from '../connectors/shipbob/delivery.ts';
import { createTransformRegistry } from '../connectors/transforms/index.ts';
import type { ConnectorParts } from '../connectors/types.ts';
import { createRateGate } from '../delivery/rate-gate.ts';
import { createConnectorRuntimes, type ConnectorRuntime } from '../delivery/runtime.ts';
import type { Clock } from '../domain/clock.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import { WsdlCatalog } from '../connectors/soap-wsdl/catalog.ts';
import type { WsdlDocument } from '../connectors/soap-wsdl/document.ts';
import type { Logger } from '../log.ts';

export interface ConnectorRuntimesDeps {
  config: () => GatewayConfig;
  store: Store;
  clock: Clock;
  /** Refresh tokens survive restarts and are shared between instances. */
  tokenStore: TokenStore;
  /** Told when a connector's WSDL cannot be read. */
  logger?: Logger;
}

/**
 * The connectors' runtimes (auth, transforms, delivery kinds, the shared rate gate, connection pools)
 * for the config in force: one set for the delivery worker, the purchase-order poller and the CLI
 * alike. Built at first use; rebuilt after a config reload.
 */
export class ConnectorRuntimes {
  readonly #deps: ConnectorRuntimesDeps;
  #current: Map<string, ConnectorRuntime> | null = null;
  readonly #wsdl: WsdlCatalog;

  constructor(deps: ConnectorRuntimesDeps) {
    this.#deps = deps;
    this.#wsdl = new WsdlCatalog({
      onReadFailed: (connector, error, kept) =>
        deps.logger?.warn(
          { connector, error: error.message },
          kept ? 'the connector\'s WSDL could not be read again; the one read before stays in force' : 'the connector\'s WSDL could not be read; its deliveries wait for it',
        ),
    });
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

  /** The operations of a connector's WSDL (`omgw connector describe`). */
  async wsdl(connector: ConnectorConfig): Promise<WsdlDocument> {
    return this.#wsdl.document(connector);
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
    // Built at start and after each reload: the WSDLs are read again then.
    this.#wsdl.refresh(current.connectors);
    return createConnectorRuntimes(current, {
      secrets: () => config().secrets,
      tokenStore,
      now: () => clock.now(),
      transforms: createTransformRegistry({ mappings: current.mappings }),
      kinds: { shipbob: shipBobDelivery },
      shipbobOrders: store.shipbobOrders,
      rateGate: createRateGate(store.connectorStates, clock),
      wsdl: this.#wsdl,
    });
  }
}
