import { expect } from 'chai';
import {
  DELIVERY_EVENTS,
  DELIVERY_STATES,
  DELIVERY_TRANSITIONS,
  OPERATOR_ACTIONS,
  UNFINISHED_STATES,
  appliesFrom,
  patchOf,
  type DeliveryCounters,
  type DeliveryEvent,
  type DeliveryPatch,
  type DeliveryState,
} from '../../../src/domain/delivery.ts';

const NOW = 1_000_000;
const ARGS = { owner: 'me', leaseUntil: NOW + 5_000, nextAttemptAt: NOW + 7_000, error: 'boom', reason: 'why', correlationId: 'c-1', responseDueAt: NOW + 3_600_000 };

/** The counters of a delivery with 3 attempts, 2 of them in this cycle. */
const COUNTERS: DeliveryCounters = { attemptCount: 3, attemptsInCycle: 2 };

/** Every state an event applies from (when not chosen by id). */
const ALLOWED: Record<DeliveryEvent, DeliveryState[]> = {
  claim: ['pending', 'retrying'],
  deliver: ['in_flight'],
  retry: ['in_flight'],
  park: ['in_flight'],
  give_back: ['in_flight'],
  reclaim: ['in_flight'],
  await: ['in_flight'],
  // A late response too: the delivery expired (retrying, re-sent, held, parked) or is being recorded.
  respond: ['awaiting_response', 'in_flight', 'retrying', 'pending', 'on_hold', 'parked'],
  respond_failed: ['awaiting_response', 'in_flight', 'retrying', 'pending', 'on_hold', 'parked'],
  expire: ['awaiting_response'],
  expire_park: ['awaiting_response'],
  // Holds leave a delivery awaiting its response alone: the request has been sent.
  connector_hold: ['pending', 'retrying'],
  connector_release: ['on_hold'],
  replay: ['parked', 'on_hold', 'discarded', 'retrying', 'awaiting_response'],
  discard: ['pending', 'retrying', 'on_hold', 'parked', 'awaiting_response'],
  hold: ['pending', 'retrying'],
  release: ['on_hold'],
};

const lease = { leaseOwner: null, leaseExpiresAt: null };

/** Everything each event writes, from a delivery with 3 attempts, 2 of them in this cycle. */
const WRITES: Record<DeliveryEvent, DeliveryPatch> = {
  claim: { state: 'in_flight', updatedAt: NOW, leaseOwner: 'me', leaseExpiresAt: NOW + 5_000 },
  deliver: {
    state: 'delivered',
    updatedAt: NOW,
    attemptCount: 4,
    attemptsInCycle: 3,
    ...lease,
    lastError: null,
    parkedReason: null,
    deliveredAt: NOW,
  },
  retry: { state: 'retrying', updatedAt: NOW, attemptCount: 4, attemptsInCycle: 3, nextAttemptAt: NOW + 7_000, ...lease, lastError: 'boom' },
  park: { state: 'parked', updatedAt: NOW, attemptCount: 4, attemptsInCycle: 3, ...lease, lastError: 'boom', parkedReason: 'why' },
  give_back: { state: 'pending', updatedAt: NOW, nextAttemptAt: NOW + 7_000, ...lease },
  reclaim: { state: 'retrying', updatedAt: NOW, nextAttemptAt: NOW, ...lease },
  await: {
    state: 'awaiting_response',
    updatedAt: NOW,
    attemptCount: 4,
    attemptsInCycle: 3,
    ...lease,
    correlationId: 'c-1',
    responseDueAt: NOW + 3_600_000,
    lastError: null,
    parkedReason: null,
  },
  respond: {
    state: 'delivered',
    updatedAt: NOW,
    ...lease,
    deliveredAt: NOW,
    respondedAt: NOW,
    responseDueAt: null,
    lastError: null,
    parkedReason: null,
    holdReason: null,
  },
  respond_failed: {
    state: 'parked',
    updatedAt: NOW,
    ...lease,
    respondedAt: NOW,
    responseDueAt: null,
    lastError: 'boom',
    parkedReason: 'response_failed',
    holdReason: null,
  },
  // The attempt was counted when the request was accepted: an expiry counts none.
  expire: { state: 'retrying', updatedAt: NOW, nextAttemptAt: NOW + 7_000, lastError: 'boom', responseDueAt: null },
  expire_park: { state: 'parked', updatedAt: NOW, lastError: 'boom', parkedReason: 'why', responseDueAt: null },
  connector_hold: { state: 'on_hold', updatedAt: NOW, holdReason: 'why' },
  connector_release: { state: 'pending', updatedAt: NOW, nextAttemptAt: NOW, holdReason: null },
  replay: {
    state: 'pending',
    updatedAt: NOW,
    attemptsInCycle: 0,
    nextAttemptAt: NOW,
    ...lease,
    lastError: null,
    parkedReason: null,
    holdReason: null,
    adminReason: null,
    deliveredAt: null,
    // The correlation id is kept: a replay sends the same one again.
    responseDueAt: null,
    respondedAt: null,
  },
  discard: { state: 'discarded', updatedAt: NOW, ...lease, holdReason: null, responseDueAt: null, adminReason: 'why' },
  hold: { state: 'on_hold', updatedAt: NOW, ...lease, holdReason: 'admin', adminReason: 'why' },
  release: { state: 'pending', updatedAt: NOW, nextAttemptAt: NOW, ...lease, holdReason: null, adminReason: null },
};

describe('domain/delivery: the state machine', () => {
  describe('every state x event pair', () => {
    for (const event of DELIVERY_EVENTS) {
      for (const state of DELIVERY_STATES) {
        const allowed = ALLOWED[event].includes(state);
        it(`${event} from ${state}: ${allowed ? `to ${WRITES[event].state}` : 'refused'}`, () => {
          expect(appliesFrom(event).includes(state)).to.equal(allowed);
          if (!allowed) return;
          expect(DELIVERY_TRANSITIONS[event].to).to.equal(WRITES[event].state);
          expect(patchOf(event, ARGS, NOW, COUNTERS)).to.deep.equal(WRITES[event]);
        });
      }
    }
  });

  it('appliesFrom lists exactly the allowed states', () => {
    for (const event of DELIVERY_EVENTS) expect(appliesFrom(event), event).to.have.members(ALLOWED[event]);
  });

  it('replay takes a delivered delivery only when it was chosen by id; no other event widens so', () => {
    expect(appliesFrom('replay')).to.not.include('delivered');
    expect(appliesFrom('replay', true)).to.have.members([...ALLOWED.replay, 'delivered']);
    for (const event of DELIVERY_EVENTS.filter((e) => e !== 'replay')) expect(appliesFrom(event, true), event).to.have.members(ALLOWED[event]);
  });

  it('nothing leaves in_flight but the worker: no operator action applies to a delivery being sent', () => {
    for (const action of OPERATOR_ACTIONS) expect(appliesFrom(action, true), action).to.not.include('in_flight');
  });

  it('awaiting_response is unfinished (strict ordering waits behind it), and only a response, its deadline, replay or discard move it', () => {
    expect(UNFINISHED_STATES).to.include('awaiting_response');
    const from = DELIVERY_EVENTS.filter((e) => appliesFrom(e, true).includes('awaiting_response'));
    expect(from).to.have.members(['respond', 'respond_failed', 'expire', 'expire_park', 'replay', 'discard']);
  });

  it('a response completes only a delivery not answered yet; an expiry only one past its deadline', () => {
    const responses = Object.fromEntries(DELIVERY_EVENTS.map((event) => [event, DELIVERY_TRANSITIONS[event].response ?? null]));
    expect(responses).to.deep.equal({
      ...Object.fromEntries(DELIVERY_EVENTS.map((e) => [e, null])),
      respond: 'unanswered',
      respond_failed: 'unanswered',
      expire: 'overdue',
      expire_park: 'overdue',
    });
  });

  it('the worker\'s events on a claimed delivery need the caller\'s lease, reclaim an expired one, no other event a lease', () => {
    // The store applies these conditions: test/integration/delivery/store.test.ts.
    const leases = Object.fromEntries(DELIVERY_EVENTS.map((event) => [event, DELIVERY_TRANSITIONS[event].lease ?? null]));
    expect(leases).to.deep.equal({
      claim: null,
      deliver: 'held',
      retry: 'held',
      park: 'held',
      give_back: 'held',
      reclaim: 'expired',
      await: 'held',
      respond: null,
      respond_failed: null,
      expire: null,
      expire_park: null,
      connector_hold: null,
      connector_release: null,
      replay: null,
      discard: null,
      hold: null,
      release: null,
    });
  });

  it('a missing argument or missing counters is a programming error, not a refusal', () => {
    expect(() => patchOf('retry', { owner: 'me', error: 'x' }, NOW, COUNTERS)).to.throw(/nextAttemptAt/);
    expect(() => patchOf('deliver', ARGS, NOW)).to.throw(/counters/);
  });

  it('an operator\'s reason may be null: discard and hold then store none', () => {
    expect(patchOf('hold', { reason: null }, NOW)).to.include({ holdReason: 'admin', adminReason: null });
    expect(patchOf('discard', { reason: null }, NOW)).to.include({ adminReason: null });
  });

  it('every event is in the table and leads to a state', () => {
    expect(Object.keys(DELIVERY_TRANSITIONS)).to.have.members([...DELIVERY_EVENTS]);
    for (const event of DELIVERY_EVENTS) expect(DELIVERY_STATES, event).to.include(DELIVERY_TRANSITIONS[event].to);
  });
});
