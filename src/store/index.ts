import type { Backend, DueListener } from './backend.ts';
import { openBackend, type DatabaseOptions } from './database.ts';
import { migrateLatest, type MigrateResult } from './migrations/index.ts';
import { IngestWriter } from './ingest.ts';
import { AuditRepository } from './audit.ts';
import { readStatus, type StatusReport } from './status.ts';
import { DeliveryRepository } from './deliveries.ts';
import { ConnectorStateRepository } from './connectors.ts';
import { DeliveryActionsRepository } from './delivery-actions.ts';
import { BrowseRepository } from './browse.ts';
import { RecoveryRunRepository } from './recovery.ts';
import { RetentionRepository } from './retention.ts';
import { ShipBobWebhookRepository } from './webhooks.ts';
import { PollerRepository } from './pollers.ts';
import { ShipBobOrderRepository } from './shipbob-orders.ts';
import { InstanceRepository } from './instances.ts';
import { JourneyRepository } from './journey.ts';
import { OAuthTokenRepository, type OAuthTokenOptions } from './tokens.ts';
import { CallbackRepository } from './callbacks.ts';

export type { DatabaseOptions } from './database.ts';
export type { DueListener } from './backend.ts';
export type { IngestItem, IngestEvent, IngestOutcome } from './rows/ingest.ts';
export type { StatusReport } from './status.ts';
export type { DeliveryFilter } from './delivery-actions.ts';

/**
 * The gateway's one narrow port to its database. Every SQL statement lives behind it, in src/store/.
 */
export class Store {
  readonly #backend: Backend;
  readonly ingest: IngestWriter;
  readonly audit: AuditRepository;
  readonly deliveries: DeliveryRepository;
  readonly connectorStates: ConnectorStateRepository;
  /** Operator actions on deliveries (replay, discard, hold, release). */
  readonly deliveryActions: DeliveryActionsRepository;
  /** Read-only listing for the admin API and the CLI. */
  readonly browse: BrowseRepository;
  /** Recovery runs (src/jobs/recovery.ts), retention (src/jobs/retention.ts). */
  readonly recoveryRuns: RecoveryRunRepository;
  readonly retention: RetentionRepository;
  /** ShipBob webhook events: billing reconciliation, lookup by webhook-id. */
  readonly shipbobWebhooks: ShipBobWebhookRepository;
  /** The purchase-order poller's cursor and runs. */
  readonly pollers: PollerRepository;
  /** What was sent for each ShipBob order the gateway made: how a later change is told apart. */
  readonly shipbobOrders: ShipBobOrderRepository;
  /** The gateway instances sharing this database: registration, heartbeats, what each holds. */
  readonly instances: InstanceRepository;
  /** An order's journey: its events, deliveries, attempts, ShipBob orders and operator actions, by index. */
  readonly journey: JourneyRepository;
  /** Async connectors: correlation ids, expired responses, callbacks stored with the completion they make. */
  readonly callbacks: CallbackRepository;
  readonly #schema: string | undefined;

  constructor(options: DatabaseOptions) {
    const backend = openBackend(options);
    this.#backend = backend;
    this.#schema = options.schema;
    this.ingest = new IngestWriter(backend);
    this.audit = new AuditRepository(backend.knex);
    this.recoveryRuns = new RecoveryRunRepository(backend.knex);
    this.retention = new RetentionRepository(backend);
    this.shipbobWebhooks = new ShipBobWebhookRepository(backend.knex);
    this.pollers = new PollerRepository(backend.knex);
    this.shipbobOrders = new ShipBobOrderRepository(backend.knex);
    this.instances = new InstanceRepository(backend.knex);
    this.journey = new JourneyRepository(backend.knex);
    this.deliveries = new DeliveryRepository(backend);
    this.connectorStates = new ConnectorStateRepository(backend);
    this.deliveryActions = new DeliveryActionsRepository(backend);
    this.browse = new BrowseRepository(backend.knex);
    this.callbacks = new CallbackRepository(backend);
  }

  /** Which database this is, safe to print (no password). */
  get describe(): string {
    return this.#backend.describe;
  }

  /** OAuth2 refresh tokens, encrypted at rest with `key` (database.encryptionKey; src/store/tokens.ts). */
  oauthTokens(key: string, options: OAuthTokenOptions = {}): OAuthTokenRepository {
    return new OAuthTokenRepository(this.#backend.knex, key, options);
  }

  /**
   * Brings the schema up to date; safe when several instances start at once (migrations/index.ts).
   * Throws GatewayError SCHEMA_TOO_NEW when a newer gateway has migrated the database.
   */
  migrate(): Promise<MigrateResult> {
    const backend = this.#backend;
    return migrateLatest(backend.knex, { dialect: backend.dialect, schema: this.#schema, describe: backend.describe });
  }

  /**
   * Calls `listener` when another instance (or a CLI command) makes deliveries due: on PostgreSQL
   * from a connection of its own, opened by the first subscriber; on SQLite never (the worker polls).
   * Returns the unsubscribe.
   */
  onDeliveriesDue(listener: DueListener): () => void {
    return this.#backend.onDeliveriesDue(listener);
  }

  /** Readiness: the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.#backend.knex.raw('select 1');
  }

  status(): Promise<StatusReport> {
    return readStatus(this.#backend.knex);
  }

  async close(): Promise<void> {
    // Folded refusals of the minute still open get their counts before the pool goes.
    await this.audit.flushRefusals();
    await this.#backend.close();
  }
}
