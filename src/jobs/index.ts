import type { GatewayConfig } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { ConnectorParts } from '../connectors/types.ts';
import type { DeliveryActions } from '../services/delivery-actions.ts';
import { PurchaseOrderPoller } from '../inbound/poller/purchase-orders.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import { operationsReplayer, RecoveryService } from './recovery.ts';
import { RetentionJob } from './retention.ts';
import { Scheduler } from './scheduler.ts';

export { nextRun, Scheduler, type ScheduledJob } from './scheduler.ts';
export { RecoveryService, type RecoveryOutcome, type RecoveryRunSummary, type RecoverNowOptions } from './recovery.ts';
export { RetentionJob, type RetentionOutcome, type RetentionRemoved } from './retention.ts';
export { PurchaseOrderPoller, type PollOutcome, type PollReport } from '../inbound/poller/purchase-orders.ts';

export interface JobsDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  instanceId: string;
  config: () => GatewayConfig;
  operations: DeliveryActions;
  /** The running connectors' parts, by name (the poller reads Fusion through one). */
  connector: (name: string) => ConnectorParts | undefined;
  /** New deliveries were stored (wakes the delivery worker). */
  onStored: () => void;
}

/** The scheduled jobs of gateway.yaml's `schedules` block, and the scheduler that fires them. */
export interface Jobs {
  scheduler: Scheduler;
  recovery: RecoveryService;
  retention: RetentionJob;
  poller: PurchaseOrderPoller;
  /** Applies the current config's cron expressions, time zones and enabled flags (after a reload). */
  reconfigure(): void;
}

export function createJobs(deps: JobsDeps): Jobs {
  const { store, clock, logger, newId, instanceId, config } = deps;
  const recovery = new RecoveryService({ store, clock, logger, newId, instanceId, config, replayer: operationsReplayer(deps.operations) });
  const retention = new RetentionJob({ store, clock, logger, newId, instanceId, config });
  const poller = new PurchaseOrderPoller({ store, clock, logger, newId, instanceId, config, connector: deps.connector, onStored: deps.onStored });
  const scheduler = new Scheduler({ logger });
  const reconfigure = (): void => {
    const s = config().gateway.schedules;
    scheduler.set({ name: 'recovery', cron: s.recovery.cron, timezone: s.recovery.timezone, enabled: s.recovery.enabled, run: (slot) => recovery.runScheduled(slot) });
    scheduler.set({ name: 'retention', cron: s.retention.cron, timezone: s.retention.timezone, enabled: s.retention.enabled, run: (slot) => retention.runScheduled(slot) });
    scheduler.set({ name: 'poller', cron: s.poller.cron, timezone: s.poller.timezone, enabled: s.poller.enabled, run: (slot) => poller.runScheduled(slot) });
  };
  reconfigure();
  return { scheduler, recovery, retention, poller, reconfigure };
}
