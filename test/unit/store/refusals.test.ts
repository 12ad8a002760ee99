import { expect } from 'chai';
import { RefusalFolder, type RefusalInput, type RefusalSink } from '../../../src/store/refusals.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
/** Refusals fold per clock minute. */
const MINUTE_MS = 60_000;

type StoredRefusal = Parameters<RefusalSink['insert']>[0];

interface Written {
  id: string;
  detail: Record<string, unknown>;
}

function sink() {
  const rows = new Map<string, Written>();
  const inserted: StoredRefusal[] = [];
  let updates = 0;
  let fail = false;
  return {
    rows,
    inserted,
    updates: () => updates,
    failInserts: (on: boolean) => (fail = on),
    insert: async (r: StoredRefusal) => {
      if (fail) throw new Error('database down');
      inserted.push(r);
      rows.set(r.id, { id: r.id, detail: r.detail });
    },
    rewriteDetail: async (id: string, detail: Record<string, unknown>) => {
      updates += 1;
      rows.set(id, { id, detail });
    },
  };
}

let n = 0;
function refusal(at: number, source: string | null, result = 'auth_failed', extra: Partial<RefusalInput> = {}): RefusalInput {
  n += 1;
  return { id: `r${String(n).padStart(6, '0')}`, at, direction: 'in', action: 'push.rejected', result, source, detail: { remoteAddr: source, reason: 'no' }, ...extra };
}

describe('RefusalFolder: repeated refusals fold into one audit record per source and minute', () => {
  it('writes the first at once (count 1) and the count of the rest once, when the minute closes', async () => {
    const s = sink();
    const folder = new RefusalFolder(s);
    for (let i = 0; i < 50; i++) expect(await folder.record(refusal(T0 + i * 1_000, '10.0.0.9'))).to.equal(true);
    expect([...s.rows.values()].map((r) => r.detail.count)).to.deep.equal([1]);
    await folder.flush(T0 + MINUTE_MS - 1); // the minute is still open: nothing to write yet
    expect(s.updates()).to.equal(0);
    await folder.flush(T0 + MINUTE_MS);
    expect([...s.rows.values()].map((r) => [r.detail.count, r.detail.lastAt])).to.deep.equal([[50, T0 + 49_000]]);
    expect(s.updates()).to.equal(1);
    expect(folder.held).to.deep.equal({ minutes: 0, folds: 0 });
  });

  it('keeps sources, results and minutes apart; a refusal in a later minute writes the earlier counts', async () => {
    const s = sink();
    const folder = new RefusalFolder(s);
    await folder.record(refusal(T0, 'a'));
    await folder.record(refusal(T0 + 1, 'a'));
    await folder.record(refusal(T0 + 2, 'b'));
    await folder.record(refusal(T0 + 3, 'a', 'xml_malformed'));
    expect(s.rows.size).to.equal(3);
    await folder.record(refusal(T0 + MINUTE_MS, 'a'));
    expect(s.rows.size).to.equal(4);
    expect([...s.rows.values()].map((r) => r.detail.count)).to.deep.equal([2, 1, 1, 1]);
  });

  it('tells at most maxSourcesPerMinute sources apart; the rest fold into one record from `other`', async () => {
    const s = sink();
    const folder = new RefusalFolder(s, { maxSourcesPerMinute: 10 });
    for (let i = 0; i < 500; i++) await folder.record(refusal(T0 + i, `10.1.${Math.floor(i / 256)}.${i % 256}`));
    expect(s.rows.size).to.equal(11);
    expect(folder.held.folds).to.equal(11);
    await folder.flush();
    const other = [...s.rows.values()].find((r) => r.detail.remoteAddr === 'other');
    expect(other?.detail.count).to.equal(490);
  });

  it('tries again with the next refusal when a record could not be stored, and never throws', async () => {
    const s = sink();
    const folder = new RefusalFolder(s);
    s.failInserts(true);
    expect(await folder.record(refusal(T0, 'a'))).to.equal(false);
    s.failInserts(false);
    expect(await folder.record(refusal(T0 + 1, 'a'))).to.equal(true);
    expect(s.rows.size).to.equal(1);
  });

  it('clips every client-chosen string, and leaves the connector column empty for a name no connector can have', async () => {
    const s = sink();
    const folder = new RefusalFolder(s);
    const huge = 'u'.repeat(10 * 1024 * 1024);
    await folder.record(
      refusal(T0, 'a', 'r'.repeat(100), { connector: 'c'.repeat(1_000_000), requestId: 'q'.repeat(500), detail: { username: huge, path: `/soap/business-events/${huge}`, nested: { list: [huge, huge] } } }),
    );
    await folder.record(refusal(T0, 'a', 'x', { connector: 'crm' }));
    const [stored, named] = s.inserted as [StoredRefusal, StoredRefusal];
    expect(s.inserted).to.have.length(2);
    expect(JSON.stringify(stored).length).to.be.lessThan(1_500);
    expect(stored.connector).to.equal(null);
    expect(stored.result).to.have.length(40);
    expect(stored.requestId).to.have.length(64);
    expect(stored.detail.username).to.equal(`${'u'.repeat(200)}…`);
    expect(named.connector).to.equal('crm');
  });
});
