import type { AttemptReport, DeliveryWorker } from '../../src/delivery/worker.ts';
import type { TestGateway } from './gateway.ts';

/** The delivery worker of a gateway started by startGateway (it must run one). */
export function workerOf(gw: TestGateway): DeliveryWorker {
  const w = gw.gateway.worker;
  if (!w) throw new Error('delivery worker is not running');
  return w;
}

/**
 * Resolves when the workers have recorded `n` delivered attempts in all; rejects at once when any
 * delivery parks (it would never be delivered, and the test should say why instead of timing out).
 * Returns how many each worker delivered.
 */
export function deliveredBy(workers: DeliveryWorker[], n: number): Promise<number[]> {
  const done = new Promise<number[]>((resolve, reject) => {
    const counts = workers.map(() => 0);
    const listeners = workers.map((w, i) => {
      const on = (a: AttemptReport): void => {
        if (a.outcome === 'parked') {
          off();
          reject(new Error(`delivery ${a.deliveryId} parked: status ${a.status} ${a.errorClass}`));
          return;
        }
        if (a.outcome === 'delivered') counts[i] = (counts[i] ?? 0) + 1;
        if (counts.reduce((s, c) => s + c, 0) >= n) {
          off();
          resolve(counts);
        }
      };
      w.on('attempt', on);
      return on;
    });
    const off = (): void => workers.forEach((w, i) => w.off('attempt', listeners[i] as (a: AttemptReport) => void));
  });
  // The caller awaits it later (after pushing); a park before then must not be an unhandled rejection.
  done.catch(() => undefined);
  return done;
}
