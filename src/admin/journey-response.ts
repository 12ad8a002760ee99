import { z } from 'zod';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../domain/delivery.ts';
import { DELIVERY_ROLES, JOURNEY_EVENT_ROLES, JOURNEY_FOUND_BY } from '../domain/journey.ts';
import { SHIPBOB_STAGES } from '../domain/journey-links.ts';
import { JOURNEY_LIMITS } from '../services/journey.ts';
import { ERROR_CLASSES, EVENT_STATUSES, HOLD_REASONS, PARK_REASONS } from './enums.ts';
import { components, id, nullableString, time } from './response-parts.ts';

/**
 * GET /orders/{orderKey}: an order's journey (src/services/journey.ts), as a response schema
 * registered in the document's components like those of src/admin/responses.ts.
 */


const statusValue = z.strictObject({
  line: nullableString.describe('the fulfilment line (FulfillmentOrderLineId); null for the header'),
  field: z.string().describe('StatusCode, CancelFlag, Status'),
  old: nullableString,
  new: nullableString,
});

const attempt = z.strictObject({
  number: z.number().int().min(1),
  at: time,
  outcome: z.enum(ATTEMPT_OUTCOMES),
  responseStatus: z.number().int().nullable(),
  durationMs: z.number().int().min(0),
  snippet: nullableString.describe("the start of the target's answer (a ShipBob delivery's: the orders it made or changed)"),
  errorClass: z.enum(ERROR_CLASSES).nullable(),
  errorMessage: nullableString,
});

const shipbobOrderFields = {
  connector: nullableString,
  referenceId: z.string(),
  shipbobOrderId: nullableString,
  shipmentId: nullableString,
  lineKey: nullableString.describe('fulfillment-line:<FulfillLineId> or po-schedule:<LineLocationId>'),
  knownFrom: z.enum(['record', 'delivery_summary']),
  stage: z.enum(SHIPBOB_STAGES).describe("from ShipBob's webhooks"),
  cancelRequestedAt: time.nullable(),
};

const shipbobOrder = z.strictObject({ ...shipbobOrderFields, createdAt: time });

const entry = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('event'),
    at: time,
    role: z.enum(JOURNEY_EVENT_ROLES),
    eventId: id,
    source: z.string(),
    eventCode: z.string(),
    orderKey: nullableString,
    status: z.enum(EVENT_STATUSES),
    statusValues: z.array(statusValue),
    shipbobOrderId: nullableString,
    referenceId: nullableString,
  }),
  z.strictObject({
    kind: z.literal('delivery'),
    at: time,
    role: z.enum(DELIVERY_ROLES).describe('to_shipbob: makes ShipBob orders; write_back: of a ShipBob webhook, to Fusion'),
    deliveryId: id,
    eventId: id,
    connector: z.string(),
    eventCode: z.string(),
    state: z.enum(DELIVERY_STATES),
    parkedReason: z.enum(PARK_REASONS).nullable(),
    holdReason: z.enum(HOLD_REASONS).nullable(),
    lastError: nullableString,
    attempts: z.array(attempt),
  }),
  z.strictObject({ kind: z.literal('shipbob_order'), at: time, ...shipbobOrderFields }),
  z.strictObject({
    kind: z.literal('operator_action'),
    at: time,
    action: z.string().describe('delivery.replayed, delivery.discarded, delivery.held, delivery.released'),
    actor: nullableString,
    result: z.string(),
    deliveryId: id.nullable(),
    connector: nullableString,
    reason: nullableString,
  }),
]);

export const orderJourney = z.strictObject({
  key: z.string().describe('the key as asked'),
  foundBy: z.enum(JOURNEY_FOUND_BY),
  orderKeys: z.array(z.string()).describe("the order's keys at Oracle: OM order keys (with and without the source system), purchase order numbers"),
  shipbobKeys: z.array(z.string()).describe("the order keys of ShipBob's webhooks about its ShipBob orders"),
  standing: z.strictObject({
    summary: z.string().describe('where it stands, for a person'),
    waitingFor: z.array(z.string()),
    attention: z.array(z.string()).describe('parked and held deliveries'),
  }),
  shipbobOrders: z.array(shipbobOrder),
  timeline: z.array(entry).describe('in time order'),
  more: z
    .boolean()
    .describe(
      `some of the oldest were left out (at most ${JOURNEY_LIMITS.events} events of each side, ${JOURNEY_LIMITS.deliveries} deliveries, ${JOURNEY_LIMITS.attempts} attempts, ${JOURNEY_LIMITS.operatorActions} operator actions)`,
    ),
  truncated: z.array(z.enum(['events', 'deliveries', 'attempts', 'operatorActions'] satisfies Array<keyof typeof JOURNEY_LIMITS>)).describe('what was left out'),
});
components.add(orderJourney, { id: 'OrderJourney' });
