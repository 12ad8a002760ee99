import type { GatewayConfig } from '../config/load.ts';
import type { TokenStore } from '../connectors/auth/index.ts';
import { shipBobDelivery } from '../connectors/shipbob/delivery.ts';
import { createTransformRegistry } from '../connectors/transforms/index.ts';
import type { ConnectorParts } from '../connectors/types.ts';
import { createRateGate } from '../delivery/rate-gate.ts';
import { createConnectorRuntimes, type ConnectorRuntime, type HeldRuntimes } from '../delivery/runtime.ts';
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

/** One build of the runtimes (at first use, then one per reload), and who still holds it. */
interface Build {
  runtimes: Map<string, ConnectorRuntime>;
  holders: number;
  /** Replaced by a later build: its pools close once no one holds it. */
  retired: boolean;
  closed: boolean;
}

/**
 * The connectors' runtimes (auth, transforms, delivery kinds, the shared rate gate, connection pools)
 * for the config in force: one set for the delivery worker, the purchase-order poller and the CLI
 * alike. Built at first use; rebuilt after a config reload.
 */
export class ConnectorRuntimes {
  readonly #deps: ConnectorRuntimesDeps;
  #current: Build | null = null;
  /** Replaced builds still held. */
  readonly #retired = new Set<Build>();
  /** Pools being closed, which close() waits for. */
  readonly #closing = new Set<Promise<void>>();
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

  /**
   * Every configured connector's runtime, by name, for a look at their config or a request made at
   * once. What sends later, or for a while (a delivery, a ShipBob delivery's several requests), holds
   * them instead (hold): a reload closes the pools of runtimes it replaces.
   */
  get all(): Map<string, ConnectorRuntime> {
    return this.#build().runtimes;
  }

  /**
   * The runtimes in force now, held until released: a reload meanwhile closes their pools only once
   * every hold on them is released, so what was under way finishes on them.
   */
  hold(): HeldRuntimes {
    const build = this.#build();
    build.holders++;
    let released = false;
    return {
      runtimes: build.runtimes,
      release: () => {
        if (released) return;
        released = true;
        build.holders--;
        if (build.retired && build.holders === 0) this.#closeBuild(build);
      },
    };
  }

  /** One connector's parts (the poller reads Fusion through them), or undefined when none has that name. */
  parts(name: string): ConnectorParts | undefined {
    return this.all.get(name)?.parts;
  }

  /**
   * Builds the runtimes again from the config now in force (after a reload). What holds the old ones
   * (deliveries in flight) keeps them; their pools close once it lets go.
   */
  rebuild(): void {
    const previous = this.#current;
    this.#current = this.#newBuild();
    if (previous === null) return;
    previous.retired = true;
    if (previous.holders === 0) this.#closeBuild(previous);
    else this.#retired.add(previous);
  }

  /** The operations of a connector's WSDL (`omgw connector describe`). */
  async wsdl(connector: ConnectorConfig): Promise<WsdlDocument> {
    return this.#wsdl.document(connector);
  }

  /** Closes every runtime's pools (those of replaced builds still held, too: closing ends their use). */
  async close(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    if (current !== null) this.#closeBuild(current);
    for (const build of this.#retired) this.#closeBuild(build);
    await Promise.all([...this.#closing]);
  }

  #closeBuild(build: Build): void {
    this.#retired.delete(build);
    if (build.closed) return;
    build.closed = true;
    const closing = Promise.all([...build.runtimes.values()].map((r) => r.close().catch(() => undefined))).then(() => undefined);
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  /** The build in force, built now if there is none yet. */
  #build(): Build {
    this.#current ??= this.#newBuild();
    return this.#current;
  }

  #newBuild(): Build {
    return { runtimes: this.#create(), holders: 0, retired: false, closed: false };
  }

  #create(): Map<string, ConnectorRuntime> {
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
