import { validateDetailed } from 'node-cron';

/**
 * Checks for the `schedules` block of gateway.yaml: a cron expression node-cron accepts (5 fields,
 * or 6 with seconds first) and an IANA time zone. Each returns the reason it is refused, or null.
 */
export function cronProblem(expression: string): string | null {
  let result;
  try {
    result = validateDetailed(expression);
  } catch (err) {
    return `"${expression}" is not a cron expression (${err instanceof Error ? err.message : String(err)})`;
  }
  if (result.valid) return null;
  const first = result.errors[0];
  return `"${expression}" is not a cron expression${first ? ` (${first.field}: ${first.message})` : ''}`;
}

export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return null;
  } catch {
    return `"${timezone}" is not a time zone (use an IANA name such as UTC or Europe/Berlin)`;
  }
}
