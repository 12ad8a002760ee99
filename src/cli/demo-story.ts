import { z } from 'zod';
import { buildPush, pushHttpHeaders, sandboxOrderIds, type PushEventCode } from '../sandbox/om-push.ts';
import type { DemoOutput } from './demo-output.ts';

/**
 * The story `omgw demo` plays against a gateway running the example config with its sandbox peers,
 * through the product's own surfaces only: the emulated Fusion, OM and ShipBob over HTTP (what a
 * person can do with curl, README "ShipBob and Fusion"), the sandbox targets' outage control, and the
 * admin API (poller run, journey, replay). Nothing is written to the database behind the gateway's back.
 */

/** The example config's connector whose target the story takes down (its retries need a demo overlay). */
export const OUTAGE_CONNECTOR = 'order-status-crm';
/** The connectors of the example config the story watches (config/connectors/). */
export const STORY_CONNECTORS = { shipbob: 'shipbob', fusion: 'fusion', crm: OUTAGE_CONNECTOR } as const;
/** The sandbox target the CRM connector delivers to, taken down for the outage. */
const CRM_TARGET = 'rest-sink';
/** The sales order OM pushes (a fresh database and fresh sandboxes each run: a fixed number is unique). */
const SALES_ORDER = { sourceOrderSystem: 'LEG', sourceOrderNumber: 'SO-DEMO-1' } as const;
const PO_LINE = { item: 'OMGW-MUG-12OZ', quantity: 2 } as const;
const SHIPPING = { carrier: 'UPS', tracking: '1Z999AA10123456784' } as const;

export interface StoryDeps {
  /** The gateway's base URL. */
  url: string;
  adminToken: string;
  soap: { username: string; password: string };
  fusion: { username: string; password: string };
  shipbobToken: string;
  /** The delivery worker: each attempt it reports is a moment to look at the condition again. */
  attempts: { on(event: 'attempt', listener: () => void): unknown; off(event: 'attempt', listener: () => void): unknown } | null;
  out: DemoOutput;
  /** The longest any one step waits for its condition. */
  maxWaitMs: number;
  /** Aborted when the demo is interrupted (SIGINT, SIGTERM): the step under way fails at once. */
  signal: AbortSignal;
}

export interface Step {
  run(): Promise<string>;
}

/** A step that could not be done: what it did or waited for, and what it saw last. */
export class StepFailed extends Error {
  override name = 'StepFailed';
}

// What the story reads of the admin API's answers (the full shapes are in its OpenAPI document).
const journeySchema = z.object({
  standing: z.object({ summary: z.string() }),
  shipbobOrders: z.array(z.object({ shipbobOrderId: z.string().nullable(), referenceId: z.string(), stage: z.string() })),
  timeline: z.array(
    z.object({
      kind: z.string(),
      role: z.string().optional(),
      eventCode: z.string().optional(),
      connector: z.string().optional(),
      deliveryId: z.string().optional(),
      state: z.string().optional(),
      parkedReason: z.string().nullable().optional(),
      lastError: z.string().nullable().optional(),
      attempts: z.array(z.object({ number: z.number(), outcome: z.string(), responseStatus: z.number().nullable() })).optional(),
    }),
  ),
});
type Journey = z.infer<typeof journeySchema>;
type Delivery = Journey['timeline'][number];

const pollSchema = z.union([
  z.object({
    status: z.literal('ran'),
    runId: z.string(),
    state: z.string(),
    error: z.string().nullable(),
    summary: z.object({ read: z.number(), routed: z.number() }),
  }),
  z.object({ status: z.literal('skipped'), reason: z.string() }),
]);
const replaySchema = z.object({ changed: z.number() });
const purchaseOrderSchema = z.object({
  OrderNumber: z.string(),
  lines: z.array(z.object({ schedules: z.array(z.object({ LineLocationId: z.union([z.string(), z.number()]) })) })),
});
const shipbobOrderSchema = z.object({ id: z.number(), shipments: z.array(z.object({ id: z.number() })) });

/** What the story made, for the summary. */
export interface StoryResult {
  /** The sales order whose journey ends the demo. */
  orderKey: string;
}

/** The steps, in order; `result` is complete once every step has run. */
export function demoStory(deps: StoryDeps): { steps: Step[]; result: StoryResult } {
  const api = new DemoHttp(deps.url, deps.signal);
  const orderKey = `${SALES_ORDER.sourceOrderSystem}:${SALES_ORDER.sourceOrderNumber}`;
  const line = sandboxOrderIds(SALES_ORDER).lines[0]?.fulfillLineId ?? '';
  const admin = { authorization: `Bearer ${deps.adminToken}` };
  const shipbob = { authorization: `Bearer ${deps.shipbobToken}` };
  const made = { purchaseOrder: '', shipbobOrder: '', crmFirst: '', crmDelivery: '' };

  const journey = async (key: string): Promise<Journey | null> => {
    const res = await api.request('GET', `/admin/api/orders/${encodeURIComponent(key)}`, { headers: admin, ok: [200, 404] });
    return res.status === 404 ? null : api.parse(res, journeySchema);
  };
  const wait = <T>(what: string, check: () => Promise<Look<T>>): Promise<T> => waitFor(deps, what, check);
  const push = async (eventCode: PushEventCode, statusFrom: string, statusTo: string): Promise<number> => {
    const body = buildPush([{ eventCode, order: { ...SALES_ORDER, lines: 1, statusFrom, statusTo } }], {
      style: 'oracle',
      address: `${deps.url}/soap/business-events`,
      security: { kind: 'text', ...deps.soap },
    });
    const res = await api.request('POST', '/soap/business-events', { headers: pushHttpHeaders(), body, ok: [202] });
    return res.status;
  };
  /** The deliveries of the order's events with this code to this connector. */
  const deliveriesOf = (j: Journey | null, connector: string, eventCode?: string): Delivery[] =>
    (j?.timeline ?? []).filter((e) => e.kind === 'delivery' && e.connector === connector && (eventCode === undefined || e.eventCode === eventCode));

  const steps: Step[] = [
    {
      async run() {
        const auth = { authorization: `Basic ${Buffer.from(`${deps.fusion.username}:${deps.fusion.password}`).toString('base64')}` };
        const res = await api.request('POST', '/sandbox/fusion/purchase-orders', { headers: auth, json: { lines: [PO_LINE] }, ok: [201] });
        made.purchaseOrder = api.parse(res, purchaseOrderSchema).OrderNumber;
        return `purchase order ${made.purchaseOrder} created in Fusion (${PO_LINE.item} × ${PO_LINE.quantity})`;
      },
    },
    {
      async run() {
        const res = await api.request('POST', '/admin/api/poller/runs', { headers: admin, json: {}, ok: [200] });
        const outcome = api.parse(res, pollSchema);
        if (outcome.status === 'skipped') throw new StepFailed(`the poll was skipped (${outcome.reason})`);
        if (outcome.state !== 'ok') throw new StepFailed(`poll ${outcome.runId} ${outcome.state}: ${outcome.error ?? 'no reason given'}`);
        const { read, routed } = outcome.summary;
        return `Fusion polled (admin API, poll ${outcome.runId}): ${read} purchase order${read === 1 ? '' : 's'} read, ${routed} routed to ShipBob`;
      },
    },
    {
      async run() {
        const order = await wait(`the ShipBob order of ${made.purchaseOrder}`, async () => {
          const j = await journey(made.purchaseOrder);
          const created = j?.shipbobOrders.find((o) => o.shipbobOrderId !== null);
          if (created) return done(created);
          return seen(describeDeliveries(deliveriesOf(j, STORY_CONNECTORS.shipbob)) || 'the purchase order is not routed yet');
        });
        return `ShipBob order ${order.shipbobOrderId} created for ${made.purchaseOrder} (reference ${order.referenceId})`;
      },
    },
    {
      async run() {
        const status = await push('FlineStatusUpdate', 'SCHEDULED', 'AWAIT_SHIPPING');
        return `OM pushed FlineStatusUpdate for ${orderKey}: fulfilment line ${line} SCHEDULED → AWAIT_SHIPPING (HTTP ${status})`;
      },
    },
    {
      async run() {
        const order = await wait(`the ShipBob order of ${orderKey} and its status at the CRM`, async () => {
          const j = await journey(orderKey);
          const created = j?.shipbobOrders.find((o) => o.shipbobOrderId !== null);
          const crm = deliveriesOf(j, STORY_CONNECTORS.crm, 'FlineStatusUpdate');
          if (created && crm.length > 0 && crm.every((d) => d.state === 'delivered')) return done(created);
          return seen(describeDeliveries([...deliveriesOf(j, STORY_CONNECTORS.shipbob), ...crm]) || 'the push is not routed yet');
        });
        made.shipbobOrder = order.shipbobOrderId ?? '';
        made.crmFirst = deliveriesOf(await journey(orderKey), STORY_CONNECTORS.crm)[0]?.deliveryId ?? '';
        return `ShipBob order ${made.shipbobOrder} created for the line (reference ${order.referenceId}); the status sent to the CRM`;
      },
    },
    {
      async run() {
        const res = await api.request('GET', `/sandbox/shipbob/2026-01/order/${made.shipbobOrder}`, { headers: shipbob, ok: [200] });
        const shipment = api.parse(res, shipbobOrderSchema).shipments[0]?.id;
        if (shipment === undefined) throw new StepFailed(`ShipBob order ${made.shipbobOrder} has no shipment`);
        await api.request('POST', `/sandbox/shipbob/_sandbox/shipments/${shipment}/ship`, { headers: shipbob, json: SHIPPING, ok: [200] });
        await wait(`ShipBob's order.shipped webhook`, async () => {
          const j = await journey(orderKey);
          const received = j?.timeline.some((e) => e.kind === 'event' && e.role === 'shipbob_webhook' && e.eventCode === 'order.shipped');
          return received ? done(true) : seen('not received yet');
        });
        return `ShipBob shipped shipment ${shipment} (${SHIPPING.carrier} ${SHIPPING.tracking}): its signed order.shipped webhook received`;
      },
    },
    {
      async run() {
        await wait('the shipment notice to Fusion', async () => {
          const writeBacks = deliveriesOf(await journey(orderKey), STORY_CONNECTORS.fusion);
          if (writeBacks.length > 0 && writeBacks.every((d) => d.state === 'delivered')) return done(true);
          return seen(describeDeliveries(writeBacks) || 'the webhook is not routed yet');
        });
        return `shipment notice written back to Fusion (connector ${STORY_CONNECTORS.fusion}, receivingReceiptRequests)`;
      },
    },
    {
      async run() {
        await api.request('POST', `/sandbox/outages/${CRM_TARGET}`, { json: { status: 503 }, ok: [200] });
        const status = await push('FlineStatusUpdate', 'AWAIT_SHIPPING', 'SHIPPED');
        return `the CRM is down (sandbox ${CRM_TARGET} answers 503); OM pushed FlineStatusUpdate AWAIT_SHIPPING → SHIPPED for ${orderKey} (HTTP ${status})`;
      },
    },
    {
      async run() {
        const parked = await wait(`the delivery to ${STORY_CONNECTORS.crm} to use up its retries`, async () => {
          const d = crmShipped(await journey(orderKey));
          if (d?.state === 'parked') return done(d);
          const failed = d?.attempts?.length ?? 0;
          return seen(d === undefined ? 'not routed yet' : failed === 0 ? `delivery ${d.state}` : `attempt ${failed} failed (${d.lastError ?? '?'}); ${d.state}`);
        });
        made.crmDelivery = parked.deliveryId ?? '';
        return `delivery to ${STORY_CONNECTORS.crm} parked (${parked.parkedReason ?? '?'}): ${parked.lastError ?? ''}`;
      },
    },
    {
      async run() {
        await api.request('DELETE', `/sandbox/outages/${CRM_TARGET}`, { ok: [204] });
        const res = await api.request('POST', `/admin/api/deliveries/${made.crmDelivery}/replay`, { headers: admin, json: { reason: 'the CRM is back' }, ok: [200] });
        const { changed } = api.parse(res, replaySchema);
        if (changed !== 1) throw new StepFailed(`the replay changed ${changed} deliveries, not 1`);
        return `the CRM is back; delivery ${made.crmDelivery} replayed (admin API, reason "the CRM is back")`;
      },
    },
    {
      async run() {
        const delivered = await wait(`the replayed delivery to ${STORY_CONNECTORS.crm}`, async () => {
          const d = crmShipped(await journey(orderKey));
          return d?.state === 'delivered' ? done(d) : seen(`delivery ${d?.state ?? 'gone'}`);
        });
        return `delivered to ${STORY_CONNECTORS.crm} on attempt ${delivered.attempts?.at(-1)?.number ?? '?'}`;
      },
    },
  ];

  /** The CRM delivery of the push that says the line shipped. */
  function crmShipped(j: Journey | null): Delivery | undefined {
    // Not the first (AWAIT_SHIPPING), delivered before the outage.
    return deliveriesOf(j, STORY_CONNECTORS.crm, 'FlineStatusUpdate').find((d) => d.deliveryId !== made.crmFirst);
  }

  return { steps, result: { orderKey } };
}

/** What a look found: the condition holds, with what the step needs of it; or what it saw instead. */
type Look<T> = { done: T } | { seen: string };
const done = <T>(value: T): Look<T> => ({ done: value });
const seen = (text: string): Look<never> => ({ seen: text });

/** `delivery to shipbob pending, delivery to order-status-crm retrying (HTTP 503)`. */
function describeDeliveries(deliveries: Delivery[]): string {
  return deliveries.map((d) => `delivery to ${d.connector} ${d.state}${d.state === 'delivered' || !d.lastError ? '' : ` (${d.lastError})`}`).join(', ');
}

/**
 * Waits until `check` is done, for at most deps.maxWaitMs: it looks again after each delivery
 * attempt the worker reports, and at least every quarter second (a webhook or a poll makes no
 * attempt), showing what it sees on the progress line. Fails naming what it waited for.
 */
async function waitFor<T>(deps: StoryDeps, what: string, check: () => Promise<Look<T>>): Promise<T> {
  const started = Date.now();
  for (;;) {
    if (deps.signal.aborted) throw new StepFailed(`interrupted while waiting for ${what}`);
    const now = await check();
    if ('done' in now) return now.done;
    const waited = Date.now() - started;
    if (waited > deps.maxWaitMs) throw new StepFailed(`waited ${Math.round(waited / 1000)} s for ${what}; last seen: ${now.seen}`);
    deps.out.progress(`waiting for ${what}: ${now.seen}`, waited);
    await nextLook(deps.attempts, deps.signal);
  }
}

const LOOK_AGAIN_MS = 250;

function nextLook(attempts: StoryDeps['attempts'], signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      attempts?.off('attempt', wake);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, LOOK_AGAIN_MS);
    attempts?.on('attempt', wake);
    signal.addEventListener('abort', wake);
  });
}

/** HTTP to the gateway (its admin API, SOAP endpoint and sandbox peers), failing a step on an answer it did not expect. */
class DemoHttp {
  readonly #base: string;
  readonly #signal: AbortSignal;

  constructor(base: string, signal: AbortSignal) {
    this.#base = base;
    this.#signal = signal;
  }

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { headers?: Record<string, string>; json?: unknown; body?: string; ok: number[] },
  ): Promise<{ status: number; text: string; what: string }> {
    const what = `${method} ${path}`;
    const headers = { ...options.headers, ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}) };
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, { method, headers, signal: this.#signal, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      if (this.#signal.aborted) throw new StepFailed(`interrupted during ${what}`);
      const cause = (err as { cause?: { code?: unknown } }).cause;
      throw new StepFailed(`${what}: no answer (${typeof cause?.code === 'string' ? cause.code : String(err)})`);
    }
    const text = await res.text();
    if (!options.ok.includes(res.status)) throw new StepFailed(`${what} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    return { status: res.status, text, what };
  }

  parse<S extends z.ZodType>(res: { text: string; what: string }, schema: S): z.infer<S> {
    let value: unknown;
    try {
      value = JSON.parse(res.text);
    } catch {
      throw new StepFailed(`${res.what} answered no JSON: ${res.text.slice(0, 300)}`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new StepFailed(`${res.what} answered what the demo does not understand: ${parsed.error.message.slice(0, 300)}`);
    return parsed.data;
  }
}
