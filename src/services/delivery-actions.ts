import type { Clock } from '../domain/clock.ts';
import { DELIVERY_TRANSITIONS, appliesFrom, patchOf, type Delivery, type DeliveryState, type OperatorAction } from '../domain/delivery.ts';
import { GatewayError } from '../domain/errors.ts';
import type { Store } from '../store/index.ts';
import { checkFilter, type DeliveryFilter } from './delivery-filter.ts';
import { deliveryStanding, deliverySummary, type DeliveryStanding, type DeliverySummary } from './delivery-views.ts';

/**
 * Operator actions on deliveries. The admin API, the CLI and the recovery run all go through this one
 * service, so an action means the same wherever it comes from. What they read is DeliveryViews
 * (delivery-views.ts).
 *
 * Which states each action (replay, discard, hold, release) applies to, the state it leads to and
 * what it writes are the domain's delivery state machine: DELIVERY_TRANSITIONS in
 * src/domain/delivery.ts (replay takes delivered deliveries only when they are chosen by delivery
 * id or event id). Each changed delivery gets one audit record, direction `admin`, written in the
 * same transaction as its state change; deliveries in flight are never touched.
 *
 * Replay keeps attempt_count and every earlier attempt row, clears parked_reason and last_error.
 * Ordering needs nothing special: deliveries keep their ids, and the worker claims per connector
 * and order key by id, so replayed deliveries go out in their original sequence; transforms run at
 * delivery time, so a mapping fixed since applies. A discarded delivery no longer blocks its order key.
 */

/** An operator action: OPERATOR_ACTIONS of the domain. */
export type OperationKind = OperatorAction;

export interface OperationOptions {
  /** Count and sample only; change nothing. */
  dryRun?: boolean;
  /** Who asks: `admin-api`, `cli:<user>`, `recovery-run`. Written to each audit record. */
  actor: string;
  /** Change at most this many (oldest first). */
  limit?: number;
  /** Why: required for discard; stored on the delivery by discard and hold, and in every audit record. */
  reason?: string;
  /** The recovery run doing this replay (written to the audit records' detail). */
  runId?: string;
}

export interface OperationResult {
  action: OperationKind;
  dryRun: boolean;
  /** Deliveries the filter selects, in any state. */
  matched: number;
  /** Of those, the ones in a state the action applies to. */
  eligible: number;
  /** Changed (on a dry run: would be changed): eligible, capped by `limit`. */
  changed: number;
  /** Matched deliveries left alone, by state (in_flight is always here). */
  skipped: Partial<Record<DeliveryState, number>>;
  /**
   * Up to 10 of the deliveries changed (or that would be), oldest first, as they are (would be)
   * after, each with `before`: where it stood before the action (on a dry run: where it stands now).
   */
  sample: OperationSample[];
}

export interface OperationSample extends DeliverySummary {
  before: DeliveryStanding;
}

export interface DeliveryActionsDeps {
  store: Store;
  clock: Clock;
  newId: () => string;
  /** Wakes the delivery worker (replayed and released deliveries are due now). */
  notify: () => void;
}

const AUDIT_ACTION: Record<OperationKind, string> = {
  replay: 'delivery.replayed',
  discard: 'delivery.discarded',
  hold: 'delivery.held',
  release: 'delivery.released',
};

const BATCH = 500;
const SAMPLE = 10;
const MAX_REASON = 1_000;

export class DeliveryActions {
  readonly #deps: DeliveryActionsDeps;

  constructor(deps: DeliveryActionsDeps) {
    this.#deps = deps;
  }

  /** Back to pending, due now, with a fresh retry cycle. See the class comment for which states. */
  replay(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('replay', filter, opts);
  }

  /** To `discarded` for good, with a reason (required). */
  discard(filter: DeliveryFilter, opts: OperationOptions & { reason: string }): Promise<OperationResult> {
    return this.#operate('discard', filter, opts);
  }

  /** Pending and retrying deliveries to `on_hold` (hold_reason `admin`) until released. */
  hold(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('hold', filter, opts);
  }

  /** Held deliveries back to pending, due now. */
  release(filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    return this.#operate('release', filter, opts);
  }

  async #operate(action: OperationKind, filter: DeliveryFilter, opts: OperationOptions): Promise<OperationResult> {
    const criteria = checkFilter(filter);
    if (!Object.values(criteria).some((v) => v !== undefined)) {
      throw new GatewayError('BAD_REQUEST', `${action} needs a selection: delivery ids, event ids or at least one filter`);
    }
    const reason = opts.reason?.trim() || null;
    if (action === 'discard' && reason === null) throw new GatewayError('BAD_REQUEST', 'discard needs a reason');
    if (reason !== null && reason.length > MAX_REASON) throw new GatewayError('BAD_REQUEST', `reason is longer than ${MAX_REASON} characters`);
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
      throw new GatewayError('BAD_REQUEST', 'limit must be a whole number of at least 1');
    }
    if (!opts.actor) throw new GatewayError('BAD_REQUEST', 'an actor is required');
    const chosen = criteria.ids !== undefined || criteria.eventIds !== undefined;
    const applies = new Set<DeliveryState>(appliesFrom(action, chosen));

    const { store, clock } = this.#deps;
    const counts = await store.deliveryActions.countByState(criteria);
    let matched = 0;
    let eligible = 0;
    const skipped: Partial<Record<DeliveryState, number>> = {};
    for (const [state, n] of counts) {
      matched += n;
      if (applies.has(state)) eligible += n;
      else skipped[state] = n;
    }
    const states = [...applies];
    const cap = opts.limit ?? Number.POSITIVE_INFINITY;
    const dryRun = opts.dryRun ?? false;

    if (dryRun) {
      const changed = Math.min(eligible, cap);
      const now = clock.now();
      const deliveries = await store.deliveryActions.inStates(criteria, states, Math.min(SAMPLE, changed));
      const patch = patchOf(action, { reason }, now);
      // The patch names Delivery's fields; its values are the ones the transition table writes to them.
      const after = (delivery: Delivery): Delivery => ({ ...delivery, ...patch }) as Delivery;
      const sample = deliveries.map((d) => ({ ...deliverySummary(after(d)), before: deliveryStanding(d) }));
      return { action, dryRun, matched, eligible, changed, skipped, sample };
    }

    let changed = 0;
    let afterId: string | null = null;
    const sample: OperationSample[] = [];
    while (changed < cap) {
      const now = clock.now();
      const batch = await store.deliveryActions.applyBatch({
        action,
        criteria,
        states,
        afterId,
        limit: Math.min(BATCH, cap - changed),
        now,
        reason,
        audit: (before) => ({
          id: this.#deps.newId(),
          at: now,
          direction: 'admin',
          action: AUDIT_ACTION[action],
          connector: before.connector,
          eventId: before.eventId,
          deliveryId: before.id,
          result: DELIVERY_TRANSITIONS[action].to,
          actor: opts.actor,
          detail: {
            from: before.state,
            reason,
            attemptCount: before.attemptCount,
            ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
          },
        }),
      });
      if (batch.lastId === null) break;
      afterId = batch.lastId;
      changed += batch.changed.length;
      batch.changed.forEach((delivery, i) => {
        const before = batch.before[i];
        if (sample.length < SAMPLE && before !== undefined) sample.push({ ...deliverySummary(delivery), before: deliveryStanding(before) });
      });
    }
    // A delivery eligible when counted may have moved on before its batch (claimed, delivered):
    // `changed` counts what was really changed.
    if (changed > 0 && (action === 'replay' || action === 'release')) this.#deps.notify();
    return { action, dryRun, matched, eligible, changed, skipped, sample };
  }
}
