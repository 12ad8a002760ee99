/**
 * Deliveries: one event for one connector, the unit that is sent, retried, held, parked and replayed.
 *
 *   pending ──claim──▶ in_flight ──deliver──▶ delivered
 *      ▲                  │ retry ──▶ retrying ──due: claim──▶ in_flight
 *      │                  │ park (permanent failure / attempts used up) ──▶ parked ──replay──▶ pending
 *      │                  │ give_back (no rate token: no attempt) ──▶ pending
 *      │                  └ reclaim (lease expired: the worker died) ──▶ retrying
 *      │   pending, retrying ──connector_hold (offline / circuit open) or hold (operator)──▶ on_hold
 *      └── on_hold ──connector_release / release──▶ pending;  replay, discard: see DELIVERY_TRANSITIONS
 */
export const DELIVERY_STATES = ['pending', 'in_flight', 'retrying', 'on_hold', 'parked', 'delivered', 'discarded'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** What one attempt ended in: a hold is no attempt (nothing is sent), so it is not an outcome. */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'parked'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** States in which a delivery still blocks later deliveries of the same order key (strict ordering). */
export const UNFINISHED_STATES: readonly DeliveryState[] = ['pending', 'in_flight', 'retrying', 'on_hold', 'parked'];

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
  readonly to: DeliveryState;
  readonly writes: Readonly<Partial<Record<DeliveryField, FieldWrite>>>;
}

const CLEAR_LEASE = { leaseOwner: 'clear', leaseExpiresAt: 'clear' } as const;

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
 * | connector_hold    | pending, retrying                                   | on_hold    | holdReason offline / circuit_open (nextAttemptAt kept)                  |
 * | connector_release | on_hold (of that hold reason)                       | pending    | holdReason cleared, nextAttemptAt now                                   |
 * | replay            | parked, on_hold, discarded, retrying; delivered when chosen by id | pending    | nextAttemptAt now, attemptsInCycle 0 (attemptCount kept), lastError, parkedReason, holdReason, adminReason, deliveredAt cleared |
 * | discard           | pending, retrying, on_hold, parked                  | discarded  | holdReason cleared, adminReason                                         |
 * | hold              | pending, retrying                                   | on_hold    | holdReason admin, adminReason                                           |
 * | release           | on_hold (any hold reason)                           | pending    | nextAttemptAt now, holdReason and adminReason cleared                   |
 *
 * Operator actions also clear the lease (none of their states has one). Nothing leaves `in_flight`
 * but the worker's events: an operator never touches a delivery being sent. Which due deliveries a
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
    from: ['parked', 'on_hold', 'discarded', 'retrying'],
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
    },
  },
  discard: {
    from: ['pending', 'retrying', 'on_hold', 'parked'],
    to: 'discarded',
    writes: { ...CLEAR_LEASE, holdReason: 'clear', adminReason: { arg: 'reason' } },
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
export const ATTEMPT_EVENTS = { delivered: 'deliver', retrying: 'retry', parked: 'park' } as const satisfies Partial<Record<DeliveryState, DeliveryEvent>>;

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
