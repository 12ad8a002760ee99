import type { SandboxPurchaseOrder } from './purchase-order-book.ts';

/**
 * What the purchaseOrders collection does with its query parameters: q (both syntaxes), orderBy,
 * limit/offset.
 */

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
  switch (PURCHASE_ORDER_ATTRIBUTES[attribute]) {
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
function parsePurchaseOrderQuery(q: string, frameworkVersion = 1): PurchaseOrderCondition[] {
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

function matchesPurchaseOrder(po: SandboxPurchaseOrder, conditions: readonly PurchaseOrderCondition[]): boolean {
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
function parsePurchaseOrderOrderBy(orderBy: string): PurchaseOrderSortKey[] {
  if (orderBy.trim() === '') return [];
  return orderBy.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*(asc|desc)\s*)?$/i.exec(part);
    if (!m?.[1]) throw new FusionQueryError(`The orderBy entry ${JSON.stringify(part)} is not Attr:asc or Attr:desc.`, 'OMGW-SANDBOX-ORDERBY');
    return { attribute: attributeNamed(m[1]), descending: m[2]?.toLowerCase() === 'desc' };
  });
}

/** A stable sort: orders equal on every key keep the order they were added in. */
function sortPurchaseOrders(pos: readonly SandboxPurchaseOrder[], keys: readonly PurchaseOrderSortKey[]): SandboxPurchaseOrder[] {
  return [...pos].sort((a, b) => {
    for (const key of keys) {
      const order = compare(valueOf(a, key.attribute), valueOf(b, key.attribute));
      if (order !== 0) return key.descending ? -order : order;
    }
    return 0;
  });
}

export const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 500;

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
