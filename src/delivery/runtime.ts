import type { ConnectorConfig } from '../config/schema.ts';
import type { GatewayConfig } from '../config/load.ts';
import type { RetryPolicy } from '../domain/retry.ts';
import { renderTemplate } from '../domain/template.ts';
import type { EventSource, XmlRecord } from '../domain/event.ts';
import { openConnections } from '../connectors/connections.ts';
import { redactHeaders, redactUrl } from '../connectors/auth/redact.ts';
import type { TokenStore } from '../connectors/auth/token-store.ts';
import { httpRequest } from '../connectors/http-client.ts';
import { BODY_SNIPPET_BYTES, buildRestRequest, ERROR_MESSAGE_CHARS, sendRest, unanswered } from '../connectors/senders/rest.ts';
import { buildSoapRequest, sendSoap } from '../connectors/senders/soap.ts';
import type { ConnectorParts, DeliveryResult, KindContext, KindDelivery, OutboundRequest, SendResult, ShipBobOrderLedger, Transform, TransformOutput } from '../connectors/types.ts';
import { TransformError } from '../connectors/types.ts';
import type { Delivery } from '../domain/delivery.ts';
import { scrubberFor, type Scrubber } from '../domain/secrets-scrub.ts';
import type { RateGate } from './rate-gate.ts';
import { WsdlUnavailableError, type WsdlCatalog } from '../connectors/soap-wsdl/catalog.ts';
import { writeBody, type WsdlOperation } from '../connectors/soap-wsdl/document.ts';
import { ShapeViolation } from '../connectors/soap-wsdl/serialize.ts';
import { correlationFromAnswer, generatesCorrelation, withCorrelationField, withCorrelationHeader } from './correlation.ts';

/** Whether a request may go now (null) or, when the rate limit gives it no token, the attempt's result. */
type Admit = (request: OutboundRequest) => Promise<SendResult | null>;

export interface DeliverInput {
  delivery: Delivery;
  event: { id: string; source: EventSource; eventCode: string; orderKey: string | null; receivedAt: number; payload: XmlRecord };
  attempt: number;
  /** When the worker took this delivery's place in the connector's rate window (rate-limited connectors). */
  placeAt?: number;
}

/**
 * What a delivery attempt ended in; for an async connector's accepted request, also the correlation
 * id its callback will carry (the one sent, or the one read from the answer).
 */
export type RuntimeResult = DeliveryResult & { correlationId?: string };


/** A connector ready to send: its config with auth, transport and transform resolved. */
export interface ConnectorRuntime {
  config: ConnectorConfig;
  retryPolicy: RetryPolicy;
  parts: ConnectorParts;
  deliver(input: DeliverInput): Promise<RuntimeResult>;
  /** What deliver would send now for `input`, credentials masked; sends and writes nothing. Throws what deliver would (a TransformError...). */
  preview(input: PrepareInput): Promise<RequestPreview>;
  close(): Promise<void>;
}

/**
 * The connectors' runtimes of one config, held by a user for as long as it sends through them (the
 * worker, for each delivery it sends): a config reload meanwhile builds new runtimes for whatever
 * comes after, and closes the connection pools of these only once every holder has let go
 * (src/services/runtimes.ts).
 */
export interface HeldRuntimes {
  runtimes: ReadonlyMap<string, ConnectorRuntime>;
  /** Lets go of this hold (once; calling it again does nothing). */
  release(): void;
}

/** What a delivery needs to build its request (the rate-window place is the worker's business). */
export interface PrepareInput {
  delivery: Pick<Delivery, 'id' | 'idempotencyKey'> & { correlationId?: string | null };
  event: DeliverInput['event'];
  attempt: number;
}

/** A request as a delivery would send it, with credentials shown as ***. */
export interface RequestPreview {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/** Preview of a connector kind that makes several requests (kind: shipbob). */
export class PreviewUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreviewUnsupportedError';
  }
}

interface Prepared {
  build: () => OutboundRequest;
  classify: (request: OutboundRequest, scrubber: Scrubber) => Promise<SendResult>;
  /** The whole body of the last answer, kept only where an async connector reads its correlation id from it. */
  answer: () => string | null;
}

export interface RuntimeDeps {
  /** Configured secret values: scrubbed from whatever a target sends back. */
  secrets: () => readonly string[];
  tokenStore: TokenStore;
  now: () => number;
  transforms: { get(name: string): Transform | null };
  /** Delivery functions of connector kinds that need more than one request. */
  kinds?: Partial<Record<ConnectorConfig['kind'], KindDelivery>>;
  /** What those kinds may use: other connectors (by name) and the mappings (set by createConnectorRuntimes). */
  kindContext?: KindContext;
  /** What kind shipbob sent before for each ShipBob order (the store's). */
  shipbobOrders: ShipBobOrderLedger;
  /**
   * Tokens for the requests of a rate-limited connector beyond the one the worker takes per
   * delivery. Without it only the worker's per-delivery token limits the rate.
   */
  rateGate?: RateGate;
  /** The WSDLs of connectors with soap.wsdl. */
  wsdl?: WsdlCatalog;
}

function defaultTransform(connector: ConnectorConfig): string {
  return connector.transform ?? (connector.protocol === 'soap' ? 'om-results-xml' : 'canonical-json');
}

/** Builds the runtime of every configured connector. */
export function createConnectorRuntimes(config: GatewayConfig, deps: RuntimeDeps): Map<string, ConnectorRuntime> {
  const runtimes = new Map<string, ConnectorRuntime>();
  const kindContext: KindContext = { connector: (name) => runtimes.get(name)?.parts, mappings: config.mappings, shipbobOrders: deps.shipbobOrders, now: deps.now };
  for (const c of config.connectors) runtimes.set(c.name, createConnectorRuntime(c, { ...deps, kindContext }));
  return runtimes;
}

function createConnectorRuntime(connector: ConnectorConfig, deps: RuntimeDeps): ConnectorRuntime {
  const connections = openConnections(connector, { tokenStore: deps.tokenStore, now: deps.now, tokenConcurrency: 2 });
  const { dispatcher, auth } = connections;
  const send = async (req: OutboundRequest) => httpRequest(dispatcher, req, connector.timeout);
  const transformName = defaultTransform(connector);

  /** The configured secrets and the credentials `request` carries. */
  const scrubberOf = (request: OutboundRequest): Scrubber => scrubberFor(deps.secrets()).with(credentialsSent(request, connector));

  /**
   * What a target sends back may echo what it received (an Authorization header, a token in an
   * error text): the credentials just sent and every configured secret are scrubbed from it, and the
   * request summary keeps no credential. The senders already scrubbed the snippet and the message
   * before cutting them (with the same scrubber); doing it here again keeps the promise for any
   * result, and costs one pass over 2 KB.
   */
  const present = (request: OutboundRequest, result: SendResult, scrubber: Scrubber = scrubberOf(request)): SendResult => ({
    ...result,
    headers: Object.fromEntries(Object.entries(redactHeaders(result.headers, connector)).map(([k, v]) => [k, scrubber.scrub(v)])),
    bodySnippet: result.bodySnippet === null ? null : scrubber.clipBytes(result.bodySnippet, BODY_SNIPPET_BYTES),
    errorMessage: result.errorMessage === null ? null : scrubber.clipChars(result.errorMessage, ERROR_MESSAGE_CHARS),
    request: { ...result.request, url: redactUrl(result.request.url, connector), headers: redactHeaders(result.request.headers, connector) },
  });

  /**
   * Every request to a rate-limited connector takes a place in its rate window, just before it is
   * written. The worker has taken one for each delivery it sends (granted at `placeAt`; the gate
   * takes it again if it has grown stale meanwhile); every further request (a ShipBob delivery
   * creates one order per fulfilment line, and may look one up; a 401 is tried again) waits for its
   * own, at most the connector's timeout, and ends the attempt as a timeout if none comes.
   * Returns null when the request may go, or the attempt's result when it may not.
   */
  const admission = (placeAt: number | undefined): Admit => {
    let held = placeAt;
    return async (request) => {
      const limit = connector.rateLimit;
      if (!limit || !deps.rateGate) return null;
      const started = deps.now();
      const gate = await deps.rateGate(connector.name, limit, connector.timeout, held);
      held = undefined;
      if (gate.granted) return null;
      const now = deps.now();
      const message = `no place in the rate window (${limit.requests} per ${limit.per} ms) came free within the timeout of ${connector.timeout} ms; the request was not sent`;
      return present(request, unanswered(request, 'timeout', message, now - started, Math.max(0, gate.retryAt - now)));
    };
  };

  /** Sends with the connector's credentials; a 401 fetches fresh credentials and tries once more. */
  const call = async (
    build: () => OutboundRequest,
    classify: (request: OutboundRequest, scrubber: Scrubber) => Promise<SendResult>,
    admit: Admit,
  ): Promise<SendResult> => {
    let sent: OutboundRequest | undefined;
    const once = async (): Promise<SendResult> => {
      const request = build();
      await auth.authorize(request);
      // Last before the write: a token fetch above must not age the request's place in the window.
      const refused = await admit(request);
      if (refused) return refused;
      sent = request;
      const scrubber = scrubberOf(request);
      return present(request, await classify(request, scrubber), scrubber);
    };
    const first = await once();
    if (first.status === 401 && (await auth.invalidate(sent))) return once();
    return first;
  };

  const partsWith = (admit: Admit): ConnectorParts => ({
    config: connector,
    rest: (build) => call(build, (request, scrubber) => sendRest({ connector, request, send, scrubber, now: deps.now }), admit),
    raw: async (build) => {
      const captured: { body: string | null } = { body: null };
      const keepBody = async (req: OutboundRequest) => {
        const response = await send(req);
        captured.body = response.body;
        return response;
      };
      const result = await call(build, (request, scrubber) => sendRest({ connector, request, send: keepBody, scrubber, now: deps.now }), admit);
      return { result, body: captured.body };
    },
  });
  /** For other code (the poller, another connector's deliveries reading through this one): no place taken beforehand. */
  const parts = partsWith(admission(undefined));

  /**
   * How one delivery's request is built and its answer read: the one path both a delivery and its
   * preview take, so what a preview shows is what the delivery sends.
   */
  const prepare = async (input: PrepareInput): Promise<Prepared> => {
    const transform = deps.transforms.get(transformName);
    if (!transform) throw new TransformError(`transform "${transformName}" is not defined`);
    const correlation = connector.mode === 'async' ? connector.async?.correlation : undefined;
    const correlationId = correlation !== undefined && generatesCorrelation(correlation) ? (input.delivery.correlationId ?? null) : null;
    if (correlation !== undefined && generatesCorrelation(correlation) && correlationId === null) {
      throw new TransformError(`connector ${connector.name}: the delivery has no correlation id to send`);
    }
    // An async connector that reads its correlation id from the answer keeps the whole answer.
    let answer: string | null = null;
    const sendKeeping: typeof send =
      correlation !== undefined && !generatesCorrelation(correlation)
        ? async (req) => {
            const response = await send(req);
            answer = response.body;
            return response;
          }
        : send;
    const withCorrelation = (request: OutboundRequest): OutboundRequest =>
      correlation !== undefined && correlationId !== null ? withCorrelationHeader(request, correlation, correlationId) : request;
    const transformed = await transform({
      event: input.event,
      delivery: { id: input.delivery.id, idempotencyKey: input.delivery.idempotencyKey, attempt: input.attempt },
      connector,
    });
    const output = correlation !== undefined && correlationId !== null ? withCorrelationField(transformed, correlation, correlationId) : transformed;
    const vars = {
      delivery: { id: input.delivery.id, attempt: input.attempt },
      event: { id: input.event.id, eventCode: input.event.eventCode, orderKey: input.event.orderKey ?? '', source: input.event.source },
      connector: { name: connector.name },
    };
    const idempotencyKey = input.delivery.idempotencyKey ?? renderTemplate(connector.idempotencyKey.template, vars);
    const values = flatVars(vars, input.event.payload);
    if (connector.protocol === 'soap' && connector.soap?.wsdl !== undefined) {
      if (!deps.wsdl) throw new WsdlUnavailableError(`connector ${connector.name}: no WSDL catalog to read soap.wsdl with`, 'config');
      const { document, operation } = await deps.wsdl.operation(connector);
      const body = { body: wsdlBody(operation, output, transformName), contentType: output.contentType };
      const binding = { version: operation.version, action: operation.soapAction };
      return {
        build: () => withCorrelation(buildSoapRequest(connector, body, auth.soapSecurityHeader(deps.now(), binding.version), values, binding)),
        classify: (request, scrubber) => sendSoap({ connector, request, send: sendKeeping, scrubber, now: deps.now, readAnswer: (text) => document.parseAnswer(text) }),
        answer: () => answer,
      };
    }
    if (connector.protocol === 'soap') {
      return {
        build: () => withCorrelation(buildSoapRequest(connector, output, auth.soapSecurityHeader(deps.now()), values)),
        classify: (request, scrubber) => sendSoap({ connector, request, send: sendKeeping, scrubber, now: deps.now }),
        answer: () => answer,
      };
    }
    return {
      build: () => withCorrelation(buildRestRequest(connector, output, values, idempotencyKey)),
      classify: (request, scrubber) => sendRest({ connector, request, send: sendKeeping, scrubber, now: deps.now }),
      answer: () => answer,
    };
  };

  const deliverGeneric = async (input: DeliverInput): Promise<RuntimeResult> => {
    const prepared = await prepare(input);
    const result = await call(prepared.build, prepared.classify, admission(input.placeAt));
    const correlation = connector.mode === 'async' ? connector.async?.correlation : undefined;
    if (!result.ok || correlation === undefined) return result;
    if (generatesCorrelation(correlation)) return { ...result, correlationId: input.delivery.correlationId ?? '' };
    try {
      return { ...result, correlationId: correlationFromAnswer(correlation, prepared.answer()) };
    } catch (err) {
      // Accepted, but nothing to match its callback by: the attempt fails as a mapping error would.
      if (err instanceof TransformError) return { ...result, ok: false, errorClass: 'transform', errorMessage: err.message };
      throw err;
    }
  };

  /**
   * The request a delivery would send now, credentials masked, without sending it: no place in the
   * rate window, no token fetched (an OAuth2 bearer is shown as ***), nothing written.
   */
  const preview = async (input: PrepareInput): Promise<RequestPreview> => {
    if (deps.kinds?.[connector.kind]) throw new PreviewUnsupportedError(`connector ${connector.name} is of kind ${connector.kind}, which sends several requests per delivery: preview covers single-request connectors`);
    const request = (await prepare(input)).build();
    if (connector.auth.type === 'oauth2-client-credentials' || connector.auth.type === 'oauth2-refresh-token') {
      request.headers.Authorization = 'Bearer ***';
    } else await auth.authorize(request);
    const scrubber = scrubberOf(request);
    return {
      method: request.method,
      url: redactUrl(request.url.toString(), connector),
      headers: redactHeaders(request.headers, connector),
      body: request.body === null ? null : scrubber.scrub(request.body),
    };
  };

  const custom = deps.kinds?.[connector.kind];
  const kindContext = deps.kindContext;
  const deliverAny =
    custom && kindContext
      ? (input: DeliverInput) =>
          // Parts of its own for each delivery: its first request uses the place the worker took.
          custom(partsWith(admission(input.placeAt)), kindContext)({
            delivery: { id: input.delivery.id, idempotencyKey: input.delivery.idempotencyKey, attempt: input.attempt },
            event: input.event,
          })
      : deliverGeneric;

  /**
   * What is stored of an attempt, whoever built it: a kind's own summary may quote a body that was
   * read whole (an order id the target chose), and a thrown error's message becomes the attempt's
   * error, the delivery's last error and the audit detail.
   */
  const deliver = async (input: DeliverInput): Promise<RuntimeResult> => {
    const scrubber = scrubberFor(deps.secrets());
    try {
      const result = await deliverAny(input);
      return {
        ...result,
        bodySnippet: result.bodySnippet === null ? null : scrubber.clipBytes(result.bodySnippet, BODY_SNIPPET_BYTES),
        errorMessage: result.errorMessage === null ? null : scrubber.clipChars(result.errorMessage, ERROR_MESSAGE_CHARS),
      };
    } catch (err) {
      // Scrubbed in place: the worker tells failures apart by the error's class.
      if (err instanceof Error) err.message = scrubber.scrub(err.message);
      throw err;
    }
  };

  return {
    config: connector,
    retryPolicy: connector.retry,
    parts,
    deliver,
    preview,
    async close(): Promise<void> {
      await connections.close();
    },
  };
}

/** The credential values a request carries: header values that redaction hides, and their Basic/Bearer parts. */
function credentialsSent(request: OutboundRequest, connector: ConnectorConfig): string[] {
  const redacted = redactHeaders(request.headers, connector);
  const out: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (redacted[name] === value) continue;
    out.push(value);
    const m = /^(Basic|Bearer)\s+(.+)$/i.exec(value);
    if (m?.[2]) {
      out.push(m[2]);
      if (m[1]?.toLowerCase() === 'basic') {
        const decoded = Buffer.from(m[2], 'base64').toString('utf8');
        out.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
      }
    }
  }
  if (connector.auth.type === 'api-key' && connector.auth.in === 'query') {
    const v = request.url.searchParams.get(connector.auth.name);
    if (v) out.push(v);
  }
  return out;
}

/** Path and header placeholders: {{orderKey}}, {{eventCode}}, {{eventId}}, {{deliveryId}} and top-level event fields. */
function flatVars(vars: { delivery: { id: string }; event: { id: string; eventCode: string; orderKey: string } }, payload: XmlRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) if (typeof v === 'string') out[k] = v;
  out.orderKey = vars.event.orderKey;
  out.eventCode = vars.event.eventCode;
  out.eventId = vars.event.id;
  out.deliveryId = vars.delivery.id;
  return out;
}

/**
 * The mapping's JSON written as the operation's input element: what the schema cannot carry is a
 * TransformError naming the path, so the delivery parks before anything is sent.
 */
function wsdlBody(operation: WsdlOperation, output: TransformOutput, transformName: string): string {
  let value: unknown;
  try {
    value = JSON.parse(output.body);
  } catch {
    throw new TransformError(`${transformName} did not produce JSON for operation ${operation.name}`);
  }
  try {
    return writeBody(operation, value);
  } catch (err) {
    if (err instanceof ShapeViolation) throw new TransformError(`${transformName} does not fit the input of operation ${operation.name}: ${err.message}`, { cause: err });
    throw err;
  }
}
