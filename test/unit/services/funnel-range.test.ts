import { expect } from 'chai';
import { FunnelRangeError, MAX_FUNNEL_SPAN_MS, parseRangeEnd, parseStuckAfter, resolveFunnelRange } from '../../../src/services/funnel-range.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);

function refusal(fn: () => unknown): { parameter: string; problem: string; code: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof FunnelRangeError) return { parameter: err.parameter, problem: err.problem, code: err.code };
    throw err;
  }
  throw new Error('not refused');
}

describe('the funnel range rules', () => {
  it('reads an end as a duration back from now or a time, nothing else', () => {
    expect(parseRangeEnd('24h')).to.deep.equal({ ago: DAY });
    expect(parseRangeEnd('2026-11-23T12:00:00Z')).to.deep.equal({ at: Date.UTC(2026, 10, 23, 12) });
    expect(parseRangeEnd('1795435200000')).to.deep.equal({ at: 1_795_435_200_000 });
    expect(parseRangeEnd('yesterday')).to.equal(null);
  });

  it('defaults to the last day, reads durations back from now, and keeps times as given', () => {
    expect(resolveFunnelRange(NOW, {})).to.deep.equal({ since: NOW - DAY, until: NOW });
    expect(resolveFunnelRange(NOW, { since: { ago: 7 * DAY }, until: { ago: DAY } })).to.deep.equal({ since: NOW - 7 * DAY, until: NOW - DAY });
    expect(resolveFunnelRange(NOW, { since: { at: 1000 }, until: { at: 2000 } })).to.deep.equal({ since: 1000, until: 2000 });
    expect(resolveFunnelRange(NOW, { since: { ago: MAX_FUNNEL_SPAN_MS } })).to.deep.equal({ since: NOW - MAX_FUNNEL_SPAN_MS, until: NOW });
  });

  it('refuses an end out of range, naming it, before any arithmetic can leave the calendar', () => {
    expect(refusal(() => resolveFunnelRange(NOW, { since: { ago: 8.64e27 } }))).to.deep.equal({ parameter: 'since', problem: 'at most 366d back from now', code: 'BAD_REQUEST' });
    expect(refusal(() => resolveFunnelRange(NOW, { until: { ago: 8.64e27 } }))).to.deep.include({ parameter: 'until', problem: 'at most 366d back from now' });
    expect(refusal(() => resolveFunnelRange(NOW, { since: { ago: MAX_FUNNEL_SPAN_MS + 1 } }))).to.deep.include({ parameter: 'since' });
    expect(refusal(() => resolveFunnelRange(NOW, { since: { at: -1 } }))).to.deep.include({ parameter: 'since', problem: 'a time from 1970 to 9999' });
    expect(refusal(() => resolveFunnelRange(NOW, { until: { at: 9e15 } }))).to.deep.include({ parameter: 'until', problem: 'a time from 1970 to 9999' });
  });

  it('refuses since not before until, and a range longer than the longest', () => {
    expect(refusal(() => resolveFunnelRange(NOW, { since: { ago: 3_600_000 }, until: { ago: 7_200_000 } }))).to.deep.include({ parameter: 'since', problem: 'must be before until' });
    expect(refusal(() => resolveFunnelRange(NOW, { since: { at: NOW }, until: { at: NOW } }))).to.deep.include({ problem: 'must be before until' });
    expect(refusal(() => resolveFunnelRange(NOW, { since: { at: 0 }, until: { at: MAX_FUNNEL_SPAN_MS + 1 } }))).to.deep.include({ parameter: 'since', problem: 'the range may span at most 366d' });
    expect(resolveFunnelRange(NOW, { since: { at: 0 }, until: { at: MAX_FUNNEL_SPAN_MS } })).to.deep.equal({ since: 0, until: MAX_FUNNEL_SPAN_MS });
  });

  it('takes a stuckAfter from a millisecond to the longest range', () => {
    expect(parseStuckAfter('2h')).to.equal(7_200_000);
    expect(parseStuckAfter('366d')).to.equal(MAX_FUNNEL_SPAN_MS);
    for (const bad of ['0s', '367d', '99999999999999999999d', 'soon']) expect(parseStuckAfter(bad), bad).to.equal(null);
  });
});
