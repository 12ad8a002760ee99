import type { z } from 'zod';
import * as res from './responses.ts';
import { orderJourney } from './journey-response.ts';
import { billingReconciliation, funnelReport, throughput } from './funnel-response.ts';
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
  previewEventBody,
  previewQuery,
  orderKeyParam,
  recoveryRunBody,
  runHistoryQuery,
  singleOperationBody,
  funnelQuery,
  reconciliationQuery,
  throughputQuery,
} from './schemas.ts';

/**
 * The admin API's routes as data, the one place each is declared: src/admin/api.ts registers exactly
 * these on the router, validating query, path and body with the schemas named here, and
 * src/admin/openapi.ts writes the OpenAPI document from the same entries. What a route answers is
 * `response` (src/admin/responses.ts); the integration test checks each route's real answer against it.
 */

/** Where the admin API lives; route paths below are relative to it. */
export const ADMIN_PREFIX = '/admin/api';

export type Tag = 'events' | 'deliveries' | 'attempts' | 'audit' | 'connectors' | 'instances' | 'recovery' | 'poller' | 'billing' | 'meta' | 'orders' | 'funnel' | 'stats';

/** HTTP statuses an operation may answer besides 200. 401 and 404 (the API is off) apply to every route. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 503;

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Koa path under /admin/api (`:name` parameters). */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** Query string; a route without one ignores its query string. */
  query?: z.ZodObject;
  /** Path parameters. */
  params?: z.ZodObject;
  /** JSON body (no body reads as {}). */
  body?: z.ZodObject;
  response: z.ZodType;
  /** Statuses beyond those the request schemas imply (400, 413, 415) and 401/404. */
  errors?: readonly ErrorStatus[];
}

const ACTION_DESCRIPTIONS = {
  replay:
    'Back to pending, due now, with a fresh retry cycle (attemptsInCycle 0); attempt history kept; parkedReason and lastError cleared. Applies to parked, on_hold, discarded and retrying deliveries, and to delivered ones chosen by `ids` or `eventIds`. Ordering per order key is kept (ids do not change). In-flight deliveries are never touched.',
  discard: 'To `discarded` for good, with a `reason` (required). Applies to pending, retrying, on_hold and parked deliveries. A discarded delivery no longer blocks its order key.',
  hold: 'Pending and retrying deliveries to `on_hold` (hold reason `admin`) until released.',
  release: 'Held deliveries (any hold reason) back to pending, due now.',
} as const;

type Action = keyof typeof ACTION_DESCRIPTIONS;

const PREVIEW_DESCRIPTION =
  'Built on the delivery\'s own code path (transform, WSDL, templates, auth), with credentials shown as ***: sends nothing, takes no rate-limit place, fetches no OAuth2 token, writes nothing (no audit record). A stored event is previewed with its delivery to this connector when it has one. 422 TRANSFORM_FAILED when the transform cannot build the request (the message names the path), 422 PREVIEW_UNSUPPORTED for a connector kind that sends several requests per delivery (kind: shipbob), 503 WSDL_UNAVAILABLE when the connector\'s WSDL cannot be read; 404 for an unknown connector or event.';

const bulk = <A extends Action>(action: A) =>
  ({
    method: 'POST',
    path: `/deliveries/${action}`,
    operationId: `${action}Deliveries`,
    tag: 'deliveries',
    summary: `${action} the deliveries a selection matches`,
    description: `${ACTION_DESCRIPTIONS[action]} One audit record per changed delivery (actor admin-api). \`dryRun\` counts and samples without changing anything.`,
    body: operationBody,
    response: res.operationResult,
  }) as const satisfies RouteSpec;

const single = <A extends Action>(action: A) =>
  ({
    method: 'POST',
    path: `/deliveries/:id/${action}`,
    operationId: `${action}Delivery`,
    tag: 'deliveries',
    summary: `${action} one delivery`,
    description: `${ACTION_DESCRIPTIONS[action]} 409 when the delivery is in flight or the action does not apply to its state.`,
    params: idParam,
    body: singleOperationBody,
    response: res.operationResult,
    errors: [409],
  }) as const satisfies RouteSpec;

const connectorState = <S extends 'online' | 'offline'>(state: S, summary: string) =>
  ({
    method: 'POST',
    path: `/connectors/:name/${state}`,
    operationId: `setConnector${state === 'online' ? 'Online' : 'Offline'}`,
    tag: 'connectors',
    summary,
    params: connectorParam,
    body: connectorStateBody,
    response: res.connectorOverview,
  }) as const satisfies RouteSpec;

export const ADMIN_ROUTES = [
  { method: 'GET', path: '/openapi.json', operationId: 'getOpenApi', tag: 'meta', summary: 'this document', response: res.openApiObject },

  { method: 'GET', path: '/events', operationId: 'listEvents', tag: 'events', summary: 'list events, newest first', query: eventsQuery, response: res.eventPage },
  {
    method: 'GET',
    path: '/events/:id',
    operationId: 'getEvent',
    tag: 'events',
    summary: 'one event: parsed form, raw XML of its push (passwords redacted), its deliveries, attempts and audit records',
    params: idParam,
    response: res.eventDetail,
  },

  { method: 'GET', path: '/deliveries', operationId: 'listDeliveries', tag: 'deliveries', summary: 'list deliveries, newest first', query: deliveriesQuery, response: res.deliveryPage },
  {
    method: 'GET',
    path: '/deliveries/:id',
    operationId: 'getDelivery',
    tag: 'deliveries',
    summary: 'one delivery with its event, attempts and audit records',
    params: idParam,
    response: res.deliveryDetail,
  },
  bulk('replay'),
  bulk('discard'),
  bulk('hold'),
  bulk('release'),
  single('replay'),
  single('discard'),
  single('hold'),
  single('release'),

  { method: 'GET', path: '/attempts', operationId: 'listAttempts', tag: 'attempts', summary: 'list attempts, newest first', query: attemptsQuery, response: res.attemptPage },
  { method: 'GET', path: '/audit', operationId: 'listAudit', tag: 'audit', summary: 'list audit records, newest first', query: auditQuery, response: res.auditPage },

  {
    method: 'GET',
    path: '/connectors',
    operationId: 'listConnectors',
    tag: 'connectors',
    summary: 'connectors with admin state, circuit, rate limit, queue depth, counts and blocked order keys',
    response: res.connectorList,
  },
  { method: 'GET', path: '/connectors/:name', operationId: 'getConnector', tag: 'connectors', summary: 'one connector', params: connectorParam, response: res.connectorOverview },
  connectorState('online', 'take the connector out of maintenance (held deliveries are released in order)'),
  connectorState('offline', 'put the connector in maintenance (its due deliveries wait on hold)'),
  {
    method: 'POST',
    path: '/connectors/:name/test',
    operationId: 'testConnector',
    tag: 'connectors',
    summary: 'test the connector for real: credentials, token (OAuth2), one harmless read call',
    description: 'Answers 200 whether the test passed or not: see `ok` and each step.',
    params: connectorParam,
    body: emptyBody,
    response: res.probeReport,
  },
  {
    method: 'GET',
    path: '/connectors/:name/preview',
    operationId: 'previewStoredEvent',
    tag: 'connectors',
    summary: 'the request a delivery of a stored event to this connector would send now (omgw preview --event)',
    description: PREVIEW_DESCRIPTION,
    params: connectorParam,
    query: previewQuery,
    response: res.requestPreview,
    errors: [422, 503],
  },
  {
    method: 'POST',
    path: '/connectors/:name/preview',
    operationId: 'previewEvent',
    tag: 'connectors',
    summary: 'the request a delivery of a hand-written event to this connector would send now (omgw preview --file)',
    description: PREVIEW_DESCRIPTION,
    params: connectorParam,
    body: previewEventBody,
    response: res.requestPreview,
    errors: [422, 503],
  },

  {
    method: 'GET',
    path: '/instances',
    operationId: 'listInstances',
    tag: 'instances',
    summary: 'the gateway instances sharing the database: live, stale or stopped, with version, config version, heartbeat and the leases each holds',
    description:
      'Every instance registers when it starts and writes a heartbeat every cluster.heartbeat. One whose last heartbeat is older than cluster.staleAfter without a clean stop is stale; instances stopped or stale for longer than cluster.forgetAfter are left out.',
    response: res.instanceList,
  },

  {
    method: 'GET',
    path: '/recovery/runs',
    operationId: 'listRecoveryRuns',
    tag: 'recovery',
    summary: 'recovery run history, newest first',
    description: '404 when this gateway has no recovery run.',
    query: runHistoryQuery,
    response: res.recoveryRunList,
  },
  {
    method: 'POST',
    path: '/recovery/runs',
    operationId: 'runRecovery',
    tag: 'recovery',
    summary: 'run the recovery run now (replays the parking lot)',
    description: '404 when this gateway has no recovery run.',
    body: recoveryRunBody,
    response: res.recoveryOutcome,
  },

  {
    method: 'GET',
    path: '/poller',
    operationId: 'getPoller',
    tag: 'poller',
    summary: 'the purchase-order poller: its cursor and latest runs, newest first',
    description: '404 when this gateway has no poller.',
    query: runHistoryQuery,
    response: res.pollerStatus,
  },
  {
    method: 'POST',
    path: '/poller/runs',
    operationId: 'runPoller',
    tag: 'poller',
    summary: 'poll Fusion for changed purchase orders now',
    description:
      'Answers 200 whether the run succeeded or not: see `state` and `error`. 400 when no connector is configured (schedules.poller.connector); 404 when this gateway has no poller.',
    body: emptyBody,
    response: res.pollOutcome,
  },

  {
    method: 'GET',
    path: '/billing',
    operationId: 'listBilling',
    tag: 'billing',
    summary: 'ShipBob billing webhooks (charges, refunds, credits), oldest first',
    query: billingQuery,
    response: res.billingPage,
  },

  {
    method: 'GET',
    path: '/orders/:orderKey',
    operationId: 'getOrderJourney',
    tag: 'orders',
    summary: "an order's journey: its OM or purchase-order events, deliveries and attempts, ShipBob orders and webhooks, write-backs to Fusion, operator actions, and where it stands",
    description:
      'Found by an order key (LEG:SO-1234), a source order number (SO-1234), a purchase order number, a ShipBob order id or a ShipBob reference id (URL-encode it). In time order; the newest events, deliveries, attempts and operator actions up to a limit each, `more` set when older ones were left out. 404 when no order has the key.',
    params: orderKeyParam,
    response: orderJourney,
  },

  // The flow funnel, billing reconciliation and per-minute numbers (src/services/funnel.ts).
  {
    method: 'GET',
    path: '/funnel',
    operationId: 'getFunnel',
    tag: 'funnel',
    summary: 'the flow funnel: how many fulfilment lines reached each stage (OM AWAIT_SHIPPING, ShipBob order, shipped, written back, billed), and the lines stuck between two stages',
    description:
      "Lines with activity in [since, until) (OM said they await shipping, their ShipBob order was made, or ShipBob said it shipped), each at where it stood at `until`: the last stage of its unbroken run from where it entered. A purchase order's line enters at shipbob_order (`enteredAtShipbobOrder`). A line is stuck when it has waited for its next stage longer than `stuckAfter`; each links to its order's journey.",
    query: funnelQuery,
    response: funnelReport,
  },
  {
    method: 'GET',
    path: '/billing/reconciliation',
    operationId: 'getBillingReconciliation',
    tag: 'billing',
    summary: "ShipBob's charges matched to the orders they charge: shipped and not billed, billed and unknown",
    description:
      "A charge (billing.charge.created) names the shipment it charges (reference_id, reference_type Shipment); it matches the ShipBob order the gateway made with that shipment. shippedNotBilled: orders shipped in [since, until) with no charge received since `since`; billedUnknown: charges received in the range for no order the gateway made.",
    query: reconciliationQuery,
    response: billingReconciliation,
  },
  {
    method: 'GET',
    path: '/stats/throughput',
    operationId: 'getThroughput',
    tag: 'stats',
    summary: 'per-minute numbers for the last `minutes` minutes: pushes received from OM, deliveries delivered, attempts failed; the queue depth now',
    description:
      'Each minute counts the pushes received from OM (SOAP requests; one push may hold several events), the deliveries that reached `delivered` in it (a sync delivery when its target answered; an async one when its callback said it was done, not when its request was accepted) and the attempts that failed in it (outcome retry or parked; an async request accepted is no failure). A delivery replayed and delivered again counts each time it is delivered.',
    query: throughputQuery,
    response: throughput,
  },
] as const satisfies readonly RouteSpec[];

export type AdminRouteSpec = (typeof ADMIN_ROUTES)[number];

/** Every status an operation may answer besides 200, in order. */
export function errorStatuses(route: RouteSpec): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>([401, 404, ...(route.errors ?? [])]);
  if (route.query || route.params || route.body) statuses.add(400);
  if (route.body) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}
