import type { GatewayConfig } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import { describeInstances, type InstanceView } from '../domain/instance.ts';
import type { Store } from '../store/index.ts';

/**
 * The instances sharing the database, as `omgw status`, the admin API, the console and /metrics show
 * them: each with its state at this reader's time (against `cluster.staleAfter`) and the deliveries
 * it holds in flight.
 */
export function instanceViews(deps: { store: Store; clock: Clock; config: () => GatewayConfig }): () => Promise<InstanceView[]> {
  return async () => {
    const [instances, holdings] = await Promise.all([deps.store.instances.list(), deps.store.instances.holdings()]);
    return describeInstances(instances, holdings, deps.clock.now(), deps.config().gateway.cluster.staleAfter);
  };
}
