/**
 * Deliveries: one event for one connector, the unit that is sent, retried, held, parked and replayed.
 *
 *   pending ──claim──▶ in_flight ──2xx──▶ delivered
 *      ▲                  │ retryable failure ──▶ retrying ──due──▶ (claimed again)
 *      │                  │ permanent failure / attempts used up ──▶ parked ──replay──▶ pending
 *      │                  └ connector offline or circuit open ──▶ on_hold ──online──▶ pending
 *      └──────────────── replay / release
 */
export const DELIVERY_STATES = ['pending', 'in_flight', 'retrying', 'on_hold', 'parked', 'delivered', 'discarded'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** What one attempt ended in: a hold is no attempt (nothing is sent), so it is not an outcome. */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'parked'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** States in which a delivery still blocks later deliveries of the same order key (strict ordering). */
export const UNFINISHED_STATES: readonly DeliveryState[] = ['pending', 'in_flight', 'retrying', 'on_hold', 'parked'];

export type AuditDirection = 'in' | 'out' | 'admin';
