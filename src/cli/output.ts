/** Plain-text tables for the CLI: columns padded to the widest cell. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Whether the reader of stdout has gone (`omgw status | head -1`). A Unix tool then ends quietly:
 * the rest of its output is dropped, the command finishes (closing the store cleanly) and exits
 * with its own code. Without a listener, Node throws the EPIPE as an uncaught exception, which
 * kills the process while the SQLite thread is still running (an addon abort, exit 134).
 */
let stdoutClosed = false;
let watchingStdout = false;

function watchStdout(): void {
  if (watchingStdout) return;
  watchingStdout = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      stdoutClosed = true;
      return;
    }
    throw err;
  });
}

export const processIo: Io = {
  out: (text) => {
    watchStdout();
    if (!stdoutClosed) process.stdout.write(`${text}\n`);
  },
  err: (text) => process.stderr.write(`${text}\n`),
};
