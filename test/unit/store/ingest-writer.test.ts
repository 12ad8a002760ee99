import { expect } from 'chai';
import type { Backend } from '../../../src/store/backend.ts';
import { IngestWriter } from '../../../src/store/ingest.ts';
import type { IngestEvent, IngestItem, IngestOutcome, StoredPart } from '../../../src/store/rows/ingest.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function event(id: string, position: number): IngestEvent {
  return {
    id,
    source: 'oracle-om',
    eventCode: 'OrderAttributeUpdate',
    orderKey: `LEG:${id}`,
    sourceSystem: 'LEG',
    connectorScope: null,
    position,
    payload: '{}',
    raw: null,
    contentHash: id,
    dedupeScope: 'oracle-om:/soap/business-events',
    dedupeSince: T0 - 60_000,
    deliveries: [],
  };
}

function push(id: string, events: number): IngestItem {
  return {
    push: {
      id,
      receivedAt: T0,
      path: '/soap/business-events',
      connectorScope: null,
      soapVersion: '1.1',
      contentType: 'text/xml',
      headers: {},
      raw: '<Envelope/>',
      rawSize: 11,
      authMethod: 'ws-security',
      authUser: 'om',
      remoteAddr: '127.0.0.1',
      requestId: id,
    },
    nonce: { key: `nonce-${id}`, expiresAt: T0 + 60_000 },
    events: Array.from({ length: events }, (_, i) => event(`${id}-${String(i).padStart(4, '0')}`, i)),
    requestId: id,
  };
}

/** A backend that stores nothing and records each transaction's parts; the first one waits for `open`. */
function recordingBackend() {
  const transactions: StoredPart[][] = [];
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const backend = {
    async ingest(items: StoredPart[]): Promise<IngestOutcome[]> {
      if (transactions.length === 0) await opened;
      transactions.push(items);
      return items.map((item) => ({
        accepted: true,
        events: item.events.map((e) => ({ id: e.id, eventCode: e.eventCode, status: 'routed', duplicateOf: null, deliveries: 0 })),
      }));
    },
  };
  return { backend: backend as unknown as Backend, transactions, open };
}

describe('IngestWriter: a large push is stored in parts', () => {
  it('stores a push of 100 events in several transactions, in order, the push row and nonce with the first part only', async () => {
    const { backend, transactions, open } = recordingBackend();
    const writer = new IngestWriter(backend);
    const large = push('big', 100);
    const outcome = writer.submit(large);
    open();
    const result = await outcome;

    const parts = transactions.map((items) => {
      expect(items, 'one part per transaction when nothing else is queued').to.have.length(1);
      return items[0] as StoredPart;
    });
    expect(parts.length).to.be.at.least(3);
    const [first, ...rest] = parts as [StoredPart, ...StoredPart[]];
    expect(first.push?.id).to.equal('big');
    expect(first.nonce?.key).to.equal('nonce-big');
    expect(first.totalEvents).to.equal(100);
    for (const part of rest) {
      expect(part).to.include({ push: null, pushId: 'big', receivedAt: T0, nonce: null, requestId: 'big' });
      expect(part.events.length).to.be.at.most(first.events.length);
    }
    expect(parts.flatMap((p) => p.events.map((e) => e.id))).to.deep.equal(large.events.map((e) => e.id));
    expect(result.accepted && result.events.map((e) => e.id)).to.deep.equal(large.events.map((e) => e.id));
  });

  it('writes requests that arrive meanwhile between the parts, not after the whole push', async () => {
    const { backend, transactions, open } = recordingBackend();
    const writer = new IngestWriter(backend);
    const large = writer.submit(push('big', 100));
    const small = writer.submit(push('small', 1));
    open();
    await Promise.all([large, small]);

    const order = transactions.map((items) => items.map((p) => p.push?.id ?? `part of ${p.pushId ?? '?'}`));
    const smallAt = order.findIndex((ids) => ids.includes('small'));
    const lastPart = order.map((ids) => ids.includes('part of big')).lastIndexOf(true);
    expect(smallAt, JSON.stringify(order)).to.be.within(0, lastPart - 1);
  });

  it('stores a push no larger than one part in one transaction', async () => {
    const { backend, transactions, open } = recordingBackend();
    const writer = new IngestWriter(backend);
    const outcome = writer.submit(push('one', 1));
    open();
    await outcome;
    expect(transactions).to.have.length(1);
    expect(transactions[0]?.[0]).to.not.have.property('totalEvents');
  });
});
