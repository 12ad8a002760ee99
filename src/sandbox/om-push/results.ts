import { OM_EVENT_CODES, type OmEventCode } from '../../domain/event.ts';
import {
  contextFor,
  customerId,
  derivedNumber,
  digestOf,
  fulfillmentLineId,
  fusionId,
  inventoryOrgId,
  itemId,
  lineNumbers,
  orchestrationLineId,
  orchestrationOrderNumber,
  orderDateTime,
  sourceLineId,
  type OrderContext,
  type PushOrder,
} from './order-ids.ts';
import { escapeXmlText } from '../../domain/xml-escape.ts';

// The `results` element of a push: what Oracle's XSL maps put in it per event code, and its XML.

/** The event codes the sandbox can push: every code Oracle documents (src/domain/event.ts). */
export type PushEventCode = OmEventCode;
export const PUSH_EVENT_CODES: readonly PushEventCode[] = OM_EVENT_CODES;

export interface PushHeaderInput {
  eventCode: PushEventCode;
  order: PushOrder;
}

export const OM_PAYLOAD_NS =
  'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

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
      w.out.push(`${pad}${step}<${qn}>${escapeXmlText(value)}</${qn}>`);
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
