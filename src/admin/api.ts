import type { Context } from 'koa';
import type { Router } from '@koa/router';
import type { z } from 'zod';
import type { ConnectorOperations } from '../delivery/connector-operations.ts';
import type { DeliveryFilter, DeliveryOperations, OperationKind, OperationResult } from '../delivery/operations.ts';
import { GatewayError } from '../domain/errors.ts';
import type { RecoverNowOptions, RecoveryOutcome, RecoveryRunSummary } from '../jobs/recovery.ts';
import type { PollerStatus, PollOutcome } from '../inbound/poller/purchase-orders.ts';
import type { Logger } from '../log.ts';
import type { LoginGuard } from '../server/login-throttle.ts';
import type { BillingEvent, BillingFilter } from '../store/webhooks.ts';
import { bearerAuth, readJsonBody, validate } from './http.ts';
import { openApiDocument } from './openapi.ts';
import {
  attemptsQuery,
  auditQuery,
  billingQuery,
  connectorParam,
  connectorStateBody,
  deliveriesQuery,
  emptyBody,
  eventsQuery,
  idParam,
  operationBody,
  recoveryRunBody,
  runHistoryQuery,
  singleOperationBody,
} from './schemas.ts';

/**
 * The admin REST API under /admin/api: browse events, deliveries, attempts and the audit trail;
 * replay, discard, hold and release deliveries; connectors (overview, maintenance, live test);
 * recovery runs; the purchase-order poller; ShipBob billing records. Every route needs `Authorization: Bearer <admin.token>`;
 * without a configured token the API is off (404). Errors are `{code, message}`. Every change is
 * audited with actor `admin-api`. The routes are described by src/admin/openapi.ts, served at
 * GET /admin/api/openapi.json (a test checks the two agree).
 */

export const ADMIN_PREFIX = '/admin/api';
export const ADMIN_ACTOR = 'admin-api';

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
  operations: DeliveryOperations;
  connectors: ConnectorOperations;
  /** ShipBob billing webhooks (src/store/webhooks.ts), oldest first after `afterId`. */
  billing: (filter: BillingFilter) => Promise<BillingEvent[]>;
  /** The recovery run service, or null when this gateway has none. */
  recovery: () => RecoveryApi | null;
  /** The purchase-order poller, or null when this gateway has none. */
  poller: () => PollerApi | null;
  logger: Logger;
  /** Delays the answers to repeated wrong tokens from one source (src/server/login-throttle.ts). */
  logins?: LoginGuard;
}

type Method = 'GET' | 'POST';

export interface AdminRoute {
  method: Method;
  /** Koa path under ADMIN_PREFIX (`:name` parameters). */
  path: string;
  handle: (ctx: Context) => Promise<unknown>;
}

/** Registers every admin route on `router` (with the full /admin/api prefix). Returns the route table. */
export function registerAdminApi(router: Router, deps: AdminApiDeps): AdminRoute[] {
  const routes = adminRoutes(deps);
  const auth = bearerAuth(deps.token, deps.logins);
  for (const route of routes) {
    const handler = async (ctx: Context): Promise<void> => {
      ctx.set('Cache-Control', 'no-store');
      ctx.state.logFields = { admin: `${route.method} ${route.path}` };
      const body = await route.handle(ctx);
      ctx.status = 200;
      ctx.body = body;
    };
    const path = `${ADMIN_PREFIX}${route.path}`;
    if (route.method === 'GET') router.get(path, auth, handler);
    else router.post(path, auth, handler);
  }
  return routes;
}

function adminRoutes(deps: AdminApiDeps): AdminRoute[] {
  const ops = deps.operations;
  const body = <S extends z.ZodType>(ctx: Context, schema: S): Promise<z.output<S>> =>
    readJsonBody(ctx, deps.maxBodyBytes()).then((raw) => validate(schema, raw, 'body'));
  const query = <S extends z.ZodType>(ctx: Context, schema: S): z.output<S> => validate(schema, { ...ctx.query }, 'query');
  const id = (ctx: Context): string => validate(idParam, { ...ctx.params }, 'path').id;
  const connectorName = (ctx: Context): string => validate(connectorParam, { ...ctx.params }, 'path').name;

  const operate = (action: OperationKind): AdminRoute => ({
    method: 'POST',
    path: `/deliveries/${action}`,
    handle: async (ctx) => {
      const { dryRun, reason, limit, ...filter } = await body(ctx, operationBody);
      return run(ops, action, stripUndefined(filter), { dryRun, actor: ADMIN_ACTOR, ...(reason !== undefined ? { reason } : {}), ...(limit !== undefined ? { limit } : {}) });
    },
  });

  const operateOne = (action: OperationKind): AdminRoute => ({
    method: 'POST',
    path: `/deliveries/:id/${action}`,
    handle: async (ctx) => {
      const deliveryId = id(ctx);
      const { dryRun, reason } = await body(ctx, singleOperationBody);
      if (action === 'discard' && reason === undefined) throw new GatewayError('BAD_REQUEST', 'discard needs a reason');
      const current = await ops.show(deliveryId);
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
    },
  });

  return [
    { method: 'GET', path: '/openapi.json', handle: async () => openApiDocument },

    {
      method: 'GET',
      path: '/events',
      handle: async (ctx) => {
        const q = query(ctx, eventsQuery);
        return ops.listEvents(
          stripUndefined({ ids: q.id, eventCodes: q.eventCode, sources: q.source, statuses: q.status, orderKey: q.orderKey, pushId: q.pushId, from: q.from, to: q.to }),
          page(q),
        );
      },
    },
    {
      method: 'GET',
      path: '/events/:id',
      handle: async (ctx) => {
        const eventId = id(ctx);
        const detail = await ops.showEvent(eventId);
        if (!detail) throw new GatewayError('NOT_FOUND', `no event ${eventId}`);
        return detail;
      },
    },

    {
      method: 'GET',
      path: '/deliveries',
      handle: async (ctx) => {
        const q = query(ctx, deliveriesQuery);
        return ops.list(
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
        );
      },
    },
    {
      method: 'GET',
      path: '/deliveries/:id',
      handle: async (ctx) => {
        const deliveryId = id(ctx);
        const detail = await ops.show(deliveryId);
        if (!detail) throw new GatewayError('NOT_FOUND', `no delivery ${deliveryId}`);
        return detail;
      },
    },
    operate('replay'),
    operate('discard'),
    operate('hold'),
    operate('release'),
    operateOne('replay'),
    operateOne('discard'),
    operateOne('hold'),
    operateOne('release'),

    {
      method: 'GET',
      path: '/attempts',
      handle: async (ctx) => {
        const q = query(ctx, attemptsQuery);
        return ops.listAttempts(
          stripUndefined({ deliveryIds: q.deliveryId, connectors: q.connector, outcomes: q.outcome, errorContains: q.error, from: q.from, to: q.to }),
          page(q),
        );
      },
    },
    {
      method: 'GET',
      path: '/audit',
      handle: async (ctx) => {
        const q = query(ctx, auditQuery);
        return ops.listAudit(
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
        );
      },
    },

    { method: 'GET', path: '/connectors', handle: async () => ({ items: await deps.connectors.list() }) },
    { method: 'GET', path: '/connectors/:name', handle: async (ctx) => deps.connectors.get(connectorName(ctx)) },
    ...(['online', 'offline'] as const).map(
      (state): AdminRoute => ({
        method: 'POST',
        path: `/connectors/:name/${state}`,
        handle: async (ctx) => {
          const name = connectorName(ctx);
          const { reason } = await body(ctx, connectorStateBody);
          return deps.connectors.setState(name, state, ADMIN_ACTOR, reason);
        },
      }),
    ),
    {
      method: 'POST',
      path: '/connectors/:name/test',
      handle: async (ctx) => {
        const name = connectorName(ctx);
        await body(ctx, emptyBody);
        return deps.connectors.test(name, ADMIN_ACTOR);
      },
    },

    {
      method: 'GET',
      path: '/recovery/runs',
      handle: async (ctx) => {
        const q = query(ctx, runHistoryQuery);
        return { items: await recovery(deps).history(q.limit) };
      },
    },
    {
      method: 'POST',
      path: '/recovery/runs',
      handle: async (ctx) => {
        const b = await body(ctx, recoveryRunBody);
        return recovery(deps).runNow({ ...stripUndefined(b), actor: ADMIN_ACTOR });
      },
    },

    {
      method: 'GET',
      path: '/poller',
      handle: async (ctx) => {
        const q = query(ctx, runHistoryQuery);
        return poller(deps).status(q.limit);
      },
    },
    {
      method: 'POST',
      path: '/poller/runs',
      handle: async (ctx) => {
        await body(ctx, emptyBody);
        return poller(deps).runNow(ADMIN_ACTOR);
      },
    },

    {
      method: 'GET',
      path: '/billing',
      handle: async (ctx) => {
        const q = query(ctx, billingQuery);
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
    },
  ];
}

async function run(
  ops: DeliveryOperations,
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

function page(q: { limit: number; cursor?: string | undefined }): { limit: number; cursor?: string } {
  return q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
}

/** Drops keys whose value is undefined (the services treat a present key as a criterion). */
function stripUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
