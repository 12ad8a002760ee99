import { expect } from 'chai';
import { pino } from 'pino';
import { FailureLog } from '../../../src/delivery/failure-log.ts';

/** A pino logger writing its JSON lines into an array. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('delivery/failure-log: failing cycles in the log', () => {
  it('logs the first failure, then one line a minute with the count, then the recovery', () => {
    const { logger, lines } = capture();
    const log = new FailureLog(logger);
    const t0 = 1_700_000_000_000;
    // The store is down: a cycle every 100 ms for 2.5 minutes.
    for (let t = t0; t < t0 + 150_000; t += 100) log.failed(Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' }), t);
    log.succeeded(t0 + 150_000);
    log.succeeded(t0 + 150_100);
    expect(lines.map((l) => l.msg)).to.deep.equal([
      'delivery cycle failed; retrying after the poll interval',
      'delivery cycle still failing',
      'delivery cycle still failing',
      'delivery cycles work again',
    ]);
    expect(lines.map((l) => l.level)).to.deep.equal([50, 50, 50, 30]);
    expect(lines[1]?.failures).to.equal(601);
    expect(lines[1]?.failingSince).to.equal(new Date(t0).toISOString());
    expect(lines[3]).to.include({ failures: 1500, failedForMs: 150_000 });
  });

  it('starts over after a recovery', () => {
    const { logger, lines } = capture();
    const log = new FailureLog(logger);
    log.failed(new Error('a'), 0);
    log.succeeded(100);
    log.failed(new Error('b'), 200);
    expect(lines.map((l) => l.msg)).to.deep.equal([
      'delivery cycle failed; retrying after the poll interval',
      'delivery cycles work again',
      'delivery cycle failed; retrying after the poll interval',
    ]);
  });
});
