import { EventEmitter } from 'node:events';
import type { PollerSettings } from '../../config/schema.ts';
import { fusionRecords, MAX_PAGE_BYTES, readPurchaseOrderPage } from '../../connectors/fusion/purchase-orders.ts';
import type { ConnectorParts } from '../../connectors/types.ts';
import { GatewayError, isGatewayError } from '../../domain/errors.ts';
import type { XmlRecord } from '../../domain/event.ts';
import {
  nextPagePosition,
  PO_DEDUPE_SCOPE,
  PO_EVENT_CODE,
  purchaseOrderChange,
  purchaseOrderChangeHash,
  wholeSecond,
  type PagePosition,
} from '../../domain/purchase-order.ts';
import type { AcceptEvents, EventToAccept } from '../../services/accept-events.ts';
import type { PollerCursor, PollerRun, PollerRunState } from '../../domain/poller.ts';
import { JsonSyntaxError, parseJsonRecord } from '../webhooks/json.ts';
import type { ScheduledRunDeps } from '../../jobs/run-deps.ts';

/** The poller's name: its cursor, its runs and the `poller` label of omgw_poller_lag_seconds. */
const PO_POLLER = 'fusion-po';

/** Added to the time one page may take (two requests at the connector's timeout) to make a run's lease. */
const RUN_LEASE_MARGIN_MS = 60_000;

/** JSON nesting accepted in a page (items > lines > schedules > ship-to, with room to spare). */
const MAX_JSON_DEPTH = 32;

export interface PurchaseOrderPollerDeps extends ScheduledRunDeps {
  /** The running connectors' parts (auth, TLS, timeout), by name. */
  connector: (name: string) => ConnectorParts | undefined;
  /** Routes and stores each page's events, wakes the delivery worker (src/services/accept-events.ts). */
  accept: AcceptEvents;
}

/** What one run read and stored. */
export interface PollSummary {
  /** The first page asked for changes at or after this instant. */
  since: string;
  pages: number;
  /** Purchase orders read (all pages). */
  read: number;
  /** New events stored, routed to at least one connector / to none. */
  routed: number;
  unrouted: number;
  /** Changes stored before (an overlapping poll): acknowledged, not delivered again. */
  duplicates: number;
  /** Items without POHeaderId or a readable LastUpdateDate: not stored. */
  skipped: number;
  /** True when the run read to the end; false when it stopped at maxPages with more to read, or failed. */
  caughtUp: boolean;
}

export type PollOutcome =
  | { status: 'ran'; runId: string; state: 'ok' | 'failed'; summary: PollSummary; cursorBefore: string | null; cursorAfter: string | null; error: string | null }
  | { status: 'skipped'; reason: 'disabled' | 'already_ran' | 'busy' };

/** One run as the CLI and the admin API show it. */
export interface PollRunView {
  id: string;
  trigger: 'schedule' | 'manual';
  /** The scheduled slot (ISO time) of a scheduled run. */
  slot: string | null;
  state: PollerRunState;
  startedAt: string;
  finishedAt: string | null;
  cursorBefore: string | null;
  cursorAfter: string | null;
  summary: PollSummary | null;
  error: string | null;
}

export interface PollerStatus {
  poller: string;
  enabled: boolean;
  connector: string | null;
  /** The newest LastUpdateDate stored (as Fusion wrote it, and as an ISO time). */
  cursor: string | null;
  cursorAt: string | null;
  /** False while the last run stopped at maxPages with more to read. */
  caughtUp: boolean;
  runs: PollRunView[];
}

/** Emitted as 'run' after each run (metrics). */
export interface PollReport {
  poller: string;
  state: 'ok' | 'failed';
  source: 'fusion-po';
  eventCode: typeof PO_EVENT_CODE;
  /** Seconds between now and the newest change read so far (null before the first). */
  lagSeconds: number | null;
  summary: PollSummary;
}

/**
 * The purchase-order poller: reads Fusion's `purchaseOrders` changed since its cursor, oldest first,
 * page by page, and stores each purchase order as one `PurchaseOrderChanged` event (source
 * `fusion-po`, order key the PO number), routed by the trigger points like any event, with its
 * deliveries and audit record in one transaction. The cursor moves forward after each stored page.
 *
 * - Each run reads again from `overlap` before the cursor: Fusion stamps LastUpdateDate before the
 *   change commits, so a change can appear later with an earlier stamp. What was read before is
 *   recognised by (POHeaderId, LastUpdateDate) and recorded as a duplicate.
 * - A run stops after `maxPages`; the next one goes on right after what it read, without the overlap
 *   (a backlog larger than the overlap window would otherwise be read again every run), and the
 *   overlap applies again once a run has reached the end.
 * - A scheduled run claims its slot in `poller_runs`, so several instances poll once per slot; a run
 *   still going on this instance makes the next slot skip.
 * - A run holds a lease it renews with each page. A run whose instance died (the lease ran out while
 *   it was still `running`) is marked `interrupted` when the next run starts.
 * - A run that fails (Fusion refuses or does not answer, a page is not JSON, the store is down) keeps
 *   what it stored and its cursor; the next run starts there. Its error is in the run, the audit
 *   record (`poll.run`) and the log.
 */
export class PurchaseOrderPoller extends EventEmitter {
  readonly #deps: PurchaseOrderPollerDeps;
  #running = false;

  constructor(deps: PurchaseOrderPollerDeps) {
    super();
    this.#deps = deps;
  }

  /** The scheduled job for one slot. */
  async runScheduled(slot: number): Promise<PollOutcome> {
    if (!this.#settings().enabled) return { status: 'skipped', reason: 'disabled' };
    return this.#run(`schedule:${new Date(slot).toISOString()}`, 'schedule');
  }

  /** A run now, by an operator (also while the schedule is disabled, once a connector is configured). */
  async runNow(actor: string): Promise<PollOutcome> {
    return this.#run(null, actor);
  }

  /** The cursor and the latest runs, newest first. */
  async status(limit = 20): Promise<PollerStatus> {
    const { store } = this.#deps;
    const settings = this.#settings();
    const [cursor, runs] = await Promise.all([store.pollers.cursor(PO_POLLER), store.pollers.runs(PO_POLLER, limit)]);
    return {
      poller: PO_POLLER,
      enabled: settings.enabled,
      connector: settings.connector ?? null,
      cursor: cursor?.cursor ?? null,
      cursorAt: cursor ? new Date(cursor.cursorAt).toISOString() : null,
      caughtUp: cursor?.caughtUp ?? true,
      runs: runs.map(runView),
    };
  }

  #settings(): PollerSettings {
    return this.#deps.config().gateway.schedules.poller;
  }

  async #run(slotKey: string | null, actor: string): Promise<PollOutcome> {
    if (this.#running) {
      this.#deps.logger.info({ slot: slotKey }, 'poll skipped: the previous run is still going');
      return { status: 'skipped', reason: 'busy' };
    }
    this.#running = true;
    try {
      return await this.#poll(slotKey, actor);
    } finally {
      this.#running = false;
    }
  }

  async #poll(slotKey: string | null, actor: string): Promise<PollOutcome> {
    const { store, clock, logger } = this.#deps;
    const settings = this.#settings();
    if (settings.connector === undefined) throw new GatewayError('BAD_REQUEST', 'no connector to poll through: set schedules.poller.connector in gateway.yaml');
    const fusion = this.#deps.connector(settings.connector);
    if (!fusion) throw new GatewayError('BAD_REQUEST', `connector "${settings.connector}" (schedules.poller.connector) is not configured`);

    const startedAt = clock.now();
    await store.pollers.markInterrupted(PO_POLLER, startedAt);
    const cursor = await store.pollers.cursor(PO_POLLER);
    const position = startPosition(cursor, settings, startedAt);
    const runId = this.#deps.newId();
    // Longer than one page can take: a request, its retry after a 401, and storing the page.
    const lease = 2 * fusion.config.timeout + RUN_LEASE_MARGIN_MS;
    const claimed = await store.pollers.claimRun({
      id: runId,
      poller: PO_POLLER,
      slotKey: slotKey ?? `manual:${runId}`,
      owner: this.#deps.instanceId,
      now: startedAt,
      leaseUntil: startedAt + lease,
      cursorBefore: cursor?.cursor ?? null,
    });
    if (!claimed) {
      logger.info({ slot: slotKey }, 'poll skipped: another instance has this slot');
      return { status: 'skipped', reason: 'already_ran' };
    }

    const summary: PollSummary = { since: new Date(position.second).toISOString(), pages: 0, read: 0, routed: 0, unrouted: 0, duplicates: 0, skipped: 0, caughtUp: false };
    let newest: { cursor: string; cursorAt: number } | null = cursor;
    let error: string | null = null;
    try {
      let at = position;
      while (summary.pages < settings.maxPages) {
        const page = await this.#readPage(fusion, settings, at);
        summary.pages++;
        summary.read += page.items.length;
        const stored = await this.#store(page.items);
        summary.routed += stored.routed;
        summary.unrouted += stored.unrouted;
        summary.duplicates += stored.duplicates;
        summary.skipped += stored.skipped;
        if (stored.newest && (newest === null || stored.newest.at > newest.cursorAt)) newest = { cursor: stored.newest.lastUpdateDate, cursorAt: stored.newest.at };
        const done = !page.hasMore || page.items.length === 0;
        if (!done) at = nextPagePosition(at, page.items.map((item) => purchaseOrderChange(item)?.at ?? null));
        // After the page is stored: a crash before this reads the page again, and it is deduplicated.
        if (newest) {
          // A run that stops here resumes at the cursor's second, past what it read of that second.
          const resumeSkip = !done && at.second === wholeSecond(newest.cursorAt) ? at.skip : 0;
          await store.pollers.advance(PO_POLLER, { ...newest, caughtUp: done, resumeSkip }, clock.now());
        }
        await store.pollers.renewRun(runId, clock.now() + lease);
        if (done) {
          summary.caughtUp = true;
          break;
        }
      }
    } catch (err) {
      error = runError(err);
      logger.error({ err, runId, summary }, 'purchase-order poll failed; what it stored stays, the next run goes on from the cursor');
    }

    const now = clock.now();
    const state = error === null ? 'ok' : 'failed';
    const cursorAfter = newest?.cursor ?? null;
    await store.pollers.finishRun(
      runId,
      { now, state, cursorAfter, summary, error },
      {
        id: this.#deps.newId(),
        at: now,
        direction: 'in',
        action: 'poll.run',
        sourceSystem: 'fusion',
        connector: settings.connector,
        result: state,
        actor,
        detail: { runId, slot: slotKey, cursorBefore: cursor?.cursor ?? null, cursorAfter, ...summary, error },
      },
    );
    logger.info({ runId, slot: slotKey, ...summary, cursorAfter, durationMs: now - startedAt, error }, 'purchase-order poll ended');
    const report: PollReport = { poller: PO_POLLER, state, source: 'fusion-po', eventCode: PO_EVENT_CODE, lagSeconds: newest ? Math.max(0, (now - newest.cursorAt) / 1000) : null, summary };
    this.emit('run', report);
    return { status: 'ran', runId, state, summary, cursorBefore: cursor?.cursor ?? null, cursorAfter, error };
  }

  /** One page, parsed with every number kept as Fusion wrote it (POHeaderId exceeds 2^53). */
  async #readPage(fusion: ConnectorParts, settings: PollerSettings, position: PagePosition): Promise<{ items: XmlRecord[]; hasMore: boolean }> {
    const page = await readPurchaseOrderPage(fusion, { since: position.second, filter: settings.filter, expand: settings.expand, limit: settings.pageSize, offset: position.skip });
    if (!page.ok) {
      const r = page.result;
      throw new Error(`Fusion purchaseOrders: ${r.errorMessage ?? `HTTP ${r.status ?? '?'}`}${r.bodySnippet ? ` (${r.bodySnippet.slice(0, 200)})` : ''}`);
    }
    if (Buffer.byteLength(page.body) >= MAX_PAGE_BYTES) {
      throw new Error(`Fusion purchaseOrders: a page of ${settings.pageSize} is ${MAX_PAGE_BYTES} bytes or more; lower schedules.poller.pageSize`);
    }
    let doc: XmlRecord;
    try {
      doc = parseJsonRecord(page.body, { maxDepth: MAX_JSON_DEPTH });
    } catch (err) {
      throw new Error(`Fusion purchaseOrders answered with a body that is not JSON${err instanceof JsonSyntaxError ? `: ${err.message}` : ''}`);
    }
    if (!('items' in doc)) throw new Error('Fusion purchaseOrders answered without an items collection');
    return { items: fusionRecords(doc.items), hasMore: doc.hasMore === 'true' };
  }

  /** Stores a page's purchase orders as events, in one request (group commit, split if large). */
  async #store(items: XmlRecord[]): Promise<{ routed: number; unrouted: number; duplicates: number; skipped: number; newest: { lastUpdateDate: string; at: number } | null }> {
    const { clock, logger } = this.#deps;
    const now = clock.now();
    const events: EventToAccept[] = [];
    let skipped = 0;
    let newest: { lastUpdateDate: string; at: number } | null = null;
    for (const [position, item] of items.entries()) {
      const change = purchaseOrderChange(item);
      if (!change) {
        skipped++;
        logger.warn({ position, poHeaderId: typeof item.POHeaderId === 'string' ? item.POHeaderId.slice(0, 40) : null }, 'purchase order without POHeaderId or a readable LastUpdateDate: not stored');
        continue;
      }
      if (newest === null || change.at > newest.at) newest = { lastUpdateDate: change.lastUpdateDate, at: change.at };
      events.push({
        eventCode: PO_EVENT_CODE,
        orderKey: change.orderKey,
        sourceSystem: null,
        position,
        fields: item,
        payload: JSON.stringify(item),
        // The payload keeps every field (numbers as Fusion wrote them); the page itself is not kept.
        raw: null,
        dedupeScope: PO_DEDUPE_SCOPE,
        contentHash: purchaseOrderChangeHash(change),
      });
    }
    const counts = { routed: 0, unrouted: 0, duplicates: 0, skipped, newest };
    if (events.length === 0) return counts;
    const outcome = await this.#deps.accept.accept({ source: 'fusion-po', receivedAt: now, requestId: null, events });
    for (const e of outcome.events) {
      if (e.status === 'duplicate') counts.duplicates++;
      else if (e.status === 'unrouted') counts.unrouted++;
      else counts.routed++;
    }
    return counts;
  }
}

/**
 * Where a run starts: `overlap` before the cursor; right after what the last run read when that run
 * stopped at its page limit; `initialLookback` before now on the first run.
 */
function startPosition(cursor: PollerCursor | null, settings: Pick<PollerSettings, 'overlap' | 'initialLookback'>, now: number): PagePosition {
  if (cursor === null) return { second: wholeSecond(now - settings.initialLookback), skip: 0 };
  if (!cursor.caughtUp) return { second: wholeSecond(cursor.cursorAt), skip: cursor.resumeSkip };
  return { second: wholeSecond(cursor.cursorAt - settings.overlap), skip: 0 };
}

/**
 * A failed run's error as the operator reads it in the run and its audit record: a store failure in
 * the store's own words (the typed error's message is written for a sender, and a poll has none).
 */
function runError(err: unknown): string {
  const shown = isGatewayError(err) && err.code === 'STORE_UNAVAILABLE' && err.cause !== undefined ? err.cause : err;
  return shown instanceof Error ? shown.message : String(shown);
}

function runView(run: PollerRun): PollRunView {
  const scheduled = run.slotKey.startsWith('schedule:');
  return {
    id: run.id,
    trigger: scheduled ? 'schedule' : 'manual',
    slot: scheduled ? run.slotKey.slice('schedule:'.length) : null,
    state: run.state,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    cursorBefore: run.cursorBefore,
    cursorAfter: run.cursorAfter,
    summary: run.summary === null ? null : (JSON.parse(run.summary) as PollSummary),
    error: run.error,
  };
}
