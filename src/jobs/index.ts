import type { GatewayConfig } from '../config/load.ts';
import type { PurchaseOrderPoller } from '../inbound/poller/purchase-orders.ts';
import type { Logger } from '../log.ts';
import type { RecoveryService } from './recovery.ts';
import type { RetentionJob } from './retention.ts';
import { Scheduler } from './scheduler.ts';

export { Scheduler } from './scheduler.ts';
export { RecoveryService } from './recovery.ts';
export { RetentionJob } from './retention.ts';
export { PurchaseOrderPoller, type PollReport } from '../inbound/poller/purchase-orders.ts';

export interface JobsDeps {
  logger: Logger;
  config: () => GatewayConfig;
  /** The services the schedules run (built by createServices, src/services/index.ts). */
  recovery: RecoveryService;
  retention: RetentionJob;
  poller: PurchaseOrderPoller;
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
  const { logger, config, recovery, retention, poller } = deps;
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
