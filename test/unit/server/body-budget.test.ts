import { expect } from 'chai';
import { GatewayError } from '../../../src/domain/errors.ts';
import { BodyBudget } from '../../../src/server/body-budget.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

async function expectBusy(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(GatewayError);
  expect((err as GatewayError).code).to.equal('GATEWAY_BUSY');
}

describe('server/body-budget', () => {
  it('gives a stranger its small share at once, or GATEWAY_BUSY at once when there is no room', () => {
    const budget = new BodyBudget(() => 100, new ManualClock());
    const a = budget.reserveNow(60);
    expect(budget.inUse).to.equal(60);
    expect(() => budget.reserveNow(50)).to.throw(GatewayError).with.property('code', 'GATEWAY_BUSY');
    const b = budget.reserveNow(40);
    expect(budget.inUse).to.equal(100);
    a.release();
    a.release(); // a second release gives nothing back twice
    expect(budget.inUse).to.equal(40);
    b.release();
    expect(budget.inUse).to.equal(0);
  });

  it('an authenticated push waits in line for room, first come first served, and gets it when others release', async () => {
    const clock = new ManualClock();
    const budget = new BodyBudget(() => 100, clock);
    const held = budget.reserveNow(90);
    const first = budget.reserveNow(5);
    const second = budget.reserveNow(0);
    const order: string[] = [];
    const growing = first.growTo(50, 10_000).then(() => order.push('first'));
    const behind = second.growTo(5, 10_000).then(() => order.push('second'));
    // A stranger does not jump the line while others wait.
    expect(() => budget.reserveNow(1)).to.throw(GatewayError);
    held.release();
    await Promise.all([growing, behind]);
    expect(order).to.deep.equal(['first', 'second']);
    expect(first.held).to.equal(50);
    expect(budget.inUse).to.equal(55);
  });

  it('refuses with GATEWAY_BUSY after bodyWait on the clock, and the line moves on', async () => {
    const clock = new ManualClock();
    const budget = new BodyBudget(() => 100, clock);
    const held = budget.reserveNow(100);
    const waiting = budget.reserveNow(0).growTo(80, 10_000);
    await clock.sleeping((ms) => ms === 10_000);
    clock.advance(10_000);
    await expectBusy(waiting);
    expect(budget.inUse).to.equal(100);
    held.release();
    expect(budget.inUse).to.equal(0);
  });

  it('never holds more than its capacity for one push, and reads the capacity at each request', () => {
    let capacity = 100;
    const budget = new BodyBudget(() => capacity, new ManualClock());
    expect(budget.reserveNow(500).held).to.equal(100);
    capacity = 200;
    expect(budget.reserveNow(100).held).to.equal(100);
  });

  it('tells a sender refused for lack of room in the words of the requests it holds', () => {
    const pushes = new BodyBudget(() => 10, new ManualClock());
    pushes.reserveNow(10);
    expect(() => pushes.reserveNow(1)).to.throw(GatewayError, /as many pushes/);
    const signed = new BodyBudget(() => 10, new ManualClock(), 'as many signed bodies as it may hold');
    signed.reserveNow(10);
    expect(() => signed.reserveNow(1)).to.throw(GatewayError, 'as many signed bodies as it may hold');
  });
});
