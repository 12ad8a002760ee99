import type { AttemptReport, DeliveryWorker } from '../delivery/worker.ts';
import type { InstanceHeartbeat } from '../jobs/heartbeat.ts';
import type { Jobs, PollReport } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { DueListener, Store } from '../store/index.ts';

/**
 * The gateway's background runners, and the order they start and stop in: the instance's heartbeat,
 * the delivery worker (claims, sends, and at housekeeping the sweep of async deliveries past their
 * response deadline) with its wake-ups from the database, and the scheduler of the recovery run,
 * retention and the purchase-order poller.
 *
 * Apart from app.ts because a graceful stop (SIGTERM) rests on this order and it reads best on its
 * own: the schedules stop first; the worker stops only after the listener has closed (app.ts), so no
 * request adds work while it finishes the deliveries in flight; the heartbeat marks the instance
 * stopped last, once it holds no lease. The runners are built by app.ts, the composition root, and
 * handed here; nothing here reads the config.
 */
export class BackgroundRunners {
  readonly #store: Store;
  readonly #logger: Logger;
  /** This instance's entry in the store's list of instances (null until started). */
  #heartbeat: InstanceHeartbeat | null = null;
  #jobs: Jobs | null = null;
  #worker: DeliveryWorker | null = null;
  /** Stops listening for deliveries made due elsewhere. */
  #stopWakeups: (() => void) | null = null;

  constructor(store: Store, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /** The delivery worker (null when delivery is disabled or the gateway is not started). */
  get worker(): DeliveryWorker | null {
    return this.#worker;
  }

  /** Scheduler, recovery run, retention job and purchase-order poller (null until started). */
  get jobs(): Jobs | null {
    return this.#jobs;
  }

  /** Right after the migrations, before anything else is built: the instance is listed before it takes work. */
  async startHeartbeat(heartbeat: InstanceHeartbeat): Promise<void> {
    this.#heartbeat = heartbeat;
    await heartbeat.start();
  }

  /** The jobs, built with the services; each run is counted. Their schedules start last (start()). */
  adoptJobs(jobs: Jobs, metrics: GatewayMetrics): void {
    this.#jobs = jobs;
    jobs.recovery.on('run', (run: { trigger: string; state: string; selected: number; replayed: number; skipped: number }) => metrics.recordRecoveryRun(run));
    jobs.retention.on('run', (removed: Record<string, number>) => metrics.recordRetention(removed));
    jobs.poller.on('run', (report: PollReport) => metrics.recordPoll(report));
  }

  /** Once the listener is up: the worker (null when delivery is disabled) and its wake-ups, then the schedules. */
  start(worker: DeliveryWorker | null, metrics: GatewayMetrics): void {
    if (worker) {
      this.#worker = worker;
      worker.on('attempt', (a: AttemptReport) => metrics.recordAttempt(a));
      worker.start();
      // Deliveries made due by another instance or a CLI command (PostgreSQL) leave at once, not at the next poll.
      this.#stopWakeups = this.#store.onDeliveriesDue(wakeupListener(this.#logger, (connector) => this.#worker?.notify(connector)));
    }
    this.#jobs?.scheduler.start();
  }

  /** After a reload (the runtimes rebuilt): the worker looks again, the schedules follow the config, the heartbeat writes its version. */
  async reconfigure(): Promise<void> {
    this.#worker?.notify();
    this.#jobs?.reconfigure();
    await this.#heartbeat?.configChanged();
  }

  /** The first step of a stop, before the listener closes: no scheduled run starts any more. */
  async stopSchedules(): Promise<void> {
    if (this.#jobs) {
      await this.#jobs.scheduler.stop();
      this.#jobs = null;
    }
  }

  /**
   * After the listener has closed: no more wake-ups, the worker finishes the deliveries in flight,
   * then the instance is shown stopped (after the worker: once it holds no lease).
   */
  async drain(): Promise<void> {
    this.#stopWakeups?.();
    this.#stopWakeups = null;
    if (this.#worker) {
      await this.#worker.stop();
      this.#worker = null;
    }
    await this.#heartbeat?.stop();
    this.#heartbeat = null;
  }
}

/**
 * Wakes the worker when deliveries become due elsewhere, and says in the log when the wake-up channel
 * drops and when it listens again (the worker polls meanwhile, so nothing waits longer than a poll).
 */
function wakeupListener(logger: Logger, wake: (connector: string | undefined) => void): DueListener {
  let down = false;
  return {
    due(connector) {
      if (connector === null && down) {
        down = false;
        logger.info('wake-up channel listening again');
      }
      wake(connector ?? undefined);
    },
    lost(err, retryInMs) {
      if (!down) logger.warn({ err, retryInMs }, 'wake-up channel to the database lost; reconnecting, the worker polls meanwhile');
      down = true;
    },
  };
}
