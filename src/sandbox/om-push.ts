/**
 * Builds realistic Oracle Fusion Order Management pushes (`pushPayload` requests) for tests,
 * benchmarks and the sandbox's emulated OM.
 *
 * The payload follows what Oracle's XSL maps fill per event code (specs/oracle-om/NOTES.md §2.3):
 * only those elements, in the schema's sequence order, under the namespace of `results`. Ids are
 * 15-digit Fusion-style ids derived from the order (system, number) and the line number, so the
 * same input always gives the same bytes. Envelopes imitate three kinds of SOAP client (§3.4 and
 * DESIGN §6): a plain one, Oracle's own SOA client, and a Perl SOAP::Lite-style client.
 *
 * Pure functions: no I/O. The only impurity is that, unless `now` (or an explicit nonce/created)
 * is given, WS-Security nonces, timestamps and WS-Addressing message ids come from the clock and
 * `crypto.randomBytes`, as they would for a real client.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { OM_EVENT_CODES, type OmEventCode } from '../domain/event.ts';

/** The event codes the sandbox can push: every code Oracle documents (src/domain/event.ts). */
export type PushEventCode = OmEventCode;
export const PUSH_EVENT_CODES: readonly PushEventCode[] = OM_EVENT_CODES;

export interface PushOrder {
  /** Default `LEG`. */
  sourceOrderSystem?: string;
  sourceOrderNumber: string;
  /** Default: a 15-digit id derived from system and number. */
  orchestrationOrderId?: string;
  /** Number of order lines, each with one fulfilment line. Default 1. Ignored by OrderHeaderStatusUpdate. */
  lines?: number;
  /**
   * Status transition. FlineStatusUpdate: line and fulfilment line StatusCode old/new (default
   * AWAIT_SHIPPING → SHIPPED). OrderHeaderStatusUpdate: StatusPriorValue/StatusNewValue (default
   * OPEN → CLOSED). OcResponse: `statusTo` is the CompensationStatus (default SUCCESS). Other
   * events ignore them.
   */
  statusFrom?: string;
  statusTo?: string;
}

export interface PushHeaderInput {
  eventCode: PushEventCode;
  order: PushOrder;
}

export type SecurityStyle =
  | { kind: 'none' }
  | { kind: 'text'; username: string; password: string }
  | { kind: 'digest'; username: string; password: string; nonce?: Buffer; created?: string };

export interface PushOptions {
  /** Default '1.1'. */
  soapVersion?: '1.1' | '1.2';
  /** Default none. */
  security?: SecurityStyle;
  /** Default 'plain'. */
  style?: 'oracle' | 'plain' | 'perl';
  /** Namespace prefix for the payload, default 'ns1'; '' puts the payload in the default namespace. */
  prefix?: string;
  /** The endpoint URL, used for wsa:To in 'oracle' style. Default http://localhost:8080/soap/business-events. */
  address?: string;
  /** Indent the envelope and payload with two spaces (not for 'perl'). Default false: compact, as OM sends. */
  pretty?: boolean;
  /**
   * The client's clock. When given, every value that would otherwise be random or clock-based
   * (Created, Timestamp, Nonce, wsa:MessageID, wsu:Id) is derived from it and the payload, so the
   * whole envelope is reproducible byte for byte.
   */
  now?: Date;
}

export const OM_PAYLOAD_NS =
  'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENVELOPE_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const PASSWORD_TEXT_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
export const BASE64_ENCODING_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const WSA_NS = 'http://www.w3.org/2005/08/addressing';
const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const SOAP11_ENCODING = 'http://schemas.xmlsoap.org/soap/encoding/';
const SOAP12_ENCODING = 'http://www.w3.org/2003/05/soap-encoding';
const SOAP_ACTION = 'pushPayload';
const DEFAULT_ADDRESS = 'http://localhost:8080/soap/business-events';
const TIMESTAMP_TTL_MS = 300_000;

// ------------------------------------------------------------------------------------------------
// Payload model: an element is a leaf (text, or null for xsi:nil) or a list of child nodes. The
// serializer writes a node's elements in the schema's sequence order, whatever the object order.

type Leaf = string | null;
interface PayloadNode {
  [element: string]: Leaf | PayloadNode[] | undefined;
}
type Level = 'header' | 'line' | 'fline' | 'details' | 'effs';

const pairs = (...names: string[]): string[] => names.flatMap((n) => [`${n}New`, `${n}Old`]);

/** Element order of each complex type, as in wsdl/business-events-payload.xsd. */
const SEQUENCE: Record<Level, readonly string[]> = {
  header: [
    'EventCode', 'SourceOrderSystem', 'SourceOrderId', 'SourceOrderNumber', 'OrchestrationOrderNumber',
    'OrchestrationOrderId', 'CustomerId', 'HoldCode', 'HoldComments', 'CompensationStatus',
    'CompensationMessage', 'StatusCodeOldValue', 'StatusCodeNewValue', 'StatusPriorValue', 'StatusNewValue',
    'OrderLine',
  ],
  line: [
    'EventCode', 'OrchestrationOrderLineId', 'OrchestrationOrderLineNumber', 'HoldCode', 'HoldComments',
    'SourceOrderLineId', 'SourceOrderLineNumber', 'SourceOrderSystem', 'SourceOrderId', 'SourceOrderScheduleId',
    'PreSplitOrderedQuantity', 'ItemId', 'InventoryOrganizationId', 'OpenFlagNewValue', 'OpenFlagOldValue',
    'StatusCodeOldValue', 'StatusCodeNewValue', 'OrderFulfillmentLine',
  ],
  fline: [
    'SourceOrderScheduleId', 'OrchestrationOrderLineId', 'FulfillmentOrderLineId', 'FulfillmentOrderLineNumber',
    ...pairs(
      'ActualShipDate', 'BillToContactId', 'BillToCustomerId', 'FobPointCode', 'FulfillOrgId', 'InventoryItemId',
      'OrderedQty', 'PromiseArrivalDate', 'PromiseShipDate', 'RequestArrivalDate', 'RequestShipDate',
      'ScheduleShipDate', 'ScheduleArrivalDate', 'ShipClassOfService', 'ShipModeOfTransport',
      'ShipmentPriorityCode', 'ShipToContactId', 'ShipToCustomerId', 'ShipToSiteUseId', 'TaxClassificationCode',
      'TaxExemptFlag', 'UnitSellingPrice', 'ActualCompletionDate', 'BillToSiteUseId', 'CarrierId',
      'CustomerPoNumber', 'DemandClassCode', 'EarliestAcceptableShipDate', 'EstimateFulfillmentCost',
      'EstimateMargin', 'FulfillmentDate', 'LatestAcceptableArrivalDate', 'LatestAcceptableShipDate',
      'RemnantFlag', 'ReturnReasonCode',
    ),
    'HoldCode', 'HoldComments', 'ItemId', 'InventoryOrganizationId', 'ShippedQuantity', 'OrderedQuantity',
    'JeopardyPriority', 'StatusCodeOldValue', 'StatusCodeNewValue', 'CancelFlagOldValue', 'CancelFlagNewValue',
    'OrderFulfillmentLineDetails', 'OrderFulfillmentLineEFFs',
  ],
  details: [
    'FulfillmentOrderLineDetailId', 'TaskType', 'BillingTransactionNumber', 'BillingTransactionDate',
    'BillingTransactionAmount', 'WaybillNumber', 'BillOfLaddingNumber', 'TrackingNumber', 'Quantity', 'Status',
    'DeliveryName', 'RmaReceiptNumber', 'RmaReceiptLineNumber', 'RmaReceiptDate', 'RmaReceiptTransactionId',
    'CustomerTrxLineId', 'OrderFulfillmentLineEFFs',
  ],
  effs: [
    'ContextCode', 'SegmentCode', 'SegmentCharOldValue', 'SegmentCharNewValue', 'SegmentNumOldValue',
    'SegmentNumNewValue', 'SegmentDateOldValue', 'SegmentDateNewValue', 'SegmentTimeOldValue',
    'SegmentTimeNewValue',
  ],
};

const CHILD_LEVEL: Readonly<Record<string, Level>> = {
  OrderLine: 'line',
  OrderFulfillmentLine: 'fline',
  OrderFulfillmentLineDetails: 'details',
  OrderFulfillmentLineEFFs: 'effs',
};

// ------------------------------------------------------------------------------------------------
// Deterministic values

interface OrderContext {
  system: string;
  number: string;
  orchestrationOrderId: string;
  lines: number;
  statusFrom: string | undefined;
  statusTo: string | undefined;
}

function digestOf(...parts: Array<string | number>): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/** A 15-digit Fusion-style id: `prefix` (6 digits) + 9 digits derived from the order and `kind`. */
function fusionId(ctx: OrderContext, kind: string, line = 0, prefix = '300100'): string {
  const n = digestOf(ctx.system, ctx.number, kind, line).readUIntBE(0, 6) % 1_000_000_000;
  return prefix + String(n).padStart(9, '0');
}

function derivedNumber(ctx: OrderContext, kind: string, min: number, span: number, line = 0): number {
  return min + (digestOf(ctx.system, ctx.number, kind, line).readUInt32BE(0) % span);
}

/** A date-time in 2025, the way Oracle SOA formats xsd:dateTime (milliseconds, numeric offset). */
function orderDateTime(ctx: OrderContext, kind: string, line: number, extraHours = 0): string {
  const day = derivedNumber(ctx, 'day', 0, 360);
  const minutes = derivedNumber(ctx, kind, 0, 8 * 60, line);
  const ms = Date.UTC(2025, 0, 2, 8) + day * 86_400_000 + (minutes + extraHours * 60) * 60_000;
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

function contextFor(order: PushOrder): OrderContext {
  const lines = order.lines ?? 1;
  if (!Number.isInteger(lines) || lines < 1 || lines > 10_000) {
    throw new RangeError(`lines must be an integer from 1 to 10000, got ${String(order.lines)}`);
  }
  const ctx: OrderContext = {
    system: order.sourceOrderSystem ?? 'LEG',
    number: order.sourceOrderNumber,
    orchestrationOrderId: '',
    lines,
    statusFrom: order.statusFrom,
    statusTo: order.statusTo,
  };
  ctx.orchestrationOrderId = order.orchestrationOrderId ?? fusionId(ctx, 'header');
  return ctx;
}

const lineNumbers = (ctx: OrderContext): number[] => Array.from({ length: ctx.lines }, (_, i) => i + 1);
const orchestrationLineId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'line', n);
const fulfillmentLineId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'fline', n);
const itemId = (ctx: OrderContext, n: number): string => fusionId(ctx, 'item', n, '300000');
const inventoryOrgId = (ctx: OrderContext): string => fusionId(ctx, 'org', 0, '300000');
const customerId = (ctx: OrderContext): string => fusionId(ctx, 'customer', 0, '300000');
const orchestrationOrderNumber = (ctx: OrderContext): string => String(derivedNumber(ctx, 'orderNumber', 100_000, 900_000));
const sourceLineId = (ctx: OrderContext, n: number): string => `${ctx.number}-${n}`;

// ------------------------------------------------------------------------------------------------
// Per-event maps (NOTES §2.3): exactly the elements Oracle's XSL fills for each event code.

function headerIds(ctx: OrderContext): PayloadNode {
  return {
    SourceOrderSystem: ctx.system,
    SourceOrderId: ctx.number,
    SourceOrderNumber: ctx.number,
    OrchestrationOrderNumber: orchestrationOrderNumber(ctx),
    OrchestrationOrderId: ctx.orchestrationOrderId,
  };
}

function lineIds(ctx: OrderContext, n: number): PayloadNode {
  return {
    OrchestrationOrderLineId: orchestrationLineId(ctx, n),
    OrchestrationOrderLineNumber: String(n),
    SourceOrderLineId: sourceLineId(ctx, n),
    SourceOrderLineNumber: String(n),
  };
}

function flineStatusUpdate(ctx: OrderContext): PayloadNode {
  const from = ctx.statusFrom ?? 'AWAIT_SHIPPING';
  const to = ctx.statusTo ?? 'SHIPPED';
  return {
    EventCode: 'FlineStatusUpdate',
    SourceOrderSystem: ctx.system,
    SourceOrderId: ctx.number,
    SourceOrderNumber: ctx.number,
    StatusCodeOldValue: 'OPEN',
    StatusCodeNewValue: 'OPEN',
    OrderLine: lineNumbers(ctx).map((n) => ({
      OrchestrationOrderLineNumber: String(n),
      StatusCodeOldValue: from,
      StatusCodeNewValue: to,
      OrderFulfillmentLine: [
        {
          SourceOrderScheduleId: '1',
          OrchestrationOrderLineId: orchestrationLineId(ctx, n),
          FulfillmentOrderLineId: fulfillmentLineId(ctx, n),
          StatusCodeOldValue: from,
          StatusCodeNewValue: to,
        },
      ],
    })),
  };
}

function flineClosed(ctx: OrderContext): PayloadNode {
  return {
    EventCode: 'FlineClosed',
    SourceOrderNumber: ctx.number,
    OrchestrationOrderId: ctx.orchestrationOrderId,
    OrderLine: lineNumbers(ctx).map((n) => ({
      OrchestrationOrderLineId: orchestrationLineId(ctx, n),
      OpenFlagNewValue: 'N',
      OpenFlagOldValue: 'Y',
      OrderFulfillmentLine: [
        { FulfillmentOrderLineId: fulfillmentLineId(ctx, n), CancelFlagOldValue: 'N', CancelFlagNewValue: 'N' },
      ],
    })),
  };
}

function orderHeaderStatusUpdate(ctx: OrderContext): PayloadNode {
  return {
    EventCode: 'OrderHeaderStatusUpdate',
    ...headerIds(ctx),
    CustomerId: customerId(ctx),
    StatusPriorValue: ctx.statusFrom ?? 'OPEN',
    StatusNewValue: ctx.statusTo ?? 'CLOSED',
  };
}

function hold(ctx: OrderContext): PayloadNode {
  const holdCode = 'CREDIT_CHECK';
  const comments = 'Credit review pending';
  return {
    EventCode: 'HOLD',
    ...headerIds(ctx),
    CustomerId: customerId(ctx),
    HoldCode: holdCode,
    HoldComments: comments,
    OrderLine: lineNumbers(ctx).map((n) => ({
      ...lineIds(ctx, n),
      HoldCode: holdCode,
      HoldComments: comments,
      OrderFulfillmentLine: [
        {
          SourceOrderScheduleId: '1',
          FulfillmentOrderLineId: fulfillmentLineId(ctx, n),
          FulfillmentOrderLineNumber: String(n),
          HoldCode: holdCode,
          HoldComments: comments,
          ItemId: itemId(ctx, n),
          InventoryOrganizationId: inventoryOrgId(ctx),
        },
      ],
    })),
  };
}

function jeopardy(ctx: OrderContext): PayloadNode {
  return {
    OrderLine: lineNumbers(ctx).map((n) => ({
      EventCode: 'JEOPARDY',
      ...lineIds(ctx, n),
      SourceOrderSystem: ctx.system,
      SourceOrderId: ctx.number,
      SourceOrderScheduleId: '1',
      OrderFulfillmentLine: [
        {
          FulfillmentOrderLineId: fulfillmentLineId(ctx, n),
          FulfillmentOrderLineNumber: String(n),
          ItemId: itemId(ctx, n),
          InventoryOrganizationId: inventoryOrgId(ctx),
          JeopardyPriority: 'HIGH',
        },
      ],
    })),
  };
}

function split(ctx: OrderContext): PayloadNode {
  return {
    EventCode: 'SPLIT',
    ...headerIds(ctx),
    CustomerId: customerId(ctx),
    OrderLine: lineNumbers(ctx).map((n) => {
      const ordered = derivedNumber(ctx, 'qty', 2, 20, n);
      const shipped = Math.floor(ordered / 2);
      return {
        ...lineIds(ctx, n),
        PreSplitOrderedQuantity: String(ordered),
        ItemId: itemId(ctx, n),
        InventoryOrganizationId: inventoryOrgId(ctx),
        OrderFulfillmentLine: [
          {
            FulfillmentOrderLineId: fulfillmentLineId(ctx, n),
            FulfillmentOrderLineNumber: String(n),
            ShippedQuantity: String(shipped),
            OrderedQuantity: String(ordered - shipped),
          },
        ],
      };
    }),
  };
}

/**
 * A shipment confirmed on every fulfilment line: the changed attributes as New/Old pairs (Oracle
 * emits a pair when either side is non-empty; the empty side is nil), a shipment detail, and on
 * the first line a flexfield change both on the detail and on the fulfilment line.
 */
function orderAttributeUpdate(ctx: OrderContext): PayloadNode {
  return {
    EventCode: 'OrderAttributeUpdate',
    ...headerIds(ctx),
    OrderLine: lineNumbers(ctx).map((n) => {
      const withFlexfields = n === 1;
      const tracking = digestOf(ctx.system, ctx.number, 'tracking', n).toString('hex').slice(0, 16).toUpperCase();
      const detail: PayloadNode = {
        FulfillmentOrderLineDetailId: fusionId(ctx, 'detail', n),
        TaskType: 'Shipment',
        WaybillNumber: `WB${derivedNumber(ctx, 'waybill', 10_000_000, 90_000_000, n)}`,
        TrackingNumber: `1Z${tracking}`,
        Quantity: String(derivedNumber(ctx, 'qty', 1, 12, n)),
      };
      const fline: PayloadNode = {
        FulfillmentOrderLineId: fulfillmentLineId(ctx, n),
        ActualShipDateNew: orderDateTime(ctx, 'ship', n),
        ActualShipDateOld: null,
        OrderFulfillmentLineDetails: [detail],
      };
      if (withFlexfields) {
        fline.ShipModeOfTransportNew = 'PARCEL';
        fline.ShipModeOfTransportOld = 'LTL';
        detail.OrderFulfillmentLineEFFs = [
          { ContextCode: 'ShipDetails', SegmentCode: 'PackageCount', SegmentNumOldValue: null, SegmentNumNewValue: '1' },
        ];
        fline.OrderFulfillmentLineEFFs = [
          { ContextCode: 'ShipDetails', SegmentCode: 'DockDoor', SegmentCharOldValue: null, SegmentCharNewValue: 'D4' },
        ];
      }
      return {
        OrchestrationOrderLineId: orchestrationLineId(ctx, n),
        OrchestrationOrderLineNumber: String(n),
        OrderFulfillmentLine: [fline],
      };
    }),
  };
}

function ocResponse(ctx: OrderContext): PayloadNode {
  const status = ctx.statusTo ?? 'SUCCESS';
  return {
    EventCode: 'OcResponse',
    SourceOrderSystem: ctx.system,
    SourceOrderNumber: ctx.number,
    CompensationStatus: status,
    CompensationMessage:
      status === 'SUCCESS' ? 'Change order compensation completed' : 'Change order compensation failed',
    OrderLine: lineNumbers(ctx).map((n) => ({
      SourceOrderLineId: sourceLineId(ctx, n),
      OrderFulfillmentLine: [{ FulfillmentOrderLineId: fulfillmentLineId(ctx, n) }],
    })),
  };
}

const EVENT_MAPS: Record<PushEventCode, (ctx: OrderContext) => PayloadNode> = {
  FlineStatusUpdate: flineStatusUpdate,
  FlineClosed: flineClosed,
  OrderHeaderStatusUpdate: orderHeaderStatusUpdate,
  OrderAttributeUpdate: orderAttributeUpdate,
  HOLD: hold,
  JEOPARDY: jeopardy,
  SPLIT: split,
  OcResponse: ocResponse,
};

// ------------------------------------------------------------------------------------------------
// Serialization

function escapeText(value: string): string {
  return value.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function checkPrefix(prefix: string): void {
  if (prefix !== '' && (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(prefix) || /^xml/i.test(prefix))) {
    throw new RangeError(`not a usable namespace prefix: ${JSON.stringify(prefix)}`);
  }
}

interface Writer {
  out: string[];
  qname: (local: string) => string;
  nil: boolean;
  pretty: boolean;
}

function writeNode(w: Writer, level: Level, node: PayloadNode, name: string, depth: number): void {
  const pad = w.pretty ? '  '.repeat(depth) : '';
  const step = w.pretty ? '  ' : '';
  const known = SEQUENCE[level];
  for (const key of Object.keys(node)) {
    if (!known.includes(key)) throw new Error(`${key} is not an element of ${level}`);
  }
  w.out.push(`${pad}<${w.qname(name)}>`);
  for (const element of known) {
    const value = node[element];
    if (value === undefined) continue;
    const qn = w.qname(element);
    if (Array.isArray(value)) {
      const childLevel = CHILD_LEVEL[element];
      if (childLevel === undefined) throw new Error(`${element} cannot hold child elements`);
      for (const child of value) writeNode(w, childLevel, child, element, depth + 1);
    } else if (value === null) {
      w.nil = true;
      w.out.push(`${pad}${step}<${qn} xsi:nil="true"/>`);
    } else {
      w.out.push(`${pad}${step}<${qn}>${escapeText(value)}</${qn}>`);
    }
  }
  w.out.push(`${pad}</${w.qname(name)}>`);
}

/**
 * The `<results>` element for one or more order headers (NOTES §2.3 maps). The namespace (and
 * `xsi` when a value is nil) is declared on it. Compact by default, as Oracle's XSL output is;
 * `pretty` indents with two spaces. No XML declaration, no trailing newline.
 */
export function buildResults(
  headers: PushHeaderInput[],
  prefix = 'ns1',
  options: { pretty?: boolean } = {},
): string {
  checkPrefix(prefix);
  const pretty = options.pretty ?? false;
  const w: Writer = { out: [], qname: (l) => (prefix === '' ? l : `${prefix}:${l}`), nil: false, pretty };
  for (const { eventCode, order } of headers) {
    const map = EVENT_MAPS[eventCode];
    if (map === undefined) throw new RangeError(`unknown event code ${String(eventCode)}`);
    writeNode(w, 'header', map(contextFor(order)), 'OrderHeader', 1);
  }
  const root = w.qname('results');
  const xmlns = `${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${OM_PAYLOAD_NS}"`;
  const xsi = w.nil ? ` xmlns:xsi="${XSI_NS}"` : '';
  if (w.out.length === 0) return `<${root} ${xmlns}/>`;
  return [`<${root} ${xmlns}${xsi}>`, ...w.out, `</${root}>`].join(pretty ? '\n' : '');
}

// ------------------------------------------------------------------------------------------------
// Envelope

/** WS-Security UsernameToken Profile 1.0: Base64(SHA-1(nonce bytes + created + password)). */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/** HTTP headers a client sends with a push of this SOAP version. */
export function pushHttpHeaders(options: Pick<PushOptions, 'soapVersion'> = {}): Record<string, string> {
  return options.soapVersion === '1.2'
    ? { 'content-type': `application/soap+xml; charset=UTF-8; action="${SOAP_ACTION}"` }
    : { 'content-type': 'text/xml; charset=UTF-8', soapaction: `"${SOAP_ACTION}"` };
}

function uuidFrom(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Lines of markup with their nesting depth; joined with indentation when pretty, else run together. */
type Markup = Array<[depth: number, text: string]>;

function securityBlock(
  security: SecurityStyle,
  style: 'oracle' | 'plain' | 'perl',
  clock: Date,
  entropy: (label: string, size: number) => Buffer,
): Markup {
  const createdAt = clock.toISOString();
  const out: Markup = [];
  if (style === 'oracle') {
    out.push(
      [0, `<wsu:Timestamp wsu:Id="TS-${entropy('ts', 8).toString('hex')}">`],
      [1, `<wsu:Created>${createdAt}</wsu:Created>`],
      [1, `<wsu:Expires>${new Date(clock.getTime() + TIMESTAMP_TTL_MS).toISOString()}</wsu:Expires>`],
      [0, `</wsu:Timestamp>`],
    );
  }
  if (security.kind === 'none') return out;

  let passwordType = PASSWORD_TEXT_TYPE;
  let password = security.password;
  let nonce: Buffer | undefined;
  let created: string | undefined;
  if (security.kind === 'digest') {
    nonce = security.nonce ?? entropy('nonce', 16);
    created = security.created ?? createdAt;
    passwordType = PASSWORD_DIGEST_TYPE;
    password = passwordDigest(nonce, created, security.password);
  } else if (style === 'oracle') {
    // Oracle's client sends Nonce and Created even with a plain-text password.
    nonce = entropy('nonce', 16);
    created = createdAt;
  }
  out.push(
    [0, `<wsse:UsernameToken wsu:Id="UsernameToken-${entropy('ut', 8).toString('hex')}">`],
    [1, `<wsse:Username>${escapeText(security.username)}</wsse:Username>`],
    [1, `<wsse:Password Type="${passwordType}">${escapeText(password)}</wsse:Password>`],
  );
  if (nonce !== undefined) {
    out.push([1, `<wsse:Nonce EncodingType="${BASE64_ENCODING_TYPE}">${nonce.toString('base64')}</wsse:Nonce>`]);
  }
  if (created !== undefined) out.push([1, `<wsu:Created>${escapeText(created)}</wsu:Created>`]);
  out.push([0, `</wsse:UsernameToken>`]);
  return out;
}

/**
 * A whole SOAP envelope carrying `buildResults(headers, prefix)` in its Body.
 * - 'plain': `soapenv:` prefix, a wsse:Security header only when security is set.
 * - 'oracle': Oracle XDK-style XML declaration, `env:` prefix, WS-Addressing To/Action/MessageID/
 *   ReplyTo, and wsse:Security (mustUnderstand="1") with a wsu:Timestamp; a PasswordText token
 *   also carries Nonce and Created, as Oracle's client sends them.
 * - 'perl': SOAP::Lite-style envelope with xsi/xsd/soapenc declarations, `soap:encodingStyle` on
 *   the Envelope and mustUnderstand="1" on wsse:Security.
 * Compact unless `pretty` is set ('perl' is always compact, as SOAP::Lite writes it).
 */
export function buildPush(headers: PushHeaderInput[], options: PushOptions = {}): string {
  const version = options.soapVersion ?? '1.1';
  const style = options.style ?? 'plain';
  const pretty = (options.pretty ?? false) && style !== 'perl';
  const results = buildResults(headers, options.prefix ?? 'ns1', { pretty });

  const fixed = options.now !== undefined;
  const clock = options.now ?? new Date();
  const entropy = (label: string, size: number): Buffer =>
    fixed ? digestOf(label, clock.toISOString(), results).subarray(0, size) : randomBytes(size);

  const env = style === 'oracle' ? 'env' : style === 'perl' ? 'soap' : 'soapenv';
  const envNs = version === '1.2' ? SOAP12_ENVELOPE_NS : SOAP11_ENVELOPE_NS;
  const encoding = version === '1.2' ? SOAP12_ENCODING : SOAP11_ENCODING;

  const header: Markup = [];
  if (style === 'oracle') {
    const messageId = fixed ? uuidFrom(entropy('msgid', 16)) : randomUUID();
    header.push(
      [0, `<wsa:To>${escapeText(options.address ?? DEFAULT_ADDRESS)}</wsa:To>`],
      [0, `<wsa:Action>${SOAP_ACTION}</wsa:Action>`],
      [0, `<wsa:MessageID>urn:uuid:${messageId}</wsa:MessageID>`],
      [0, `<wsa:ReplyTo>`],
      [1, `<wsa:Address>${WSA_ANONYMOUS}</wsa:Address>`],
      [0, `</wsa:ReplyTo>`],
    );
  }
  const security = securityBlock(options.security ?? { kind: 'none' }, style, clock, entropy);
  if (security.length > 0) {
    const mustUnderstand = style === 'plain' ? '' : ` ${env}:mustUnderstand="1"`;
    header.push(
      [0, `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"${mustUnderstand}>`],
      ...security.map(([d, t]): [number, string] => [d + 1, t]),
      [0, `</wsse:Security>`],
    );
  }

  let declaration = '';
  let envelopeAttributes = ` xmlns:${env}="${envNs}"`;
  if (style === 'oracle') {
    declaration = `<?xml version = '1.0' encoding = 'UTF-8'?>`;
    envelopeAttributes += ` xmlns:wsa="${WSA_NS}"`;
  } else if (style === 'perl') {
    declaration = `<?xml version="1.0" encoding="UTF-8"?>`;
    envelopeAttributes =
      ` xmlns:xsi="${XSI_NS}" xmlns:soapenc="${encoding}" xmlns:xsd="${XSD_NS}"` +
      ` ${env}:encodingStyle="${encoding}" xmlns:${env}="${envNs}"`;
  }

  const doc: Markup = [[0, `<${env}:Envelope${envelopeAttributes}>`]];
  if (header.length > 0) {
    doc.push([1, `<${env}:Header>`], ...header.map(([d, t]): [number, string] => [d + 2, t]), [1, `</${env}:Header>`]);
  }
  doc.push([1, `<${env}:Body>`]);
  if (pretty) {
    for (const line of results.split('\n')) doc.push([2, line]);
  } else {
    doc.push([2, results]);
  }
  doc.push([1, `</${env}:Body>`], [0, `</${env}:Envelope>`]);

  const body = pretty ? doc.map(([d, t]) => '  '.repeat(d) + t).join('\n') : doc.map(([, t]) => t).join('');
  if (declaration === '') return body;
  return declaration + (pretty ? '\n' : '') + body;
}

/**
 * The benchmark push: one OrderAttributeUpdate header with 3 lines, each fulfilment line with a
 * shipment detail (tracking, waybill, quantity); flexfields on the first line. About 3.5 KB with
 * the defaults (compact, SOAP 1.1, no security).
 */
export function realisticPush(options: PushOptions & { orderNumber?: string } = {}): string {
  const { orderNumber, ...pushOptions } = options;
  return buildPush(
    [
      {
        eventCode: 'OrderAttributeUpdate',
        order: { sourceOrderSystem: 'LEG', sourceOrderNumber: orderNumber ?? 'SO-100234', lines: 3 },
      },
    ],
    pushOptions,
  );
}

/**
 * The ids this builder derives for an order, so the emulated Fusion REST can describe the same order
 * that an emulated push talks about (same fulfilment line ids, item ids, organization).
 */
export function sandboxOrderIds(order: PushOrder): {
  orchestrationOrderId: string;
  orchestrationOrderNumber: string;
  customerId: string;
  inventoryOrganizationId: string;
  lines: Array<{ lineNumber: number; orchestrationOrderLineId: string; fulfillLineId: string; itemId: string; sourceOrderLineId: string }>;
} {
  const ctx = contextFor(order);
  return {
    orchestrationOrderId: ctx.orchestrationOrderId,
    orchestrationOrderNumber: orchestrationOrderNumber(ctx),
    customerId: customerId(ctx),
    inventoryOrganizationId: inventoryOrgId(ctx),
    lines: lineNumbers(ctx).map((n) => ({
      lineNumber: n,
      orchestrationOrderLineId: orchestrationLineId(ctx, n),
      fulfillLineId: fulfillmentLineId(ctx, n),
      itemId: itemId(ctx, n),
      sourceOrderLineId: sourceLineId(ctx, n),
    })),
  };
}
