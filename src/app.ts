import { Router } from '@koa/router';
import { loadConfig, ConfigError, formatProblems, type GatewayConfig } from './config/load.ts';
import { createIdGenerator } from './domain/ids.ts';
import { createLogger, type Logger } from './log.ts';
import { registerSoapRoutes } from './inbound/soap/routes.ts';
import { registerShipBobWebhookRoutes } from './inbound/webhooks/shipbob.ts';
import { registerCallbackRoutes } from './inbound/callbacks/routes.ts';
import { registerFulfilmentSandbox, type FulfilmentSandbox } from './sandbox/fulfilment.ts';
import { loadConsoleFiles, registerAdminConsole } from './admin/console.ts';
import { loadWsdl } from './inbound/soap/wsdl.ts';
import { createKoaApp, listen, type RunningServer } from './server/http.ts';
import { BodyBudget } from './server/body-budget.ts';
import { LoginThrottle } from './server/login-throttle.ts';
import { flushEachMinute } from './store/refusals.ts';
import type { DueListener, Store } from './store/index.ts';
import { DeliveryWorker, type AttemptReport } from './delivery/worker.ts';
import { createServices, openStore, type Services } from './services/index.ts';
import { registerAdminApi } from './admin/api.ts';
import { createJobs, type Jobs, type PollReport } from './jobs/index.ts';
import { GatewayMetrics, registerMetricsRoute } from './observability/metrics.ts';
import { registerSandboxTargets, SANDBOX_PREFIX } from './sandbox/targets.ts';
import { sandboxLoopbackOnly } from './sandbox/loopback-guard.ts';
import { describeSetting, exposureProblems, publishedDefaultsInUse } from './config/published-defaults.ts';
import { isLoopbackHost } from './server/loopback.ts';
import { registerFusionSandbox } from './sandbox/fusion.ts';
import { mountShipBobSandbox } from './sandbox/shipbob/index.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { InstanceHeartbeat } from './jobs/heartbeat.ts';
import type { DestinationStream } from 'pino';

export interface GatewayOptions {
  configDir: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides gateway.yaml's port (tests listen on port 0). */
  port?: number;
  host?: string;
  /** PostgreSQL schema (tests give each suite its own). */
  dbSchema?: string;
  logDestination?: DestinationStream;
  clock?: Clock;
  /** Jitter source for retry delays (tests make it deterministic). */
  random?: () => number;
}

/**
 * Settings read once, when the gateway starts (the database, the listener, the worker's options, the
 * sandbox routes): a reload that changes one reports it as needing a restart. Each is read as a string
 * so that a change is a plain comparison; secrets are compared, never logged.
 */
const RESTART_SETTINGS: ReadonlyArray<readonly [string, (g: GatewayConfig['gateway']) => string]> = [
  ['database.url', (g) => g.database.url],
  ['database.schema', (g) => g.database.schema ?? ''],
  ['database.poolMax', (g) => String(g.database.poolMax)],
  ['database.encryptionKey', (g) => g.database.encryptionKey?.reveal() ?? ''],
  ['server.host', (g) => g.server.host],
  ['server.port', (g) => String(g.server.port)],
  ['server.tls', (g) => JSON.stringify(g.server.tls ?? null)],
  ['server.requestTimeout', (g) => String(g.server.requestTimeout)],
  ['server.allowPublishedSecrets', (g) => String(g.server.allowPublishedSecrets)],
  ['delivery', (g) => JSON.stringify(g.delivery)],
  ['sandbox', (g) => JSON.stringify(g.sandbox)],
];

/**
 * The composition root: builds the parts from config and wires them together. The store and the
 * services (accepting inbound events, delivery actions and views, connectors, runtimes, recovery,
 * retention, poller) come from
 * openStore and createServices (src/services/index.ts), as the CLI's do; around them this adds the
 * HTTP edge, the delivery worker, the scheduler and the metrics. Nothing starts at construction;
 * start() migrates the store and opens the port, stop() closes them in reverse order.
 */
export class Gateway {
  readonly options: GatewayOptions;
  readonly logger: Logger;
  readonly store: Store;
  readonly clock: Clock;
  readonly instanceId: string;
  #config: GatewayConfig;
  /**
   * The settings in force: the database as the store was opened, the rest as start() read them. A
   * reload compares with these, not with the last reload's, so reverting a start-only change
   * needs no restart.
   */
  #inForce: GatewayConfig['gateway'];
  #server: RunningServer | null = null;
  #services: Services | null = null;
  #worker: DeliveryWorker | null = null;
  #jobs: Jobs | null = null;
  #metrics: GatewayMetrics | null = null;
  /** This instance's entry in the store's list of instances (null until started). */
  #heartbeat: InstanceHeartbeat | null = null;
  /** Failed logins per source, one count for OM's pushes and one for the admin API. */
  #logins: { soap: LoginThrottle; admin: LoginThrottle } | null = null;
  /** Stops listening for deliveries made due elsewhere. */
  #stopWakeups: (() => void) | null = null;
  /** Stops the once-a-minute write of folded refusal counts. */
  #refusalFlush: AbortController | null = null;
  /** The sandbox fulfilment service's callbacks not sent yet (cancelled at stop). */
  #fulfilment: FulfilmentSandbox | null = null;

  private constructor(options: GatewayOptions, config: GatewayConfig) {
    this.options = options;
    this.#config = config;
    this.#inForce = config.gateway;
    this.clock = options.clock ?? systemClock;
    this.instanceId = `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.logger = createLogger({
      level: config.gateway.logging.level,
      secrets: () => this.#config.secrets,
      instance: this.instanceId,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    this.store = openStore(config, { schema: options.dbSchema });
  }

  static async create(options: GatewayOptions): Promise<Gateway> {
    const config = await loadConfig(options.configDir, options.env ?? process.env);
    return new Gateway(options, config);
  }

  get config(): GatewayConfig {
    return this.#config;
  }

  /** Where clients on this host reach the gateway (127.0.0.1 when it listens on every interface). */
  get url(): string {
    if (!this.#server) throw new Error('gateway is not started');
    return this.#server.url;
  }

  /** The address and port actually bound (`0.0.0.0:8080` when it listens on every interface). */
  get bound(): { address: string; allInterfaces: boolean } {
    if (!this.#server) throw new Error('gateway is not started');
    return { address: this.#server.bound, allInterfaces: this.#server.allInterfaces };
  }

  /** The delivery worker (null when delivery is disabled or the gateway is not started). */
  get worker(): DeliveryWorker | null {
    return this.#worker;
  }

  /** The services the HTTP edge and the worker call (null until started). */
  get services(): Services | null {
    return this.#services;
  }

  /** Scheduler, recovery run, retention job and purchase-order poller (null until started). */
  get jobs(): Jobs | null {
    return this.#jobs;
  }

  /** The /metrics registry (null until started). */
  get metrics(): GatewayMetrics | null {
    return this.#metrics;
  }

  async start(): Promise<void> {
    this.#inForce = { ...this.#config.gateway, database: this.#inForce.database };
    // Before anything opens: a refused exposure leaves no database migrated and no port taken.
    const host = this.options.host ?? this.#config.gateway.server.host;
    const exposure = exposureProblems(this.#config, host);
    if (exposure.length > 0) throw new ConfigError(exposure);
    this.#warnAboutDemoSettings(host);
    const now = () => this.clock.now();
    const newId = createIdGenerator(now);
    const { applied } = await this.store.migrate();
    if (applied.length > 0) this.logger.info({ applied }, 'database migrated');
    this.#heartbeat = new InstanceHeartbeat({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      identity: { id: this.instanceId, host: hostname(), pid: process.pid, version: await packageVersion() },
      config: () => this.#config,
    });
    await this.#heartbeat.start();
    const pushBodies = new BodyBudget(() => this.#config.gateway.inbound.soap.bodyBudget, this.clock);
    const metrics = new GatewayMetrics({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      connectors: () => this.#config.connectors.map((c) => c.name),
      pushBodies: () => ({ held: pushBodies.inUse, capacity: pushBodies.capacity }),
      instances: () => this.#services?.instances() ?? Promise.resolve([]),
    });
    this.#metrics = metrics;
    // The services, for the inbound paths, the schedules, the admin API and the worker alike (and the CLI: src/cli/services.ts).
    const services = createServices(() => this.#config, {
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      newId,
      instanceId: this.instanceId,
      notify: () => this.#worker?.notify(),
    });
    this.#services = services;
    // Async connectors' callbacks, counted once committed.
    services.callbacks.observe((report) => metrics.recordCallback(report));
    this.#jobs = createJobs({ logger: this.logger, config: () => this.#config, recovery: services.recovery, retention: services.retention, poller: services.poller });
    this.#jobs.recovery.on('run', (run: { trigger: string; state: string; selected: number; replayed: number; skipped: number }) => metrics.recordRecoveryRun(run));
    this.#jobs.retention.on('run', (removed: Record<string, number>) => metrics.recordRetention(removed));
    this.#jobs.poller.on('run', (report: PollReport) => metrics.recordPoll(report));

    const logins = { soap: new LoginThrottle(this.clock), admin: new LoginThrottle(this.clock) };
    this.#logins = logins;
    this.#refusalFlush = new AbortController();
    void flushEachMinute(this.store.audit.refusals, this.clock, this.#refusalFlush.signal);

    const router = new Router();
    registerMetricsRoute(router, metrics);
    router.get('/healthz', (ctx) => {
      ctx.body = { status: 'ok' };
    });
    router.get('/readyz', async (ctx) => {
      try {
        await this.store.ping();
        ctx.body = { status: 'ready', database: 'ok', config: 'loaded' };
      } catch {
        ctx.status = 503;
        ctx.body = { status: 'not ready', database: 'unreachable', config: 'loaded' };
      }
    });
    const sandbox = this.#config.gateway.sandbox;
    if (sandbox.enabled) {
      // Registered before the sandbox routes, so it runs ahead of each of them.
      router.use(SANDBOX_PREFIX, sandboxLoopbackOnly());
      registerSandboxTargets(router, { secrets: () => this.#config.secrets });
      if (sandbox.fusion) registerFusionSandbox(router, { username: sandbox.fusion.username, password: sandbox.fusion.password.reveal() });
      if (sandbox.shipbob) mountShipBobSandbox(router, sandbox.shipbob, () => this.url);
      // The async fulfilment service calls back the gateway's own /callbacks/{connector}.
      this.#fulfilment = registerFulfilmentSandbox(router, { connectors: () => this.#config.connectors, gatewayUrl: () => this.url });
    }
    registerSoapRoutes(router, {
      config: () => this.#config,
      store: this.store,
      newId,
      now,
      bodies: pushBodies,
      wsdl: await loadWsdl(),
      logger: this.logger,
      logins: logins.soap,
      accept: services.accept,
      onPush: (report) => {
        try {
          metrics.recordPush(report);
        } catch (err) {
          this.logger.warn({ err }, 'metrics: a push could not be counted');
        }
      },
    });
    registerShipBobWebhookRoutes(router, {
      config: () => this.#config,
      store: this.store,
      newId,
      now,
      logger: this.logger,
      accept: services.accept,
      onWebhook: (result, events) => {
        try {
          metrics.recordWebhook('shipbob', result, events);
        } catch (err) {
          this.logger.warn({ err }, 'metrics: a webhook could not be counted');
        }
      },
    });
    // Later answers of async connectors (REST or SOAP), authenticated per connector.
    registerCallbackRoutes(router, {
      config: () => this.#config,
      settings: (name) => services.callbacks.connector(name)?.callback ?? null,
      accept: (input) => services.callbacks.accept(input),
      store: this.store,
      newId,
      now,
      bodies: pushBodies,
      logger: this.logger,
      logins: logins.soap,
      // Refusals are counted here; accepted callbacks by the service's observer above.
      onRefused: (connector, refusal) => {
        try {
          metrics.recordCallbackRefusal(connector, refusal);
        } catch (err) {
          this.logger.warn({ err }, 'metrics: a callback refusal could not be counted');
        }
      },
    });
    // The admin API (off, answering 404, while no admin.token is configured; a reload applies).
    // The console's files (console/), read once here rather than at import or per request.
    registerAdminConsole(router, await loadConsoleFiles());
    registerAdminApi(router, {
      token: () => this.#config.gateway.admin.token?.reveal() || null,
      maxBodyBytes: () => this.#config.gateway.admin.maxBodySize,
      deliveries: services.deliveries,
      views: services.views,
      connectors: services.connectors,
      previews: services.previews,
      billing: services.billing,
      journey: (key) => services.journey.find(key),
      funnel: services.funnel,
      instances: services.instances,
      recovery: () => this.#jobs?.recovery ?? null,
      poller: () => this.#jobs?.poller ?? null,
      logger: this.logger,
      logins: logins.admin,
    });
    if (!this.#config.gateway.admin.token?.reveal()) this.logger.warn('admin API is off: set admin.token in gateway.yaml to enable /admin/api');

    const server = this.#config.gateway.server;
    this.#server = await listen(createKoaApp(this.logger, router), {
      host,
      port: this.options.port ?? server.port,
      tls: server.tls,
      requestTimeoutMs: server.requestTimeout,
      logger: this.logger,
    });
    await this.store.connectorStates.ensure(this.#config.connectors.map((c) => ({ name: c.name, state: c.state })), now());
    services.runtimes.rebuild();
    const delivery = this.#config.gateway.delivery;
    if (delivery.enabled) {
      this.#worker = new DeliveryWorker({
        store: this.store,
        connectors: () => services.runtimes.all,
        holdRuntimes: () => services.runtimes.hold(),
        clock: this.clock,
        logger: this.logger,
        newId,
        random: this.options.random ?? Math.random,
        instanceId: this.instanceId,
        options: { pollIntervalMs: delivery.pollInterval, maxInFlight: delivery.maxInFlight, leaseMarginMs: delivery.leaseMargin },
      });
      this.#worker.on('attempt', (a: AttemptReport) => metrics.recordAttempt(a));
      this.#worker.start();
      // Deliveries made due by another instance or a CLI command (PostgreSQL) leave at once, not at the next poll.
      this.#stopWakeups = this.store.onDeliveriesDue(wakeupListener(this.logger, (connector) => this.#worker?.notify(connector)));
    }
    this.#jobs.scheduler.start();

    const { url, bound, allInterfaces } = this.#server;
    this.logger.info(
      { url, bound, database: this.store.describe, connectors: this.#config.connectors.length },
      allInterfaces ? `gateway started, listening on all interfaces (${bound}); clients on this host use ${url}` : `gateway started, listening on ${bound}`,
    );
  }

  /**
   * Says at start what makes this gateway a demo: the settings (never the values) that use a
   * published default secret, and the sandbox being on; and, on a host other than loopback, that
   * the sandbox answers only local clients.
   */
  #warnAboutDemoSettings(host: string): void {
    const defaults = publishedDefaultsInUse(this.#config).map(describeSetting);
    const sandbox = this.#config.gateway.sandbox.enabled;
    if (defaults.length > 0 || sandbox) {
      const parts = [
        ...(defaults.length > 0 ? [`published default secrets in use (from the example config or README; set your own): ${defaults.join(', ')}`] : []),
        ...(sandbox ? ['the sandbox is on (sandbox.enabled: emulated Fusion, ShipBob and targets under /sandbox; turn it off in production)'] : []),
      ];
      this.logger.warn({ publishedDefaults: defaults, sandbox }, parts.join('; '));
    }
    if (isLoopbackHost(host)) return;
    if (defaults.length > 0 && this.#config.gateway.server.allowPublishedSecrets) {
      this.logger.warn({ host }, `server.allowPublishedSecrets is on: listening on ${host}, not loopback, with published default secrets (a lab only)`);
    }
    if (sandbox) this.logger.warn({ host }, `server.host ${host} is not loopback: the sandbox routes (/sandbox) answer only clients on this host`);
  }

  /**
   * Loads the config folder again. A bad config is refused and the running one stays in force.
   * Settings read only at start (RESTART_SETTINGS) are reported, not applied: each that differs from
   * the value in force (not from the last reload's), so a reverted change reports nothing.
   */
  async reload(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      const next = await loadConfig(this.options.configDir, this.options.env ?? process.env);
      const inForce = this.#inForce;
      // The listener stays where it is: a published default credential is refused on it as at start.
      const exposure = exposureProblems({ ...next, gateway: { ...next.gateway, server: inForce.server } }, this.options.host ?? inForce.server.host);
      if (exposure.length > 0) throw new ConfigError(exposure);
      const needRestart = RESTART_SETTINGS.filter(([, read]) => read(next.gateway) !== read(inForce)).map(([name]) => name);
      this.#config = next;
      this.logger.level = next.gateway.logging.level;
      await this.store.connectorStates.ensure(next.connectors.map((c) => ({ name: c.name, state: c.state })), this.clock.now());
      // Deliveries in flight keep the runtimes they were sent with; the old pools close once none holds them.
      this.#services?.runtimes.rebuild();
      this.#worker?.notify();
      this.#jobs?.reconfigure();
      await this.#heartbeat?.configChanged();
      this.logger.info(
        { connectors: next.connectors.length, triggerPoints: next.triggerPoints.length, needRestart },
        needRestart.length > 0 ? 'config reloaded; some changes take effect after a restart' : 'config reloaded',
      );
      return { ok: true };
    } catch (err) {
      const error = err instanceof ConfigError ? `config refused:\n${formatProblems(err.problems)}` : String(err);
      this.logger.error({ error }, 'config reload refused; the running config stays in force');
      return { ok: false, error };
    }
  }

  async stop(): Promise<void> {
    if (this.#jobs) {
      await this.#jobs.scheduler.stop();
      this.#jobs = null;
    }
    // Delayed answers to failed logins go out now rather than hold the shutdown.
    this.#logins?.soap.close();
    this.#logins?.admin.close();
    this.#refusalFlush?.abort();
    this.#fulfilment?.close();
    this.#fulfilment = null;
    if (this.#server) {
      await this.#server.close();
      this.#server = null;
    }
    this.#stopWakeups?.();
    this.#stopWakeups = null;
    if (this.#worker) {
      await this.#worker.stop();
      this.#worker = null;
    }
    // After the worker: the instance is shown stopped once it holds no lease.
    await this.#heartbeat?.stop();
    this.#heartbeat = null;
    await this.#services?.close();
    this.#services = null;
    await this.store.close();
    this.logger.info('gateway stopped');
    this.logger.flush();
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

/** The gateway's version, from the package.json above src/ (and dist/), read once at start. */
async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
