// The CLI as bin/omgw.js runs it, from the compiled dist/ (cli-entry.ts chooses it when it is fresh),
// with run-cli.ts's test setting: OMGW_TEST_CLOCK_OFFSET_MS runs it on a clock that many ms from the system's.
import { main } from '../../dist/main.js';
import { systemClock } from '../../dist/domain/clock.js';

const offset = Number(process.env.OMGW_TEST_CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offset)) throw new Error(`OMGW_TEST_CLOCK_OFFSET_MS is not a number: ${process.env.OMGW_TEST_CLOCK_OFFSET_MS}`);
const clock = offset === 0 ? undefined : { now: () => Date.now() + offset, sleep: systemClock.sleep };
main(process.argv.slice(2), undefined, process.env, clock).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`omgw: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
