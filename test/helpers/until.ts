/**
 * Waits until `check` holds, looking again after each short pause, for at most `timeoutMs`; then
 * fails naming what it waited for. For conditions that no event announces (a log line, a row).
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
