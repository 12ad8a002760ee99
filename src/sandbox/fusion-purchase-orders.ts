import type { Router } from '@koa/router';
import type { Context } from 'koa';
// fusion.ts imports this module back (to register the routes); nothing here may read its bindings at
// load time, only inside functions, or whichever module loads second would see them uninitialised.
import { FUSION_PREFIX, FUSION_REST_BASE, SANDBOX_ITEMS, SANDBOX_ORGANIZATION, readJson } from './fusion.ts';

export type PurchaseOrderStatusCode = 'OPEN' | 'CLOSED' | 'CANCELED';
export const PURCHASE_ORDER_STATUS_CODES: readonly PurchaseOrderStatusCode[] = ['OPEN', 'CLOSED', 'CANCELED'];

/**
 * A schedule's `shipToCustomer`: this sandbox's model of a drop-ship ship-to, with the fields of the
 * sales order's `shipToCustomer` in fusion.ts. Not a documented Fusion child: a tenant carries the
 * ship-to on the schedule (ShipToLocation and friends, specs/oracle-om/NOTES.md §4.2); check
 * `describe` on a real one.
 */
export interface SandboxShipTo {
  PartyName: string;
  Address1: string;
  Address2: string;
  City: string;
  State: string;
  PostalCode: string;
  Country: string;
  Email: string;
  Phone: string;
}

export interface SandboxPurchaseOrderSchedule {
  LineLocationId: number;
  ScheduleNumber: number;
  Quantity: number;
  ShipToOrganizationCode: string;
  StatusCode: PurchaseOrderStatusCode;
  /** A date (YYYY-MM-DD), not a timestamp. */
  RequestedDeliveryDate: string;
  shipToCustomer: SandboxShipTo[];
}

export interface SandboxPurchaseOrderLine {
  POLineId: number;
  LineNumber: number;
  Item: string;
  Description: string;
  Quantity: number;
  UOMCode: string;
  Price: number;
  StatusCode: PurchaseOrderStatusCode;
  LastUpdateDate: string;
  schedules: SandboxPurchaseOrderSchedule[];
}

export interface SandboxPurchaseOrder {
  /**
   * 17 decimal digits, above 2^53: kept as a string here and written into the JSON text as a number
   * literal, so a client that parses it into a JS number loses the last digits, as it would on a
   * tenant whose ids have outgrown doubles.
   */
  POHeaderId: string;
  OrderNumber: string;
  Description: string;
  Status: string;
  StatusCode: PurchaseOrderStatusCode;
  Supplier: string;
  SupplierId: number;
  SupplierSite: string;
  ProcurementBU: string;
  Buyer: string;
  CurrencyCode: string;
  OrderDate: string;
  CreationDate: string;
  LastUpdateDate: string;
  lines: SandboxPurchaseOrderLine[];
}

export interface SandboxPurchaseOrderLineInput {
  item: string;
  quantity: number;
}

export interface SandboxPurchaseOrderInput {
  /** Default: the next free `PO-1001`, `PO-1002`, .... */
  orderNumber?: string;
  /** Default: one of SANDBOX_ITEMS[0] and two of SANDBOX_ITEMS[1]. */
  lines?: SandboxPurchaseOrderLineInput[];
  statusCode?: PurchaseOrderStatusCode;
  /** Overrides fields of the default ship-to on every schedule. */
  shipTo?: Partial<SandboxShipTo>;
}

export interface SandboxPurchaseOrderChanges {
  /** Applies to the header and cascades to every line and schedule, as a header cancel or close does. */
  statusCode?: PurchaseOrderStatusCode;
  /** Replaces the lines; line N keeps the ids of the old line N, so a client sees a change, not a new line. */
  lines?: SandboxPurchaseOrderLineInput[];
}

const STATUS_NAMES: Record<PurchaseOrderStatusCode, string> = { OPEN: 'Open', CLOSED: 'Closed', CANCELED: 'Canceled' };
/** The customer every emulated sales order and drop-ship schedule ships to (unless a PO says otherwise). */
export const SANDBOX_SHIP_TO: SandboxShipTo = {
  PartyName: 'Jamie Rivera',
  Address1: '1200 Harbor Way',
  Address2: 'Suite 4',
  City: 'Oakland',
  State: 'CA',
  PostalCode: '94607',
  Country: 'US',
  Email: 'jamie.rivera@example.com',
  Phone: '+1 510 555 0142',
};
const FIRST_PO_HEADER_ID = 30010020000000100n;
const FIRST_PO_LINE_ID = 300100210000000;
const FIRST_LINE_LOCATION_ID = 300100220000000;
const SUPPLIER_ID = 300100000000042;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Fusion's timestamp form: always millis, always `+00:00` (never `Z`). */
export function fusionTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

/**
 * The purchase orders the emulated Fusion serves. Header, line and schedule field names follow
 * specs/oracle-om/NOTES.md §4.2 (several are UNCONFIRMED there); `shipToCustomer` on each
 * schedule is the sandbox's own.
 * Ids come from counters, so a run is repeatable; timestamps come from `now`, which need not move
 * between two changes (two POs may share a LastUpdateDate, as they do on a tenant when a mass update
 * runs). Callers get copies: changing a PO goes through touch() so its LastUpdateDate moves with it.
 */
export class SandboxPurchaseOrderBook {
  readonly #now: () => number;
  readonly #orders: SandboxPurchaseOrder[] = [];
  // Kept apart from the lines so that a touch that replaces every line keeps the ship-to.
  readonly #shipTo = new WeakMap<SandboxPurchaseOrder, SandboxShipTo>();
  #headers = 0;
  #lines = 0;
  #schedules = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  add(po: SandboxPurchaseOrderInput = {}): SandboxPurchaseOrder {
    if (po.orderNumber !== undefined && (po.orderNumber === '' || this.#find(po.orderNumber))) {
      throw new RangeError(`purchase order number ${JSON.stringify(po.orderNumber)} is empty or taken`);
    }
    const lines = po.lines ?? [
      { item: SANDBOX_ITEMS[0], quantity: 1 },
      { item: SANDBOX_ITEMS[1], quantity: 2 },
    ];
    checkLines(lines);
    const statusCode = po.statusCode ?? 'OPEN';
    checkStatus(statusCode);
    this.#headers += 1;
    const orderNumber = po.orderNumber ?? this.#nextOrderNumber();
    const at = this.#now();
    const stamp = fusionTimestamp(at);
    const order: SandboxPurchaseOrder = {
      POHeaderId: String(FIRST_PO_HEADER_ID + BigInt(this.#headers)),
      OrderNumber: orderNumber,
      Description: `Sandbox purchase order ${orderNumber}`,
      Status: STATUS_NAMES[statusCode],
      StatusCode: statusCode,
      Supplier: 'ShipBob Fulfilment',
      SupplierId: SUPPLIER_ID,
      SupplierSite: 'SB-CHICAGO',
      ProcurementBU: 'US1 Business Unit',
      Buyer: 'Morgan, Casey',
      CurrencyCode: 'USD',
      OrderDate: stamp,
      CreationDate: stamp,
      LastUpdateDate: stamp,
      lines: [],
    };
    const shipTo = { ...SANDBOX_SHIP_TO, ...definedFields(po.shipTo ?? {}) };
    order.lines = this.#buildLines(lines, [], statusCode, at, shipTo, at);
    this.#orders.push(order);
    this.#shipTo.set(order, shipTo);
    return structuredClone(order);
  }

  /** Bumps LastUpdateDate (header and lines) to now and applies `changes`; throws for an unknown order. */
  touch(orderNumber: string, changes: SandboxPurchaseOrderChanges = {}): SandboxPurchaseOrder {
    const order = this.#find(orderNumber);
    if (!order) throw new RangeError(`no sandbox purchase order ${orderNumber}`);
    if (changes.lines) checkLines(changes.lines);
    if (changes.statusCode !== undefined) checkStatus(changes.statusCode);
    const at = this.#now();
    const statusCode = changes.statusCode ?? order.StatusCode;
    const shipTo = this.#shipTo.get(order) ?? SANDBOX_SHIP_TO;
    const wanted = changes.lines ?? order.lines.map((l) => ({ item: l.Item, quantity: l.Quantity }));
    order.lines = this.#buildLines(wanted, order.lines, statusCode, at, shipTo, Date.parse(order.CreationDate));
    order.StatusCode = statusCode;
    order.Status = STATUS_NAMES[statusCode];
    order.LastUpdateDate = fusionTimestamp(at);
    return structuredClone(order);
  }

  get(orderNumber: string): SandboxPurchaseOrder | undefined {
    const order = this.#find(orderNumber);
    return order && structuredClone(order);
  }

  /** In the order they were added. */
  all(): SandboxPurchaseOrder[] {
    return structuredClone(this.#orders);
  }

  #find(orderNumber: string): SandboxPurchaseOrder | undefined {
    return this.#orders.find((o) => o.OrderNumber === orderNumber);
  }

  // Numbers given explicitly may sit where the defaults are heading; skip them rather than clash.
  #nextOrderNumber(): string {
    for (let n = 1001; ; n += 1) {
      if (!this.#find(`PO-${n}`)) return `PO-${n}`;
    }
  }

  #buildLines(
    wanted: readonly SandboxPurchaseOrderLineInput[],
    previous: readonly SandboxPurchaseOrderLine[],
    statusCode: PurchaseOrderStatusCode,
    at: number,
    shipTo: SandboxShipTo,
    createdAt: number,
  ): SandboxPurchaseOrderLine[] {
    return wanted.map((w, i) => {
      const old = previous[i];
      const oldSchedule = old?.schedules[0];
      const known = SANDBOX_ITEMS.indexOf(w.item as (typeof SANDBOX_ITEMS)[number]);
      return {
        POLineId: old?.POLineId ?? FIRST_PO_LINE_ID + (this.#lines += 1),
        LineNumber: i + 1,
        Item: w.item,
        Description: `Sandbox item ${w.item}`,
        Quantity: w.quantity,
        UOMCode: 'Ea',
        Price: known >= 0 ? 12.5 + known : 10,
        StatusCode: statusCode,
        LastUpdateDate: fusionTimestamp(at),
        schedules: [
          {
            LineLocationId: oldSchedule?.LineLocationId ?? FIRST_LINE_LOCATION_ID + (this.#schedules += 1),
            ScheduleNumber: 1,
            Quantity: w.quantity,
            ShipToOrganizationCode: SANDBOX_ORGANIZATION,
            StatusCode: statusCode,
            RequestedDeliveryDate: new Date(createdAt + 7 * DAY_MS).toISOString().slice(0, 10),
            shipToCustomer: [{ ...shipTo }],
          },
        ],
      };
    });
  }
}

function checkLines(lines: readonly SandboxPurchaseOrderLineInput[]): void {
  for (const l of lines) {
    if (typeof l.item !== 'string' || l.item === '') throw new RangeError('a purchase order line needs an item');
    if (typeof l.quantity !== 'number' || !Number.isFinite(l.quantity) || l.quantity <= 0) {
      throw new RangeError(`line quantity ${String(l.quantity)} is not a positive number`);
    }
  }
}

function checkStatus(statusCode: string): void {
  if (!(PURCHASE_ORDER_STATUS_CODES as readonly string[]).includes(statusCode)) {
    throw new RangeError(`status code ${statusCode} is not one of ${PURCHASE_ORDER_STATUS_CODES.join(', ')}`);
  }
}

function definedFields<T extends object>(partial: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// Collection query semantics: q (both syntaxes), orderBy, limit/offset.

/** A 400 the collection answers; `code` goes into `o:errorCode`. */
export class FusionQueryError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'FusionQueryError';
  }
}

type AttributeKind = 'string' | 'number' | 'bigint' | 'instant';

/** The header attributes q and orderBy accept, and how each compares. */
export const PURCHASE_ORDER_ATTRIBUTES = {
  POHeaderId: 'bigint',
  OrderNumber: 'string',
  Description: 'string',
  Status: 'string',
  StatusCode: 'string',
  Supplier: 'string',
  SupplierId: 'number',
  SupplierSite: 'string',
  ProcurementBU: 'string',
  Buyer: 'string',
  CurrencyCode: 'string',
  OrderDate: 'instant',
  CreationDate: 'instant',
  LastUpdateDate: 'instant',
} as const satisfies Record<string, AttributeKind>;

export type PurchaseOrderAttribute = keyof typeof PURCHASE_ORDER_ATTRIBUTES;
export type PurchaseOrderOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';
type Comparable = string | number | bigint;

export interface PurchaseOrderCondition {
  attribute: PurchaseOrderAttribute;
  op: PurchaseOrderOperator;
  /** The literal converted to the attribute's kind (epoch ms for timestamps, bigint for POHeaderId). */
  value: Comparable;
}

export interface PurchaseOrderSortKey {
  attribute: PurchaseOrderAttribute;
  descending: boolean;
}

function attributeNamed(name: string): PurchaseOrderAttribute {
  if (Object.hasOwn(PURCHASE_ORDER_ATTRIBUTES, name)) return name as PurchaseOrderAttribute;
  throw new FusionQueryError(`The attribute ${JSON.stringify(name)} is not a queryable attribute of purchaseOrders.`, 'OMGW-SANDBOX-ATTRIBUTE');
}

// The literal forms accepted here (whole seconds or milliseconds, Z or an offset); Date.parse alone
// would also take forms a tenant may refuse.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

function literalFor(attribute: PurchaseOrderAttribute, text: string, quoted: boolean): Comparable {
  const kind: AttributeKind = PURCHASE_ORDER_ATTRIBUTES[attribute];
  const bad = (why: string): never => {
    throw new FusionQueryError(`${JSON.stringify(text)} is not a valid value for ${attribute}: ${why}.`, 'OMGW-SANDBOX-VALUE');
  };
  switch (kind) {
    case 'string':
      return text;
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : bad('expected a number');
    case 'bigint':
      // Straight from the digits: through Number, a 17-digit id would already be rounded.
      return /^\d+$/.test(text) ? BigInt(text) : bad('expected an integer');
    case 'instant': {
      if (!quoted) return bad("expected a quoted timestamp such as '2026-12-01T10:00:00+00:00'");
      const ms = TIMESTAMP.test(text) ? Date.parse(text) : Number.NaN;
      return Number.isNaN(ms) ? bad('expected a timestamp such as 2026-12-01T10:00:00.123+00:00') : ms;
    }
  }
}

function valueOf(po: SandboxPurchaseOrder, attribute: PurchaseOrderAttribute): Comparable {
  const raw = po[attribute];
  switch (PURCHASE_ORDER_ATTRIBUTES[attribute] as AttributeKind) {
    case 'instant':
      return Date.parse(String(raw));
    case 'bigint':
      return BigInt(raw);
    default:
      return raw;
  }
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === 'string' || typeof b === 'string') {
    const x = String(a);
    const y = String(b);
    // Code units, not locale: the same order on every machine.
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Parses `q`. Framework version 2 and later take row-match expressions (`Attr op value` joined by
 * `and`); version 1 takes query-by-example (`Attr=value;Attr2=value`), equality only. A row-match
 * expression sent as version 1 is therefore refused, not misread, which is how a client that forgot
 * the header finds out. `or` and parentheses are not emulated and are refused.
 */
export function parsePurchaseOrderQuery(q: string, frameworkVersion = 1): PurchaseOrderCondition[] {
  return frameworkVersion >= 2 ? parseRowMatch(q) : parseQueryByExample(q);
}

function parseQueryByExample(q: string): PurchaseOrderCondition[] {
  const conditions: PurchaseOrderCondition[] = [];
  for (const part of splitOutsideQuotes(q, ';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw new FusionQueryError(`The query-by-example condition ${JSON.stringify(part)} has no "=".`, 'OMGW-SANDBOX-QUERY');
    }
    const attribute = attributeNamed(part.slice(0, eq).trim());
    let text = part.slice(eq + 1).trim();
    const quoted = text.length >= 2 && text.startsWith("'") && text.endsWith("'");
    if (quoted) text = unquote(text.slice(1, -1), part);
    else if (text.includes("'")) throw new FusionQueryError(`The condition ${JSON.stringify(part)} has a stray quote.`, 'OMGW-SANDBOX-QUERY');
    // QBE values are unquoted text; a timestamp still counts as one.
    conditions.push({ attribute, op: '=', value: literalFor(attribute, text, true) });
  }
  return conditions;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inQuote = false;
  for (const ch of text) {
    if (ch === "'") inQuote = !inQuote;
    if (ch === separator && !inQuote) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (inQuote) throw new FusionQueryError('The query has an unterminated quoted value.', 'OMGW-SANDBOX-QUERY');
  parts.push(current);
  return parts;
}

function unquote(inner: string, context: string): string {
  // A lone quote inside would have closed the literal: only doubled quotes may remain.
  if (/'/.test(inner.replace(/''/g, ''))) {
    throw new FusionQueryError(`The value in ${JSON.stringify(context)} has a stray quote.`, 'OMGW-SANDBOX-QUERY');
  }
  return inner.replace(/''/g, "'");
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string };

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new FusionQueryError(`The query could not be parsed at character ${i + 1}: ${why}.`, 'OMGW-SANDBOX-QUERY');
  };
  while (i < q.length) {
    const rest = q.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest.startsWith("'")) {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= q.length) fail('unterminated quoted value');
        if (q[j] === "'") {
          if (q[j + 1] === "'") {
            text += "'";
            j += 2;
            continue;
          }
          break;
        }
        text += q[j];
        j += 1;
      }
      tokens.push({ kind: 'string', text });
      i = j + 1;
      continue;
    }
    const op = /^(<>|!=|>=|<=|=|<|>)/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0] });
      i += op[0].length;
      continue;
    }
    const number = /^-?\d+(\.\d+)?(?![\w.])/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0] });
      i += word[0].length;
      continue;
    }
    fail(`unexpected ${JSON.stringify(rest[0])}`);
  }
  return tokens;
}

function parseRowMatch(q: string): PurchaseOrderCondition[] {
  const tokens = tokenize(q);
  if (tokens.length === 0) return [];
  const conditions: PurchaseOrderCondition[] = [];
  const fail = (why: string): never => {
    throw new FusionQueryError(`The query ${JSON.stringify(q)} could not be parsed: ${why}.`, 'OMGW-SANDBOX-QUERY');
  };
  let i = 0;
  for (;;) {
    const [name, op, value] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (name?.kind !== 'word') return fail('expected an attribute name');
    if (/^(and|or|not)$/i.test(name.text)) return fail(`expected an attribute name, not ${name.text}`);
    const attribute = attributeNamed(name.text);
    if (op?.kind !== 'op') return fail(`expected an operator after ${name.text}`);
    if (value?.kind !== 'string' && value?.kind !== 'number') return fail(`expected a quoted value or a number after ${name.text} ${op.text}`);
    conditions.push({
      attribute,
      op: op.text === '<>' ? '!=' : (op.text as PurchaseOrderOperator),
      value: literalFor(attribute, value.text, value.kind === 'string'),
    });
    i += 3;
    const joiner = tokens[i];
    if (joiner === undefined) return conditions;
    if (joiner.kind === 'word' && /^or$/i.test(joiner.text)) return fail('"or" is not emulated by the sandbox, only "and"');
    if (joiner.kind !== 'word' || !/^and$/i.test(joiner.text)) return fail(`expected "and", not ${JSON.stringify(joiner.text)}`);
    i += 1;
  }
}

export function matchesPurchaseOrder(po: SandboxPurchaseOrder, conditions: readonly PurchaseOrderCondition[]): boolean {
  return conditions.every((c) => {
    const order = compare(valueOf(po, c.attribute), c.value);
    switch (c.op) {
      case '=':
        return order === 0;
      case '!=':
        return order !== 0;
      case '<':
        return order < 0;
      case '<=':
        return order <= 0;
      case '>':
        return order > 0;
      case '>=':
        return order >= 0;
    }
  });
}

/** `Attr:asc,Attr2:desc`; the direction defaults to ascending. */
export function parsePurchaseOrderOrderBy(orderBy: string): PurchaseOrderSortKey[] {
  if (orderBy.trim() === '') return [];
  return orderBy.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*(asc|desc)\s*)?$/i.exec(part);
    if (!m?.[1]) throw new FusionQueryError(`The orderBy entry ${JSON.stringify(part)} is not Attr:asc or Attr:desc.`, 'OMGW-SANDBOX-ORDERBY');
    return { attribute: attributeNamed(m[1]), descending: m[2]?.toLowerCase() === 'desc' };
  });
}

/** A stable sort: orders equal on every key keep the order they were added in. */
export function sortPurchaseOrders(pos: readonly SandboxPurchaseOrder[], keys: readonly PurchaseOrderSortKey[]): SandboxPurchaseOrder[] {
  return [...pos].sort((a, b) => {
    for (const key of keys) {
      const order = compare(valueOf(a, key.attribute), valueOf(b, key.attribute));
      if (order !== 0) return key.descending ? -order : order;
    }
    return 0;
  });
}

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 500;

export interface PurchaseOrderQueryOptions {
  q?: string;
  frameworkVersion?: number;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

export interface PurchaseOrderPage {
  items: SandboxPurchaseOrder[];
  /** Matches before paging. */
  total: number;
  hasMore: boolean;
  limit: number;
  offset: number;
}

/** Filters, sorts and pages like the collection does; throws FusionQueryError where it answers 400. */
export function queryPurchaseOrders(pos: readonly SandboxPurchaseOrder[], options: PurchaseOrderQueryOptions = {}): PurchaseOrderPage {
  const limit = options.limit ?? DEFAULT_LIMIT;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new FusionQueryError(`The limit ${limit} is not an integer from 1 to ${MAX_LIMIT}.`, 'OMGW-SANDBOX-LIMIT');
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new FusionQueryError(`The offset ${offset} is not a non-negative integer.`, 'OMGW-SANDBOX-OFFSET');
  }
  const conditions = parsePurchaseOrderQuery(options.q ?? '', options.frameworkVersion ?? 1);
  const keys = parsePurchaseOrderOrderBy(options.orderBy ?? '');
  const matching = sortPurchaseOrders(
    pos.filter((po) => matchesPurchaseOrder(po, conditions)),
    keys,
  );
  const items = matching.slice(offset, offset + limit);
  return { items, total: matching.length, hasMore: offset + items.length < matching.length, limit, offset };
}

// ---------------------------------------------------------------------------------------------
// Serialisation: the JSON text is built here so POHeaderId keeps all its digits.

export interface PurchaseOrderExpand {
  lines: boolean;
  schedules: boolean;
}

interface Link {
  rel: string;
  href: string;
  name: string;
  kind: 'item' | 'collection';
}

/** Item links follow Fusion's shape; the sandbox serves only the collection, so following one gives 404. */
function itemObject(po: SandboxPurchaseOrder, expand: PurchaseOrderExpand, itemBase: string | undefined): Record<string, unknown> {
  const { POHeaderId: id, lines, ...header } = po;
  const out: Record<string, unknown> = { ...header };
  const self = itemBase && `${itemBase}/${id}`;
  if (expand.lines) {
    out.lines = lines.map((line) => {
      const { schedules, ...fields } = line;
      const lineOut: Record<string, unknown> = { ...fields };
      const lineSelf = self && `${self}/child/lines/${line.POLineId}`;
      if (expand.schedules) {
        lineOut.schedules = schedules.map((s) => {
          const scheduleOut: Record<string, unknown> = { ...s };
          if (lineSelf) scheduleOut.links = [link('self', `${lineSelf}/child/schedules/${s.LineLocationId}`, 'schedules', 'item')];
          return scheduleOut;
        });
      }
      if (lineSelf) {
        lineOut.links = [link('self', lineSelf, 'lines', 'item'), link('child', `${lineSelf}/child/schedules`, 'schedules', 'collection')];
      }
      return lineOut;
    });
  }
  if (self) out.links = [link('self', self, 'purchaseOrders', 'item'), link('child', `${self}/child/lines`, 'lines', 'collection')];
  return out;
}

function link(rel: string, href: string, name: string, kind: Link['kind']): Link {
  return { rel, href, name, kind };
}

/** `{"POHeaderId":<digits>, ...rest}` with the digits as a raw number literal. */
function withRawId(id: string, rest: Record<string, unknown>): string {
  if (!/^\d+$/.test(id)) throw new TypeError(`POHeaderId ${id} is not all digits`);
  const tail = JSON.stringify(rest);
  return tail === '{}' ? `{"POHeaderId":${id}}` : `{"POHeaderId":${id},${tail.slice(1)}`;
}

/** One PO as JSON text; `itemBase` (the collection's URL) adds links, leave it out for onlyData. */
export function purchaseOrderJson(po: SandboxPurchaseOrder, expand: PurchaseOrderExpand, itemBase?: string): string {
  return withRawId(po.POHeaderId, itemObject(po, expand, itemBase));
}

export function parseExpand(expand: string): PurchaseOrderExpand {
  const result: PurchaseOrderExpand = { lines: false, schedules: false };
  for (const part of expand.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    if (part === 'all' || part === 'lines.schedules') {
      result.lines = true;
      result.schedules = true;
    } else if (part === 'lines') {
      result.lines = true;
    } else {
      throw new FusionQueryError(`${JSON.stringify(part)} is not a child of purchaseOrders the sandbox can expand (lines, lines.schedules, all).`, 'OMGW-SANDBOX-EXPAND');
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Routes.

const COLLECTION_TYPE = 'application/vnd.oracle.adf.resourcecollection+json';
const ITEM_TYPE = 'application/vnd.oracle.adf.resourceitem+json';
const FULL: PurchaseOrderExpand = { lines: true, schedules: true };
const SHIP_TO_FIELDS: readonly (keyof SandboxShipTo)[] = ['PartyName', 'Address1', 'Address2', 'City', 'State', 'PostalCode', 'Country', 'Email', 'Phone'];

function badRequest(ctx: Context, detail: string, code: string): void {
  ctx.status = 400;
  ctx.body = { title: 'Bad Request', status: 400, detail, 'o:errorCode': code };
}

function single(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new FusionQueryError(`The query parameter ${name} is given more than once.`, 'OMGW-SANDBOX-PARAMETER');
  return value;
}

function integerParameter(ctx: Context, name: string): number | undefined {
  const text = single(ctx, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new FusionQueryError(`The query parameter ${name}=${text} is not a non-negative integer.`, 'OMGW-SANDBOX-PARAMETER');
  return Number(text);
}

function frameworkVersion(ctx: Context): number {
  const header = ctx.get('rest-framework-version').trim();
  if (header === '') return 1;
  if (!/^[1-9]\d*$/.test(header)) throw new FusionQueryError(`REST-Framework-Version ${header} is not a version number.`, 'OMGW-SANDBOX-VERSION');
  return Number(header);
}

function collectionBody(ctx: Context, collection: string, orders: readonly SandboxPurchaseOrder[]): string {
  for (const unsupported of ['finder', 'fields']) {
    if (ctx.query[unsupported] !== undefined) {
      throw new FusionQueryError(`The sandbox does not emulate the ${unsupported} parameter.`, 'OMGW-SANDBOX-PARAMETER');
    }
  }
  const page = queryPurchaseOrders(orders, {
    q: single(ctx, 'q') ?? '',
    frameworkVersion: frameworkVersion(ctx),
    orderBy: single(ctx, 'orderBy') ?? '',
    limit: integerParameter(ctx, 'limit') ?? DEFAULT_LIMIT,
    offset: integerParameter(ctx, 'offset') ?? 0,
  });
  const expand = parseExpand(single(ctx, 'expand') ?? '');
  const onlyData = single(ctx, 'onlyData') === 'true';
  const totalResults = single(ctx, 'totalResults') === 'true';
  const pageHref = (offset: number): string => {
    const params = new URLSearchParams(ctx.querystring);
    params.set('limit', String(page.limit));
    params.set('offset', String(offset));
    return `${collection}?${params.toString()}`;
  };
  const links = [link('self', pageHref(page.offset), 'purchaseOrders', 'collection')];
  if (page.hasMore) links.push(link('next', pageHref(page.offset + page.limit), 'purchaseOrders', 'collection'));
  const envelope: Record<string, unknown> = {
    count: page.items.length,
    hasMore: page.hasMore,
    limit: page.limit,
    offset: page.offset,
    ...(totalResults ? { totalResults: page.total } : {}),
    links,
  };
  const items = page.items.map((po) => purchaseOrderJson(po, expand, onlyData ? undefined : collection)).join(',');
  return `{"items":[${items}],${JSON.stringify(envelope).slice(1)}`;
}

type BodyCheck<T> = { ok: true; value: T } | { ok: false; detail: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkBody(body: unknown, allowed: readonly string[]): BodyCheck<SandboxPurchaseOrderInput> {
  if (!isRecord(body)) return { ok: false, detail: 'The body must be a JSON object.' };
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) return { ok: false, detail: `Unknown fields: ${extra.join(', ')}; allowed: ${allowed.join(', ')}.` };
  const out: SandboxPurchaseOrderInput = {};
  if (body.orderNumber !== undefined) {
    if (typeof body.orderNumber !== 'string' || body.orderNumber === '') return { ok: false, detail: 'orderNumber must be a non-empty string.' };
    out.orderNumber = body.orderNumber;
  }
  if (body.statusCode !== undefined) {
    if (typeof body.statusCode !== 'string' || !(PURCHASE_ORDER_STATUS_CODES as readonly string[]).includes(body.statusCode)) {
      return { ok: false, detail: `statusCode must be one of ${PURCHASE_ORDER_STATUS_CODES.join(', ')}.` };
    }
    out.statusCode = body.statusCode as PurchaseOrderStatusCode;
  }
  if (body.lines !== undefined) {
    if (!Array.isArray(body.lines)) return { ok: false, detail: 'lines must be an array.' };
    const lines: SandboxPurchaseOrderLineInput[] = [];
    for (const [i, line] of (body.lines as unknown[]).entries()) {
      if (!isRecord(line) || typeof line.item !== 'string' || line.item === '' || typeof line.quantity !== 'number' || !(line.quantity > 0)) {
        return { ok: false, detail: `lines[${i}] must be { item: non-empty string, quantity: positive number }.` };
      }
      lines.push({ item: line.item, quantity: line.quantity });
    }
    out.lines = lines;
  }
  if (body.shipTo !== undefined) {
    if (!isRecord(body.shipTo)) return { ok: false, detail: 'shipTo must be an object.' };
    const shipTo: Partial<SandboxShipTo> = {};
    for (const [key, value] of Object.entries(body.shipTo)) {
      if (!(SHIP_TO_FIELDS as readonly string[]).includes(key) || typeof value !== 'string') {
        return { ok: false, detail: `shipTo.${key} is not one of ${SHIP_TO_FIELDS.join(', ')} with a string value.` };
      }
      shipTo[key as keyof SandboxShipTo] = value;
    }
    out.shipTo = shipTo;
  }
  return { ok: true, value: out };
}

// A touch without changes is the common case; readJson refuses an empty body as invalid JSON.
function hasNoBody(ctx: Context): boolean {
  return ctx.request.length === 0 || (ctx.request.length === undefined && !ctx.get('transfer-encoding'));
}

/**
 * Fusion's `GET …/purchaseOrders` over `book`, plus sandbox-only management routes under
 * `${FUSION_PREFIX}/purchase-orders` (create, touch) that are not Fusion's. `authorized` is the
 * sandbox's HTTP Basic check, which answers 401 itself.
 */
export function registerFusionPurchaseOrders(router: Router, book: SandboxPurchaseOrderBook, authorized: (ctx: Context) => boolean): void {
  const collectionPath = `${FUSION_PREFIX}${FUSION_REST_BASE}/purchaseOrders`;

  router.get(collectionPath, (ctx) => {
    if (!authorized(ctx)) return;
    try {
      // Not ctx.origin: since Koa 3 that is the Origin request header.
      const body = collectionBody(ctx, `${ctx.protocol}://${ctx.host}${collectionPath}`, book.all());
      ctx.type = COLLECTION_TYPE;
      ctx.body = body;
    } catch (err) {
      if (!(err instanceof FusionQueryError)) throw err;
      badRequest(ctx, err.message, err.code);
    }
  });

  router.post(`${FUSION_PREFIX}/purchase-orders`, async (ctx) => {
    if (!authorized(ctx)) return;
    const body = hasNoBody(ctx) ? {} : await readJson(ctx);
    if (body === undefined) return;
    const input = checkBody(body, ['orderNumber', 'lines', 'statusCode', 'shipTo']);
    if (!input.ok) return badRequest(ctx, input.detail, 'OMGW-SANDBOX-BODY');
    if (input.value.orderNumber !== undefined && book.get(input.value.orderNumber)) {
      ctx.status = 409;
      ctx.body = { title: 'Conflict', status: 409, detail: `The purchase order ${input.value.orderNumber} exists already.`, 'o:errorCode': 'OMGW-SANDBOX-EXISTS' };
      return;
    }
    ctx.status = 201;
    ctx.type = ITEM_TYPE;
    ctx.body = purchaseOrderJson(book.add(input.value), FULL);
  });

  router.post(`${FUSION_PREFIX}/purchase-orders/:orderNumber/touch`, async (ctx) => {
    if (!authorized(ctx)) return;
    const orderNumber = ctx.params.orderNumber ?? '';
    if (!book.get(orderNumber)) {
      ctx.status = 404;
      ctx.body = { title: 'Not Found', status: 404, detail: `The requested resource ${orderNumber} was not found.` };
      return;
    }
    const body = hasNoBody(ctx) ? {} : await readJson(ctx);
    if (body === undefined) return;
    const input = checkBody(body, ['statusCode', 'lines']);
    if (!input.ok) return badRequest(ctx, input.detail, 'OMGW-SANDBOX-BODY');
    const changes: SandboxPurchaseOrderChanges = {};
    if (input.value.statusCode) changes.statusCode = input.value.statusCode;
    if (input.value.lines) changes.lines = input.value.lines;
    ctx.type = ITEM_TYPE;
    ctx.body = purchaseOrderJson(book.touch(orderNumber, changes), FULL);
  });
}
