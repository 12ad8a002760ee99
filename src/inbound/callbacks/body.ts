/**
 * A callback's body as the route reads it: raw bytes (bounded), JSON or a SOAP envelope, and the
 * fields it carries checked before anything is stored; and how a refusal is counted.
 */
import type { IncomingMessage } from 'node:http';
import type { GatewayConfig } from '../../config/load.ts';
import { callbackFieldProblem, textAtPath, type CallbackRefusal } from '../../domain/callback.ts';
import { GatewayError, isGatewayError } from '../../domain/errors.ts';
import { isClientAbort } from '../../server/drain.ts';
import type { CallbackInput } from '../../services/callbacks.ts';
import type { ParseLimits, SoapVersion } from '../soap/envelope.ts';
import { readRawBody } from '../webhooks/body.ts';
import { JsonSyntaxError, parseJsonRecord } from '../webhooks/json.ts';
import type { CallbackSettings } from './auth.ts';
import { readSoapCallback } from './soap.ts';

/** JSON nesting accepted in a callback body. */
const MAX_JSON_DEPTH = 64;

export function jsonInput(connector: string, body: Buffer, contentType: string): CallbackInput {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'the callback body is not valid UTF-8');
  }
  try {
    return { connector, format: 'json', raw: body, contentType, body: parseJsonRecord(text, { maxDepth: MAX_JSON_DEPTH }) };
  } catch (err) {
    const detail = err instanceof JsonSyntaxError ? err.message : 'not a JSON object';
    throw new GatewayError('BAD_REQUEST', `the callback body is not valid JSON: ${detail}`);
  }
}

/** A SOAP callback, and the SOAP version its envelope speaks (the version it is answered in). */
export async function soapInput(
  connector: string,
  body: AsyncIterable<Buffer>,
  contentType: string,
  limits: ParseLimits,
  onCredentials?: Parameters<typeof readSoapCallback>[2],
): Promise<{ input: CallbackInput; soapVersion: SoapVersion }> {
  const read = await readSoapCallback(body, limits, onCredentials);
  return { input: { connector, format: 'soap', raw: read.redacted, contentType, body: read.fields }, soapVersion: read.soapVersion };
}

export async function* once(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}

/** OM's SOAP limits (inbound.soap), the callback's own size limit. */
export function soapLimits(config: GatewayConfig, maxBytes: number): ParseLimits {
  const soap = config.gateway.inbound.soap;
  return {
    maxBytes,
    maxDepth: soap.maxDepth,
    maxElements: soap.maxElements,
    maxBytesBeforeCredentials: soap.maxBytesBeforeCredentials,
    maxAttributes: soap.maxAttributes,
    maxTotalAttributes: soap.maxTotalAttributes,
    maxNameLength: soap.maxNameLength,
    maxTextLength: soap.maxTextLength,
  };
}

/** The raw body, at most `maxBytes` (PAYLOAD_TOO_LARGE past it); a sender that hangs up is CLIENT_ABORTED. */
export async function readBody(req: IncomingMessage, body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  try {
    return await readRawBody(body, maxBytes);
  } catch (err) {
    if (isGatewayError(err) && err.code === 'BAD_REQUEST' && isClientAbort(req, err.cause)) {
      throw new GatewayError('CLIENT_ABORTED', 'the client closed the connection before its callback was read', { cause: err });
    }
    throw err;
  }
}

/**
 * Refuses (CALLBACK_INVALID, 422) a callback whose correlation id or status is longer than the
 * gateway keeps, or holds a control character, before the service stores anything: such a value
 * can match no delivery, and stored whole it would cost the audit trail (or, with a NUL, the
 * PostgreSQL statement) more than it cost the sender.
 */
export function checkFields(input: CallbackInput, settings: CallbackSettings): void {
  const problem = callbackFieldProblem(fieldsOf(input, settings));
  if (problem !== null) throw new GatewayError('CALLBACK_INVALID', problem);
}

function fieldsOf(input: CallbackInput, settings: CallbackSettings): { correlationId: string | null; status: string | null; message: string | null } {
  if (input.format === 'json') {
    return {
      correlationId: textAtPath(input.body, settings.correlationPath),
      status: textAtPath(input.body, settings.statusPath),
      message: settings.messagePath === undefined ? null : textAtPath(input.body, settings.messagePath),
    };
  }
  const body = (typeof input.body === 'object' && input.body !== null ? input.body : {}) as Record<string, unknown>;
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return { correlationId: text(body.correlationId), status: text(body.status), message: text(body.message) };
}

/** How a refusal is counted in omgw_callbacks_total (a closed set, whatever the error). */
export function refusalOf(error: GatewayError): CallbackRefusal {
  switch (error.code) {
    case 'AUTH_FAILED':
      return 'auth_failed';
    case 'PAYLOAD_TOO_LARGE':
      return 'too_large';
    case 'GATEWAY_BUSY':
      return 'busy';
    case 'CALLBACK_INVALID':
      return 'invalid';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'CLIENT_ABORTED':
      return 'client_aborted';
    default:
      return error.party === 'Client' ? 'malformed' : 'error';
  }
}
