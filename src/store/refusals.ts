import { clip, clipDeep } from '../domain/clip.ts';
import type { Clock } from '../domain/clock.ts';
import type { AuditInput } from './rows/audit.ts';

/**
 * Refusals (a push or webhook turned away) are audited, but a flood of them must not cost the
 * gateway a row per request. Refusals are folded per clock minute and per (source, action, result):
 * the first one of a minute is written at once with `detail.count` 1; the rest of that minute only
 * count up in memory, and the record's `detail.count` (and `detail.lastAt`) is rewritten once when the
 * minute has closed (or on flush). That rewrite is the only change ever made to an audit record.
 *
 * Memory is bounded: at most MAX_SOURCES_PER_MINUTE sources are told apart within one minute; refusals
 * from any further source fold into one record whose remoteAddr is `other`. A minute's folds are
 * dropped once written (or once the write failed: the record then stands with the count it had).
 */
const MINUTE_MS = 60_000;
const MAX_SOURCES_PER_MINUTE = 1_000;
const OTHER_SOURCE = 'other';

export interface RefusalInput extends AuditInput {
  /** Where the refusal came from (the remote address), null when unknown: folding is per source. */
  source: string | null;
  detail: Record<string, unknown>;
}

type StoredRefusal = AuditInput & { detail: Record<string, unknown> };

/** What the folder writes through: the audit table, behind the store. */
export interface RefusalSink {
  insert(record: StoredRefusal): Promise<void>;
  rewriteDetail(id: string, detail: Record<string, unknown>): Promise<void>;
}

interface Fold {
  record: StoredRefusal;
  count: number;
  written: number;
  lastAt: number;
  /** Settles true once the record is in, false if it could not be written. */
  stored: Promise<boolean>;
}

interface Minute {
  folds: Map<string, Fold>;
  sources: Set<string>;
}

/**
 * The audit table's column widths (src/store/migrations/001_initial.ts): PostgreSQL refuses a longer
 * value, which would lose the refusal's record altogether.
 */
const WIDTHS = { action: 60, sourceSystem: 100, result: 40, requestId: 64, actor: 200, connector: 63 } as const;

function fit(value: string, width: number): string {
  return value.length > width ? clip(value, width - 1) : value;
}

function fitOrNull(value: string | null | undefined, width: number): string | null {
  return value === null || value === undefined ? null : fit(value, width);
}

/**
 * A refusal as it is stored: every client-chosen string in it clipped to a few hundred characters.
 * This is the one place that does it, so no caller can forget.
 */
function clipRefusal(input: RefusalInput, source: string): StoredRefusal {
  const detail = clipDeep(input.detail) as Record<string, unknown>;
  if (source === OTHER_SOURCE) detail.remoteAddr = OTHER_SOURCE;
  return {
    id: input.id,
    at: input.at,
    direction: input.direction,
    action: fit(input.action, WIDTHS.action),
    sourceSystem: fitOrNull(input.sourceSystem, WIDTHS.sourceSystem),
    // A name longer than the column cannot be a configured connector's: the column stays empty, and
    // the clipped path in the detail still shows what was asked for.
    connector: input.connector && input.connector.length <= WIDTHS.connector ? input.connector : null,
    eventId: input.eventId ?? null,
    deliveryId: input.deliveryId ?? null,
    result: fit(input.result, WIDTHS.result),
    detail: { ...detail, count: 1 },
    requestId: fitOrNull(input.requestId, WIDTHS.requestId),
    actor: fitOrNull(input.actor, WIDTHS.actor),
  };
}

export class RefusalFolder {
  readonly #sink: RefusalSink;
  readonly #maxSources: number;
  readonly #minutes = new Map<number, Minute>();

  constructor(sink: RefusalSink, options: { maxSourcesPerMinute?: number } = {}) {
    this.#sink = sink;
    this.#maxSources = options.maxSourcesPerMinute ?? MAX_SOURCES_PER_MINUTE;
  }

  /**
   * Records one refusal: written now when it is the first of its minute, source, action and result,
   * else counted. True when its record is stored. Never throws: a refusal must stay a refusal.
   */
  async record(input: RefusalInput): Promise<boolean> {
    const minute = Math.floor(input.at / MINUTE_MS);
    // Closed minutes are written out first, so a steady trickle needs no timer.
    if ([...this.#minutes.keys()].some((m) => m < minute)) await this.flush(input.at);
    let bucket = this.#minutes.get(minute);
    if (!bucket) {
      bucket = { folds: new Map(), sources: new Set() };
      this.#minutes.set(minute, bucket);
    }
    let source = input.source ?? 'unknown';
    if (!bucket.sources.has(source)) {
      if (bucket.sources.size >= this.#maxSources) source = OTHER_SOURCE;
      bucket.sources.add(source);
    }
    const key = JSON.stringify([source, input.action, input.result]);
    const folded = bucket.folds.get(key);
    if (folded) {
      folded.count += 1;
      folded.lastAt = Math.max(folded.lastAt, input.at);
      return folded.stored;
    }
    const record = clipRefusal(input, source);
    const fold: Fold = {
      record,
      count: 1,
      written: 1,
      lastAt: input.at,
      stored: this.#sink.insert(record).then(
        () => true,
        () => false,
      ),
    };
    bucket.folds.set(key, fold);
    const stored = await fold.stored;
    // Not stored (the database is down): the next refusal of this kind tries again.
    if (!stored && bucket.folds.get(key) === fold) bucket.folds.delete(key);
    return stored;
  }

  /**
   * Writes the counts of every minute that closed before `now`, or of every minute when `now` is
   * left out (at stop). Never throws.
   */
  async flush(now?: number): Promise<void> {
    const before = now === undefined ? Infinity : Math.floor(now / MINUTE_MS);
    const due: Fold[] = [];
    for (const [minute, bucket] of this.#minutes) {
      if (minute >= before) continue;
      // Taken out before any await: a second flush running meanwhile cannot write the same folds.
      this.#minutes.delete(minute);
      for (const fold of bucket.folds.values()) if (fold.count > fold.written) due.push(fold);
    }
    await Promise.all(
      due.map(async (fold) => {
        if (!(await fold.stored)) return;
        fold.written = fold.count;
        await this.#sink.rewriteDetail(fold.record.id, { ...fold.record.detail, count: fold.count, lastAt: fold.lastAt }).catch(() => undefined);
      }),
    );
  }

  /** Sources and folds held in memory now (for tests and the bound). */
  get held(): { minutes: number; folds: number } {
    let folds = 0;
    for (const bucket of this.#minutes.values()) folds += bucket.folds.size;
    return { minutes: this.#minutes.size, folds };
  }
}

/**
 * Flushes the folder shortly after each clock minute closes, until `signal` aborts. It waits on the
 * injected clock, so tests move time instead of waiting (and may call flush() themselves).
 */
export async function flushEachMinute(folder: Pick<RefusalFolder, 'flush'>, clock: Clock, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await clock.sleep(MINUTE_MS - (clock.now() % MINUTE_MS) + 1, signal);
    if (signal.aborted) return;
    await folder.flush(clock.now());
  }
}
