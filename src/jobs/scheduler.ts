import { createTask, parse, type ParsedFields, type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.ts';

/**
 * The scheduler: node-cron decides *when* (a cron expression in a time zone); a job is a plain async
 * function of its slot time, `run(slot)`, that knows nothing of cron. The slot is the scheduled time
 * (not the moment the timer fired), the same on every instance, so jobs use it as the key that makes
 * them run once per slot across instances. Tests call `runSlot(name, slot)` with a controlled clock's
 * time and check the cron → next-slot computation with `nextRun(name, after)`; nothing here starts at import.
 */
export interface ScheduledJob {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  run(slot: number): Promise<unknown>;
}

export interface SchedulerDeps {
  logger: Logger;
}

interface Entry {
  job: ScheduledJob;
  task: ScheduledTask | null;
}

export class Scheduler {
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #running = new Set<Promise<unknown>>();
  #started = false;

  constructor(deps: SchedulerDeps) {
    this.#logger = deps.logger;
  }

  /** Adds a job, or replaces the job of the same name (a config reload); its timer follows the new expression. */
  set(job: ScheduledJob): void {
    const previous = this.#entries.get(job.name);
    const same = previous && previous.job.cron === job.cron && previous.job.timezone === job.timezone && previous.job.enabled === job.enabled;
    if (previous && !same) this.#destroy(previous);
    const entry: Entry = { job, task: same ? previous.task : null };
    this.#entries.set(job.name, entry);
    if (this.#started && !entry.task) this.#arm(entry);
  }

  get jobs(): ScheduledJob[] {
    return [...this.#entries.values()].map((e) => e.job);
  }

  /** Starts the timers of every enabled job. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const entry of this.#entries.values()) this.#arm(entry);
  }

  /** Stops the timers and waits for runs in progress to end. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const entry of this.#entries.values()) this.#destroy(entry);
    await Promise.allSettled([...this.#running]);
  }

  /** The first slot of a job strictly after `after` (epoch ms), or null when it is disabled. */
  nextRun(name: string, after: number): number | null {
    const entry = this.#entries.get(name);
    if (!entry) throw new Error(`no scheduled job named "${name}"`);
    return entry.job.enabled ? nextRun(entry.job.cron, entry.job.timezone, after) : null;
  }

  /**
   * Runs a job for a slot, as its timer does: errors are logged, never thrown, and the run is
   * awaited by stop(). Returns the job's result (undefined when it failed).
   */
  async runSlot(name: string, slot: number): Promise<unknown> {
    const entry = this.#entries.get(name);
    if (!entry) throw new Error(`no scheduled job named "${name}"`);
    const run = (async () => {
      try {
        return await entry.job.run(slot);
      } catch (err) {
        this.#logger.error({ err, job: name, slot: new Date(slot).toISOString() }, 'scheduled job failed');
        return undefined;
      }
    })();
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
    }
  }

  #arm(entry: Entry): void {
    const { job } = entry;
    if (!job.enabled || entry.task) return;
    const task = createTask(job.cron, (ctx) => this.runSlot(job.name, ctx.date.getTime()), {
      name: `omgw:${job.name}`,
      timezone: job.timezone,
      // A run that lasts past the next slot does not start a second one beside it.
      noOverlap: true,
      // The timers alone do not keep the process alive (the HTTP server does).
      unref: true,
      logger: cronLogger(this.#logger, job.name),
    });
    entry.task = task;
    void task.start();
    this.#logger.info({ job: job.name, cron: job.cron, timezone: job.timezone, next: new Date(nextRun(job.cron, job.timezone, Date.now())).toISOString() }, 'job scheduled');
  }

  #destroy(entry: Entry): void {
    if (!entry.task) return;
    void entry.task.destroy();
    entry.task = null;
  }
}

function cronLogger(logger: Logger, job: string) {
  const text = (m: string | Error): string => (m instanceof Error ? m.message : m);
  return {
    info: (m: string) => logger.debug({ job }, m),
    warn: (m: string) => logger.warn({ job }, m),
    error: (m: string | Error, err?: Error) => logger.error({ job, err: err ?? (m instanceof Error ? m : undefined) }, text(m)),
    debug: (m: string | Error) => logger.debug({ job }, text(m)),
  };
}

// ---------------------------------------------------------------------------------------------
// Cron expression → next slot, in a time zone. node-cron parses the expression (the same parser its
// timers use); this walks wall-clock time forward, jumping over months, days, hours and minutes
// that cannot match, and confirms each candidate with node-cron's own matcher (which also handles
// day-of-month/day-of-week tokens such as L and 1#2).

interface Matcher {
  fields: ParsedFields;
  match: (date: Date) => boolean;
}

const matchers = new Map<string, Matcher>();

function matcherFor(expression: string, timezone: string): Matcher {
  const key = `${timezone}\u0000${expression}`;
  let m = matchers.get(key);
  if (!m) {
    const fields = parse(expression);
    // A task that is never started: its matcher only; destroyed at once so node-cron forgets it.
    const task = createTask(expression, () => undefined, { timezone });
    const match = task.match.bind(task);
    void task.destroy();
    m = { fields, match };
    matchers.set(key, m);
  }
  return m;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(at: number, timezone: string): WallTime {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The instant at which the zone's wall clock shows the given time (or the first instant after, in a DST gap). */
function instantOf(w: WallTime, timezone: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  let guess = asUtc;
  for (let i = 0; i < 3; i++) {
    const shown = wallTime(guess, timezone);
    const offset = Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute, shown.second) - guess;
    const next = asUtc - offset;
    if (next === guess) break;
    guess = next;
  }
  return guess;
}

/** The first time strictly after `after` (epoch ms) at which `expression` fires in `timezone`. */
function nextRun(expression: string, timezone: string, after: number): number {
  const { fields, match } = matcherFor(expression, timezone);
  const seconds = fields.second;
  const minutes = fields.minute;
  const hours = fields.hour;
  const months = fields.month;
  let t = Math.floor(after / 1000) * 1000 + 1000;
  for (let guard = 0; guard < 200_000; guard++) {
    const w = wallTime(t, timezone);
    if (!months.includes(w.month)) {
      const next = w.month === 12 ? { year: w.year + 1, month: 1 } : { year: w.year, month: w.month + 1 };
      t = Math.max(t + 1000, instantOf({ ...next, day: 1, hour: 0, minute: 0, second: 0 }, timezone));
      continue;
    }
    if (!hours.includes(w.hour)) {
      const h = hours.find((x) => x > w.hour);
      if (h === undefined) t = startOfNextDay(w, t, timezone);
      else {
        // By wall time, so that a daylight-saving change between here and there is accounted for.
        const target = instantOf({ ...w, hour: h, minute: 0, second: 0 }, timezone);
        t = target > t ? target : t + ((h - w.hour) * 3600 - w.minute * 60 - w.second) * 1000;
      }
      continue;
    }
    if (!minutes.includes(w.minute)) {
      const m = minutes.find((x) => x > w.minute);
      t = m === undefined ? t + ((60 - w.minute) * 60 - w.second) * 1000 : t + ((m - w.minute) * 60 - w.second) * 1000;
      continue;
    }
    if (!seconds.includes(w.second)) {
      const s = seconds.find((x) => x > w.second);
      t = s === undefined ? t + (60 - w.second) * 1000 : t + (s - w.second) * 1000;
      continue;
    }
    // Month, hour, minute and second fit: only the day can still be wrong.
    if (match(new Date(t))) return t;
    t = startOfNextDay(w, t, timezone);
  }
  throw new Error(`cron expression "${expression}" has no run in the next years`);
}

function startOfNextDay(w: WallTime, t: number, timezone: string): number {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
  const start = instantOf({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0, second: 0 }, timezone);
  return Math.max(t + 1000, start);
}
