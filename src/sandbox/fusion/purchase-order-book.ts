import {
  fusionTimestamp,
  SANDBOX_ITEMS,
  SANDBOX_ORGANIZATION,
  SANDBOX_SHIP_TO,
  type SandboxShipTo,
} from './common.ts';

// The purchase orders' data: their model (header, lines, schedules, in Fusion's field names) and the
// book that makes and changes them. How the collection queries and writes them is in the modules
// beside this one.

export type PurchaseOrderStatusCode = 'OPEN' | 'CLOSED' | 'CANCELED';
export const PURCHASE_ORDER_STATUS_CODES: readonly PurchaseOrderStatusCode[] = ['OPEN', 'CLOSED', 'CANCELED'];

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
  /** Overrides fields of the ship-to on every schedule (a corrected drop-ship address). */
  shipTo?: Partial<SandboxShipTo>;
}

const STATUS_NAMES: Record<PurchaseOrderStatusCode, string> = { OPEN: 'Open', CLOSED: 'Closed', CANCELED: 'Canceled' };
const FIRST_PO_HEADER_ID = 30010020000000100n;
const FIRST_PO_LINE_ID = 300100210000000;
const FIRST_LINE_LOCATION_ID = 300100220000000;
const SUPPLIER_ID = 300100000000042;
const DAY_MS = 24 * 60 * 60 * 1000;

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
    const shipTo = { ...(this.#shipTo.get(order) ?? SANDBOX_SHIP_TO), ...definedFields(changes.shipTo ?? {}) };
    this.#shipTo.set(order, shipTo);
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
