import type { GatewayConfig } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';

/**
 * What every scheduled run is given (the recovery run, retention, the purchase-order poll): the
 * shared store, the injected clock, ids, the config as it is now (a reload changes it between runs),
 * and the instance's id, which owns a run's lease so that one instance of a cluster runs each slot.
 */
export interface ScheduledRunDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  /** Owner of the runs this instance works on (their lease). */
  instanceId: string;
  config: () => GatewayConfig;
}
