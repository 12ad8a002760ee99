/**
 * Typed errors with stable codes. Code that detects a problem throws a GatewayError; the edges
 * (SOAP route, admin API, CLI) translate it into a SOAP Fault, an HTTP status or an exit code.
 * Messages are written for the person reading the fault and must never contain a secret.
 */

/** Who is at fault, in SOAP terms: the sender (Client) or the gateway (Server). */
export type FaultParty = 'Client' | 'Server';

export type ErrorCode =
  // inbound XML and SOAP
  | 'XML_MALFORMED'
  | 'XML_DOCTYPE_FORBIDDEN'
  | 'XML_TOO_DEEP'
  | 'XML_INVALID_ENCODING'
  | 'XML_TOO_MANY_ELEMENTS'
  | 'XML_TOO_MANY_ATTRIBUTES'
  | 'XML_TOO_LONG'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SOAP_NOT_ENVELOPE'
  | 'SOAP_EMPTY_BODY'
  | 'SOAP_UNKNOWN_OPERATION'
  | 'AUTH_FAILED'
  | 'UNKNOWN_CONNECTOR'
  /** An async connector's callback names no usable correlation id or status (which field, and why, in the message). */
  | 'CALLBACK_INVALID'
  /** The client hung up before its request was read: nobody is left to answer. */
  | 'CLIENT_ABORTED'
  // gateway side
  /** Too many request bodies are held at once; the sender should try again shortly. */
  | 'GATEWAY_BUSY'
  | 'STORE_UNAVAILABLE'
  /**
   * The database's schema has a migration this gateway does not know: a newer gateway migrated it.
   * Running on it could corrupt what the newer one wrote, so the gateway refuses to start.
   */
  | 'SCHEMA_TOO_NEW'
  | 'CONFIG_INVALID'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BAD_REQUEST'
  | 'CONFLICT'
  /** A connector's transform cannot build its request for an event (a preview says which path). */
  | 'TRANSFORM_FAILED'
  /** A connector kind that sends several requests per delivery: a preview shows single requests. */
  | 'PREVIEW_UNSUPPORTED'
  /** A connector's WSDL cannot be read now. */
  | 'WSDL_UNAVAILABLE'
  | 'SANDBOX_LOOPBACK_ONLY'
  | 'INTERNAL';

const defaults: Record<ErrorCode, { status: number; party: FaultParty }> = {
  XML_MALFORMED: { status: 400, party: 'Client' },
  XML_DOCTYPE_FORBIDDEN: { status: 400, party: 'Client' },
  XML_TOO_DEEP: { status: 400, party: 'Client' },
  XML_INVALID_ENCODING: { status: 400, party: 'Client' },
  XML_TOO_MANY_ELEMENTS: { status: 400, party: 'Client' },
  XML_TOO_MANY_ATTRIBUTES: { status: 400, party: 'Client' },
  XML_TOO_LONG: { status: 400, party: 'Client' },
  PAYLOAD_TOO_LARGE: { status: 413, party: 'Client' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, party: 'Client' },
  SOAP_NOT_ENVELOPE: { status: 400, party: 'Client' },
  SOAP_EMPTY_BODY: { status: 400, party: 'Client' },
  SOAP_UNKNOWN_OPERATION: { status: 400, party: 'Client' },
  AUTH_FAILED: { status: 401, party: 'Client' },
  UNKNOWN_CONNECTOR: { status: 404, party: 'Client' },
  CALLBACK_INVALID: { status: 422, party: 'Client' },
  CLIENT_ABORTED: { status: 400, party: 'Client' },
  GATEWAY_BUSY: { status: 503, party: 'Server' },
  STORE_UNAVAILABLE: { status: 500, party: 'Server' },
  SCHEMA_TOO_NEW: { status: 500, party: 'Server' },
  CONFIG_INVALID: { status: 500, party: 'Server' },
  NOT_FOUND: { status: 404, party: 'Client' },
  METHOD_NOT_ALLOWED: { status: 405, party: 'Client' },
  BAD_REQUEST: { status: 400, party: 'Client' },
  CONFLICT: { status: 409, party: 'Client' },
  TRANSFORM_FAILED: { status: 422, party: 'Client' },
  PREVIEW_UNSUPPORTED: { status: 422, party: 'Client' },
  WSDL_UNAVAILABLE: { status: 503, party: 'Server' },
  SANDBOX_LOOPBACK_ONLY: { status: 403, party: 'Client' },
  INTERNAL: { status: 500, party: 'Server' },
};

export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** HTTP status suggested for REST edges; SOAP 1.1 edges answer 500 for every fault except where noted. */
  readonly status: number;
  readonly party: FaultParty;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options?.status ?? defaults[code].status;
    this.party = defaults[code].party;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/**
 * Whether an error answered at an inbound edge is the gateway failing, worth an error line in the
 * log. GATEWAY_BUSY is not: it refuses on purpose what does not fit the body budget, and under a
 * flood an error line per refused request would grow the log with the flood (the access log line
 * and the metrics count it already).
 */
export function isGatewayFailure(error: GatewayError): boolean {
  return error.party === 'Server' && error.code !== 'GATEWAY_BUSY';
}
