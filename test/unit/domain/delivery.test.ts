import { expect } from 'chai';
import {
  DELIVERY_EVENTS,
  DELIVERY_STATES,
  DELIVERY_TRANSITIONS,
  OPERATOR_ACTIONS,
  appliesFrom,
  patchOf,
  transition,
  type DeliveryEvent,
  type DeliveryPatch,
  type DeliveryState,
  type DeliveryStateView,
} from '../../../src/domain/delivery.ts';

const NOW = 1_000_000;
const ARGS = { owner: 'me', leaseUntil: NOW + 5_000, nextAttemptAt: NOW + 7_000, error: 'boom', reason: 'why' };

/** A delivery whose lease is this caller's and has expired, so both lease conditions hold. */
function row(state: DeliveryState): DeliveryStateView {
  return { state, attemptCount: 3, attemptsInCycle: 2, leaseOwner: 'me', leaseExpiresAt: NOW - 1 };
}

/** Every state an event applies from (when not chosen by id). */
const ALLOWED: Record<DeliveryEvent, DeliveryState[]> = {
  claim: ['pending', 'retrying'],
  deliver: ['in_flight'],
  retry: ['in_flight'],
  park: ['in_flight'],
  give_back: ['in_flight'],
  reclaim: ['in_flight'],
  connector_hold: ['pending', 'retrying'],
  connector_release: ['on_hold'],
  replay: ['parked', 'on_hold', 'discarded', 'retrying'],
  discard: ['pending', 'retrying', 'on_hold', 'parked'],
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
  },
  discard: { state: 'discarded', updatedAt: NOW, ...lease, holdReason: null, adminReason: 'why' },
  hold: { state: 'on_hold', updatedAt: NOW, ...lease, holdReason: 'admin', adminReason: 'why' },
  release: { state: 'pending', updatedAt: NOW, nextAttemptAt: NOW, ...lease, holdReason: null, adminReason: null },
};

describe('domain/delivery: the state machine', () => {
  describe('every state x event pair', () => {
    for (const event of DELIVERY_EVENTS) {
      for (const state of DELIVERY_STATES) {
        const allowed = ALLOWED[event].includes(state);
        it(`${event} from ${state}: ${allowed ? `to ${WRITES[event].state}` : 'refused'}`, () => {
          const result = transition(event, row(state), ARGS, NOW);
          if (!allowed) {
            expect(result.allowed).to.equal(false);
            return;
          }
          expect(result).to.deep.equal({ allowed: true, to: WRITES[event].state, patch: WRITES[event] });
        });
      }
    }
  });

  it('appliesFrom lists exactly the allowed states', () => {
    for (const event of DELIVERY_EVENTS) expect(appliesFrom(event), event).to.have.members(ALLOWED[event]);
  });

  it('replay takes a delivered delivery only when it was chosen by id; no other event widens so', () => {
    expect(transition('replay', row('delivered'), ARGS, NOW).allowed).to.equal(false);
    expect(transition('replay', row('delivered'), ARGS, NOW, true)).to.deep.equal({ allowed: true, to: 'pending', patch: WRITES.replay });
    expect(appliesFrom('replay', true)).to.have.members([...ALLOWED.replay, 'delivered']);
    for (const event of DELIVERY_EVENTS.filter((e) => e !== 'replay')) expect(appliesFrom(event, true), event).to.have.members(ALLOWED[event]);
  });

  it('nothing leaves in_flight but the worker: no operator action applies to a delivery being sent', () => {
    for (const action of OPERATOR_ACTIONS) expect(appliesFrom(action, true), action).to.not.include('in_flight');
  });

  it('the worker\'s events on a claimed delivery need the caller\'s lease', () => {
    for (const event of ['deliver', 'retry', 'park', 'give_back'] as const) {
      expect(transition(event, { ...row('in_flight'), leaseOwner: 'other' }, ARGS, NOW).allowed, event).to.equal(false);
      expect(transition(event, { ...row('in_flight'), leaseOwner: null }, ARGS, NOW).allowed, event).to.equal(false);
    }
  });

  it('reclaim needs an expired lease: a lease ending now or later is refused', () => {
    expect(transition('reclaim', { ...row('in_flight'), leaseExpiresAt: NOW }, ARGS, NOW).allowed).to.equal(false);
    expect(transition('reclaim', { ...row('in_flight'), leaseExpiresAt: null }, ARGS, NOW).allowed).to.equal(false);
    expect(transition('reclaim', { ...row('in_flight'), leaseExpiresAt: NOW - 1 }, ARGS, NOW).allowed).to.equal(true);
  });

  it('a missing argument or missing counters is a programming error, not a refusal', () => {
    expect(() => patchOf('retry', { owner: 'me', error: 'x' }, NOW, row('in_flight'))).to.throw(/nextAttemptAt/);
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
