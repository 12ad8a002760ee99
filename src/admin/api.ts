import type { Context } from 'koa';
import type { Router } from '@koa/router';
import type { z } from 'zod';
import type { ConnectorOperations } from '../services/connectors.ts';
import type { DeliveryActions, OperationKind, OperationResult } from '../services/delivery-actions.ts';
import type { DeliveryFilter } from '../services/delivery-filter.ts';
import type { DeliveryViews } from '../services/delivery-views.ts';
import type { DeliveryPreviews } from '../services/preview.ts';
import type { OrderJourney } from '../services/journey.ts';
import type { FunnelService } from '../services/funnel.ts';
import { FUNNEL_DEFAULT_STUCK_AFTER_MS } from '../services/funnel-range.ts';
import { GatewayError } from '../domain/errors.ts';
import type { InstanceView } from '../domain/instance.ts';
import type { RecoverNowOptions, RecoveryOutcome, RecoveryRunSummary } from '../jobs/recovery.ts';
import type { PollerStatus, PollOutcome } from '../inbound/poller/purchase-orders.ts';
import type { Logger } from '../log.ts';
import type { LoginGuard } from '../server/login-throttle.ts';
import type { BillingEvent, BillingFilter } from '../store/webhooks.ts';
import { bearerAuth, readJsonBody, validate } from './http.ts';
import { openApiDocument } from './openapi.ts';
import { ADMIN_PREFIX, ADMIN_ROUTES, type AdminRouteSpec, type RouteSpec } from './routes.ts';
import type { idParam, operationBody, singleOperationBody } from './schemas.ts';

/**
 * The admin REST API under /admin/api: browse events, deliveries, attempts and the audit trail;
 * replay, discard, hold and release deliveries; connectors (overview, maintenance, live test, preview); the
 * gateway instances sharing the database; recovery runs; the purchase-order poller; ShipBob billing
 * records. Every route needs `Authorization: Bearer <admin.token>`;
 * without a configured token the API is off (404). Errors are `{code, message}`. Every change is
 * audited with actor `admin-api`. The routes are declared once, in src/admin/routes.ts: this file
 * registers them and handles each; src/admin/openapi.ts turns the same table into the OpenAPI
 * document served at GET /admin/api/openapi.json.
 */

const ADMIN_ACTOR = 'admin-api';

/** The purchase-order poller (src/inbound/poller/), as far as the admin API uses it. */
export interface PollerApi {
  runNow(actor: string): Promise<PollOutcome>;
  status(limit?: number): Promise<PollerStatus>;
}

/** The recovery run service (src/jobs/recovery.ts), as far as the admin API uses it. */
export interface RecoveryApi {
  runNow(options: RecoverNowOptions): Promise<RecoveryOutcome>;
  history(limit?: number): Promise<RecoveryRunSummary[]>;
}

export interface AdminApiDeps {
  /** The admin token in force now (so a config reload applies), or null: the admin API is off. */
  token: () => string | null;
  /** The largest JSON body accepted, in bytes. */
  maxBodyBytes: () => number;
  /** Operator actions on deliveries (replay, discard, hold, release). */
  deliveries: DeliveryActions;
  /** Read views: deliveries, events, attempts, audit records. */
  views: DeliveryViews;
  connectors: ConnectorOperations;
  /** What a delivery would send now (the same service as `omgw preview`). */
  previews: DeliveryPreviews;
  /** ShipBob billing webhooks (src/store/webhooks.ts), oldest first after `afterId`. */
  billing: (filter: BillingFilter) => Promise<BillingEvent[]>;
  /** The gateway instances sharing the database, with their state and what each holds. */
  instances: () => Promise<InstanceView[]>;
  /** An order's journey by any of its keys, or null when no order has the key. */
  journey: (key: string) => Promise<OrderJourney | null>;
  /** The flow funnel, billing reconciliation and per-minute numbers. */
  funnel: Pick<FunnelService, 'range' | 'funnel' | 'reconciliation' | 'throughput'>;
  /** The recovery run service, or null when this gateway has none. */
  recovery: () => RecoveryApi | null;
  /** The purchase-order poller, or null when this gateway has none. */
  poller: () => PollerApi | null;
  logger: Logger;
  /** Delays the answers to repeated wrong tokens from one source (src/server/login-throttle.ts). */
  logins?: LoginGuard;
}

/** What a handler gets: the request's query, path parameters and body, parsed by its route's schemas. */
type Parsed<R, K extends 'query' | 'params' | 'body'> = R extends { [P in K]: infer S extends z.ZodType } ? z.output<S> : undefined;
interface Input<R> {
  query: Parsed<R, 'query'>;
  params: Parsed<R, 'params'>;
  body: Parsed<R, 'body'>;
}
type Handlers = { [R in AdminRouteSpec as R['operationId']]: (input: Input<R>) => Promise<unknown> };
/** A handler as the registration loop sees it: the route is known only at run time there, so its input is opaque. */
type OpaqueHandler = (input: { query: unknown; params: unknown; body: unknown }) => Promise<unknown>;

/**
 * Registers every route of ADMIN_ROUTES on `router` (with the full /admin/api prefix): checks the
 * token, then parses path parameters, query and body with the route's own schemas (400 naming each
 * problem) before its handler runs. Returns the table.
 */
export function registerAdminApi(router: Router, deps: AdminApiDeps): readonly AdminRouteSpec[] {
  const handlers = adminHandlers(deps);
  const auth = bearerAuth(deps.token, deps.logins);
  for (const route of ADMIN_ROUTES) {
    const spec: RouteSpec = route;
    const handle = handlers[route.operationId] as unknown as OpaqueHandler;
    const handler = async (ctx: Context): Promise<void> => {
      ctx.set('Cache-Control', 'no-store');
      ctx.state.logFields = { admin: `${route.method} ${route.path}` };
      const params = spec.params ? validate(spec.params, { ...ctx.params }, 'path') : undefined;
      const query = spec.query ? validate(spec.query, { ...ctx.query }, 'query') : undefined;
      const body = spec.body ? validate(spec.body, await readJsonBody(ctx, deps.maxBodyBytes()), 'body') : undefined;
      const answer = await handle({ query, params, body });
      ctx.status = 200;
      ctx.body = answer;
    };
    const path = `${ADMIN_PREFIX}${route.path}`;
    if (route.method === 'GET') router.get(path, auth, handler);
    else router.post(path, auth, handler);
  }
  return ADMIN_ROUTES;
}

function adminHandlers(deps: AdminApiDeps): Handlers {
  const ops = deps.deliveries;
  const views = deps.views;

  const bulk =
    (action: OperationKind) =>
    async ({ body }: { body: z.output<typeof operationBody> }): Promise<OperationResult> => {
      const { dryRun, reason, limit, ...filter } = body;
      return run(ops, action, stripUndefined(filter), { dryRun, actor: ADMIN_ACTOR, ...(reason !== undefined ? { reason } : {}), ...(limit !== undefined ? { limit } : {}) });
    };

  const single =
    (action: OperationKind) =>
    async ({ params, body }: { params: z.output<typeof idParam>; body: z.output<typeof singleOperationBody> }): Promise<OperationResult> => {
      const deliveryId = params.id;
      const { dryRun, reason } = body;
      if (action === 'discard' && reason === undefined) throw new GatewayError('BAD_REQUEST', 'discard needs a reason');
      const current = await views.show(deliveryId);
      if (!current) throw new GatewayError('NOT_FOUND', `no delivery ${deliveryId}`);
      if (current.delivery.state === 'in_flight') {
        throw new GatewayError('CONFLICT', `delivery ${deliveryId} is in flight: try again when its attempt has finished`);
      }
      const result = await run(ops, action, { ids: [deliveryId] }, { dryRun, actor: ADMIN_ACTOR, ...(reason !== undefined ? { reason } : {}) });
      if (result.changed === 0) {
        const state = Object.keys(result.skipped)[0] ?? current.delivery.state;
        throw new GatewayError('CONFLICT', `delivery ${deliveryId} is ${state}: ${action} does not apply to it`);
      }
      return result;
    };

  return {
    getOpenApi: async () => openApiDocument(),

    listEvents: async ({ query: q }) =>
      views.listEvents(stripUndefined({ ids: q.id, eventCodes: q.eventCode, sources: q.source, statuses: q.status, orderKey: q.orderKey, pushId: q.pushId, from: q.from, to: q.to }), page(q)),
    getEvent: async ({ params }) => {
      const detail = await views.showEvent(params.id);
      if (!detail) throw new GatewayError('NOT_FOUND', `no event ${params.id}`);
      return detail;
    },

    listDeliveries: async ({ query: q }) =>
      views.list(
        stripUndefined({
          ids: q.id,
          eventIds: q.eventId,
          connectors: q.connector,
          states: q.state,
          eventCodes: q.eventCode,
          orderKey: q.orderKey,
          errorContains: q.error,
          from: q.from,
          to: q.to,
        }),
        page(q),
      ),
    getDelivery: async ({ params }) => {
      const detail = await views.show(params.id);
      if (!detail) throw new GatewayError('NOT_FOUND', `no delivery ${params.id}`);
      return detail;
    },
    replayDeliveries: bulk('replay'),
    discardDeliveries: bulk('discard'),
    holdDeliveries: bulk('hold'),
    releaseDeliveries: bulk('release'),
    replayDelivery: single('replay'),
    discardDelivery: single('discard'),
    holdDelivery: single('hold'),
    releaseDelivery: single('release'),

    listAttempts: async ({ query: q }) =>
      views.listAttempts(stripUndefined({ deliveryIds: q.deliveryId, connectors: q.connector, outcomes: q.outcome, errorContains: q.error, from: q.from, to: q.to }), page(q)),
    listAudit: async ({ query: q }) =>
      views.listAudit(
        stripUndefined({
          actions: q.action,
          directions: q.direction,
          connectors: q.connector,
          results: q.result,
          eventId: q.eventId,
          deliveryId: q.deliveryId,
          actor: q.actor,
          from: q.from,
          to: q.to,
        }),
        page(q),
      ),

    listConnectors: async () => ({ items: await deps.connectors.list() }),
    getConnector: async ({ params }) => deps.connectors.get(params.name),
    setConnectorOnline: async ({ params, body }) => deps.connectors.setState(params.name, 'online', ADMIN_ACTOR, body.reason),
    setConnectorOffline: async ({ params, body }) => deps.connectors.setState(params.name, 'offline', ADMIN_ACTOR, body.reason),
    testConnector: async ({ params }) => deps.connectors.test(params.name, ADMIN_ACTOR),
    // Changes nothing, so it leaves no audit record.
    previewStoredEvent: async ({ params, query }) => deps.previews.preview(params.name, { eventId: query.event }),
    previewEvent: async ({ params, body }) => deps.previews.preview(params.name, { event: body }),

    listInstances: async () => ({
      items: (await deps.instances()).map((i) => ({
        ...i,
        startedAt: iso(i.startedAt),
        heartbeatAt: iso(i.heartbeatAt),
        stoppedAt: i.stoppedAt === null ? null : iso(i.stoppedAt),
        nextLeaseExpiresAt: i.nextLeaseExpiresAt === null ? null : iso(i.nextLeaseExpiresAt),
      })),
    }),

    listRecoveryRuns: async ({ query }) => ({ items: await recovery(deps).history(query.limit) }),
    runRecovery: async ({ body }) => recovery(deps).runNow({ ...stripUndefined(body), actor: ADMIN_ACTOR }),

    getPoller: async ({ query }) => poller(deps).status(query.limit),
    runPoller: async () => poller(deps).runNow(ADMIN_ACTOR),

    listBilling: async ({ query: q }) => {
      const rows = await deps.billing(
        stripUndefined({ topics: q.topic, from: q.from, to: q.to, includeDuplicates: q.includeDuplicates, afterId: q.cursor, limit: q.limit + 1 }),
      );
      const more = rows.length > q.limit;
      const items = more ? rows.slice(0, q.limit) : rows;
      return {
        items: items.map((r) => ({ ...r, receivedAt: new Date(r.receivedAt).toISOString() })),
        nextCursor: more ? (items[items.length - 1]?.eventId ?? null) : null,
      };
    },

    getOrderJourney: async ({ params }) => {
      const journey = await deps.journey(params.orderKey);
      if (!journey) throw new GatewayError('NOT_FOUND', `no order with the key ${params.orderKey.slice(0, 100)}`);
      return journey;
    },

    // A range the rules refuse is a FunnelRangeError (BAD_REQUEST): a 400 naming the parameter.
    getFunnel: async ({ query: q }) => deps.funnel.funnel(deps.funnel.range(q), q.stuckAfter ?? FUNNEL_DEFAULT_STUCK_AFTER_MS, q.limit),
    getBillingReconciliation: async ({ query: q }) => deps.funnel.reconciliation(deps.funnel.range(q)),
    getThroughput: async ({ query: q }) => deps.funnel.throughput(q.minutes),
  };
}

async function run(
  ops: DeliveryActions,
  action: OperationKind,
  filter: DeliveryFilter,
  opts: { dryRun: boolean; actor: string; reason?: string; limit?: number },
): Promise<OperationResult> {
  switch (action) {
    case 'replay':
      return ops.replay(filter, opts);
    case 'discard':
      if (opts.reason === undefined) throw new GatewayError('BAD_REQUEST', 'discard needs a reason');
      return ops.discard(filter, { ...opts, reason: opts.reason });
    case 'hold':
      return ops.hold(filter, opts);
    case 'release':
      return ops.release(filter, opts);
  }
}

function recovery(deps: AdminApiDeps): RecoveryApi {
  const service = deps.recovery();
  if (!service) throw new GatewayError('NOT_FOUND', 'recovery runs are not set up in this gateway');
  return service;
}

function poller(deps: AdminApiDeps): PollerApi {
  const service = deps.poller();
  if (!service) throw new GatewayError('NOT_FOUND', 'the purchase-order poller is not set up in this gateway');
  return service;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function page(q: { limit: number; cursor?: string | undefined }): { limit: number; cursor?: string } {
  return q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
}

/** Drops keys whose value is undefined (the services treat a present key as a criterion). */
function stripUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
