import { z } from 'zod';
import { DELIVERY_STATES } from '../domain/delivery.ts';
import { ADMIN_STATES, CIRCUIT_STATES, INSTANCE_STATES, ORDERINGS, PROBE_STEPS, PROTOCOLS } from './enums.ts';
import { component, count, id, nullableString, time } from './response-parts.ts';

/** What the admin API answers about connectors (overview, probe, preview) and the gateway instances (see response-parts.ts). */

export const connectorOverview = component(
  'ConnectorOverview',
  z.strictObject({
    name: z.string(),
    description: nullableString,
    targetSystem: nullableString,
    protocol: z.enum(PROTOCOLS),
    kind: z.string(),
    url: z.string().describe('credentials in it redacted'),
    auth: z.string(),
    ordering: z.enum(ORDERINGS),
    concurrency: z.number().int().min(1),
    rateLimit: z.strictObject({ requests: z.number().int().min(1), perMs: z.number().int().min(1) }).nullable(),
    adminState: z.enum(ADMIN_STATES).describe('offline: maintenance, its due deliveries wait on hold'),
    circuit: z.enum(CIRCUIT_STATES),
    circuitUntil: time.nullable(),
    stateUpdatedAt: time.nullable(),
    stateUpdatedBy: nullableString,
    queueDepth: count.describe('pending + retrying'),
    oldestDueAt: time.nullable(),
    counts: z.strictObject({ pending: count, retrying: count, inFlight: count, onHold: count, parked: count, delivered: count, discarded: count }),
    blockedKeys: z
      .array(z.strictObject({ orderKey: z.string(), blockedBy: id, blockerState: z.enum(DELIVERY_STATES), waiting: count }))
      .max(20)
      .describe('order keys that cannot move, each with the delivery that blocks it'),
  }),
);

export const connectorList = component('ConnectorList', z.strictObject({ items: z.array(connectorOverview) }));

export const probeReport = component(
  'ProbeReport',
  z.strictObject({
    connector: z.string(),
    ok: z.boolean(),
    url: z.string().describe('the probe URL, credentials redacted'),
    steps: z.array(z.strictObject({ name: z.enum(PROBE_STEPS), ok: z.boolean(), durationMs: count, detail: z.string().describe('what happened, or why it failed') })),
    durationMs: count,
  }),
);

const instance = component(
  'Instance',
  z.strictObject({
    id: z.string().describe('the owner of its leases; one per process run'),
    host: z.string(),
    pid: z.number().int().min(0),
    version: z.string().describe("the gateway's version (package.json)"),
    configVersion: z.string().describe('a digest of the config in force there; a reload that changes the config changes it'),
    state: z.enum(INSTANCE_STATES).describe('live: heartbeat within cluster.staleAfter; stale: it stopped beating without a clean stop; stopped: a clean stop'),
    startedAt: time,
    heartbeatAt: time.describe('its last heartbeat'),
    heartbeatAgeMs: count.describe('time since its last heartbeat, at this answer'),
    stoppedAt: time.nullable(),
    inFlight: count.describe('deliveries it holds a lease on'),
    oldestLeaseAgeMs: count.nullable().describe('how long the longest-held of them has been held; null when it holds none'),
    nextLeaseExpiresAt: time.nullable().describe('the earliest end of its leases (in the past: run out, to be reclaimed by another instance)'),
  }),
);

export const instanceList = component('InstanceList', z.strictObject({ items: z.array(instance).describe('live first, then stale, then stopped; each newest first') }));

export const requestPreview = component(
  'RequestPreview',
  z
    .strictObject({
      connector: z.string(),
      deliveryId: z.string().describe('the event\'s delivery to the connector (its id and idempotency key are in what is sent), or "preview" when it has none'),
      method: z.string(),
      url: z.string().describe('credentials in it redacted'),
      headers: z.record(z.string(), z.string()).describe('credentials replaced by *** (an OAuth2 bearer is shown as Bearer ***: no token is fetched)'),
      body: nullableString.describe('the body or SOAP envelope exactly as the delivery would send it (configured secrets in it replaced by ***)'),
    })
    .describe('the request a delivery would send now: nothing is sent or written'),
);

