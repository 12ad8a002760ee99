import { main } from '../../src/main.ts';
import { systemClock, type Clock } from '../../src/domain/clock.ts';

/**
 * A clock `offsetMs` from the system's (negative: behind), for a process of a cluster whose clock
 * is set apart from the others'. Only `now` moves: waits last as long.
 */
function offsetClock(offsetMs: number): Clock {
  return { now: () => Date.now() + offsetMs, sleep: systemClock.sleep };
}

// The CLI as bin/omgw.js runs it, but from the TypeScript sources (tests spawn this).
// OMGW_TEST_CLOCK_OFFSET_MS (tests only): run on a clock that many ms from the system's.
const offset = Number(process.env.OMGW_TEST_CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offset)) throw new Error(`OMGW_TEST_CLOCK_OFFSET_MS is not a number: ${process.env.OMGW_TEST_CLOCK_OFFSET_MS}`);
main(process.argv.slice(2), undefined, process.env, offset === 0 ? undefined : offsetClock(offset)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`omgw: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
