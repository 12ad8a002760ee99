import { Router } from '@koa/router';
import type { GatewayConfig } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../log.ts';
import type { Jobs } from '../jobs/index.ts';
import { registerSoapRoutes } from '../inbound/soap/routes.ts';
import { loadWsdl } from '../inbound/soap/wsdl.ts';
import { registerShipBobWebhookRoutes } from '../inbound/webhooks/shipbob.ts';
import { registerCallbackRoutes } from '../inbound/callbacks/routes.ts';
import { loadConsoleFiles, registerAdminConsole } from '../admin/console.ts';
import { registerAdminApi } from '../admin/api.ts';
import { registerMetricsRoute, type GatewayMetrics } from '../observability/metrics.ts';
import { registerFulfilmentSandbox, type FulfilmentSandbox } from '../sandbox/fulfilment.ts';
import { registerFusionSandbox } from '../sandbox/fusion.ts';
import { mountShipBobSandbox } from '../sandbox/shipbob/index.ts';
import { sandboxLoopbackOnly } from '../sandbox/loopback-guard.ts';
import { registerSandboxTargets, SANDBOX_PREFIX } from '../sandbox/targets.ts';
import type { BodyBudget } from '../server/body-budget.ts';
import { createKoaApp, listen, type HttpServerOptions, type RunningServer } from '../server/http.ts';
import { LoginThrottle } from '../server/login-throttle.ts';
import type { Services } from '../services/index.ts';
import { flushEachMinute } from '../store/refusals.ts';
import type { Store } from '../store/index.ts';

/**
 * The gateway's HTTP surface: which path reaches which part, in the order the routes are registered
 * (metrics and health, the sandbox behind its loopback guard, OM's pushes, ShipBob's webhooks, async
 * connectors' callbacks, the console and the admin API), and what only the HTTP edge holds: the
 * failed-login delays, the once-a-minute write of the refusals it folded, the sandbox fulfilment
 * service's pending callbacks, and the listener.
 *
 * Apart from app.ts because it builds none of the gateway's parts: app.ts, the composition root,
 * builds them from the config and the store (services, metrics, jobs, the body budgets) and
 * hands them here. The route table grows with each inbound path and admin feature; app.ts stays
 * the short account of what is built and in which order it starts and stops.
 */

/** The parts app.ts built that the routes reach. */
export interface HttpParts {
  config: () => GatewayConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  services: Services;
  metrics: GatewayMetrics;
  /** Shared by OM's pushes and the callbacks that authenticate as pushes do, and shown by the metrics. */
  bodies: BodyBudget;
  /** Signed bodies read whole before their signature is checked (ShipBob's webhooks, signed callbacks); shown by the metrics. */
  signedBodies: BodyBudget;
  /** The scheduled jobs the admin API runs on demand (null once the gateway stops). */
  jobs: () => Jobs | null;
  /** Where the gateway is reached (throws until it listens): the sandbox peers call it back. */
  url: () => string;
}

export class HttpSurface {
  readonly #parts: HttpParts;
  /** Failed logins per source, one count for OM's pushes and one for the admin API. */
  readonly #logins: { soap: LoginThrottle; admin: LoginThrottle };
  /** Stops the once-a-minute write of folded refusal counts. */
  readonly #refusalFlush = new AbortController();
  /** The sandbox fulfilment service's callbacks not sent yet (cancelled at close). */
  #fulfilment: FulfilmentSandbox | null = null;
  #server: RunningServer | null = null;

  constructor(parts: HttpParts) {
    this.#parts = parts;
    this.#logins = { soap: new LoginThrottle(parts.clock), admin: new LoginThrottle(parts.clock) };
  }

  /** The listener (null until open() has listened, and again after close()). */
  get server(): RunningServer | null {
    return this.#server;
  }

  /**
   * Starts the refusal flush, registers the routes and listens. Whatever it started before a failure
   * (a WSDL or console file unreadable, the port taken) is undone by close().
   */
  async open(listenOn: HttpServerOptions): Promise<RunningServer> {
    const { store, clock, logger } = this.#parts;
    void flushEachMinute(store.audit.refusals, clock, this.#refusalFlush.signal);
    const router = await this.#routes();
    this.#server = await listen(createKoaApp(logger, router), listenOn);
    return this.#server;
  }

  /**
   * Before the worker stops (app.ts): delayed answers to failed logins go out now rather than hold
   * the shutdown, then the listener closes, answering the requests in flight.
   */
  async close(): Promise<void> {
    this.#logins.soap.close();
    this.#logins.admin.close();
    this.#refusalFlush.abort();
    this.#fulfilment?.close();
    this.#fulfilment = null;
    if (this.#server) {
      await this.#server.close();
      this.#server = null;
    }
  }

  async #routes(): Promise<Router> {
    const { config, store, clock, logger, newId, services, metrics, bodies, signedBodies, jobs, url } = this.#parts;
    const now = () => clock.now();
    const logins = this.#logins;
    const router = new Router();
    registerMetricsRoute(router, metrics);
    router.get('/healthz', (ctx) => {
      ctx.body = { status: 'ok' };
    });
    router.get('/readyz', async (ctx) => {
      try {
        await store.ping();
        ctx.body = { status: 'ready', database: 'ok', config: 'loaded' };
      } catch {
        ctx.status = 503;
        ctx.body = { status: 'not ready', database: 'unreachable', config: 'loaded' };
      }
    });
    const sandbox = config().gateway.sandbox;
    if (sandbox.enabled) {
      // Registered before the sandbox routes, so it runs ahead of each of them.
      router.use(SANDBOX_PREFIX, sandboxLoopbackOnly());
      registerSandboxTargets(router, { secrets: () => config().secrets });
      if (sandbox.fusion) registerFusionSandbox(router, { username: sandbox.fusion.username, password: sandbox.fusion.password.reveal() });
      if (sandbox.shipbob) mountShipBobSandbox(router, sandbox.shipbob, url);
      // The async fulfilment service calls back the gateway's own /callbacks/{connector}.
      this.#fulfilment = registerFulfilmentSandbox(router, { connectors: () => config().connectors, gatewayUrl: url });
    }
    registerSoapRoutes(router, {
      config,
      store,
      newId,
      now,
      bodies,
      wsdl: await loadWsdl(),
      logger,
      logins: logins.soap,
      accept: services.accept,
      onPush: (report) => {
        try {
          metrics.recordPush(report);
        } catch (err) {
          logger.warn({ err }, 'metrics: a push could not be counted');
        }
      },
    });
    registerShipBobWebhookRoutes(router, {
      config,
      store,
      newId,
      now,
      signedBodies,
      logger,
      accept: services.accept,
      onWebhook: (result, events) => {
        try {
          metrics.recordWebhook('shipbob', result, events);
        } catch (err) {
          logger.warn({ err }, 'metrics: a webhook could not be counted');
        }
      },
    });
    // Later answers of async connectors (REST or SOAP), authenticated per connector.
    registerCallbackRoutes(router, {
      config,
      settings: (name) => services.callbacks.connector(name)?.callback ?? null,
      accept: (input) => services.callbacks.accept(input),
      store,
      newId,
      now,
      bodies,
      signedBodies,
      logger,
      logins: logins.soap,
      // Refusals are counted here; accepted callbacks by the service's observer (app.ts).
      onRefused: (connector, refusal) => {
        try {
          metrics.recordCallbackRefusal(connector, refusal);
        } catch (err) {
          logger.warn({ err }, 'metrics: a callback refusal could not be counted');
        }
      },
    });
    // The admin API (off, answering 404, while no admin.token is configured; a reload applies).
    // The console's files (console/), read once here rather than at import or per request.
    registerAdminConsole(router, await loadConsoleFiles());
    registerAdminApi(router, {
      token: () => config().gateway.admin.token?.reveal() || null,
      maxBodyBytes: () => config().gateway.admin.maxBodySize,
      deliveries: services.deliveries,
      views: services.views,
      connectors: services.connectors,
      previews: services.previews,
      billing: services.billing,
      journey: (key) => services.journey.find(key),
      funnel: services.funnel,
      instances: services.instances,
      recovery: () => jobs()?.recovery ?? null,
      poller: () => jobs()?.poller ?? null,
      logger,
      logins: logins.admin,
    });
    if (!config().gateway.admin.token?.reveal()) logger.warn('admin API is off: set admin.token in gateway.yaml to enable /admin/api');
    return router;
  }
}
