/**
 * Deliveries: one event for one connector, the unit that is sent, retried, held, parked and replayed.
 *
 *   pending ──claim──▶ in_flight ──deliver──▶ delivered
 *      ▲                  │ await (async connector: accepted) ──▶ awaiting_response ──respond──▶ delivered
 *      │                  │      awaiting_response ──respond_failed──▶ parked (response_failed)
 *      │                  │      awaiting_response ──expire (past its deadline)──▶ retrying, or parked (no_response)
 *      │                  │ retry ──▶ retrying ──due: claim──▶ in_flight
 *      │                  │ park (permanent failure / attempts used up) ──▶ parked ──replay──▶ pending
 *      │                  │ give_back (no rate token: no attempt) ──▶ pending
 *      │                  └ reclaim (lease expired: the worker died) ──▶ retrying
 *      │   pending, retrying ──connector_hold (offline / circuit open) or hold (operator)──▶ on_hold
 *      └── on_hold ──connector_release / release──▶ pending;  replay, discard: see DELIVERY_TRANSITIONS
 */
export const DELIVERY_STATES = ['pending', 'in_flight', 'awaiting_response', 'retrying', 'on_hold', 'parked', 'delivered', 'discarded'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * What one attempt ended in: a hold is no attempt (nothing is sent), so it is not an outcome.
 * `accepted`: an async connector's target took the request and will answer by callback. A callback
 * that completes a delivery is recorded beside its attempts, as `delivered` or `parked`.
 */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'parked', 'accepted'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * States in which a delivery still blocks later deliveries of the same order key (strict ordering):
 * a delivery awaiting its response is not done until the target says how it went.
 */
export const UNFINISHED_STATES: readonly DeliveryState[] = ['pending', 'in_flight', 'awaiting_response', 'retrying', 'on_hold', 'parked'];

export const AUDIT_DIRECTIONS = ['in', 'out', 'admin'] as const;
export type AuditDirection = (typeof AUDIT_DIRECTIONS)[number];

/** Why a delivery is on hold: its connector is offline, its circuit is open, or an operator held it. */
export const HOLD_REASONS = ['offline', 'circuit_open', 'admin'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** The operator actions on deliveries (CLI, admin API, recovery run): the events an operator causes. */
export const OPERATOR_ACTIONS = ['replay', 'discard', 'hold', 'release'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

/** Everything that changes a delivery's state: the worker's events, then the operator actions. */
export const DELIVERY_EVENTS = [
  'claim',
  'deliver',
  'retry',
  'park',
  'give_back',
  'reclaim',
  'await',
  'respond',
  'respond_failed',
  'expire',
  'expire_park',
  'connector_hold',
  'connector_release',
  ...OPERATOR_ACTIONS,
] as const;
export type DeliveryEvent = (typeof DELIVERY_EVENTS)[number];

/** A delivery as the gateway knows it: what the store returns for a row of `deliveries`. */
export interface Delivery {
  id: string;
  eventId: string;
  connector: string;
  /** The trigger point that routed the event here (null: a delivery made another way). */
  triggerPoint: string | null;
  orderKey: string | null;
  eventCode: string;
  state: DeliveryState;
  /** Attempts ever made. */
  attemptCount: number;
  /** Attempts since the last replay: what the retry policy counts. */
  attemptsInCycle: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** A key the delivery was stored with; otherwise the connector's template makes one per send. */
  idempotencyKey: string | null;
  lastError: string | null;
  parkedReason: string | null;
  holdReason: string | null;
  /** The operator's reason of a hold or a discard. */
  adminReason: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
  /**
   * Async connectors: the id the target's callback names this delivery by, of its latest request. A
   * generated one is made once and kept, so a re-send carries the same one; one read from the
   * target's answer is that answer's, so a re-send may bring a new one. Every id the delivery was sent
   * with still finds it (the store keeps them all): a late callback with an earlier one completes it.
   */
  correlationId: string | null;
  /** Async connectors: when the response is due (awaiting_response); past it the delivery expires. */
  responseDueAt: number | null;
  /** When a callback completed the delivery; a second callback then changes nothing. */
  respondedAt: number | null;
}

/** The fields of a delivery a transition may write, besides `state` and `updatedAt` (always written). */
export const DELIVERY_FIELDS = [
  'attemptCount',
  'attemptsInCycle',
  'nextAttemptAt',
  'leaseOwner',
  'leaseExpiresAt',
  'lastError',
  'parkedReason',
  'holdReason',
  'adminReason',
  'deliveredAt',
  'correlationId',
  'responseDueAt',
  'respondedAt',
] as const satisfies ReadonlyArray<keyof Delivery>;
export type DeliveryField = (typeof DELIVERY_FIELDS)[number];

/** Values the caller of a transition supplies (which ones a transition reads: see its `writes`). */
export interface TransitionArgs {
  /** The instance taking (claim) or holding (deliver, retry, park, give_back) the lease. */
  owner?: string;
  /** claim: when the lease ends. */
  leaseUntil?: number;
  /** retry: when the next attempt is due; give_back: when the delivery is due again. */
  nextAttemptAt?: number;
  /** retry, park: the attempt's error. */
  error?: string;
  /** park: why it parked; connector_hold: why it is held; hold, discard: the operator's reason. */
  reason?: string | null;
  /** await: the correlation id sent or read. */
  correlationId?: string;
  /** await: when the response is due. */
  responseDueAt?: number;
}

/**
 * How a transition writes one field. A field the transition does not name keeps its value.
 * - 'clear': null; 'now': the transition's time; 'zero': 0; 'increment': one more than before;
 * - { arg }: the caller's value (TransitionArgs); { value }: this constant.
 */
export type FieldWrite = 'clear' | 'now' | 'zero' | 'increment' | { readonly arg: keyof TransitionArgs } | { readonly value: string };

export interface DeliveryTransition {
  /** The states the event applies from; a delivery in any other state is left alone (refused). */
  readonly from: readonly DeliveryState[];
  /** States it applies from only to deliveries chosen one by one (by delivery or event id). */
  readonly fromWhenChosen?: readonly DeliveryState[];
  /**
   * A condition on the lease besides the state: 'held' while the caller (args.owner) holds it,
   * 'expired' once leaseExpiresAt is before the transition's time.
   */
  readonly lease?: 'held' | 'expired';
  /**
   * A condition on the response besides the state: 'unanswered' while the delivery has a
   * correlation id (it was accepted once) and no callback has completed it; 'overdue' once
   * responseDueAt is before the transition's time.
   */
  readonly response?: 'unanswered' | 'overdue';
  readonly to: DeliveryState;
  readonly writes: Readonly<Partial<Record<DeliveryField, FieldWrite>>>;
}

const CLEAR_LEASE = { leaseOwner: 'clear', leaseExpiresAt: 'clear' } as const;

/**
 * Where a callback finds a delivery it completes: awaiting its response, or a late answer to a
 * delivery that was accepted once and has since expired (retrying, re-sent, held, parked no_response),
 * or whose worker has not recorded the accepted request yet (in_flight).
 */
const RESPONDABLE: readonly DeliveryState[] = ['awaiting_response', 'in_flight', 'retrying', 'pending', 'on_hold', 'parked'];

/**
 * The delivery state machine: for each event, the states it applies from, the state it leads to and
 * what it writes, by the fields of `Delivery`. This table is the reference; the store builds its
 * updates from it (which rows an update touches, and what it sets, each field in its column), the
 * worker names the events it causes, and operator actions (services/delivery-actions.ts) take their
 * applicable states from it. Every transition also sets `updatedAt` to its time. An event in a state
 * it does not list is refused: the delivery is not changed.
 *
 * | event             | from                                                | to         | writes (all other fields are kept)                                      |
 * | ----------------- | --------------------------------------------------- | ---------- | ----------------------------------------------------------------------- |
 * | claim             | pending, retrying (due; first of its order key)     | in_flight  | leaseOwner, leaseExpiresAt                                              |
 * | deliver           | in_flight, lease held                               | delivered  | attempts +1 (both counters), lease cleared, deliveredAt now, lastError and parkedReason cleared |
 * | retry             | in_flight, lease held                               | retrying   | attempts +1, lease cleared, nextAttemptAt, lastError (parkedReason kept) |
 * | park              | in_flight, lease held                               | parked     | attempts +1, lease cleared, lastError, parkedReason                     |
 * | give_back         | in_flight, lease held                               | pending    | lease cleared, nextAttemptAt (no attempt: counters kept)                |
 * | reclaim           | in_flight, lease expired                            | retrying   | lease cleared, nextAttemptAt now (lastError kept)                       |
 * | await             | in_flight, lease held (async: accepted)             | awaiting_response | attempts +1, lease cleared, correlationId, responseDueAt, lastError and parkedReason cleared |
 * | respond           | awaiting_response; a late one: in_flight, retrying, pending, on_hold, parked; unanswered | delivered | lease cleared, deliveredAt and respondedAt now, responseDueAt, lastError, parkedReason, holdReason cleared |
 * | respond_failed    | as respond                                          | parked     | lease cleared, respondedAt now, parkedReason response_failed, lastError, responseDueAt and holdReason cleared |
 * | expire            | awaiting_response, overdue (decideRetry: retry)     | retrying   | nextAttemptAt, lastError, responseDueAt cleared                         |
 * | expire_park       | awaiting_response, overdue (decideRetry: park)      | parked     | parkedReason (no_response), lastError, responseDueAt cleared            |
 * | connector_hold    | pending, retrying                                   | on_hold    | holdReason offline / circuit_open (nextAttemptAt kept)                  |
 * | connector_release | on_hold (of that hold reason)                       | pending    | holdReason cleared, nextAttemptAt now                                   |
 * | replay            | parked, on_hold, discarded, retrying, awaiting_response; delivered when chosen by id | pending    | nextAttemptAt now, attemptsInCycle 0 (attemptCount and correlationId kept), lastError, parkedReason, holdReason, adminReason, deliveredAt, responseDueAt, respondedAt cleared |
 * | discard           | pending, retrying, on_hold, parked, awaiting_response | discarded  | holdReason, responseDueAt cleared, adminReason                          |
 * | hold              | pending, retrying                                   | on_hold    | holdReason admin, adminReason                                           |
 * | release           | on_hold (any hold reason)                           | pending    | nextAttemptAt now, holdReason and adminReason cleared                   |
 *
 * Operator actions also clear the lease (none of their states has one). Nothing leaves `in_flight`
 * but the worker's events and a callback: an operator never touches a delivery being sent, while
 * the target's answer may overtake the worker's record of the request it answers (the worker's
 * completion then changes nothing). Holds and maintenance leave `awaiting_response` alone: the
 * request has been sent. A replay of a delivery awaiting its response sends it again, with the same
 * idempotency key and generated correlation id (or the one the new answer names: `await` writes the
 * latest; a callback with any id the delivery was sent with is its callback). Which due deliveries a
 * claim picks (nextAttemptAt, strict ordering) and which holds a connector_release lifts (its
 * hold reason) are selections the store makes on top of this table.
 */
export const DELIVERY_TRANSITIONS: Readonly<Record<DeliveryEvent, DeliveryTransition>> = {
  claim: {
    from: ['pending', 'retrying'],
    to: 'in_flight',
    writes: { leaseOwner: { arg: 'owner' }, leaseExpiresAt: { arg: 'leaseUntil' } },
  },
  deliver: {
    from: ['in_flight'],
    lease: 'held',
    to: 'delivered',
    writes: {
      attemptCount: 'increment',
      attemptsInCycle: 'increment',
      ...CLEAR_LEASE,
      deliveredAt: 'now',
      lastError: 'clear',
      parkedReason: 'clear',
    },
  },
  retry: {
    from: ['in_flight'],
    lease: 'held',
    to: 'retrying',
    writes: {
      attemptCount: 'increment',
      attemptsInCycle: 'increment',
      ...CLEAR_LEASE,
      nextAttemptAt: { arg: 'nextAttemptAt' },
      lastError: { arg: 'error' },
    },
  },
  park: {
    from: ['in_flight'],
    lease: 'held',
    to: 'parked',
    writes: {
      attemptCount: 'increment',
      attemptsInCycle: 'increment',
      ...CLEAR_LEASE,
      lastError: { arg: 'error' },
      parkedReason: { arg: 'reason' },
    },
  },
  give_back: {
    from: ['in_flight'],
    lease: 'held',
    to: 'pending',
    writes: { ...CLEAR_LEASE, nextAttemptAt: { arg: 'nextAttemptAt' } },
  },
  reclaim: {
    from: ['in_flight'],
    lease: 'expired',
    to: 'retrying',
    writes: { ...CLEAR_LEASE, nextAttemptAt: 'now' },
  },
  await: {
    from: ['in_flight'],
    lease: 'held',
    to: 'awaiting_response',
    writes: {
      attemptCount: 'increment',
      attemptsInCycle: 'increment',
      ...CLEAR_LEASE,
      correlationId: { arg: 'correlationId' },
      responseDueAt: { arg: 'responseDueAt' },
      lastError: 'clear',
      parkedReason: 'clear',
    },
  },
  respond: {
    from: RESPONDABLE,
    response: 'unanswered',
    to: 'delivered',
    writes: { ...CLEAR_LEASE, deliveredAt: 'now', respondedAt: 'now', responseDueAt: 'clear', lastError: 'clear', parkedReason: 'clear', holdReason: 'clear' },
  },
  respond_failed: {
    from: RESPONDABLE,
    response: 'unanswered',
    to: 'parked',
    writes: { ...CLEAR_LEASE, respondedAt: 'now', responseDueAt: 'clear', lastError: { arg: 'error' }, parkedReason: { value: 'response_failed' }, holdReason: 'clear' },
  },
  expire: {
    from: ['awaiting_response'],
    response: 'overdue',
    to: 'retrying',
    writes: { nextAttemptAt: { arg: 'nextAttemptAt' }, lastError: { arg: 'error' }, responseDueAt: 'clear' },
  },
  expire_park: {
    from: ['awaiting_response'],
    response: 'overdue',
    to: 'parked',
    writes: { lastError: { arg: 'error' }, parkedReason: { arg: 'reason' }, responseDueAt: 'clear' },
  },
  connector_hold: {
    from: ['pending', 'retrying'],
    to: 'on_hold',
    writes: { holdReason: { arg: 'reason' } },
  },
  connector_release: {
    from: ['on_hold'],
    to: 'pending',
    writes: { holdReason: 'clear', nextAttemptAt: 'now' },
  },
  replay: {
    from: ['parked', 'on_hold', 'discarded', 'retrying', 'awaiting_response'],
    fromWhenChosen: ['delivered'],
    to: 'pending',
    writes: {
      ...CLEAR_LEASE,
      nextAttemptAt: 'now',
      attemptsInCycle: 'zero',
      parkedReason: 'clear',
      lastError: 'clear',
      holdReason: 'clear',
      adminReason: 'clear',
      deliveredAt: 'clear',
      responseDueAt: 'clear',
      respondedAt: 'clear',
    },
  },
  discard: {
    from: ['pending', 'retrying', 'on_hold', 'parked', 'awaiting_response'],
    to: 'discarded',
    writes: { ...CLEAR_LEASE, holdReason: 'clear', responseDueAt: 'clear', adminReason: { arg: 'reason' } },
  },
  hold: {
    from: ['pending', 'retrying'],
    to: 'on_hold',
    writes: { ...CLEAR_LEASE, holdReason: { value: 'admin' }, adminReason: { arg: 'reason' } },
  },
  release: {
    from: ['on_hold'],
    to: 'pending',
    writes: { ...CLEAR_LEASE, nextAttemptAt: 'now', holdReason: 'clear', adminReason: 'clear' },
  },
};

/** The worker's events that end an attempt, by the state they lead to. */
export const ATTEMPT_EVENTS = { delivered: 'deliver', retrying: 'retry', parked: 'park', awaiting_response: 'await' } as const satisfies Partial<Record<DeliveryState, DeliveryEvent>>;

/** The states an event applies from; `chosen`: the deliveries were chosen one by one (by id). */
export function appliesFrom(event: DeliveryEvent, chosen = false): DeliveryState[] {
  const t = DELIVERY_TRANSITIONS[event];
  return chosen && t.fromWhenChosen ? [...t.from, ...t.fromWhenChosen] : [...t.from];
}

/** The fields of a delivery `patchOf` reads: the counters an increment starts from. */
export type DeliveryCounters = Pick<Delivery, 'attemptCount' | 'attemptsInCycle'>;

/** The values a transition writes: the new state, updatedAt and each field it names. */
export type DeliveryPatch = { state: DeliveryState; updatedAt: number } & Partial<Record<DeliveryField, string | number | null>>;

/**
 * What `event` writes at `now`, as plain values. `current` (the delivery before) is needed only by
 * events that increment a counter. Throws when an argument the event reads is missing: that is a
 * programming error, not a refusal.
 */
export function patchOf(event: DeliveryEvent, args: TransitionArgs, now: number, current?: DeliveryCounters): DeliveryPatch {
  const t = DELIVERY_TRANSITIONS[event];
  const patch: DeliveryPatch = { state: t.to, updatedAt: now };
  for (const field of DELIVERY_FIELDS) {
    const write = t.writes[field];
    if (write === undefined) continue;
    patch[field] = valueOf(event, field, write, args, now, current);
  }
  return patch;
}

function valueOf(
  event: DeliveryEvent,
  field: DeliveryField,
  write: FieldWrite,
  args: TransitionArgs,
  now: number,
  current: DeliveryCounters | undefined,
): string | number | null {
  if (write === 'clear') return null;
  if (write === 'now') return now;
  if (write === 'zero') return 0;
  if (write === 'increment') {
    if (current === undefined) throw new Error(`${event} increments ${field}: the delivery's counters are needed`);
    if (field !== 'attemptCount' && field !== 'attemptsInCycle') throw new Error(`${event} increments ${field}, which is not a counter`);
    return current[field] + 1;
  }
  if ('value' in write) return write.value;
  const value = args[write.arg];
  if (value === undefined) throw new Error(`${event} writes ${field} from ${write.arg}, which was not given`);
  return value;
}

/** One attempt at sending a delivery, as stored, with the delivery's connector. */
export interface Attempt {
  id: string;
  deliveryId: string;
  connector: string;
  /** Its place among the delivery's attempts, from 1. */
  number: number;
  startedAt: number;
  durationMs: number;
  /** What was sent (method, URL, redacted headers), as JSON text. */
  requestSummary: string;
  responseStatus: number | null;
  /** The response's headers as JSON text. */
  responseHeaders: string | null;
  responseSnippet: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  /** One of ATTEMPT_OUTCOMES. */
  outcome: string;
}
