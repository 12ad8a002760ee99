import { z } from 'zod';
import { FUNNEL_STAGES } from '../domain/funnel.ts';
import { FUNNEL_LIMITS } from '../services/funnel.ts';
import { component, count, id, nullableString, time } from './response-parts.ts';

/**
 * GET /funnel, /billing/reconciliation and /stats/throughput (src/services/funnel.ts), as response
 * schemas registered in the document's components like those of src/admin/responses.ts.
 */

const stage = z.enum(FUNNEL_STAGES);
const journeyPath = z.string().describe("the admin API path of the order's journey (GET /admin/api/orders/{orderKey})");

export const funnelReport = component(
  'FunnelReport',
  z.strictObject({
    since: time,
    until: time,
    stuckAfter: z.string().describe('the threshold, e.g. 2h'),
    stuckAfterSeconds: count,
    stages: z
      .array(z.strictObject({ stage, label: z.string(), count: count.describe('lines that reached the stage, in an unbroken run from where they entered') }))
      .describe('in order: awaiting_shipping, shipbob_order, shipped, written_back, billed'),
    enteredAtShipbobOrder: count.describe('lines that entered at shipbob_order (no OM AWAIT_SHIPPING event: purchase-order schedules); counted from that stage on'),
    lines: count.describe('lines with activity in the range (OM AWAIT_SHIPPING, ShipBob order made, or shipped webhook)'),
    linesTruncated: z.boolean().describe(`some lines were left out (more than ${FUNNEL_LIMITS.omEvents} OM events or ${FUNNEL_LIMITS.shipbobOrders} ShipBob orders in the range)`),
    stuck: z
      .array(
        z.strictObject({
          orderKey: z.string(),
          line: z.string().describe('fulfillment-line:<FulfillmentOrderLineId> or po-schedule:<LineLocationId> (a reference id when unknown)'),
          stage: stage.describe('the furthest stage reached'),
          reachedAt: time,
          waitingFor: stage,
          waitingSeconds: count,
          journey: journeyPath,
          referenceId: nullableString.describe("the ShipBob order's reference id"),
          shipbobOrderId: nullableString,
        }),
      )
      .describe('lines waiting for their next stage longer than stuckAfter, the longest wait first'),
    stuckTruncated: z.boolean(),
  }),
);

export const billingReconciliation = component(
  'BillingReconciliation',
  z.strictObject({
    since: time,
    until: time,
    matched: count.describe('charges (billing.charge.created) received in the range for the shipment of a ShipBob order the gateway made'),
    shippedNotBilled: z
      .array(
        z.strictObject({
          orderKey: nullableString,
          shipbobOrderId: z.string(),
          referenceId: z.string(),
          shipmentId: nullableString,
          shippedAt: time,
          journey: journeyPath,
        }),
      )
      .describe('ShipBob orders shipped in the range with no charge for their shipment received since `since`'),
    shippedNotBilledTruncated: z.boolean(),
    billedUnknown: z
      .array(
        z.strictObject({
          webhookId: id.describe('the stored billing webhook (GET /admin/api/events/{id})'),
          receivedAt: time,
          reference: nullableString.describe("the payload's reference_id: the shipment charged"),
          referenceType: nullableString,
          amount: nullableString.describe('as ShipBob wrote it'),
          currency: nullableString,
          transactionId: nullableString,
        }),
      )
      .describe('charges received in the range for a shipment of no ShipBob order the gateway made, or naming none'),
    billedUnknownTruncated: z.boolean(),
    notForShipments: count.describe('charges received in the range for something other than a shipment (reference_type Return, WRO...)'),
  }),
);

export const throughput = component(
  'Throughput',
  z.strictObject({
    bucketSeconds: z.literal(60),
    from: time,
    to: time,
    buckets: z
      .array(
        z.strictObject({
          at: time.describe("the minute's start"),
          pushes: count.describe('pushes received from OM (SOAP requests; one may hold several events)'),
          deliveries: count.describe('deliveries that reached delivered in the minute (an async one when its callback said it was done)'),
          failures: count.describe('attempts that failed in the minute (outcome retry or parked; an accepted async request is no failure)'),
        }),
      )
      .describe('every minute of [from, to), oldest first'),
    queueDepth: count.describe('deliveries not finished now (every state but delivered and discarded)'),
  }),
);
