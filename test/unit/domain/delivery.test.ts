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
  return { state, attempt_count: 3, attempts_in_cycle: 2, lease_owner: 'me', lease_expires_at: NOW - 1 };
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

const lease = { lease_owner: null, lease_expires_at: null };

/** Everything each event writes, from a delivery with 3 attempts, 2 of them in this cycle. */
const WRITES: Record<DeliveryEvent, DeliveryPatch> = {
  claim: { state: 'in_flight', updated_at: NOW, lease_owner: 'me', lease_expires_at: NOW + 5_000 },
  deliver: {
    state: 'delivered',
    updated_at: NOW,
    attempt_count: 4,
    attempts_in_cycle: 3,
    ...lease,
    last_error: null,
    parked_reason: null,
    delivered_at: NOW,
  },
  retry: { state: 'retrying', updated_at: NOW, attempt_count: 4, attempts_in_cycle: 3, next_attempt_at: NOW + 7_000, ...lease, last_error: 'boom' },
  park: { state: 'parked', updated_at: NOW, attempt_count: 4, attempts_in_cycle: 3, ...lease, last_error: 'boom', parked_reason: 'why' },
  give_back: { state: 'pending', updated_at: NOW, next_attempt_at: NOW + 7_000, ...lease },
  reclaim: { state: 'retrying', updated_at: NOW, next_attempt_at: NOW, ...lease },
  connector_hold: { state: 'on_hold', updated_at: NOW, hold_reason: 'why' },
  connector_release: { state: 'pending', updated_at: NOW, next_attempt_at: NOW, hold_reason: null },
  replay: {
    state: 'pending',
    updated_at: NOW,
    attempts_in_cycle: 0,
    next_attempt_at: NOW,
    ...lease,
    last_error: null,
    parked_reason: null,
    hold_reason: null,
    admin_reason: null,
    delivered_at: null,
  },
  discard: { state: 'discarded', updated_at: NOW, ...lease, hold_reason: null, admin_reason: 'why' },
  hold: { state: 'on_hold', updated_at: NOW, ...lease, hold_reason: 'admin', admin_reason: 'why' },
  release: { state: 'pending', updated_at: NOW, next_attempt_at: NOW, ...lease, hold_reason: null, admin_reason: null },
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
      expect(transition(event, { ...row('in_flight'), lease_owner: 'other' }, ARGS, NOW).allowed, event).to.equal(false);
      expect(transition(event, { ...row('in_flight'), lease_owner: null }, ARGS, NOW).allowed, event).to.equal(false);
    }
  });

  it('reclaim needs an expired lease: a lease ending now or later is refused', () => {
    expect(transition('reclaim', { ...row('in_flight'), lease_expires_at: NOW }, ARGS, NOW).allowed).to.equal(false);
    expect(transition('reclaim', { ...row('in_flight'), lease_expires_at: null }, ARGS, NOW).allowed).to.equal(false);
    expect(transition('reclaim', { ...row('in_flight'), lease_expires_at: String(NOW - 1) }, ARGS, NOW).allowed).to.equal(true);
  });

  it('counters stored as text (PostgreSQL bigint) still count up', () => {
    expect(patchOf('deliver', ARGS, NOW, { attempt_count: '9', attempts_in_cycle: '1' })).to.include({ attempt_count: 10, attempts_in_cycle: 2 });
  });

  it('a missing argument or missing counters is a programming error, not a refusal', () => {
    expect(() => patchOf('retry', { owner: 'me', error: 'x' }, NOW, row('in_flight'))).to.throw(/nextAttemptAt/);
    expect(() => patchOf('deliver', ARGS, NOW)).to.throw(/counters/);
  });

  it('an operator\'s reason may be null: discard and hold then store none', () => {
    expect(patchOf('hold', { reason: null }, NOW)).to.include({ hold_reason: 'admin', admin_reason: null });
    expect(patchOf('discard', { reason: null }, NOW)).to.include({ admin_reason: null });
  });

  it('every event is in the table and leads to a state', () => {
    expect(Object.keys(DELIVERY_TRANSITIONS)).to.have.members([...DELIVERY_EVENTS]);
    for (const event of DELIVERY_EVENTS) expect(DELIVERY_STATES, event).to.include(DELIVERY_TRANSITIONS[event].to);
  });
});
