import type { GatewayConfig } from '../config/load.ts';
import { noTokenStore, type TokenStore } from '../connectors/auth/index.ts';
import type { Clock } from '../domain/clock.ts';
import { PurchaseOrderPoller } from '../inbound/poller/purchase-orders.ts';
import { operationsReplayer, RecoveryService } from '../jobs/recovery.ts';
import { RetentionJob } from '../jobs/retention.ts';
import type { Logger } from '../log.ts';
import { Store } from '../store/index.ts';
import type { BillingEvent, BillingFilter } from '../store/webhooks.ts';
import type { ConnectorState } from '../domain/connector-state.ts';
import type { StatusReport } from '../store/status.ts';
import { AcceptEvents } from './accept-events.ts';
import { CallbackService } from './callbacks.ts';
import { ConnectorOperations } from './connectors.ts';
import { DeliveryActions } from './delivery-actions.ts';
import { DeliveryViews } from './delivery-views.ts';
import { DeliveryPreviews } from './preview.ts';
import { ConnectorRuntimes } from './runtimes.ts';
import { instanceViews } from './instances.ts';
import { JourneyService } from './journey.ts';
import type { InstanceView } from '../domain/instance.ts';

/**
 * The service layer: the use cases the HTTP edge (src/app.ts: inbound paths, admin API, schedules,
 * worker) and the CLI (src/cli/) both call, built in one place from the config, so a command means
 * the same from either side: the same connector runtimes (with their delivery kinds), the same audit
 * records.
 */

export { ConnectorRuntimes } from './runtimes.ts';
export { AcceptEvents } from './accept-events.ts';

export interface StoreOptions {
  /** Connections in the pool (default: gateway.yaml's database.poolMax). */
  poolMax?: number;
  /** PostgreSQL schema (default: gateway.yaml's database.schema; tests give each suite its own). */
  schema?: string | undefined;
  /** Create a SQLite file that does not exist yet (default true: start and migrate; other commands refuse). */
  createIfMissing?: boolean;
}

/**
 * The store of gateway.yaml's database block (not migrated: the caller migrates when it needs to).
 * A relative SQLite path is relative to the config folder, not the working directory, so that
 * `--config other/config` from any working directory reads that folder's database.
 */
export function openStore(config: GatewayConfig, options: StoreOptions = {}): Store {
  const db = config.gateway.database;
  const schema = options.schema ?? db.schema;
  return new Store({
    url: db.url,
    poolMax: options.poolMax ?? db.poolMax,
    baseDir: config.dir,
    ...(schema ? { schema } : {}),
    ...(options.createIfMissing !== undefined ? { createIfMissing: options.createIfMissing } : {}),
  });
}

export interface ServicesDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  /** Who holds the leases of schedule runs (recovery, retention, poller) and token refreshes started here. */
  instanceId: string;
  /**
   * Wakes the delivery worker (new, replayed or released deliveries are due). A CLI process has no
   * worker: a running gateway's worker picks the work up at its next poll.
   */
  notify?: () => void;
}

/** `omgw status`: counts of events and deliveries, the connectors' stored states, blocked order keys. */
export interface GatewayStatus extends StatusReport {
  connectors: ConnectorState[];
  blockedKeys: Array<{ connector: string; orderKey: string; blockedBy: string; blockerState: string; waiting: number }>;
}

export interface Services {
  /** Accepting the events of the inbound paths (SOAP pushes, ShipBob webhooks, the poller): route, store, wake the worker. */
  accept: AcceptEvents;
  /** Operator actions on deliveries: replay, discard, hold, release. */
  deliveries: DeliveryActions;
  /** Read views: deliveries, events, attempts, audit records. */
  views: DeliveryViews;
  /** An order's journey, found by any of its keys. */
  journey: JourneyService;
  /** Connector overview, maintenance on/off (with its audit record), live connector test. */
  connectors: ConnectorOperations;
  /** The connectors' runtimes for the config in force (worker, poller). */
  runtimes: ConnectorRuntimes;
  /** What a delivery of an event to a connector would send now, sending and writing nothing. */
  previews: DeliveryPreviews;
  /** The recovery run (the schedule's and by hand). */
  recovery: RecoveryService;
  retention: RetentionJob;
  /** The purchase-order poller (the schedule's and by hand). */
  poller: PurchaseOrderPoller;
  /** Counts of events and deliveries, the connectors' stored states, blocked order keys. */
  status: () => Promise<GatewayStatus>;
  /** ShipBob billing webhooks, oldest first after `afterId`. */
  billing: (filter: BillingFilter) => Promise<BillingEvent[]>;
  /** The gateway instances sharing the database, each with its state and the deliveries it holds. */
  instances: () => Promise<InstanceView[]>;
  /** Async connectors' callbacks (POST /callbacks/{connector}): store, route, audit, complete the delivery. */
  callbacks: CallbackService;
  /** Closes the connector runtimes (the store is the caller's). */
  close(): Promise<void>;
}

/** Builds every service from the config (read through `config`, so a reload applies). */
export function createServices(config: () => GatewayConfig, deps: ServicesDeps): Services {
  const { store, clock, logger, newId, instanceId } = deps;
  const notify = deps.notify ?? ((): void => undefined);
  const tokenStore = tokenStoreOf(config(), store, logger, instanceId);
  const runtimes = new ConnectorRuntimes({ config, store, clock, tokenStore, logger });
  const deliveries = new DeliveryActions({ store, clock, newId, notify });
  const accept = new AcceptEvents({ store, config, newId, notify });
  return {
    accept,
    deliveries,
    views: new DeliveryViews({ store }),
    journey: new JourneyService({ store, config }),
    connectors: new ConnectorOperations({ store, config, clock, newId, tokenStore, notify }),
    runtimes,
    previews: new DeliveryPreviews({ store, config, clock, runtimes }),
    recovery: new RecoveryService({ store, clock, logger, newId, instanceId, config, replayer: operationsReplayer(deliveries) }),
    retention: new RetentionJob({ store, clock, logger, newId, instanceId, config }),
    poller: new PurchaseOrderPoller({ store, clock, logger, newId, instanceId, config, connector: (name) => runtimes.parts(name), accept }),
    status: async () => {
      const [report, connectors, blockedKeys] = await Promise.all([store.status(), store.connectorStates.all(), store.deliveries.blockedKeys()]);
      return { ...report, connectors, blockedKeys };
    },
    billing: (filter) => store.shipbobWebhooks.listBilling(filter),
    instances: instanceViews({ store, clock, config }),
    callbacks: new CallbackService({ store, config, clock, newId, notify }),
    close: () => runtimes.close(),
  };
}

/** Refresh tokens in the database when database.encryptionKey is set (a setting read at start). */
function tokenStoreOf(config: GatewayConfig, store: Store, logger: Logger, instanceId: string): TokenStore {
  const key = config.gateway.database.encryptionKey;
  if (!key) return noTokenStore;
  return store.oauthTokens(key.reveal(), {
    holder: instanceId,
    onUnreadable: (connector) => logger.warn({ connector }, 'stored refresh token cannot be decrypted (key changed?); using the configured one'),
  });
}
