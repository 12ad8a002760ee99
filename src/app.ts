import { loadConfig, ConfigError, formatProblems, type GatewayConfig } from './config/load.ts';
import { createIdGenerator } from './domain/ids.ts';
import { createLogger, type Logger } from './log.ts';
import { BodyBudget } from './server/body-budget.ts';
import type { Store } from './store/index.ts';
import { DeliveryWorker } from './delivery/worker.ts';
import { createServices, openStore, type Services } from './services/index.ts';
import { createJobs, type Jobs } from './jobs/index.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { describeSetting, exposureProblems, publishedDefaultsInUse } from './config/published-defaults.ts';
import { isLoopbackHost } from './server/loopback.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { InstanceHeartbeat } from './jobs/heartbeat.ts';
import { HttpSurface } from './app/http-surface.ts';
import { BackgroundRunners } from './app/background.ts';
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
 * start() migrates the store and opens the port, stop() closes them in the order a graceful stop
 * needs (its comment). Which path reaches which part is src/app/http-surface.ts; the background
 * runners' own order (heartbeat, worker, scheduler), src/app/background.ts.
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
  /** The routes and the listener, with what only the HTTP edge holds (null until started). */
  #http: HttpSurface | null = null;
  #services: Services | null = null;
  /** Heartbeat, worker and scheduler: started and stopped around the listener. */
  readonly #runners: BackgroundRunners;
  #metrics: GatewayMetrics | null = null;

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
    this.#runners = new BackgroundRunners(this.store, this.logger);
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
    const server = this.#http?.server;
    if (!server) throw new Error('gateway is not started');
    return server.url;
  }

  /** The address and port actually bound (`0.0.0.0:8080` when it listens on every interface). */
  get bound(): { address: string; allInterfaces: boolean } {
    const server = this.#http?.server;
    if (!server) throw new Error('gateway is not started');
    return { address: server.bound, allInterfaces: server.allInterfaces };
  }

  /** The delivery worker (null when delivery is disabled or the gateway is not started). */
  get worker(): DeliveryWorker | null {
    return this.#runners.worker;
  }

  /** The services the HTTP edge and the worker call (null until started). */
  get services(): Services | null {
    return this.#services;
  }

  /** Scheduler, recovery run, retention job and purchase-order poller (null until started). */
  get jobs(): Jobs | null {
    return this.#runners.jobs;
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
    await this.#runners.startHeartbeat(
      new InstanceHeartbeat({
        store: this.store,
        clock: this.clock,
        logger: this.logger,
        identity: { id: this.instanceId, host: hostname(), pid: process.pid, version: await packageVersion() },
        config: () => this.#config,
      }),
    );
    const pushBodies = new BodyBudget(() => this.#config.gateway.inbound.soap.bodyBudget, this.clock);
    // Bodies read whole before their signature can be checked (ShipBob's webhooks, signed callbacks):
    // a budget of their own, so that forged ones cannot take the room OM's pushes need.
    const signedBodies = new BodyBudget(
      () => this.#config.gateway.inbound.webhooks.bodyBudget,
      this.clock,
      'the gateway is reading as many signed bodies as it may hold before their signatures are checked; send the request again shortly',
    );
    const metrics = new GatewayMetrics({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      connectors: () => this.#config.connectors.map((c) => c.name),
      pushBodies: () => ({ held: pushBodies.inUse, capacity: pushBodies.capacity }),
      signedBodies: () => ({ held: signedBodies.inUse, capacity: signedBodies.capacity }),
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
      notify: () => this.#runners.worker?.notify(),
    });
    this.#services = services;
    // Async connectors' callbacks, counted once committed.
    services.callbacks.observe((report) => metrics.recordCallback(report));
    this.#runners.adoptJobs(
      createJobs({ logger: this.logger, config: () => this.#config, recovery: services.recovery, retention: services.retention, poller: services.poller }),
      metrics,
    );

    this.#http = new HttpSurface({
      config: () => this.#config,
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      newId,
      services,
      metrics,
      bodies: pushBodies,
      signedBodies,
      jobs: () => this.#runners.jobs,
      url: () => this.url,
    });
    const server = this.#config.gateway.server;
    const { url, bound, allInterfaces } = await this.#http.open({
      host,
      port: this.options.port ?? server.port,
      tls: server.tls,
      requestTimeoutMs: server.requestTimeout,
      logger: this.logger,
    });
    await this.store.connectorStates.ensure(this.#config.connectors.map((c) => ({ name: c.name, state: c.state })), now());
    services.runtimes.rebuild();
    const delivery = this.#config.gateway.delivery;
    const worker = delivery.enabled
      ? new DeliveryWorker({
          store: this.store,
          connectors: () => services.runtimes.all,
          holdRuntimes: () => services.runtimes.hold(),
          clock: this.clock,
          logger: this.logger,
          newId,
          random: this.options.random ?? Math.random,
          instanceId: this.instanceId,
          options: { pollIntervalMs: delivery.pollInterval, maxInFlight: delivery.maxInFlight, leaseMarginMs: delivery.leaseMargin },
        })
      : null;
    this.#runners.start(worker, metrics);

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
      await this.#runners.reconfigure();
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

  /**
   * The order a graceful stop (SIGTERM) needs: no scheduled run starts; the listener closes,
   * answering the requests in flight; then the worker finishes the deliveries in flight and the
   * instance is shown stopped; the store closes last.
   */
  async stop(): Promise<void> {
    await this.#runners.stopSchedules();
    await this.#http?.close();
    await this.#runners.drain();
    await this.#services?.close();
    this.#services = null;
    await this.store.close();
    this.logger.info('gateway stopped');
    this.logger.flush();
  }
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
