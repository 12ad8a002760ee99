import { expect } from 'chai';
import { describeInstances, type Instance } from '../../../src/domain/instance.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function instance(id: string, startedAt: number, heartbeatAt: number, stoppedAt: number | null = null): Instance {
  return { id, host: 'h', pid: 1, version: '1', configVersion: 'c', startedAt, heartbeatAt, stoppedAt };
}

describe('instances as an operator sees them', () => {
  it('is live while its last heartbeat is within staleAfter, stale after, stopped once stopped whatever its heartbeat', () => {
    const state = (i: Instance, now: number) => describeInstances([i], [], now, 60_000)[0]?.state;
    expect(state(instance('a', T0, T0), T0 + 60_000)).to.equal('live');
    expect(state(instance('a', T0, T0), T0 + 60_001)).to.equal('stale');
    expect(state(instance('a', T0, T0, T0), T0 + 600_000)).to.equal('stopped');
    expect(state(instance('a', T0, T0, T0), T0)).to.equal('stopped');
  });

  it('lists live ones first, then stale, then stopped, newest first within each, with what each holds', () => {
    const now = T0 + 120_000;
    const views = describeInstances(
      [instance('old-live', T0, now - 5_000), instance('stopped', T0 + 10_000, T0 + 20_000, T0 + 21_000), instance('stale', T0 + 5_000, T0 + 30_000), instance('new-live', T0 + 50_000, now + 300)],
      [
        { owner: 'old-live', inFlight: 3, oldestClaimedAt: now - 8_000, nextLeaseExpiresAt: now + 25_000 },
        { owner: 'stale', inFlight: 1, oldestClaimedAt: T0 + 29_000, nextLeaseExpiresAt: T0 + 89_000 },
        { owner: 'not-registered', inFlight: 2, oldestClaimedAt: T0, nextLeaseExpiresAt: T0 },
      ],
      now,
      60_000,
    );
    expect(views.map((v) => [v.id, v.state, v.heartbeatAgeMs, v.inFlight, v.oldestLeaseAgeMs, v.nextLeaseExpiresAt])).to.deep.equal([
      // A heartbeat a little ahead of the reader's clock (another host's) reads as age 0, not negative.
      ['new-live', 'live', 0, 0, null, null],
      ['old-live', 'live', 5_000, 3, 8_000, now + 25_000],
      ['stale', 'stale', 90_000, 1, 91_000, T0 + 89_000],
      ['stopped', 'stopped', 100_000, 0, null, null],
    ]);
  });
});
