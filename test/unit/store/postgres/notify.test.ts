import { expect } from 'chai';
import { dueChannel, dueConnectors } from '../../../../src/store/postgres/notify.ts';
import type { IngestEvent, IngestOutcome, StoredPart } from '../../../../src/store/rows/ingest.ts';

function event(id: string, connectors: string[]): IngestEvent {
  return {
    id,
    source: 'oracle-om',
    eventCode: 'HOLD',
    orderKey: `LEG:${id}`,
    sourceSystem: 'LEG',
    connectorScope: null,
    position: 0,
    payload: '{}',
    raw: null,
    contentHash: id,
    dedupeScope: 'oracle-om:/soap/business-events',
    dedupeSince: 0,
    deliveries: connectors.map((connector) => ({ id: `${id}-${connector}`, connector, triggerPoint: 'all', orderKey: null, idempotencyKey: null })),
  };
}

function item(...events: IngestEvent[]): StoredPart {
  return { push: null, receivedAt: 0, nonce: null, events, requestId: null };
}

function accepted(...deliveries: number[]): IngestOutcome {
  return { accepted: true, events: deliveries.map((n, i) => ({ id: String(i), eventCode: 'HOLD', status: n > 0 ? 'routed' : 'duplicate', duplicateOf: null, deliveries: n })) };
}

describe('PostgreSQL wake-ups', () => {
  it('names a channel per schema, within the 63 bytes of an identifier', () => {
    expect(dueChannel(undefined)).to.equal('omgw_deliveries');
    expect(dueChannel('omgw_a')).to.equal('omgw_deliveries_omgw_a');
    const long = (last: string) => `${'s'.repeat(62)}${last}`;
    const [a, b] = [dueChannel(long('a')), dueChannel(long('b'))];
    // Cut at 63 bytes the two would be one channel: long names end in a hash of the schema instead.
    expect(a).to.match(/^omgw_deliveries_[0-9a-f]{32}$/);
    expect(a).to.not.equal(b);
    expect(dueChannel(long('a'))).to.equal(a);
    expect(dueChannel('s'.repeat(47))).to.have.length(63).and.equal(`omgw_deliveries_${'s'.repeat(47)}`);
    expect(dueChannel('s'.repeat(48))).to.match(/^omgw_deliveries_[0-9a-f]{32}$/);
  });

  it('wakes the connectors of the new deliveries of a batch, not those of duplicates or refused items', () => {
    const items = [item(event('e1', ['crm', 'otm']), event('e2', ['erp'])), item(event('e3', ['wms'])), item(event('e4', ['crm']))];
    const outcomes: IngestOutcome[] = [accepted(2, 0), { accepted: false, reason: 'nonce_replayed' }, accepted(1)];
    expect(dueConnectors(items, outcomes).sort()).to.deep.equal(['crm', 'otm']);
    expect(dueConnectors([item(event('e5', []))], [accepted(0)])).to.deep.equal([]);
  });
});
