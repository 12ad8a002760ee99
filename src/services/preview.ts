import { z } from 'zod';
import type { GatewayConfig } from '../config/load.ts';
import { WsdlUnavailableError } from '../connectors/soap-wsdl/catalog.ts';
import { TransformError } from '../connectors/types.ts';
import { PreviewUnsupportedError, type PrepareInput, type RequestPreview } from '../delivery/runtime.ts';
import type { Clock } from '../domain/clock.ts';
import { GatewayError } from '../domain/errors.ts';
import { EVENT_SOURCES, type EventSource, type XmlRecord } from '../domain/event.ts';
import { scrubberFor } from '../domain/secrets-scrub.ts';
import { parseInstant } from '../domain/time.ts';
import type { Store } from '../store/index.ts';
import type { ConnectorRuntimes } from './runtimes.ts';

/**
 * Preview: what a delivery of an event to a connector would send now, built by the connector's
 * runtime on the delivery's own path (src/delivery/runtime.ts `preview`), credentials masked.
 * Nothing is sent and nothing is written, so there is no audit record. `omgw preview` and the admin
 * API (and through it the console) both call this, so they show the same request for the same event.
 */

/** The request a delivery would send, as `omgw preview --json` prints it and the admin API answers it. */
export interface DeliveryPreview extends RequestPreview {
  connector: string;
  /** The event's delivery to the connector, or "preview" when it has none (a hand-written event). */
  deliveryId: string;
}

/**
 * The fields of a hand-written event (`omgw preview --file`, the admin API's POST body), declared
 * once: the admin API refuses unknown keys, the CLI ignores them (a file may be an event as another
 * command printed it).
 */
export const PREVIEW_EVENT_FIELDS = {
  eventCode: z.string().min(1).max(100).describe('the business event code, e.g. HOLD'),
  orderKey: z.string().max(300).nullable().optional().describe('the order key ({{orderKey}} in paths and templates)'),
  payload: z.record(z.string(), z.unknown()).describe('the event as the mapping reads it'),
  source: z.enum(EVENT_SOURCES).optional().describe('default oracle-om'),
  id: z.string().min(1).max(100).optional().describe('the event id the request may carry; default "preview"'),
  receivedAt: z
    .union([z.number().int().min(0), z.string()])
    .refine((v) => typeof v === 'number' || parseInstant(v) !== null, 'use an ISO 8601 time or epoch milliseconds')
    .optional()
    .describe('ISO 8601 or epoch milliseconds; default now'),
};

const lenientEvent = z.object(PREVIEW_EVENT_FIELDS);

/** A hand-written event as parsed (the admin API's body schema has the same fields). */
export type PreviewEventInput = z.output<typeof lenientEvent>;

/** Reads a hand-written event (a file's JSON); BAD_REQUEST naming each problem. Unknown keys are ignored. */
export function parsePreviewEvent(raw: unknown): PreviewEventInput {
  const result = lenientEvent.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new GatewayError('BAD_REQUEST', problems.join('; '));
}

export interface DeliveryPreviewsDeps {
  store: Store;
  config: () => GatewayConfig;
  clock: Clock;
  runtimes: ConnectorRuntimes;
}

/** Which event to preview: a stored one by id, or one written by hand. */
export type PreviewSource = { eventId: string } | { event: PreviewEventInput };

export class DeliveryPreviews {
  readonly #deps: DeliveryPreviewsDeps;

  constructor(deps: DeliveryPreviewsDeps) {
    this.#deps = deps;
  }

  /**
   * What a delivery of `from` to `connectorName` would send now. A stored event is previewed with its
   * delivery to that connector when it has one (its id, idempotency key and next attempt number are
   * in what is sent). Throws NOT_FOUND (connector, event), TRANSFORM_FAILED (naming the path),
   * PREVIEW_UNSUPPORTED (a kind that sends several requests) or WSDL_UNAVAILABLE, with any
   * configured secret scrubbed from the message.
   */
  async preview(connectorName: string, from: PreviewSource): Promise<DeliveryPreview> {
    const config = this.#deps.config();
    const connector = config.connectors.find((c) => c.name === connectorName);
    const runtime = connector ? this.#deps.runtimes.all.get(connector.name) : undefined;
    if (!connector || !runtime) {
      throw new GatewayError('NOT_FOUND', `no connector named "${connectorName.slice(0, 100)}" (connectors: ${config.connectors.map((c) => c.name).join(', ') || 'none'})`);
    }
    const input = 'eventId' in from ? await this.#stored(from.eventId, connector.name) : this.#handWritten(from.event);
    const scrubber = scrubberFor(config.secrets);
    try {
      const request = await runtime.preview(input);
      // The runtime masks credential headers and scrubs the body; a configured secret a header
      // template or the URL happens to carry is scrubbed here as well.
      return {
        connector: connector.name,
        deliveryId: input.delivery.id,
        method: request.method,
        url: scrubber.scrub(request.url),
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, scrubber.scrub(v)])),
        body: request.body,
      };
    } catch (err) {
      const code =
        err instanceof TransformError ? 'TRANSFORM_FAILED' : err instanceof PreviewUnsupportedError ? 'PREVIEW_UNSUPPORTED' : err instanceof WsdlUnavailableError ? 'WSDL_UNAVAILABLE' : null;
      if (code === null || !(err instanceof Error)) throw err;
      // A mapping may quote what it was given, a WSDL error the address it read.
      throw new GatewayError(code, scrubber.scrub(err.message));
    }
  }

  async #stored(eventId: string, connector: string): Promise<PrepareInput> {
    const { store } = this.#deps;
    const stored = await store.browse.event(eventId);
    if (!stored) throw new GatewayError('NOT_FOUND', `no event ${eventId.slice(0, 40)}`);
    const [delivery] = (await store.browse.deliveries({ eventIds: [stored.id], connectors: [connector] }, { limit: 1 })).rows;
    return {
      delivery: delivery ? { id: delivery.id, idempotencyKey: delivery.idempotencyKey } : { id: 'preview', idempotencyKey: null },
      event: {
        id: stored.id,
        source: stored.source as EventSource,
        eventCode: stored.eventCode,
        orderKey: stored.orderKey,
        receivedAt: stored.receivedAt,
        payload: JSON.parse(stored.payload) as XmlRecord,
      },
      attempt: delivery ? delivery.attemptsInCycle + 1 : 1,
    };
  }

  #handWritten(event: PreviewEventInput): PrepareInput {
    const at = event.receivedAt;
    return {
      delivery: { id: 'preview', idempotencyKey: null },
      event: {
        id: event.id ?? 'preview',
        source: event.source ?? 'oracle-om',
        eventCode: event.eventCode,
        orderKey: event.orderKey ?? null,
        receivedAt: (typeof at === 'number' ? at : at === undefined ? null : parseInstant(at)) ?? this.#deps.clock.now(),
        // The mapping reads it as it would read a parsed event: plain JSON is what both are.
        payload: event.payload as XmlRecord,
      },
      attempt: 1,
    };
  }
}
