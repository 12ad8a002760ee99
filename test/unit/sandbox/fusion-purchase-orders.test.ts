import { expect } from 'chai';
import { SandboxPurchaseOrderBook, type SandboxPurchaseOrder } from '../../../src/sandbox/fusion/purchase-order-book.ts';
import { parseExpand, purchaseOrderJson } from '../../../src/sandbox/fusion/purchase-order-json.ts';
import { FusionQueryError, queryPurchaseOrders } from '../../../src/sandbox/fusion/purchase-order-query.ts';
import { SANDBOX_ITEMS, SANDBOX_ORGANIZATION } from '../../../src/sandbox/fusion.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0, 123);

function book(): { clock: ManualClock; book: SandboxPurchaseOrderBook } {
  const clock = new ManualClock(T0);
  return { clock, book: new SandboxPurchaseOrderBook(() => clock.now()) };
}

function fails(fn: () => unknown, code: string): FusionQueryError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(FusionQueryError);
    expect((err as FusionQueryError).code).to.equal(code);
    return err as FusionQueryError;
  }
  throw new Error('expected a FusionQueryError');
}

function numbers(pos: readonly SandboxPurchaseOrder[]): string[] {
  return pos.map((p) => p.OrderNumber);
}

/** The orders a `q` selects, in the order they were added (no orderBy), all on one page. */
function matching(pos: readonly SandboxPurchaseOrder[], q: string, version?: number): string[] {
  return numbers(queryPurchaseOrders(pos, { q, ...(version === undefined ? {} : { frameworkVersion: version }), limit: 500 }).items);
}

describe('sandbox Fusion purchase orders: the book', () => {
  it('stamps Fusion timestamps from the clock and numbers orders and ids from counters', () => {
    const { book: b } = book();
    const po = b.add();
    expect(po.OrderNumber).to.equal('PO-1001');
    expect(po.POHeaderId).to.equal('30010020000000101');
    expect(po.POHeaderId).to.have.length(17);
    expect(po.CreationDate).to.equal('2026-12-01T10:00:00.123+00:00');
    expect(po.LastUpdateDate).to.equal(po.CreationDate);
    expect(po.OrderDate).to.equal(po.CreationDate);
    expect(po).to.include({ Status: 'Open', StatusCode: 'OPEN', Supplier: 'ShipBob Fulfilment', SupplierSite: 'SB-CHICAGO', CurrencyCode: 'USD' });
    expect(String(po.SupplierId)).to.have.length(15);
    expect(po.lines.map((l) => [l.LineNumber, l.Item, l.Quantity])).to.deep.equal([
      [1, SANDBOX_ITEMS[0], 1],
      [2, SANDBOX_ITEMS[1], 2],
    ]);
    for (const line of po.lines) {
      expect(String(line.POLineId)).to.have.length(15);
      expect(line.schedules).to.have.length(1);
      const schedule = line.schedules[0];
      expect(String(schedule?.LineLocationId)).to.have.length(15);
      expect(schedule).to.include({ ScheduleNumber: 1, Quantity: line.Quantity, ShipToOrganizationCode: SANDBOX_ORGANIZATION, StatusCode: 'OPEN' });
      expect(schedule?.shipToCustomer[0]?.City).to.equal('Oakland');
    }
    expect(b.add().OrderNumber).to.equal('PO-1002');
  });

  it('takes explicit numbers, lines, status and ship-to, and skips numbers already taken', () => {
    const { book: b } = book();
    b.add({ orderNumber: 'PO-1001' });
    const po = b.add({ lines: [{ item: 'OTHER', quantity: 4 }], statusCode: 'CLOSED', shipTo: { City: 'Reno', State: 'NV' } });
    expect(po.OrderNumber).to.equal('PO-1002');
    expect(po).to.include({ Status: 'Closed', StatusCode: 'CLOSED' });
    expect(po.lines).to.have.length(1);
    expect(po.lines[0]).to.include({ Item: 'OTHER', Quantity: 4, StatusCode: 'CLOSED' });
    expect(po.lines[0]?.schedules[0]?.shipToCustomer[0]).to.include({ City: 'Reno', State: 'NV', PartyName: 'Jamie Rivera' });
    expect(() => b.add({ orderNumber: 'PO-1001' })).to.throw(RangeError);
    expect(() => b.add({ lines: [{ item: 'X', quantity: 0 }] })).to.throw(RangeError);
  });

  it('touch bumps LastUpdateDate, keeps line ids and the ship-to, and cascades the status', () => {
    const { clock, book: b } = book();
    const before = b.add({ shipTo: { City: 'Reno' } });
    clock.advance(60_000);
    const after = b.touch('PO-1001', { statusCode: 'CANCELED', lines: [{ item: 'A', quantity: 5 }, { item: 'B', quantity: 1 }, { item: 'C', quantity: 2 }] });
    expect(after.CreationDate).to.equal(before.CreationDate);
    expect(after.LastUpdateDate).to.equal('2026-12-01T10:01:00.123+00:00');
    expect(after).to.include({ Status: 'Canceled', StatusCode: 'CANCELED' });
    expect(after.lines.map((l) => l.POLineId).slice(0, 2)).to.deep.equal(before.lines.map((l) => l.POLineId));
    expect(after.lines[2]?.POLineId).to.not.be.oneOf(before.lines.map((l) => l.POLineId));
    for (const line of after.lines) {
      expect(line.StatusCode).to.equal('CANCELED');
      expect(line.LastUpdateDate).to.equal(after.LastUpdateDate);
      expect(line.schedules[0]?.StatusCode).to.equal('CANCELED');
      expect(line.schedules[0]?.shipToCustomer[0]?.City).to.equal('Reno');
    }
    expect(() => b.touch('PO-9999')).to.throw(RangeError);
  });

  it('hands out copies, so only touch changes a stored order', () => {
    const { book: b } = book();
    b.add();
    const copy = b.get('PO-1001');
    if (!copy) throw new Error('PO-1001 missing');
    copy.StatusCode = 'CLOSED';
    copy.lines.pop();
    expect(b.get('PO-1001')?.StatusCode).to.equal('OPEN');
    expect(b.all()[0]?.lines).to.have.length(2);
    expect(b.get('PO-404')).to.equal(undefined);
  });
});

describe('sandbox Fusion purchase orders: q', () => {
  const { clock, book: b } = book();
  b.add();
  b.add({ orderNumber: "O'Neil" });
  clock.advance(1000);
  // The next free default number: PO-1002.
  b.add({ statusCode: 'CLOSED' });
  const pos = b.all();

  it('row-match (version 2+): comparison operators, and, timestamps as instants', () => {
    expect(matching(pos, "LastUpdateDate >= '2026-12-01T10:00:01+00:00' AND StatusCode <> 'OPEN'", 4)).to.deep.equal(['PO-1002']);
    expect(matching(pos, "LastUpdateDate >= '2026-12-01T10:00:01+00:00' AND StatusCode <> 'CLOSED'", 4)).to.deep.equal([]);
    expect(matching(pos, "LastUpdateDate > '2026-12-01T10:00:00.123+00:00'", 2)).to.deep.equal(['PO-1002']);
    // Stored as .123+00:00: as text, 'Z' and a missing millis part would sort wrongly against it.
    expect(matching(pos, "LastUpdateDate >= '2026-12-01T10:00:00.123Z'", 2)).to.deep.equal(['PO-1001', "O'Neil", 'PO-1002']);
    expect(matching(pos, "LastUpdateDate > '2026-12-01T10:00:00Z'", 2)).to.deep.equal(['PO-1001', "O'Neil", 'PO-1002']);
    expect(matching(pos, "LastUpdateDate = '2026-12-01T10:00:00+00:00'", 2)).to.deep.equal([]);
    expect(matching(pos, "LastUpdateDate = '2026-12-01T12:00:01.123+02:00'", 2)).to.deep.equal(['PO-1002']);
    expect(matching(pos, "CreationDate<'2026-12-01T10:00:01Z' and OrderNumber!='PO-1001'", 2)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, "OrderDate <= '2026-12-01T10:00:00.123+00:00'", 2)).to.deep.equal(['PO-1001', "O'Neil"]);
  });

  it("row-match: '' escapes a quote, bare numbers, POHeaderId compared without rounding", () => {
    expect(matching(pos, "OrderNumber = 'O''Neil'", 2)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, "Description = 'Sandbox purchase order O''Neil'", 2)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, 'SupplierId = 300100000000042', 2)).to.have.length(3);
    // As doubles …102 and …103 are the same number (…104), so a compare through Number matches both.
    expect(matching(pos, 'POHeaderId = 30010020000000102', 2)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, 'POHeaderId > 30010020000000101', 2)).to.deep.equal(["O'Neil", 'PO-1002']);
    expect(matching(pos, "POHeaderId <= '30010020000000102'", 2)).to.deep.equal(['PO-1001', "O'Neil"]);
  });

  it('query-by-example (no version or version 1): Attr=value;Attr2=value, equality only', () => {
    expect(matching(pos, 'OrderNumber=PO-1001;StatusCode=OPEN')).to.deep.equal(['PO-1001']);
    expect(matching(pos, 'OrderNumber=PO-1002;StatusCode=OPEN')).to.deep.equal([]);
    expect(matching(pos, 'StatusCode=OPEN', 1)).to.deep.equal(['PO-1001', "O'Neil"]);
    expect(matching(pos, "OrderNumber='O''Neil';StatusCode=OPEN", 1)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, 'LastUpdateDate=2026-12-01T10:00:01.123Z', 1)).to.deep.equal(['PO-1002']);
    expect(matching(pos, 'POHeaderId=30010020000000103', 1)).to.deep.equal(['PO-1002']);
    // A quoted ';' is part of the value, not a separator.
    expect(matching(pos, "Description='a;b'", 1)).to.deep.equal([]);
    expect(matching(pos, "Description='Sandbox purchase order O''Neil';StatusCode=OPEN", 1)).to.deep.equal(["O'Neil"]);
    expect(matching(pos, '', 1)).to.deep.equal(['PO-1001', "O'Neil", 'PO-1002']);
    expect(matching(pos, '  ', 3)).to.deep.equal(['PO-1001', "O'Neil", 'PO-1002']);
  });

  it('refuses what it cannot parse, naming why', () => {
    fails(() => matching(pos, "Nope = 'x'", 2), 'OMGW-SANDBOX-ATTRIBUTE');
    fails(() => matching(pos, 'Nope=x', 1), 'OMGW-SANDBOX-ATTRIBUTE');
    // A row-match expression without the version header is not silently read as something else.
    fails(() => matching(pos, "LastUpdateDate >= '2026-12-01T10:00:00Z'", 1), 'OMGW-SANDBOX-ATTRIBUTE');
    fails(() => matching(pos, "LastUpdateDate > '2026-12-01T10:00:00Z'", 1), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber = 'PO-1001", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber='PO-1001", 1), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber = 'a' or OrderNumber = 'b'", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber = 'a' and", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber = 'a' 'b'", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "(OrderNumber = 'a')", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, 'OrderNumber =', 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "OrderNumber 'a'", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "LastUpdateDate >> '2026-12-01T10:00:00Z'", 2), 'OMGW-SANDBOX-QUERY');
    fails(() => matching(pos, "LastUpdateDate > '2026-12-01'", 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, "LastUpdateDate > '2026-12-01 10:00:00'", 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, "LastUpdateDate > '2026-13-01T10:00:00Z'", 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, 'LastUpdateDate > 20261201', 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, 'POHeaderId = 1.5', 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, "SupplierId = 'abc'", 2), 'OMGW-SANDBOX-VALUE');
    fails(() => matching(pos, 'StatusCode', 1), 'OMGW-SANDBOX-QUERY');
    const err = fails(() => matching(pos, "OrderNumber = 'a' # x", 2), 'OMGW-SANDBOX-QUERY');
    expect(err.message).to.match(/character 19/);
  });
});

describe('sandbox Fusion purchase orders: orderBy and paging', () => {
  // LastUpdateDate: PO-1002 at T0; PO-1001 and PO-1003 tied at T0 + 1 s (PO-1001 touched then).
  const { clock, book: b } = book();
  b.add();
  b.add();
  clock.advance(1000);
  b.add();
  b.touch('PO-1001');
  const pos = b.all();

  it('sorts on several keys, ties broken by the next key, then by the order of adding', () => {
    const sorted = (orderBy: string): string[] => numbers(queryPurchaseOrders(pos, { orderBy }).items);
    expect(sorted('LastUpdateDate:asc,POHeaderId:asc')).to.deep.equal(['PO-1002', 'PO-1001', 'PO-1003']);
    expect(sorted('LastUpdateDate:asc,POHeaderId:desc')).to.deep.equal(['PO-1002', 'PO-1003', 'PO-1001']);
    expect(sorted('LastUpdateDate:desc,OrderNumber:desc')).to.deep.equal(['PO-1003', 'PO-1001', 'PO-1002']);
    expect(sorted('LastUpdateDate:desc')).to.deep.equal(['PO-1001', 'PO-1003', 'PO-1002']);
    expect(sorted('LastUpdateDate')).to.deep.equal(['PO-1002', 'PO-1001', 'PO-1003']);
    expect(sorted('POHeaderId:DESC')).to.deep.equal(['PO-1003', 'PO-1002', 'PO-1001']);
    expect(sorted(' CreationDate : desc , OrderNumber ')).to.deep.equal(['PO-1003', 'PO-1001', 'PO-1002']);
    expect(sorted('')).to.deep.equal(['PO-1001', 'PO-1002', 'PO-1003']);
  });

  it('refuses unknown attributes and directions in orderBy', () => {
    fails(() => queryPurchaseOrders(pos, { orderBy: 'Nope:asc' }), 'OMGW-SANDBOX-ATTRIBUTE');
    fails(() => queryPurchaseOrders(pos, { orderBy: 'LastUpdateDate:up' }), 'OMGW-SANDBOX-ORDERBY');
    fails(() => queryPurchaseOrders(pos, { orderBy: 'LastUpdateDate:asc,' }), 'OMGW-SANDBOX-ORDERBY');
  });

  it('pages with limit and offset after filtering and sorting', () => {
    const many = book();
    for (let i = 0; i < 30; i += 1) many.book.add();
    const all = many.book.all();
    const first = queryPurchaseOrders(all);
    expect(first).to.include({ total: 30, hasMore: true, limit: 25, offset: 0 });
    expect(first.items).to.have.length(25);
    const last = queryPurchaseOrders(all, { offset: 25 });
    expect(numbers(last.items)).to.deep.equal(['PO-1026', 'PO-1027', 'PO-1028', 'PO-1029', 'PO-1030']);
    expect(last.hasMore).to.equal(false);

    const options = { q: "LastUpdateDate >= '2026-12-01T10:00:00.123+00:00'", frameworkVersion: 2, orderBy: 'LastUpdateDate:asc,POHeaderId:desc', limit: 2 };
    const page1 = queryPurchaseOrders(pos, options);
    expect(numbers(page1.items)).to.deep.equal(['PO-1002', 'PO-1003']);
    expect(page1).to.include({ total: 3, hasMore: true });
    const page2 = queryPurchaseOrders(pos, { ...options, offset: 2 });
    expect(numbers(page2.items)).to.deep.equal(['PO-1001']);
    expect(page2.hasMore).to.equal(false);
    const exact = queryPurchaseOrders(pos, { limit: 3 });
    expect(exact).to.include({ hasMore: false, total: 3 });
    const beyond = queryPurchaseOrders(pos, { offset: 10 });
    expect(beyond.items).to.deep.equal([]);
    expect(beyond.hasMore).to.equal(false);
  });

  it('refuses limits outside 1..500 and negative offsets', () => {
    expect(queryPurchaseOrders(pos, { limit: 500 }).items).to.have.length(3);
    fails(() => queryPurchaseOrders(pos, { limit: 501 }), 'OMGW-SANDBOX-LIMIT');
    fails(() => queryPurchaseOrders(pos, { limit: 0 }), 'OMGW-SANDBOX-LIMIT');
    fails(() => queryPurchaseOrders(pos, { limit: 1.5 }), 'OMGW-SANDBOX-LIMIT');
    fails(() => queryPurchaseOrders(pos, { offset: -1 }), 'OMGW-SANDBOX-OFFSET');
  });
});

describe('sandbox Fusion purchase orders: JSON text', () => {
  const { book: b } = book();
  const po = b.add();

  it('writes POHeaderId as a number literal with every digit', () => {
    const text = purchaseOrderJson(po, { lines: false, schedules: false });
    expect(text.startsWith('{"POHeaderId":30010020000000101,')).to.equal(true);
    // The literal is one a double cannot hold, so this would catch a JSON.stringify of a number.
    expect(String(Number(po.POHeaderId))).to.not.equal(po.POHeaderId);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).to.not.have.property('lines');
    expect(parsed).to.not.have.property('links');
    expect(parsed.OrderNumber).to.equal('PO-1001');
  });

  it('expands lines and schedules on request and adds links only with a base', () => {
    const lines = JSON.parse(purchaseOrderJson(po, parseExpand('lines'), 'http://h/purchaseOrders')) as {
      links: Array<{ rel: string; href: string }>;
      lines: Array<Record<string, unknown>>;
    };
    expect(lines.links[0]).to.include({ rel: 'self', href: 'http://h/purchaseOrders/30010020000000101' });
    expect(lines.lines).to.have.length(2);
    expect(lines.lines[0]).to.not.have.property('schedules');
    expect(lines.lines[0]).to.have.property('links');
    for (const expand of ['lines.schedules', 'all', 'lines,lines.schedules']) {
      const full = JSON.parse(purchaseOrderJson(po, parseExpand(expand))) as {
        lines: Array<{ schedules: Array<{ shipToCustomer: Array<{ PartyName: string }> }> }>;
      };
      expect(full.lines[1]?.schedules[0]?.shipToCustomer[0]?.PartyName, expand).to.equal('Jamie Rivera');
      expect(full.lines[1]?.schedules[0], expand).to.not.have.property('links');
    }
    fails(() => parseExpand('distributions'), 'OMGW-SANDBOX-EXPAND');
  });
});
