import { expect } from 'chai';
import { nextPagePosition, purchaseOrderChange, purchaseOrderChangeHash, wholeSecond } from '../../../src/domain/purchase-order.ts';

const T = Date.parse('2026-12-01T10:00:00.000Z');

describe('purchase-order changes', () => {
  it('reads POHeaderId, LastUpdateDate and the PO number (the order key) as text', () => {
    expect(purchaseOrderChange({ POHeaderId: '30010020000000123', OrderNumber: 'PO-1001', LastUpdateDate: '2026-12-01T10:00:00.250+00:00' })).to.deep.equal({
      poHeaderId: '30010020000000123',
      lastUpdateDate: '2026-12-01T10:00:00.250+00:00',
      at: T + 250,
      orderKey: 'PO-1001',
    });
    expect(purchaseOrderChange({ POHeaderId: '7', LastUpdateDate: '2026-12-01T10:00:00Z' })?.orderKey).to.equal('7');
  });

  it('refuses an item without POHeaderId or with a LastUpdateDate that is not a time', () => {
    expect(purchaseOrderChange({ OrderNumber: 'PO-1', LastUpdateDate: '2026-12-01T10:00:00Z' })).to.equal(null);
    expect(purchaseOrderChange({ POHeaderId: '1', LastUpdateDate: 'yesterday' })).to.equal(null);
    expect(purchaseOrderChange({ POHeaderId: '1', LastUpdateDate: null })).to.equal(null);
    expect(purchaseOrderChange({ POHeaderId: { nested: '1' }, LastUpdateDate: '2026-12-01T10:00:00Z' })).to.equal(null);
  });

  it('gives one dedupe key per (POHeaderId, instant), whatever the timestamp format', () => {
    const a = purchaseOrderChange({ POHeaderId: '1', LastUpdateDate: '2026-12-01T10:00:00.000+00:00' });
    const b = purchaseOrderChange({ POHeaderId: '1', LastUpdateDate: '2026-12-01T11:00:00+01:00' });
    const c = purchaseOrderChange({ POHeaderId: '1', LastUpdateDate: '2026-12-01T10:00:00.001Z' });
    const d = purchaseOrderChange({ POHeaderId: '2', LastUpdateDate: '2026-12-01T10:00:00Z' });
    if (!a || !b || !c || !d) throw new Error('unreadable');
    expect(purchaseOrderChangeHash(a)).to.equal(purchaseOrderChangeHash(b));
    expect(purchaseOrderChangeHash(a)).to.not.equal(purchaseOrderChangeHash(c));
    expect(purchaseOrderChangeHash(a)).to.not.equal(purchaseOrderChangeHash(d));
  });
});

describe('the next page position', () => {
  it('moves to the second of the newest change and skips what was read within it', () => {
    const start = { second: wholeSecond(T), skip: 0 };
    expect(nextPagePosition(start, [T, T + 1500, T + 1700, T + 1900])).to.deep.equal({ second: T + 1000, skip: 3 });
  });

  it('adds to the skip while a page stays within the same second (more changes in one second than a page holds)', () => {
    const afterOne = nextPagePosition({ second: T, skip: 0 }, [T + 10, T + 20]);
    expect(afterOne).to.deep.equal({ second: T, skip: 2 });
    expect(nextPagePosition(afterOne, [T + 30, T + 40])).to.deep.equal({ second: T, skip: 4 });
    expect(nextPagePosition({ second: T, skip: 4 }, [T + 50, T + 2000])).to.deep.equal({ second: T + 2000, skip: 1 });
  });

  it('counts an item without a readable time where it stands, and never moves back', () => {
    expect(nextPagePosition({ second: T + 1000, skip: 1 }, [null, T + 1200, null])).to.deep.equal({ second: T + 1000, skip: 4 });
    expect(nextPagePosition({ second: T + 1000, skip: 0 }, [T])).to.deep.equal({ second: T + 1000, skip: 1 });
    expect(nextPagePosition({ second: T, skip: 3 }, [])).to.deep.equal({ second: T, skip: 3 });
  });
});
