import jsonata from 'jsonata';
import type { EventSource, XmlRecord, XmlValue } from '../../domain/event.ts';
import { escapeXmlText, hasNonXmlChar } from '../../domain/xml-escape.ts';
import { TransformError, type Transform, type TransformInput, type TransformOutput } from '../types.ts';
import { BUILTIN_TRANSFORMS, JSONATA_PREFIX, jsonataErrorMessage, type BuiltinTransformName, type MappingSet } from '../../config/mappings.ts';

/**
 * Transforms turn a stored event into the payload of one delivery. This file is the one place the
 * built-ins are registered:
 *
 * - `canonical-json`    the event as JSON, one shape for every source (default for REST connectors)
 * - `om-results-xml`    the event re-serialized as an OM `results` document (for SOAP targets that
 *                       want what OM sent)
 * - `otm-transmission`  an example OTM TransmissionService `publish` body
 * - `jsonata:<name>`    a JSONata template from `mappings/<name>.jsonata`, evaluated against the
 *                       canonical-json object; `$mapValue(map, key)` reads the value maps
 *
 * Transforms are pure: they run at delivery time from the stored event, so a fixed mapping applies to
 * a replay. A mapping that cannot produce a payload for an event throws TransformError.
 */


export interface TransformRegistry {
  /** The transform called `name`, or null when there is none (unknown name, missing template). */
  get(name: string): Transform | null;
  /** Built-ins, then `jsonata:<name>` for every template of the mapping set. */
  names(): string[];
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What canonical-json sends and what JSONata templates see. */
export interface CanonicalEvent {
  eventId: string;
  source: EventSource;
  eventCode: string;
  orderKey: string | null;
  /** ISO 8601, UTC. */
  receivedAt: string;
  deliveryId: string;
  data: JsonValue;
}

const JSON_CONTENT_TYPE = 'application/json';
const XML_CONTENT_TYPE = 'application/xml; charset=utf-8';
const TEXT_KEY = '#text';

export function createTransformRegistry(options: { mappings: MappingSet }): TransformRegistry {
  const { mappings } = options;
  const builtins: Record<BuiltinTransformName, Transform> = {
    'canonical-json': canonicalJsonTransform,
    'om-results-xml': omResultsXmlTransform,
    'otm-transmission': otmTransmissionTransform,
  };
  const templates = new Map<string, Transform>();

  return {
    get(name) {
      if (isBuiltin(name)) return builtins[name];
      if (!name.startsWith(JSONATA_PREFIX)) return null;
      const template = name.slice(JSONATA_PREFIX.length);
      let transform = templates.get(template);
      if (transform === undefined) {
        const source = mappings.template(template);
        if (source === null) return null;
        transform = jsonataTransform(template, source, mappings);
        templates.set(template, transform);
      }
      return transform;
    },
    names() {
      return [...BUILTIN_TRANSFORMS, ...mappings.templateNames().map((t) => `${JSONATA_PREFIX}${t}`)];
    },
  };
}

function isBuiltin(name: string): name is BuiltinTransformName {
  return (BUILTIN_TRANSFORMS as readonly string[]).includes(name);
}

// ------------------------------------------------------------------------------------------------
// canonical-json

function canonicalEvent(input: TransformInput): CanonicalEvent {
  const { event, delivery } = input;
  const received = new Date(event.receivedAt);
  if (Number.isNaN(received.getTime())) throw new TransformError(`event ${event.id} has no valid receivedAt`);
  return {
    eventId: event.id,
    source: event.source,
    eventCode: event.eventCode,
    orderKey: event.orderKey,
    receivedAt: received.toISOString(),
    deliveryId: delivery.id,
    data: cleanJson(event.payload),
  };
}

/**
 * The parsed XML as plain JSON: records stay objects, arrays stay arrays, nil stays null, and the
 * `{ "#text": v }` wrappers the parser puts around repeated leaves become `v`. A record that has
 * children and text (mixed content) keeps its `#text` key.
 */
function cleanJson(value: XmlValue): JsonValue {
  if (value === null || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((item) => (isTextWrapper(item) ? item[TEXT_KEY] : cleanJson(item)));
  if (isTextWrapper(value)) return value[TEXT_KEY];
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    const v = cleanJson(value[key] as XmlValue);
    // An element called __proto__ must stay a plain own key, not change the object's prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

function isTextWrapper(v: XmlValue | undefined): v is { [TEXT_KEY]: string | null } {
  if (v === null || v === undefined || typeof v === 'string' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== TEXT_KEY) return false;
  const t = v[TEXT_KEY];
  return t === null || typeof t === 'string';
}

const canonicalJsonTransform: Transform = (input) => ({
  body: JSON.stringify(canonicalEvent(input)),
  contentType: JSON_CONTENT_TYPE,
});

// ------------------------------------------------------------------------------------------------
// om-results-xml

const OM_RESULTS_NS =
  'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const OM_PREFIX = 'ns1';

/**
 * `<ns1:results>` with one `<ns1:OrderHeader>`: elements in the payload's key order (the order they
 * were parsed in), repeated elements as siblings, null as `xsi:nil="true"`.
 */
const omResultsXmlTransform: Transform = (input) => {
  const state = { nil: false };
  const out: string[] = [];
  writeElement(out, 'OrderHeader', input.event.payload, state);
  const xsi = state.nil ? ` xmlns:xsi="${XSI_NS}"` : '';
  return {
    body: `<${OM_PREFIX}:results xmlns:${OM_PREFIX}="${OM_RESULTS_NS}"${xsi}>${out.join('')}</${OM_PREFIX}:results>`,
    contentType: XML_CONTENT_TYPE,
  };
};

function writeElement(out: string[], name: string, value: XmlValue, state: { nil: boolean }): void {
  if (Array.isArray(value)) {
    for (const item of value) writeElement(out, name, isTextWrapper(item) ? item[TEXT_KEY] : item, state);
    return;
  }
  if (!XML_NAME.test(name)) throw new TransformError(`"${clip(name)}" cannot be written as an XML element name`);
  const qn = `${OM_PREFIX}:${name}`;
  if (value === null) {
    state.nil = true;
    out.push(`<${qn} xsi:nil="true"/>`);
    return;
  }
  if (typeof value === 'string') {
    out.push(`<${qn}>${escapeXml(value)}</${qn}>`);
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) {
    out.push(`<${qn}/>`);
    return;
  }
  out.push(`<${qn}>`);
  const text = value[TEXT_KEY];
  if (typeof text === 'string') out.push(escapeXml(text));
  for (const key of keys) {
    if (key !== TEXT_KEY) writeElement(out, key, value[key] as XmlValue, state);
  }
  out.push(`</${qn}>`);
}

// ------------------------------------------------------------------------------------------------
// otm-transmission

const OTM_SERVICE_NS = 'http://xmlns.oracle.com/apps/otm/TransmissionService';
const OTM_DOCUMENT_NS = 'http://xmlns.oracle.com/apps/otm/transmission/v6.4';

/** Refnum qualifiers the example mapping writes; create them in OTM (or change them here). */
const OTM_REFNUM_QUALIFIERS = {
  eventCode: 'OM_EVENT_CODE',
  orderStatus: 'OM_ORDER_STATUS',
  lineStatus: 'OM_LINE_STATUS',
  fulfillmentLineStatus: 'OM_FLINE_STATUS',
  holdCode: 'OM_HOLD_CODE',
  jeopardyPriority: 'OM_JEOPARDY_PRIORITY',
} as const;

/**
 * An EXAMPLE mapping to OTM's TransmissionService `publish` operation (specs/oracle-om/NOTES.md §5):
 *
 * ```xml
 * <tran:publish xmlns:tran="…/TransmissionService" xmlns:v6="…/transmission/v6.4">
 *   <v6:Transmission>
 *     <v6:TransmissionHeader><v6:SenderTransmissionNo>{idempotency key, else delivery id}</v6:SenderTransmissionNo></v6:TransmissionHeader>
 *     <v6:TransmissionBody><v6:GLogXMLElement>
 *       <v6:Release>
 *         <v6:ReleaseGid><v6:Gid><v6:Xid>{order key}</v6:Xid></v6:Gid></v6:ReleaseGid>
 *         <v6:TransactionCode>IU</v6:TransactionCode>
 *         <v6:ReleaseRefnum>  one per value: event code, header / line / fulfilment line new status,
 *                             hold code, jeopardy priority (qualifiers in OTM_REFNUM_QUALIFIERS)
 *       </v6:Release>
 *     </v6:GLogXMLElement></v6:TransmissionBody>
 *   </v6:Transmission>
 * </tran:publish>
 * ```
 *
 * Only the Transmission frame (publish, Transmission, TransmissionHeader, TransmissionBody,
 * GLogXMLElement) and the namespaces come from the NOTES sample. The order-release part follows the
 * NOTES' description (an order status update is a `Release` with a `TransactionCode` such as IU), which
 * is UNCONFIRMED: the exact elements, the release GID (domain, allowed characters) and the refnum
 * qualifiers must be adapted to the OTM setup, or replaced by a JSONata or custom mapping.
 */
const otmTransmissionTransform: Transform = (input) => {
  const { event, delivery } = input;
  if (event.orderKey === null) {
    throw new TransformError(`event ${event.id} has no order key; an OTM order release needs one`);
  }
  const payload = event.payload;
  const lines = asRecords(payload.OrderLine);
  const fulfillmentLines = lines.flatMap((l) => asRecords(l.OrderFulfillmentLine));
  const all = [payload, ...lines, ...fulfillmentLines];

  const q = OTM_REFNUM_QUALIFIERS;
  const refnums: Array<[string, string[]]> = [
    [q.eventCode, [event.eventCode]],
    [q.orderStatus, texts([payload], 'StatusCodeNewValue', 'StatusNewValue')],
    [q.lineStatus, texts(lines, 'StatusCodeNewValue')],
    [q.fulfillmentLineStatus, texts(fulfillmentLines, 'StatusCodeNewValue')],
    [q.holdCode, texts(all, 'HoldCode')],
    [q.jeopardyPriority, texts(all, 'JeopardyPriority')],
  ];

  const v6 = (name: string, content: string): string => `<v6:${name}>${content}</v6:${name}>`;
  const gid = (xid: string): string => v6('Gid', v6('Xid', escapeXml(xid)));
  const release =
    v6('ReleaseGid', gid(event.orderKey)) +
    v6('TransactionCode', 'IU') +
    refnums
      .flatMap(([qualifier, values]) =>
        values.map((value) =>
          v6('ReleaseRefnum', v6('ReleaseRefnumQualifierGid', gid(qualifier)) + v6('ReleaseRefnumValue', escapeXml(value))),
        ),
      )
      .join('');
  const transmission = v6(
    'Transmission',
    v6('TransmissionHeader', v6('SenderTransmissionNo', escapeXml(delivery.idempotencyKey ?? delivery.id))) +
      v6('TransmissionBody', v6('GLogXMLElement', v6('Release', release))),
  );
  return {
    body: `<tran:publish xmlns:tran="${OTM_SERVICE_NS}" xmlns:v6="${OTM_DOCUMENT_NS}">${transmission}</tran:publish>`,
    contentType: XML_CONTENT_TYPE,
  };
};

function asRecords(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return [v];
  return [];
}

/** Distinct non-empty text values of the named leaves, in document order. */
function texts(records: XmlRecord[], ...names: string[]): string[] {
  const found = new Set<string>();
  const add = (v: XmlValue | undefined): void => {
    if (typeof v === 'string') {
      if (v.trim() !== '') found.add(v.trim());
    } else if (Array.isArray(v)) {
      for (const item of v) add(item[TEXT_KEY]);
    }
  };
  for (const r of records) for (const name of names) add(Object.hasOwn(r, name) ? r[name] : undefined);
  return [...found];
}

// ------------------------------------------------------------------------------------------------
// jsonata:<name>

/** Guards against a template that loops or recurses without end (it runs on the delivery worker). */
const JSONATA_LIMITS = { timeout: 2_000, stack: 500 } as const;

/** Compiles on first use (once per registry); a template that does not compile fails every delivery. */
function jsonataTransform(name: string, source: string, mappings: MappingSet): Transform {
  let compiled: ReturnType<typeof jsonata> | { error: string } | null = null;
  const label = `${JSONATA_PREFIX}${name}`;
  const bindings = { mapValue: mapValueFunction(mappings) };
  return async (input) => {
    if (compiled === null) {
      try {
        compiled = jsonata(source, JSONATA_LIMITS);
      } catch (err) {
        compiled = { error: jsonataErrorMessage(err) };
      }
    }
    if ('error' in compiled) throw new TransformError(`${label}: not a valid JSONata expression: ${compiled.error}`);
    let result: unknown;
    try {
      result = await compiled.evaluate(canonicalEvent(input), bindings);
    } catch (err) {
      if (err instanceof TransformError) throw err;
      throw new TransformError(`${label}: ${jsonataErrorMessage(err)}`, { cause: err });
    }
    if (result === undefined) throw new TransformError(`${label}: the expression produced no value for this event`);
    const body = JSON.stringify(result) as string | undefined;
    if (body === undefined) throw new TransformError(`${label}: the expression produced a value that is not JSON`);
    return { body, contentType: JSON_CONTENT_TYPE } satisfies TransformOutput;
  };
}

/**
 * `$mapValue(map, key)`: the value of `key` in `mappings/<map>.yaml`. A missing map or key parks the
 * delivery with the file and the key named, as a missing product mapping does: a template cannot
 * send a code Oracle would refuse, and the fix is an entry, a reload and a replay.
 */
function mapValueFunction(mappings: MappingSet): (map: unknown, key: unknown) => string {
  return (map, key) => {
    if (typeof map !== 'string' || mappings.map(map) === null) {
      throw new TransformError(`$mapValue: no value map ${typeof map === 'string' ? `mappings/${clip(map)}.yaml` : `named ${clip(String(map))}`}`);
    }
    const text = typeof key === 'string' || typeof key === 'number' ? String(key) : null;
    const value = text === null ? null : mappings.lookup(map, text);
    if (value === null) throw new TransformError(`no entry for ${text === null ? 'an empty key' : `"${clip(text)}"`} in mappings/${map}.yaml`);
    return value;
  };
}

// ------------------------------------------------------------------------------------------------
// XML text

/** An XML element local name (ASCII subset of NCName: OM element names are ASCII). */
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** Escapes text content. Characters XML 1.0 cannot carry at all make the transform fail. */
function escapeXml(text: string): string {
  if (hasNonXmlChar(text)) throw new TransformError('a value contains a character that XML cannot carry');
  return escapeXmlText(text);
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
