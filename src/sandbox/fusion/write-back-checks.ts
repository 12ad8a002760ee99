/**
 * What the emulated Fusion refuses in a write-back body, as Fusion answers a bad request (400 with
 * the reasons): the checks of `receivingReceiptRequests` (ASNs and receipts) and of
 * `salesOrdersForOrderHub/action/applyHold`. Pure: each returns the problems, none when the body is
 * accepted.
 *
 * applyHold is checked against Oracle's documented request (SCM REST, "Apply hold"): `holdRequests`,
 * each with SourceTransactionSystem and HoldCode or HoldName; a fulfilment line hold names its
 * FulfillLineId, a header hold its SourceTransactionId or OrderNumber; HoldComments optional. Fusion
 * refuses an attribute the resource does not define, and a hold code Order Management has not set up.
 *
 * receivingReceiptRequests field names are UNCONFIRMED (specs/oracle-om/NOTES.md §4.3, check with
 * `describe`), so only what any receipt or ASN needs is checked, and unknown attributes pass: lines,
 * each with a positive Quantity and the document it is against (a purchase order: DocumentNumber; a
 * sales order fulfilment line, this sandbox's model: SourceOrderKey and FulfillLineId); an ASN's
 * ShipmentNumber; a receipt's lines RECEIVE with an AutoTransactCode.
 */

type Json = Record<string, unknown>;

const ASN_TYPES = ['ASN', 'ASBN'];
const LINE_TRANSACTION_TYPES = ['SHIP', 'RECEIVE'];
/** RECEIVE: into receiving; DELIVER: received and delivered to the destination in one step. */
const AUTO_TRANSACT_CODES = ['RECEIVE', 'DELIVER'];

const HOLDS_ROOT = ['holdRequests', 'processRequestOfflineAfter'];
const HOLD_REQUEST_FIELDS = [
  'SourceTransactionSystem',
  'SourceTransactionId',
  'OrderNumber',
  'SourceTransactionLineId',
  'FulfillLineId',
  'HoldCode',
  'HoldName',
  'HoldComments',
];

/** Fusion ids are int64: digits in a string (what the gateway sends, beyond 2^53) or a safe integer. */
function isFusionId(v: unknown): boolean {
  if (typeof v === 'string') return /^[1-9]\d{0,18}$/.test(v);
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isOneOf(list: readonly string[], v: unknown): boolean {
  return typeof v === 'string' && list.includes(v);
}

function isDate(v: unknown): boolean {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v));
}

/** The problems of a `receivingReceiptRequests` POST body; none when Fusion would take it. */
export function receiptRequestProblems(body: unknown): string[] {
  if (!isRecord(body)) return ['The request body must be a receipt request object.'];
  const problems: string[] = [];
  const asn = body.ASNType !== undefined;
  if (asn && !isOneOf(ASN_TYPES, body.ASNType)) problems.push(`ASNType ${JSON.stringify(body.ASNType)} is not one of ${ASN_TYPES.join(', ')}.`);
  if (asn && !isText(body.ShipmentNumber)) problems.push('An advance shipment notice needs its ShipmentNumber.');
  for (const name of ['ShippedDate', 'TransactionDate']) {
    if (body[name] !== undefined && !isDate(body[name])) problems.push(`${name} ${JSON.stringify(body[name])} is not a date.`);
  }
  const lines = body.lines;
  if (!Array.isArray(lines) || lines.length === 0) {
    problems.push('The request has no lines: a receipt or shipment notice needs at least one.');
    return problems;
  }
  lines.forEach((line, i) => problems.push(...receiptLineProblems(line, `lines[${i}]`, asn)));
  return problems;
}

function receiptLineProblems(line: unknown, at: string, asn: boolean): string[] {
  if (!isRecord(line)) return [`${at} is not an object.`];
  const problems: string[] = [];
  const type = line.TransactionType;
  if (type !== undefined && !isOneOf(LINE_TRANSACTION_TYPES, type)) {
    problems.push(`${at}.TransactionType ${JSON.stringify(type)} is not one of ${LINE_TRANSACTION_TYPES.join(', ')}.`);
  }
  if (asn && type === 'RECEIVE') problems.push(`${at} receives goods in an advance shipment notice (TransactionType SHIP).`);
  if (!asn && type !== 'RECEIVE') problems.push(`${at}.TransactionType must be RECEIVE in a receipt (a notice of a shipment gives ASNType).`);
  if (type === 'RECEIVE' && !isOneOf(AUTO_TRANSACT_CODES, line.AutoTransactCode)) {
    problems.push(`${at}.AutoTransactCode ${JSON.stringify(line.AutoTransactCode)} is not one of ${AUTO_TRANSACT_CODES.join(', ')}.`);
  }
  if (line.Quantity === undefined) problems.push(`${at}.Quantity is required.`);
  else if (typeof line.Quantity !== 'number' || !(line.Quantity > 0)) problems.push(`${at}.Quantity ${JSON.stringify(line.Quantity)} is not a positive number.`);
  for (const name of ['ShippedDate', 'TransactionDate']) {
    if (line[name] !== undefined && !isDate(line[name])) problems.push(`${at}.${name} ${JSON.stringify(line[name])} is not a date.`);
  }
  if (line.DocumentNumber !== undefined) {
    if (!isText(line.DocumentNumber)) problems.push(`${at}.DocumentNumber is empty.`);
    const bySchedule = isFusionId(line.POLineLocationId);
    const byNumbers = Number.isInteger(line.DocumentLineNumber) && Number.isInteger(line.DocumentScheduleNumber);
    if (!bySchedule && !byNumbers) {
      problems.push(`${at} names no schedule of purchase order ${JSON.stringify(line.DocumentNumber)} (POLineLocationId, or DocumentLineNumber and DocumentScheduleNumber).`);
    }
  } else if (line.SourceOrderKey !== undefined || line.FulfillLineId !== undefined) {
    if (line.SourceOrderKey === undefined) problems.push(`${at}.SourceOrderKey is required with FulfillLineId.`);
    else if (!(typeof line.SourceOrderKey === 'string' && /^[^:]+:.+$/.test(line.SourceOrderKey))) {
      problems.push(`${at}.SourceOrderKey ${JSON.stringify(line.SourceOrderKey)} is not an order key (SourceOrderSystem:SourceTransactionId).`);
    }
    if (line.FulfillLineId === undefined) problems.push(`${at}.FulfillLineId is required with SourceOrderKey.`);
    else if (!isFusionId(line.FulfillLineId)) problems.push(`${at}.FulfillLineId ${JSON.stringify(line.FulfillLineId)} is not a fulfillment line id.`);
  } else {
    problems.push(`${at} names no document: a purchase order (DocumentNumber) or a sales order line (SourceOrderKey, FulfillLineId).`);
  }
  return problems;
}

/** The problems of a `salesOrdersForOrderHub/action/applyHold` body; none when Fusion would take it. */
export function holdRequestProblems(body: unknown, holdCodes: readonly string[]): string[] {
  if (!isRecord(body)) return ['The request body must be an object with holdRequests.'];
  const problems: string[] = [];
  for (const key of Object.keys(body)) if (!HOLDS_ROOT.includes(key)) problems.push(`The attribute ${key} is not defined for the applyHold action.`);
  const requests = body.holdRequests;
  if (!Array.isArray(requests) || requests.length === 0) {
    problems.push('holdRequests is required and must list at least one hold request.');
    return problems;
  }
  requests.forEach((request, i) => problems.push(...holdProblems(request, `holdRequests[${i}]`, holdCodes)));
  return problems;
}

function holdProblems(request: unknown, at: string, holdCodes: readonly string[]): string[] {
  if (!isRecord(request)) return [`${at} is not an object.`];
  const problems: string[] = [];
  for (const key of Object.keys(request)) if (!HOLD_REQUEST_FIELDS.includes(key)) problems.push(`${at}: the attribute ${key} is not defined for a hold request.`);
  for (const key of Object.keys(request)) {
    const v = request[key];
    if (typeof v !== 'string' && typeof v !== 'number') problems.push(`${at}.${key} must be a value, not ${v === null ? 'null' : typeof v}.`);
  }
  if (!isText(request.SourceTransactionSystem)) problems.push(`${at}.SourceTransactionSystem is required.`);
  if (!isText(request.HoldCode) && !isText(request.HoldName)) problems.push(`${at} needs HoldCode or HoldName.`);
  if (isText(request.HoldCode) && !holdCodes.includes(request.HoldCode)) {
    problems.push(`${at}.HoldCode ${request.HoldCode} is not a hold code set up in Order Management.`);
  }
  const order = isText(request.SourceTransactionId) || isText(request.OrderNumber);
  if (request.FulfillLineId !== undefined) {
    if (!isFusionId(request.FulfillLineId)) problems.push(`${at}.FulfillLineId ${JSON.stringify(request.FulfillLineId)} is not a fulfillment line id.`);
  } else if (!order) {
    problems.push(`${at} names neither a fulfillment line (FulfillLineId) nor an order (SourceTransactionId or OrderNumber).`);
  }
  return problems;
}
