import { expect } from 'chai';
import { createTask } from 'node-cron';
import { pino } from 'pino';
import { Scheduler } from '../../../src/jobs/scheduler.ts';
import { cronProblem, timezoneProblem } from '../../../src/config/schedule.ts';
import { buildSchemas } from '../../../src/config/schema.ts';

const logger = pino({ level: 'silent' });
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The first slot strictly after `after` of an enabled job with this expression and time zone. */
function nextRun(cron: string, tz: string, after: number): number {
  const scheduler = new Scheduler({ logger });
  scheduler.set({ name: 'job', cron, timezone: tz, enabled: true, run: async () => undefined });
  const slot = scheduler.nextRun('job', after);
  if (slot === null) throw new Error('an enabled job has a next slot');
  return slot;
}

/** The next n slots after `from`. */
function slots(cron: string, tz: string, from: number, n: number): string[] {
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < n; i++) {
    t = nextRun(cron, tz, t);
    out.push(new Date(t).toISOString());
  }
  return out;
}

describe('cron expression → next slot', () => {
  it('the default recovery schedule fires nightly at 02:00 UTC, strictly after the given time', () => {
    expect(slots('0 2 * * *', 'UTC', at('2026-11-23T12:00:00Z'), 3)).to.deep.equal([
      '2026-11-24T02:00:00.000Z',
      '2026-11-25T02:00:00.000Z',
      '2026-11-26T02:00:00.000Z',
    ]);
    // Exactly at a slot: the next one, not the same (a slot is never fired twice).
    expect(iso(nextRun('0 2 * * *', 'UTC', at('2026-11-24T02:00:00Z')))).to.equal('2026-11-25T02:00:00.000Z');
    expect(iso(nextRun('0 2 * * *', 'UTC', at('2026-11-24T01:59:59.999Z')))).to.equal('2026-11-24T02:00:00.000Z');
  });

  it('evaluates the expression in the configured time zone, across daylight saving changes', () => {
    // 02:00 in New York is 07:00 UTC in winter (EST) and 06:00 UTC in summer (EDT).
    expect(slots('0 2 * * *', 'America/New_York', at('2026-11-23T12:00:00Z'), 1)).to.deep.equal(['2026-11-24T07:00:00.000Z']);
    expect(slots('0 2 * * *', 'America/New_York', at('2026-07-01T12:00:00Z'), 1)).to.deep.equal(['2026-07-02T06:00:00.000Z']);
    // Berlin 03:30 around the March change (2026-03-29: 02:00 → 03:00 local).
    expect(slots('30 3 * * *', 'Europe/Berlin', at('2026-03-28T00:00:00Z'), 3)).to.deep.equal([
      '2026-03-28T02:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T01:30:00.000Z',
    ]);
    // A wall time that does not exist that night (02:30 on 2026-03-29 in Berlin) has no slot that day.
    expect(slots('30 2 * * *', 'Europe/Berlin', at('2026-03-28T12:00:00Z'), 2)).to.deep.equal(['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });

  it('handles steps, ranges, weekdays, last day of month, seconds and rare dates', () => {
    expect(slots('*/15 * * * *', 'UTC', at('2026-11-23T12:07:30Z'), 3)).to.deep.equal([
      '2026-11-23T12:15:00.000Z',
      '2026-11-23T12:30:00.000Z',
      '2026-11-23T12:45:00.000Z',
    ]);
    // Weekdays only: Friday 2026-11-27 → Monday 2026-11-30.
    expect(slots('0 6 * * 1-5', 'UTC', at('2026-11-27T07:00:00Z'), 1)).to.deep.equal(['2026-11-30T06:00:00.000Z']);
    expect(slots('0 0 L * *', 'UTC', at('2026-02-01T00:00:00Z'), 2)).to.deep.equal(['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(slots('*/20 * * * * *', 'UTC', at('2026-11-23T12:00:05Z'), 2)).to.deep.equal(['2026-11-23T12:00:20.000Z', '2026-11-23T12:00:40.000Z']);
    expect(slots('0 0 29 2 *', 'UTC', at('2026-03-01T00:00:00Z'), 1)).to.deep.equal(['2028-02-29T00:00:00.000Z']);
  });

  it("agrees with node-cron's own timers for the next runs from now", () => {
    const cases: Array<[string, string]> = [
      ['0 2 * * *', 'UTC'],
      ['30 3 * * *', 'Europe/Berlin'],
      ['0 2 * * *', 'America/New_York'],
      ['*/15 * * * *', 'Asia/Kolkata'],
      ['0 9 * * 1#2', 'Europe/London'],
      ['0 12 * * 1-5', 'Australia/Sydney'],
    ];
    for (const [cron, tz] of cases) {
      const task = createTask(cron, () => undefined, { timezone: tz });
      try {
        // getNextRuns reads the clock itself, at a moment between these two readings: a slot may pass
        // in between (a busy machine can stop this process there for a while), so its answer is the
        // next runs from one reading or the other.
        const before = Date.now();
        const theirs = task.getNextRuns(4).map((d) => d.toISOString());
        const after = Date.now();
        expect([slots(cron, tz, before, 4), slots(cron, tz, after, 4)], `${cron} ${tz}`).to.deep.include(theirs);
      } finally {
        void task.destroy();
      }
    }
  });

  it('config checks: cron expressions and time zones', () => {
    expect(cronProblem('0 2 * * *')).to.equal(null);
    expect(cronProblem('*/5 * * * * *')).to.equal(null);
    expect(cronProblem('61 2 * * *')).to.include('minute');
    expect(cronProblem('nightly')).to.include('not a cron expression');
    expect(timezoneProblem('Europe/Berlin')).to.equal(null);
    expect(timezoneProblem('Mars/Olympus')).to.include('not a time zone');

    const gateway = buildSchemas({ env: {}, baseDir: '/' }).gateway;
    const inbound = { soap: { users: [{ username: 'u', password: '${env:P:-p}' }] } };
    const defaults = gateway.parse({ inbound }).schedules;
    expect(defaults).to.deep.equal({
      recovery: { enabled: true, cron: '0 2 * * *', timezone: 'UTC', batchCap: 1000, connectors: [], eventCodes: [] },
      retention: { enabled: true, cron: '30 3 * * *', timezone: 'UTC', deliveredAfter: 30 * 86_400_000, auditAfter: 365 * 86_400_000, batchSize: 1000 },
      poller: {
        enabled: false,
        cron: '*/5 * * * *',
        timezone: 'UTC',
        expand: 'lines.schedules',
        pageSize: 100,
        maxPages: 50,
        overlap: 10 * 60_000,
        initialLookback: 86_400_000,
        dedupeWindow: 7 * 86_400_000,
      },
    });
    const bad = gateway.safeParse({ inbound, schedules: { recovery: { cron: '61 * * * *', timezone: 'Mars/Olympus', maxAge: '7d' }, retention: { auditAfter: 'forever' } } });
    expect(bad.success).to.equal(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['schedules.recovery.cron', 'schedules.recovery.timezone', 'schedules.retention.auditAfter']);
  });
});

describe('Scheduler', () => {

  it('runs a job for a slot as its timer would: the slot time in, errors logged not thrown', async () => {
    const scheduler = new Scheduler({ logger });
    const seen: number[] = [];
    scheduler.set({ name: 'recovery', cron: '0 2 * * *', timezone: 'UTC', enabled: true, run: async (slot) => void seen.push(slot) });
    scheduler.set({ name: 'broken', cron: '0 3 * * *', timezone: 'UTC', enabled: true, run: async () => Promise.reject(new Error('boom')) });
    const slot = scheduler.nextRun('recovery', at('2026-11-23T12:00:00Z'));
    expect(iso(slot)).to.equal('2026-11-24T02:00:00.000Z');
    await scheduler.runSlot('recovery', slot as number);
    expect(seen).to.deep.equal([slot]);
    expect(await scheduler.runSlot('broken', 0)).to.equal(undefined);
  });

  it('arms node-cron timers only on start, follows a changed expression, and stops them', async () => {
    const scheduler = new Scheduler({ logger });
    scheduler.set({ name: 'job', cron: '0 2 * * *', timezone: 'UTC', enabled: true, run: async () => undefined });
    scheduler.set({ name: 'off', cron: '0 2 * * *', timezone: 'UTC', enabled: false, run: async () => undefined });
    expect(scheduler.nextRun('off', Date.now())).to.equal(null);
    scheduler.start();
    scheduler.set({ name: 'job', cron: '0 4 * * *', timezone: 'Europe/Berlin', enabled: true, run: async () => undefined });
    expect(iso(scheduler.nextRun('job', at('2026-11-23T12:00:00Z')))).to.equal('2026-11-24T03:00:00.000Z');
    await scheduler.stop();
    expect(() => scheduler.nextRun('unknown', 0)).to.throw('no scheduled job');
  });
});
