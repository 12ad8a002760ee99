import type { Router } from '@koa/router';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallbackRefusal } from '../domain/callback.ts';
import type { Clock } from '../domain/clock.ts';
import { DELIVERY_STATES } from '../domain/delivery.ts';
import { PARK_REASONS } from '../domain/retry.ts';
import { INSTANCE_STATES, type InstanceView } from '../domain/instance.ts';
import { OM_EVENT_CODES } from '../domain/event.ts';
import { PO_EVENT_CODE } from '../domain/purchase-order.ts';
import { SHIPBOB_TOPICS } from '../domain/shipbob-webhook.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';

/**
 * The gateway's Prometheus metrics, in a Registry of its own (never prom-client's global one), built
 * when a Gateway starts (nothing at import).
 *
 * Two kinds:
 * - counters and the latency histogram count what happened in *this* instance (pushes answered,
 *   events stored, attempts made, recovery runs ended);
 * - gauges about the queue (deliveries by state, due depth, oldest due age, parked, circuit state,
 *   the last recovery run) and the instances (their states, heartbeat ages, leases) are read from
 *   the shared store when scraped, cached for `cacheMs`, so every instance reports the same,
 *   cluster-wide, values.
 */

/**
 * The event codes the `event_code` label may take. The code comes from the client's payload, and
 * each distinct label value is a time series held for the life of the process: anything else is
 * counted as `other`.
 */
const KNOWN_EVENT_CODES: ReadonlySet<string> = new Set([...OM_EVENT_CODES, ...SHIPBOB_TOPICS, PO_EVENT_CODE]);

function eventCodeLabel(code: string): string {
  return KNOWN_EVENT_CODES.has(code) ? code : 'other';
}

/** What the SOAP route reports for each push it answers. */
export interface PushReport {
  /** `accepted`, or the fault code in lower case (`auth_failed`, `xml_malformed`, ...). */
  result: string;
  /** The events stored (empty for a refused push). */
  events: ReadonlyArray<{ eventCode: string; status: string }>;
}

/** What the worker reports for each attempt (a subset of AttemptReport). */
export interface AttemptObservation {
  connector: string;
  outcome: string;
  durationMs: number;
}

/** What the callback service reports for each callback it answered (src/services/callbacks.ts). */
export interface CallbackObservation {
  connector: string;
  outcome: string;
  /** Seconds from the accepted request to the callback, when the delivery awaited it. */
  responseSeconds: number | null;
}

export interface RecoveryObservation {
  trigger: string;
  state: string;
  selected: number;
  replayed: number;
  skipped: number;
}

/** What a poller run reports (src/inbound/poller/). */
export interface PollObservation {
  poller: string;
  state: string;
  source: string;
  eventCode: string;
  lagSeconds: number | null;
  summary: { routed: number; unrouted: number; duplicates: number };
}

export interface MetricsDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** The configured connector names: each gets a zero rather than no series. */
  connectors: () => string[];
  /** How long store-read gauges are reused between scrapes (default 5 s). */
  cacheMs?: number;
  /** Node.js process metrics (CPU, memory, event loop) in the same registry (default true). */
  processMetrics?: boolean;
  /** Bytes of SOAP push bodies held now, and how many may be (the body budget). */
  pushBodies?: () => BudgetReading;
  /** Bytes of signed bodies held before their signatures are checked, and how many may be (the signed-body budget). */
  signedBodies?: () => BudgetReading;
  /** The instances sharing the database, with their state and holdings (src/services/instances.ts); none when absent. */
  instances?: () => Promise<readonly InstanceView[]>;
}

/** What a body budget holds now and may hold at once, in bytes. */
export interface BudgetReading {
  held: number;
  capacity: number;
}

const CIRCUIT_VALUE: Record<string, number> = { closed: 0, half_open: 1, open: 2 };

export class GatewayMetrics {
  readonly registry: Registry;
  readonly #deps: MetricsDeps;
  readonly #cacheMs: number;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | null = null;

  readonly #pushes: Counter<'result'>;
  readonly #webhooks: Counter<'source' | 'result'>;
  readonly #events: Counter<'source' | 'event_code' | 'status'>;
  readonly #attempts: Counter<'connector' | 'outcome'>;
  readonly #attemptSeconds: Histogram<'connector' | 'outcome'>;
  readonly #callbacks: Counter<'connector' | 'outcome'>;
  readonly #callbackSeconds: Histogram<'connector'>;
  readonly #recoveryRuns: Counter<'trigger' | 'state'>;
  readonly #recoveryDeliveries: Counter<'result'>;
  readonly #retentionRemoved: Counter<'kind'>;
  readonly #storeErrors: Counter;
  readonly #deliveries: Gauge<'connector' | 'state'>;
  readonly #queueDepth: Gauge<'connector'>;
  readonly #oldestDue: Gauge<'connector'>;
  readonly #parked: Gauge<'connector'>;
  readonly #parkedByReason: Gauge<'connector' | 'reason'>;
  readonly #circuit: Gauge<'connector'>;
  readonly #online: Gauge<'connector'>;
  readonly #lastRunAt: Gauge;
  readonly #lastRun: Gauge<'kind'>;
  readonly #pollerLag: Gauge<'poller'>;
  readonly #pollRuns: Counter<'poller' | 'state'>;
  readonly #instances: Gauge<'state'>;
  readonly #heartbeatAge: Gauge<'instance'>;
  readonly #instanceLeases: Gauge<'instance'>;
  readonly #instanceLeaseAge: Gauge<'instance'>;

  constructor(deps: MetricsDeps) {
    this.#deps = deps;
    this.#cacheMs = deps.cacheMs ?? 5_000;
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    const fromStore = async (): Promise<void> => this.#refresh();

    this.#pushes = new Counter({ name: 'omgw_pushes_received_total', help: 'SOAP pushes answered, by result (accepted, or the fault code)', labelNames: ['result'], registers });
    this.#webhooks = new Counter({ name: 'omgw_webhooks_received_total', help: 'Webhooks answered, by source and result', labelNames: ['source', 'result'], registers });
    this.#events = new Counter({ name: 'omgw_events_received_total', help: 'Events stored, by source, event code and status (routed, unrouted, duplicate)', labelNames: ['source', 'event_code', 'status'], registers });
    this.#attempts = new Counter({ name: 'omgw_delivery_attempts_total', help: 'Delivery attempts, by connector and outcome (delivered, retry, parked, accepted: an async target took the request)', labelNames: ['connector', 'outcome'], registers });
    this.#attemptSeconds = new Histogram({
      name: 'omgw_delivery_attempt_duration_seconds',
      help: 'Duration of delivery attempts (request to the target and its answer), by connector and outcome',
      labelNames: ['connector', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#callbacks = new Counter({
      name: 'omgw_callbacks_total',
      help: 'Callbacks of async connectors answered, by connector and outcome (completed, late, unmatched, duplicate, invalid; refused: auth_failed, too_large, busy, malformed, unsupported_media_type, client_aborted, error)',
      labelNames: ['connector', 'outcome'],
      registers,
    });
    this.#callbackSeconds = new Histogram({
      name: 'omgw_callback_response_seconds',
      help: "Time from an async connector's accepted request to the callback that completed it, by connector",
      labelNames: ['connector'],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600],
      registers,
    });
    this.#recoveryRuns = new Counter({ name: 'omgw_recovery_runs_total', help: 'Recovery runs this instance ended, by trigger (schedule, manual) and state (finished, interrupted)', labelNames: ['trigger', 'state'], registers });
    this.#recoveryDeliveries = new Counter({ name: 'omgw_recovery_deliveries_total', help: 'Deliveries of recovery runs this instance ended, by result (selected, replayed, skipped)', labelNames: ['result'], registers });
    this.#retentionRemoved = new Counter({ name: 'omgw_retention_removed_total', help: 'Rows removed by the retention job, by kind', labelNames: ['kind'], registers });
    const budgetGauge = (name: string, help: string, read: (() => BudgetReading) | undefined): void => {
      if (!read) return;
      new Gauge({
        name,
        help,
        labelNames: ['kind'],
        registers,
        collect() {
          const { held, capacity } = read();
          this.set({ kind: 'held' }, held);
          this.set({ kind: 'capacity' }, capacity);
        },
      });
    };
    budgetGauge('omgw_push_body_bytes', 'Bytes of SOAP push bodies this instance holds now (held) and may hold at once (capacity, inbound.soap.bodyBudget)', deps.pushBodies);
    budgetGauge(
      'omgw_signed_body_bytes',
      'Bytes of signed bodies (ShipBob webhooks, signed callbacks) this instance holds now before their signatures are checked (held) and may hold at once (capacity, inbound.webhooks.bodyBudget)',
      deps.signedBodies,
    );
    this.#storeErrors = new Counter({ name: 'omgw_metrics_store_errors_total', help: 'Scrapes whose store-read gauges could not be refreshed (the last values are kept)', registers });

    this.#deliveries = new Gauge({ name: 'omgw_deliveries', help: 'Deliveries in the store, by connector and state', labelNames: ['connector', 'state'], registers, collect: fromStore });
    this.#queueDepth = new Gauge({ name: 'omgw_queue_depth', help: 'Deliveries due now (pending or retrying, next attempt time reached), by connector', labelNames: ['connector'], registers, collect: fromStore });
    this.#oldestDue = new Gauge({ name: 'omgw_queue_oldest_due_age_seconds', help: 'How long the longest-waiting due delivery has been due, by connector (0 when none)', labelNames: ['connector'], registers, collect: fromStore });
    this.#parked = new Gauge({ name: 'omgw_parked_deliveries', help: 'Deliveries in the parking lot, by connector', labelNames: ['connector'], registers, collect: fromStore });
    this.#parkedByReason = new Gauge({
      name: 'omgw_parked_deliveries_by_reason',
      help: 'Deliveries in the parking lot, by connector and why they parked (change_refused: the target can no longer make the change, a person must act)',
      labelNames: ['connector', 'reason'],
      registers,
      collect: fromStore,
    });
    this.#circuit = new Gauge({ name: 'omgw_connector_circuit_state', help: 'Circuit breaker state by connector: 0 closed, 1 half open, 2 open', labelNames: ['connector'], registers, collect: fromStore });
    this.#online = new Gauge({ name: 'omgw_connector_online', help: 'Connector maintenance state: 1 online, 0 offline', labelNames: ['connector'], registers, collect: fromStore });
    this.#lastRunAt = new Gauge({ name: 'omgw_recovery_last_run_timestamp_seconds', help: 'When the latest recovery run started (0 when none yet)', registers, collect: fromStore });
    this.#lastRun = new Gauge({
      name: 'omgw_recovery_last_run_deliveries',
      help: 'The latest recovery run: deliveries selected, replayed, skipped, still failing (parked again) and delivered since',
      labelNames: ['kind'],
      registers,
      collect: fromStore,
    });
    this.#pollerLag = new Gauge({ name: 'omgw_poller_lag_seconds', help: 'How far a poller is behind (now minus the newest change it has read, at its latest run), by poller', labelNames: ['poller'], registers });
    this.#instances = new Gauge({ name: 'omgw_instances', help: 'Gateway instances sharing the database, by state (live, stale, stopped)', labelNames: ['state'], registers, collect: fromStore });
    this.#heartbeatAge = new Gauge({
      name: 'omgw_instance_heartbeat_age_seconds',
      help: 'Time since the last heartbeat of each instance not stopped (live or stale)',
      labelNames: ['instance'],
      registers,
      collect: fromStore,
    });
    this.#instanceLeases = new Gauge({ name: 'omgw_instance_leases', help: 'Deliveries each instance not stopped holds in flight (its leases)', labelNames: ['instance'], registers, collect: fromStore });
    this.#instanceLeaseAge = new Gauge({
      name: 'omgw_instance_oldest_lease_age_seconds',
      help: 'How long the longest-held delivery of each instance not stopped has been held (0 when it holds none)',
      labelNames: ['instance'],
      registers,
      collect: fromStore,
    });
    this.#pollRuns = new Counter({ name: 'omgw_poll_runs_total', help: 'Poller runs this instance ended, by poller and state (ok, failed)', labelNames: ['poller', 'state'], registers });

    if (deps.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  /** The Prometheus text exposition of every metric. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  recordPush(report: PushReport): void {
    this.#pushes.inc({ result: report.result });
    for (const e of report.events) this.#events.inc({ source: 'oracle-om', event_code: eventCodeLabel(e.eventCode), status: e.status });
  }

  /** For the webhook receivers: one call per webhook answered, and per event it stored. */
  recordWebhook(source: string, result: string, events: ReadonlyArray<{ eventCode: string; status: string }> = []): void {
    this.#webhooks.inc({ source, result });
    for (const e of events) this.#events.inc({ source, event_code: eventCodeLabel(e.eventCode), status: e.status });
  }

  recordAttempt(a: AttemptObservation): void {
    const labels = { connector: a.connector, outcome: a.outcome };
    this.#attempts.inc(labels);
    this.#attemptSeconds.observe(labels, Math.max(0, a.durationMs) / 1000);
  }

  /** A callback of a configured async connector refused at the edge (a closed set of reasons, domain/callback.ts). */
  recordCallbackRefusal(connector: string, refusal: CallbackRefusal): void {
    this.#callbacks.inc({ connector, outcome: refusal });
  }

  recordCallback(c: CallbackObservation): void {
    this.#callbacks.inc({ connector: c.connector, outcome: c.outcome });
    if (c.responseSeconds !== null) this.#callbackSeconds.observe({ connector: c.connector }, Math.max(0, c.responseSeconds));
  }

  recordRecoveryRun(run: RecoveryObservation): void {
    this.#recoveryRuns.inc({ trigger: run.trigger, state: run.state });
    this.#recoveryDeliveries.inc({ result: 'selected' }, run.selected);
    this.#recoveryDeliveries.inc({ result: 'replayed' }, run.replayed);
    this.#recoveryDeliveries.inc({ result: 'skipped' }, run.skipped);
    this.#refreshedAt = Number.NEGATIVE_INFINITY;
  }

  recordRetention(removed: Readonly<Record<string, number>>): void {
    for (const [kind, n] of Object.entries(removed)) if (n > 0) this.#retentionRemoved.inc({ kind }, n);
    this.#refreshedAt = Number.NEGATIVE_INFINITY;
  }

  /** For the pollers: seconds behind the source. */
  setPollerLag(poller: string, seconds: number): void {
    this.#pollerLag.set({ poller }, seconds);
  }

  /** One poller run: its state, the events it stored, how far behind it is. */
  recordPoll(report: PollObservation): void {
    this.#pollRuns.inc({ poller: report.poller, state: report.state });
    const s = report.summary;
    for (const [status, n] of [['routed', s.routed], ['unrouted', s.unrouted], ['duplicate', s.duplicates]] as const) {
      if (n > 0) this.#events.inc({ source: report.source, event_code: eventCodeLabel(report.eventCode), status }, n);
    }
    if (report.lagSeconds !== null) this.setPollerLag(report.poller, report.lagSeconds);
    this.#refreshedAt = Number.NEGATIVE_INFINITY;
  }

  /** Forget cached store reads (tests, after a change they want to see at once). */
  invalidate(): void {
    this.#refreshedAt = Number.NEGATIVE_INFINITY;
  }

  /** Refreshes the store-read gauges once per cache period; concurrent collectors share one refresh. */
  async #refresh(): Promise<void> {
    // The cache runs on wall time: it bounds the load scrapes put on the store, whatever the clock says.
    if (Date.now() - this.#refreshedAt < this.#cacheMs) return;
    if (!this.#refreshing) {
      this.#refreshing = this.#readStore()
        .catch((err: unknown) => {
          this.#storeErrors.inc();
          this.#deps.logger.warn({ err }, 'metrics: the store could not be read; keeping the last values');
        })
        .finally(() => {
          this.#refreshing = null;
        });
    }
    await this.#refreshing;
  }

  async #readStore(): Promise<void> {
    const { store, clock } = this.#deps;
    const now = clock.now();
    const [counts, parked, queues, states, runs, instances] = await Promise.all([
      store.browse.deliveryCounts(),
      store.browse.parkedByReason(),
      store.browse.dueByConnector(now),
      store.connectorStates.all(),
      store.recoveryRuns.history(1),
      this.#deps.instances?.() ?? [],
    ]);
    const names = new Set([...this.#deps.connectors(), ...counts.map((c) => c.connector), ...states.map((s) => s.connector)]);

    this.#deliveries.reset();
    this.#queueDepth.reset();
    this.#oldestDue.reset();
    this.#parked.reset();
    this.#parkedByReason.reset();
    this.#circuit.reset();
    this.#online.reset();
    for (const connector of names) {
      for (const state of DELIVERY_STATES) this.#deliveries.set({ connector, state }, 0);
      this.#queueDepth.set({ connector }, 0);
      this.#oldestDue.set({ connector }, 0);
      this.#parked.set({ connector }, 0);
      for (const reason of PARK_REASONS) this.#parkedByReason.set({ connector, reason }, 0);
    }
    for (const p of parked) this.#parkedByReason.set({ connector: p.connector, reason: p.reason }, p.count);
    for (const c of counts) {
      this.#deliveries.set({ connector: c.connector, state: c.state }, c.count);
      if (c.state === 'parked') this.#parked.set({ connector: c.connector }, c.count);
    }
    for (const [connector, q] of queues) {
      this.#queueDepth.set({ connector }, q.due);
      this.#oldestDue.set({ connector }, q.oldestDueAt === null ? 0 : Math.max(0, now - q.oldestDueAt) / 1000);
    }
    for (const s of states) {
      this.#circuit.set({ connector: s.connector }, CIRCUIT_VALUE[s.circuit] ?? 0);
      this.#online.set({ connector: s.connector }, s.adminState === 'online' ? 1 : 0);
    }
    const last = runs[0];
    this.#lastRun.reset();
    this.#lastRunAt.set(last ? last.startedAt / 1000 : 0);
    for (const [kind, value] of [
      ['selected', last?.selected],
      ['replayed', last?.replayed],
      ['skipped', last?.skipped],
      ['still_failing', last?.stillFailing],
      ['delivered', last?.delivered],
    ] as const) {
      this.#lastRun.set({ kind }, value ?? 0);
    }
    this.#instances.reset();
    this.#heartbeatAge.reset();
    this.#instanceLeases.reset();
    this.#instanceLeaseAge.reset();
    for (const state of INSTANCE_STATES) this.#instances.set({ state }, instances.filter((i) => i.state === state).length);
    // Stopped instances get no series: their ids would pile up, one per process run, until forgotten.
    for (const i of instances.filter((x) => x.state !== 'stopped')) {
      this.#heartbeatAge.set({ instance: i.id }, i.heartbeatAgeMs / 1000);
      this.#instanceLeases.set({ instance: i.id }, i.inFlight);
      this.#instanceLeaseAge.set({ instance: i.id }, (i.oldestLeaseAgeMs ?? 0) / 1000);
    }
    this.#refreshedAt = Date.now();
  }
}

/** `GET /metrics`: the Prometheus text format. */
export function registerMetricsRoute(router: Router, metrics: GatewayMetrics): void {
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await metrics.scrape();
    ctx.type = contentType;
    ctx.body = body;
  });
}
