import { randomBytes } from 'node:crypto';
import type { Store } from '../../../src/store/index.ts';
import type { CallbackTarget } from '../../helpers/callback-target.ts';
import { everything } from '../../helpers/pages.ts';

/**
 * An async connector under a crash (issue 21): its config, the credentials its target's callbacks
 * carry, and what the store holds at the end measured against what the target was acknowledged.
 */

const CALLBACK_USER = 'wms-callbacks';
/** Fresh per run, as the other reliability secrets (secrets.ts), so a fixture cannot fool a search for it. */
export const CALLBACK_PASSWORD = `cb-pw-${randomBytes(18).toString('base64url')}`;
export const CALLBACK_ENV: Record<string, string> = { REL_CALLBACK_PASSWORD: CALLBACK_PASSWORD };
export const CALLBACK_AUTHORIZATION = `Basic ${Buffer.from(`${CALLBACK_USER}:${CALLBACK_PASSWORD}`).toString('base64')}`;

/**
 * An async REST connector: the correlation id in a header, a deadline far beyond the run (a re-send
 * comes only from a lease that expired in a kill), callbacks with Basic credentials.
 */
export function asyncConnectorYaml(url: string, path: string): string {
  return `protocol: rest
url: ${url}
path: ${path}
timeout: 1s
concurrency: 16
mode: async
async:
  responseTimeout: 10m
  correlation: { header: X-Correlation-Id }
  callback:
    auth: { type: basic, username: ${CALLBACK_USER}, password: '\${env:REL_CALLBACK_PASSWORD}' }
    delivered: [COMPLETED]
    failed: [FAILED]
retry:
  schedule: [50ms, 100ms, 200ms, 400ms]
  maxAttempts: 100
`;
}

export interface AsyncCallbackFigures {
  /** Deliveries of the async connector. */
  deliveries: number;
  delivered: number;
  /** Parked by a callback that reported a failure (response_failed). */
  failed: number;
  /** Callbacks the gateway acknowledged (2xx). */
  acked: number;
  /** Acknowledged with an event id that the store does not hold (correlation ids). */
  lostCallbacks: string[];
  /** Deliveries not ended as their callback said (or whose request the target never saw). */
  wrongEnds: string[];
  /** Deliveries completed by more than one callback. */
  completedTwice: string[];
  /** Callbacks answered with an outcome other than completed, late or duplicate. */
  unexpectedOutcomes: string[];
}

/** What the store holds of the async connector's deliveries and callbacks, against what its target was told. */
export async function asyncCallbackFigures(store: Store, target: CallbackTarget, connector = target.connector): Promise<AsyncCallbackFigures> {
  const stored = new Set((await everything((page) => store.browse.events({ sources: ['callback'] }, page))).map((e) => e.id));
  const deliveries = await everything((page) => store.browse.deliveries({ connectors: [connector] }, page));
  const completions = (await everything((page) => store.browse.audit({ actions: ['callback.received'] }, page))).filter(
    (a) => a.connector === connector && (a.result === 'completed' || a.result === 'late'),
  );
  const completedBy = new Map<string, number>();
  for (const a of completions) if (a.deliveryId) completedBy.set(a.deliveryId, (completedBy.get(a.deliveryId) ?? 0) + 1);

  const wrongEnds: string[] = [];
  for (const d of deliveries) {
    const status = target.statuses.get(d.correlationId ?? '');
    const ok =
      status === 'COMPLETED'
        ? d.state === 'delivered' && d.respondedAt !== null
        : status === 'FAILED'
          ? d.state === 'parked' && d.parkedReason === 'response_failed'
          : false;
    if (!ok) wrongEnds.push(`${d.orderKey ?? d.id}: ${d.state}${d.parkedReason ? ` (${d.parkedReason})` : ''}, its callback said ${status ?? 'nothing (request never seen)'}`);
  }
  return {
    deliveries: deliveries.length,
    delivered: deliveries.filter((d) => d.state === 'delivered').length,
    failed: deliveries.filter((d) => d.state === 'parked' && d.parkedReason === 'response_failed').length,
    acked: target.acked.length,
    lostCallbacks: target.acked.filter((a) => a.eventId !== null && !stored.has(a.eventId)).map((a) => a.correlationId),
    wrongEnds,
    completedTwice: [...completedBy].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`),
    unexpectedOutcomes: target.acked.filter((a) => !['completed', 'late', 'duplicate'].includes(a.outcome)).map((a) => `${a.correlationId}: ${a.outcome}`),
  };
}
