import type { Clock } from '../domain/clock.ts';
import type { Delivery } from '../domain/delivery.ts';
import { decideRetry, failureFromError } from '../domain/retry.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { Expiry } from '../store/callbacks.ts';
import type { ConnectorRuntime } from './runtime.ts';

export interface DeadlineDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  random: () => number;
}

/**
 * The deadline sweep: deliveries awaiting a response past their deadline go on as the retry rules
 * say of a request that was never answered (the one decision, domain/retry.ts: sent again with the
 * same correlation id and idempotency key, or parked no_response). Every instance sweeps; each expiry
 * is a compare-and-set in the store, so exactly one of them changes a delivery. Returns the
 * deliveries this instance expired.
 *
 * Every awaiting delivery is swept by its stored deadline, whatever its connector is now: a reload
 * that turns a connector sync leaves its awaiting deliveries to its retry rules (a re-send is then
 * a sync request), and one that removes the connector parks them no_response (there is nothing left
 * to send them with; a replay once it is back sends them again). Otherwise they would wait forever.
 */
export async function expireOverdue(deps: DeadlineDeps, runtimes: ReadonlyMap<string, ConnectorRuntime>): Promise<Delivery[]> {
  const now = deps.clock.now();
  const expired: Delivery[] = [];
  for (const delivery of await deps.store.callbacks.overdue(now)) {
    const runtime = runtimes.get(delivery.connector);
    const message = `no response by the deadline (${new Date(delivery.responseDueAt ?? now).toISOString()}, correlation id ${delivery.correlationId ?? 'none'})`;
    const decision = runtime
      ? decideRetry(runtime.retryPolicy, delivery.attemptsInCycle, failureFromError('no_response', message), now, deps.random)
      : ({ action: 'park', reason: 'no_response', message: `${message}; connector ${delivery.connector} is no longer configured` } as const);
    const expiry: Expiry =
      decision.action === 'retry' ? { event: 'expire', nextAttemptAt: decision.at, error: `no response: ${message}` } : { event: 'expire_park', reason: decision.reason, error: decision.message };
    const after = await deps.store.callbacks.expire({
      delivery,
      now,
      expiry,
      audit: {
        id: deps.newId(),
        at: now,
        direction: 'out',
        action: 'delivery.no_response',
        connector: delivery.connector,
        eventId: delivery.eventId,
        deliveryId: delivery.id,
        result: decision.action === 'retry' ? 'retry' : 'parked',
        detail: {
          correlationId: delivery.correlationId,
          responseDueAt: delivery.responseDueAt,
          nextAttemptAt: decision.action === 'retry' ? decision.at : null,
          parkedReason: decision.action === 'park' ? decision.reason : null,
        },
        actor: 'gateway',
      },
    });
    if (after === null) continue;
    expired.push(after);
    deps.logger.info({ deliveryId: delivery.id, connector: delivery.connector, correlationId: delivery.correlationId, outcome: after.state }, 'no response by the deadline');
  }
  return expired;
}
