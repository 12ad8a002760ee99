import { main } from '../../src/main.ts';

// The CLI as bin/omgw.js runs it, but from the TypeScript sources (tests spawn this).
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`omgw: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
