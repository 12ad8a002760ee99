import type { Io } from './output.ts';

/** Erases the terminal line the cursor is on (a carriage return, then ANSI "erase in line"). */
const ERASE_LINE = '\r\u001b[2K';

/** The terminal stdout is: written to without a newline, and as wide as it says. */
export interface LiveTerminal {
  write(text: string): void;
  /** Its width in characters (0 when unknown). */
  columns(): number;
}

/**
 * What `omgw demo` prints: a line per step as it happens, and while a step waits, one progress line.
 * On a terminal (`live`: a raw writer to it) the progress line is rewritten in place with the time
 * waited so far and erased by the next line; into a file or a pipe it is a plain line, written again
 * only when what it says changes, so a log of the run stays short and readable.
 */
export class DemoOutput {
  readonly #io: Io;
  readonly #live: LiveTerminal | null;
  /** A live progress line is on the screen (to be erased before the next line). */
  #showing = false;
  /** The last plain progress line written. */
  #lastPlain = '';

  constructor(io: Io, live: LiveTerminal | null) {
    this.#io = io;
    this.#live = live;
  }

  line(text: string): void {
    this.#erase();
    this.#lastPlain = '';
    this.#io.out(text);
  }

  step(n: number, of: number, text: string): void {
    this.line(`${String(n).padStart(String(of).length)}/${of} ${text}`);
  }

  /** The step failed: what it waited for (or did), on stderr. */
  failed(n: number, of: number, text: string): void {
    this.#erase();
    this.#io.err(`${String(n).padStart(String(of).length)}/${of} failed: ${text}`);
  }

  /** While a step waits on a condition: what for, and what is seen so far. */
  progress(text: string, waitedMs: number): void {
    if (this.#live) {
      // One screen line at most: a line that wraps cannot be taken back by a carriage return.
      const line = `     … ${text} (${(waitedMs / 1000).toFixed(1)} s)`;
      const width = this.#live.columns();
      this.#live.write(`${ERASE_LINE}${width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line}`);
      this.#showing = true;
      return;
    }
    if (text === this.#lastPlain) return;
    this.#lastPlain = text;
    this.#io.out(`     … ${text}`);
  }

  #erase(): void {
    if (!this.#showing || !this.#live) return;
    this.#live.write(ERASE_LINE);
    this.#showing = false;
  }
}
