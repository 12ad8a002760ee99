/**
 * An async connector's correlation id on the way out (a generated id in a request header or the
 * JSON body) and on the way back (read from the target's answer by a dotted path or an XPath).
 */
import { randomUUID } from 'node:crypto';
import { SaxesParser } from 'saxes';
import type { ConnectorConfig } from '../config/schema.ts';
import { MAX_CORRELATION_ID_LENGTH, setAtPath, textAtPath, xpathLocalName } from '../domain/callback.ts';
import { TransformError, type OutboundRequest, type TransformOutput } from '../connectors/types.ts';

type Correlation = NonNullable<ConnectorConfig['async']>['correlation'];

/** Whether the gateway makes the connector's correlation ids (header, field), or reads them from the answers. */
export function generatesCorrelation(correlation: Correlation): boolean {
  return correlation.header !== undefined || correlation.field !== undefined;
}

/** A new correlation id: made once per delivery, kept in the store before the request goes. */
export function newCorrelationId(): string {
  return randomUUID();
}

/** The transform's output with the correlation id written at `correlation.field` of its JSON body. */
export function withCorrelationField(output: TransformOutput, correlation: Correlation, id: string): TransformOutput {
  if (correlation.field === undefined) return output;
  let body: unknown;
  try {
    body = JSON.parse(output.body);
  } catch {
    throw new TransformError(`async.correlation.field: the request body is not JSON, so the correlation id cannot be written at ${correlation.field}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !setAtPath(body as Record<string, unknown>, correlation.field, id)) {
    throw new TransformError(`async.correlation.field: the request body has no object at ${correlation.field} to write the correlation id into`);
  }
  return { ...output, body: JSON.stringify(body) };
}

/** The request with the correlation id in `correlation.header`. */
export function withCorrelationHeader(request: OutboundRequest, correlation: Correlation, id: string): OutboundRequest {
  if (correlation.header !== undefined) request.headers[correlation.header] = id;
  return request;
}

/**
 * The correlation id in a target's accepted answer, by `responsePath` (JSON) or `responseXPath`
 * (SOAP). An answer without one throws TransformError with the reason, so the attempt fails as a
 * mapping error would (parked, transform_error).
 */
export function correlationFromAnswer(correlation: Correlation, body: string | null): string {
  if (correlation.responsePath !== undefined) {
    let doc: unknown = null;
    try {
      doc = body === null ? null : JSON.parse(body);
    } catch {
      throw new TransformError(`the target accepted the request, but its answer is not JSON: no correlation id at ${correlation.responsePath}`);
    }
    const id = textAtPath(doc, correlation.responsePath);
    if (id === null) throw new TransformError(`the target accepted the request, but its answer has no correlation id at ${correlation.responsePath}`);
    return kept(id, correlation.responsePath);
  }
  if (correlation.responseXPath !== undefined) {
    const name = xpathLocalName(correlation.responseXPath);
    const id = name === null || body === null ? null : firstElementText(body, name);
    if (id === null) throw new TransformError(`the target accepted the request, but its answer has no correlation id at ${correlation.responseXPath}`);
    return kept(id, correlation.responseXPath);
  }
  throw new TransformError('async.correlation reads no id from the answer');
}

function kept(id: string, where: string): string {
  if (id.length > MAX_CORRELATION_ID_LENGTH) throw new TransformError(`the correlation id at ${where} in the target's answer is longer than ${MAX_CORRELATION_ID_LENGTH} characters`);
  return id;
}

/** The trimmed text of the first element of this local name; null when there is none, it is empty, or the XML is broken before it. */
function firstElementText(xml: string, localName: string): string | null {
  const parser = new SaxesParser({ xmlns: true });
  let depth = 0;
  let text = '';
  let found: string | null = null;
  parser.on('opentag', (tag) => {
    if (found !== null) return;
    if (depth > 0) depth++;
    else if (tag.local === localName) depth = 1;
  });
  parser.on('text', (t) => {
    if (depth > 0) text += t;
  });
  parser.on('cdata', (t) => {
    if (depth > 0) text += t;
  });
  parser.on('closetag', () => {
    if (depth === 0) return;
    depth--;
    if (depth === 0 && found === null) found = text.trim();
  });
  try {
    parser.write(xml).close();
  } catch {
    // Broken after the element: what was found stands.
  }
  return found === null || found === '' ? null : found;
}
