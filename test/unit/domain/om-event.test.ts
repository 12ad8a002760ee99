import { expect } from 'chai';
import type { XmlRecord } from '../../../src/domain/event.ts';
import { canonicalJson, hashOfCanonicalJson, identifyOmEvent } from '../../../src/domain/om-event.ts';

/** The content hash the ingest stores for a payload. */
const contentHash = (payload: XmlRecord): string => hashOfCanonicalJson(canonicalJson(payload));

// Parsed OrderHeaders with the fields Oracle's XSL maps fill for each event (specs/oracle-om/NOTES.md §2.3).

function flineStatusUpdate(): XmlRecord {
  return {
    EventCode: 'FlineStatusUpdate',
    SourceOrderSystem: 'LEG_OPS',
    SourceOrderId: '300000123456789012',
    SourceOrderNumber: 'R13-10045',
    StatusCodeOldValue: 'OPEN',
    StatusCodeNewValue: 'PROCESSING',
    OrderLine: [
      {
        OrchestrationOrderLineNumber: '1',
        StatusCodeOldValue: 'AWAIT_SCHEDULING',
        StatusCodeNewValue: 'AWAIT_SHIPPING',
        OrderFulfillmentLine: [
          {
            SourceOrderScheduleId: '1',
            OrchestrationOrderLineId: '300000123456790001',
            FulfillmentOrderLineId: '300000123456791001',
            StatusCodeOldValue: 'SCHEDULED',
            StatusCodeNewValue: 'AWAIT_SHIPPING',
          },
        ],
      },
    ],
  };
}

/** JEOPARDY: the header has no fields; EventCode and the source order sit on the OrderLine. */
function jeopardy(): XmlRecord {
  return {
    OrderLine: [
      {
        EventCode: 'JEOPARDY',
        OrchestrationOrderLineId: '300000123456790005',
        OrchestrationOrderLineNumber: '1',
        SourceOrderLineId: '1',
        SourceOrderLineNumber: '1',
        SourceOrderSystem: 'LEG_OPS',
        SourceOrderId: '300000123456789077',
        SourceOrderScheduleId: '1',
        OrderFulfillmentLine: [
          {
            FulfillmentOrderLineId: '300000123456791005',
            FulfillmentOrderLineNumber: '1',
            ItemId: '300000009988776',
            InventoryOrganizationId: '300000000204',
            JeopardyPriority: 'HIGH',
          },
        ],
      },
    ],
  };
}

/** FlineClosed: SourceOrderNumber and OrchestrationOrderId, no SourceOrderSystem. */
function flineClosed(): XmlRecord {
  return {
    EventCode: 'FlineClosed',
    SourceOrderNumber: 'R13-10045',
    OrchestrationOrderId: '300000123456789013',
    OrderLine: [
      {
        OrchestrationOrderLineId: '300000123456790001',
        OpenFlagOldValue: 'Y',
        OpenFlagNewValue: 'N',
        OrderFulfillmentLine: [{ FulfillmentOrderLineId: '300000123456791001', CancelFlagOldValue: 'N', CancelFlagNewValue: 'N' }],
      },
    ],
  };
}

describe('domain/om-event', () => {
  describe('identifyOmEvent', () => {
    it('FlineStatusUpdate: code from the header, key SourceOrderSystem:SourceOrderNumber', () => {
      expect(identifyOmEvent(flineStatusUpdate())).to.deep.equal({
        eventCode: 'FlineStatusUpdate',
        orderKey: 'LEG_OPS:R13-10045',
        sourceSystem: 'LEG_OPS',
      });
    });

    it('JEOPARDY: code, source system and source order id from the OrderLine', () => {
      expect(identifyOmEvent(jeopardy())).to.deep.equal({
        eventCode: 'JEOPARDY',
        orderKey: 'LEG_OPS:300000123456789077',
        sourceSystem: 'LEG_OPS',
      });
    });

    it('JEOPARDY with a single OrderLine that is not an array', () => {
      const line = (jeopardy().OrderLine as XmlRecord[])[0] as XmlRecord;
      expect(identifyOmEvent({ OrderLine: line })).to.deep.equal({
        eventCode: 'JEOPARDY',
        orderKey: 'LEG_OPS:300000123456789077',
        sourceSystem: 'LEG_OPS',
      });
    });

    it('takes the source order from a later line when the first line lacks it', () => {
      const header: XmlRecord = {
        OrderLine: [
          { EventCode: 'JEOPARDY', SourceOrderSystem: null, SourceOrderId: ' ' },
          { EventCode: 'JEOPARDY', SourceOrderSystem: 'LEG_OPS', SourceOrderId: '300000123456789078' },
        ],
      };
      expect(identifyOmEvent(header)).to.deep.equal({
        eventCode: 'JEOPARDY',
        orderKey: 'LEG_OPS:300000123456789078',
        sourceSystem: 'LEG_OPS',
      });
    });

    it("prefers the header's EventCode to a line's", () => {
      const header: XmlRecord = { EventCode: 'HOLD', SourceOrderSystem: 'S', SourceOrderNumber: 'N1', OrderLine: [{ EventCode: 'JEOPARDY' }] };
      expect(identifyOmEvent(header).eventCode).to.equal('HOLD');
    });

    it('FlineClosed without SourceOrderSystem: the order number alone is the key, no source system', () => {
      expect(identifyOmEvent(flineClosed())).to.deep.equal({
        eventCode: 'FlineClosed',
        orderKey: 'R13-10045',
        sourceSystem: null,
      });
    });

    it('uses SourceOrderId when the header has no SourceOrderNumber', () => {
      const header: XmlRecord = { EventCode: 'SPLIT', SourceOrderSystem: 'LEG_OPS', SourceOrderId: '300000123456789012' };
      expect(identifyOmEvent(header).orderKey).to.equal('LEG_OPS:300000123456789012');
    });

    it('falls back to OrchestrationOrderId when no source order is given', () => {
      const header: XmlRecord = { EventCode: 'OrderHeaderStatusUpdate', OrchestrationOrderId: '300000123456789013', StatusNewValue: 'CLOSED' };
      expect(identifyOmEvent(header)).to.deep.equal({
        eventCode: 'OrderHeaderStatusUpdate',
        orderKey: 'OrchestrationOrderId:300000123456789013',
        sourceSystem: null,
      });
    });

    it("gives 'Unknown' and no key when nothing identifies the event", () => {
      const unknown = { eventCode: 'Unknown', orderKey: null, sourceSystem: null };
      expect(identifyOmEvent({})).to.deep.equal(unknown);
      expect(identifyOmEvent({ OrderLine: [] })).to.deep.equal(unknown);
      expect(identifyOmEvent({ CustomerId: '300000001122334', OrderLine: [{ ItemId: '1' }] })).to.deep.equal(unknown);
    });

    it('reads nil and blank values as absent, and trims the others', () => {
      expect(
        identifyOmEvent({ EventCode: null, SourceOrderSystem: '  ', SourceOrderNumber: null, OrchestrationOrderId: null, OrderLine: null }),
      ).to.deep.equal({ eventCode: 'Unknown', orderKey: null, sourceSystem: null });
      expect(identifyOmEvent({ EventCode: ' HOLD\n', SourceOrderSystem: ' LEG_OPS ', SourceOrderNumber: '\tR13-1 ' })).to.deep.equal({
        eventCode: 'HOLD',
        orderKey: 'LEG_OPS:R13-1',
        sourceSystem: 'LEG_OPS',
      });
    });
  });

  describe('contentHash', () => {
    it('is a sha256 hex digest, the same for the same content', () => {
      const hash = contentHash(flineStatusUpdate());
      expect(hash).to.match(/^[0-9a-f]{64}$/);
      expect(contentHash(flineStatusUpdate())).to.equal(hash);
    });

    it('does not depend on the order of keys, at any level', () => {
      const a: XmlRecord = { EventCode: 'HOLD', SourceOrderNumber: 'N1', OrderLine: [{ HoldCode: 'X', HoldComments: null }] };
      const b: XmlRecord = { OrderLine: [{ HoldComments: null, HoldCode: 'X' }], SourceOrderNumber: 'N1', EventCode: 'HOLD' };
      expect(contentHash(a)).to.equal(contentHash(b));
    });

    it('changes with any value, anywhere', () => {
      const base = contentHash(flineStatusUpdate());
      const variants: Array<(h: XmlRecord) => void> = [
        (h) => (h.EventCode = 'FlineClosed'),
        (h) => (h.SourceOrderNumber = 'R13-10046'),
        (h) => (h.StatusCodeNewValue = null),
        (h) => (h.StatusCodeNewValue = ''),
        (h) => (h.Extra = 'x'),
        (h) => delete h.StatusCodeOldValue,
        (h) => {
          const fline = ((h.OrderLine as XmlRecord[])[0]?.OrderFulfillmentLine as XmlRecord[])[0] as XmlRecord;
          fline.FulfillmentOrderLineId = '300000123456791002';
        },
        (h) => {
          const line = (h.OrderLine as XmlRecord[])[0] as XmlRecord;
          (h.OrderLine as XmlRecord[]).push({ ...line });
        },
      ];
      const seen = new Set<string>([base]);
      variants.forEach((change, i) => {
        const header = flineStatusUpdate();
        change(header);
        const hash = contentHash(header);
        expect(hash, `variant ${i}`).not.to.equal(base);
        seen.add(hash);
      });
      expect(seen.size).to.equal(variants.length + 1);
    });

    it('distinguishes the order of repeated elements', () => {
      const lines: XmlRecord[] = [{ SourceOrderLineId: '1' }, { SourceOrderLineId: '2' }];
      expect(contentHash({ OrderLine: lines })).not.to.equal(contentHash({ OrderLine: [...lines].reverse() }));
    });

    it('distinguishes a single child from a list of one and from a text value', () => {
      const hashes = new Set([
        contentHash({ OrderLine: { SourceOrderLineId: '1' } }),
        contentHash({ OrderLine: [{ SourceOrderLineId: '1' }] }),
        contentHash({ OrderLine: '{"SourceOrderLineId":"1"}' }),
      ]);
      expect(hashes.size).to.equal(3);
    });
  });

  describe('canonicalJson', () => {
    it('writes keys sorted at every level and keeps array order', () => {
      const value: XmlRecord = { b: [{ z: '1', a: null }, { y: '2' }], a: 'x', C: { e: '', d: '3' } };
      expect(canonicalJson(value)).to.equal('{"C":{"d":"3","e":""},"a":"x","b":[{"a":null,"z":"1"},{"y":"2"}]}');
    });

    it('writes leaves as JSON text, escaping what JSON escapes', () => {
      expect(canonicalJson(null)).to.equal('null');
      expect(canonicalJson('300000123456789012')).to.equal('"300000123456789012"');
      expect(canonicalJson('say "hi"\n\u00e9')).to.equal('"say \\"hi\\"\\n\u00e9"');
      expect(canonicalJson({})).to.equal('{}');
      expect(canonicalJson([])).to.equal('[]');
      expect(canonicalJson({ 'a"b': 'v' })).to.equal('{"a\\"b":"v"}');
    });

    it('is valid JSON that reads back to the same value', () => {
      const header = flineStatusUpdate();
      expect(JSON.parse(canonicalJson(header))).to.deep.equal(header);
    });
  });
});
