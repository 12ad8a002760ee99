import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * collects again: 100 means up to twice the live heap.
 *
 * Under load the gateway's main thread allocates a few hundred MB a second, nearly all of it dying
 * within a request or a delivery; what outlives a young-generation collection (requests waiting for
 * their batch, deliveries waiting for their completion) is promoted and dies soon after. V8's own
 * factor, chosen from its GC speed, is up to 4 on a machine with this much memory: measured in the
 * end-to-end benchmark, a live heap of 30 MB let the old space reach 115 MB (142 MB committed)
 * before each full collection, and the process peaked at 255-280 MB. With 100 the old space stays
 * under about 60 MB and the peak was 199 MB, pushes per second unchanged (same machine, runs side
 * by side); with 50 the peak was 182 MB but ingest about 5% slower (more frequent full collections).
 */
const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/**
 * The V8 flag `omgw start` sets, or null when the operator gave one on the node command line
 * (`node --heap-growing-percent=N bin/omgw.js start`; 0 keeps V8's own), which then stands. Node
 * does not accept this flag in NODE_OPTIONS.
 */
function heapFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return null;
  return `${FLAG}=${HEAP_GROWING_PERCENT}`;
}

/**
 * Applies heapFlag to this process (its worker threads share V8's flags). V8 reads this flag each
 * time it sets the next full-collection limit, so setting it once the process runs takes effect at
 * the next collection; it changes when V8 collects, never what a collection keeps.
 */
export function applyHeapSettings(execArgv: readonly string[] = process.execArgv): string | null {
  const flag = heapFlag(execArgv);
  if (flag) v8.setFlagsFromString(flag);
  return flag;
}
