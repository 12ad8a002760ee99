import type { ConnectorConfig } from '../config/schema.ts';
import type { MappingSet } from '../config/mappings.ts';
import type { EventSource, XmlRecord } from '../domain/event.ts';
import type { ErrorClass } from '../domain/retry.ts';
import type { ShipBobOrderRecord } from '../domain/shipbob-change.ts';

export type { ErrorClass };

/**
 * The contracts between the delivery worker and the parts that talk to targets: auth providers,
 * transforms and senders. The worker only sees these types.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request about to be sent; auth providers add credentials to it. */
export interface OutboundRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body: string | null;
  /** Read this much of the response body instead of the default 64 KB (a page of purchase orders). */
  maxResponseBytes?: number;
}

export interface AuthProvider {
  /** Adds credentials: headers, query parameters. May fetch or refresh a token first. */
  authorize(request: OutboundRequest, signal?: AbortSignal): Promise<void>;
  /**
   * After a 401 from the target to `refused` (the request as sent): drop cached credentials, if they
   * are still the ones it carried. Returns true when one retry with fresh credentials is worth
   * making (OAuth2), false when it would fail the same way (static secrets).
   */
  invalidate(refused?: OutboundRequest): Promise<boolean>;
  /**
   * For SOAP targets: the wsse:Security header block this provider supplies, or null. `version`:
   * the envelope's SOAP version when a WSDL's binding chose it (default: the connector's soap.version).
   */
  soapSecurityHeader(now: number, version?: '1.1' | '1.2'): string | null;
}

export interface RequestSummary {
  method: HttpMethod;
  /** Without query parameters that carry credentials. */
  url: string;
  /** With credentials replaced by ***. */
  headers: Record<string, string>;
  bodyBytes: number;
}

/** The outcome of one attempt at the wire level. Never contains a secret. */
export interface SendResult {
  ok: boolean;
  status: number | null;
  headers: Record<string, string>;
  /** The first few KB of the response body. */
  bodySnippet: string | null;
  durationMs: number;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  /** SOAP faults: Client faults are permanent, Server faults retry. */
  faultParty: 'Client' | 'Server' | null;
  /** From Retry-After (or x-retry-after), in milliseconds from now (domain/retry.ts retryAfterFromHeaders). */
  retryAfterMs: number | null;
  request: RequestSummary;
}

/**
 * What one delivery attempt ended in: a sender's result, or a kind's, whose request may be null when
 * it had nothing to send (a ShipBob order already as the event wants it).
 */
export type DeliveryResult = Omit<SendResult, 'request'> & { request: RequestSummary | null };

export interface TransformInput {
  event: {
    id: string;
    source: EventSource;
    eventCode: string;
    orderKey: string | null;
    receivedAt: number;
    payload: XmlRecord;
  };
  delivery: { id: string; idempotencyKey: string | null; attempt: number };
  connector: ConnectorConfig;
}

export interface TransformOutput {
  /** REST: the request body. SOAP: the XML that goes inside soap:Body. */
  body: string;
  contentType: string;
  /** Values for `{{name}}` placeholders in the connector's path, beyond the event's own fields. */
  pathVars?: Record<string, string>;
}

export type Transform = (input: TransformInput) => TransformOutput | Promise<TransformOutput>;

/** A mapping that cannot produce a payload for this event: the delivery parks with this message. */
export class TransformError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransformError';
  }
}

/**
 * What a connector offers to code that needs more than one request per delivery (ShipBob order
 * creation reads Fusion first): authorized calls whose answers are already scrubbed of secrets.
 */
export interface ConnectorParts {
  config: ConnectorConfig;
  /** One authorized REST call, classified like a delivery attempt. */
  rest(build: () => OutboundRequest): Promise<SendResult>;
  /** The same, also returning the whole response body (up to the client's limit) for parsing. */
  raw(build: () => OutboundRequest): Promise<{ result: SendResult; body: string | null }>;
}

/** What a multi-request connector kind gets for one delivery. */
export interface KindDeliveryInput {
  delivery: { id: string; idempotencyKey: string | null; attempt: number };
  event: TransformInput['event'];
}

/** What was sent for each ShipBob order (the store's shipbob_orders), as kind shipbob reads and writes it. */
export interface ShipBobOrderLedger {
  get(connector: string, referenceId: string): Promise<ShipBobOrderRecord | null>;
  findByLine(connector: string, lineKey: string): Promise<ShipBobOrderRecord | null>;
  save(record: ShipBobOrderRecord): Promise<void>;
}

/** What a connector kind may use besides its own connector: other connectors, the mappings, what it sent before. */
export interface KindContext {
  connector(name: string): ConnectorParts | undefined;
  mappings: MappingSet;
  shipbobOrders: ShipBobOrderLedger;
  /** The gateway's clock (epoch ms), for the times a kind records. */
  now: () => number;
}

/** A delivery function for a connector kind that is more than one request (kind: shipbob). */
export type KindDelivery = (parts: ConnectorParts, context: KindContext) => (input: KindDeliveryInput) => Promise<DeliveryResult>;
