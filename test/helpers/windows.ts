/**
 * The most of `times` that fall in one half-open window [t, t + windowMs), over every t: what a
 * target counting requests per sliding window sees at its worst.
 */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end++;
    max = Math.max(max, end - start);
  }
  return max;
}
