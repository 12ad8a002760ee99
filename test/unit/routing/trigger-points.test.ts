import { expect } from 'chai';
import type { FieldCondition, TriggerPointConfig } from '../../../src/config/schema.ts';
import type { XmlRecord } from '../../../src/domain/event.ts';
import { route, type RoutableEvent } from '../../../src/routing/trigger-points.ts';

// ---------------------------------------------------------------------------------------------------------
// Parsed OrderHeaders, as the envelope parser yields them: local names, text leaves, repeated children as
// arrays, xsi:nil="true" as null.

/** FlineStatusUpdate: two lines; the first has two fulfilment lines (one awaiting shipping), the second one. */
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
            ActualShipDateNew: null,
          },
          {
            SourceOrderScheduleId: '2',
            OrchestrationOrderLineId: '300000123456790001',
            FulfillmentOrderLineId: '300000123456791002',
            StatusCodeOldValue: 'AWAIT_SHIPPING',
            StatusCodeNewValue: 'SHIPPED',
            ActualShipDateNew: '2026-03-02T10:15:00.000+00:00',
          },
        ],
      },
      {
        OrchestrationOrderLineNumber: '2',
        StatusCodeOldValue: 'AWAIT_SCHEDULING',
        StatusCodeNewValue: 'SCHEDULED',
        OrderFulfillmentLine: [
          {
            SourceOrderScheduleId: '1',
            OrchestrationOrderLineId: '300000123456790002',
            FulfillmentOrderLineId: '300000123456791003',
            StatusCodeOldValue: 'AWAIT_SCHEDULING',
            StatusCodeNewValue: 'SCHEDULED',
            ActualShipDateNew: null,
          },
        ],
      },
    ],
  };
}

/** HOLD: hold codes at header, line and fulfilment line; the header comments are nil. */
function hold(): XmlRecord {
  return {
    EventCode: 'HOLD',
    SourceOrderSystem: 'LEG_OPS',
    SourceOrderNumber: 'R13-10046',
    OrchestrationOrderId: '300000123456789013',
    CustomerId: '300000001122334',
    HoldCode: 'CREDIT_CHECK',
    HoldComments: null,
    OrderLine: [
      {
        OrchestrationOrderLineId: '300000123456790010',
        OrchestrationOrderLineNumber: '1',
        HoldCode: 'CREDIT_CHECK',
        HoldComments: null,
        SourceOrderLineId: '1',
        OrderFulfillmentLine: [
          {
            FulfillmentOrderLineId: '300000123456791010',
            HoldCode: 'CREDIT_CHECK',
            HoldComments: null,
            ItemId: '300000009988776',
            InventoryOrganizationId: '300000000204',
          },
        ],
      },
    ],
  };
}

function omEvent(payload: XmlRecord, eventCode = String(payload.EventCode)): RoutableEvent {
  return { source: 'oracle-om', eventCode, payload };
}

function tp(name: string, connectors: string[], rest: Partial<TriggerPointConfig> = {}): TriggerPointConfig {
  return { name, eventCodes: ['FlineStatusUpdate'], when: [], connectors, ...rest };
}

/** Whether a trigger point on any event code with this one condition routes the event. */
function holds(condition: FieldCondition, payload: XmlRecord = flineStatusUpdate()): boolean {
  return route(omEvent(payload), [tp('only', ['c'], { eventCodes: ['*'], when: [condition] })]).length === 1;
}

/** Every text in the payload, at any depth. */
function texts(value: XmlRecord[keyof XmlRecord]): string[] {
  if (value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(texts);
  return Object.values(value).flatMap(texts);
}

/**
 * The values routing finds for a field, as `in` conditions see them: each text of the payload that
 * makes `{ field, in: [text] }` hold, once, sorted. A nil value is no value for every operator.
 */
function found(payload: XmlRecord, field: string): string[] {
  return [...new Set(texts(payload))].filter((t) => holds({ field, in: [t] }, payload)).sort();
}

const FLINE_STATUS = 'OrderLine.OrderFulfillmentLine.StatusCodeNewValue';

// ---------------------------------------------------------------------------------------------------------

describe('routing/trigger-points', () => {
  describe('route', () => {
    it('routes an event to the connectors of the trigger points naming its event code', () => {
      const points = [
        tp('status', ['crm'], { eventCodes: ['FlineStatusUpdate', 'FlineClosed'] }),
        tp('exceptions', ['otm'], { eventCodes: ['HOLD', 'JEOPARDY', 'SPLIT'] }),
      ];
      expect(route(omEvent(flineStatusUpdate()), points)).to.deep.equal([{ connector: 'crm', triggerPoint: 'status' }]);
      expect(route(omEvent(hold()), points)).to.deep.equal([{ connector: 'otm', triggerPoint: 'exceptions' }]);
      expect(route(omEvent(hold(), 'SPLIT'), points)).to.deep.equal([{ connector: 'otm', triggerPoint: 'exceptions' }]);
    });

    it('matches event codes exactly (case and all)', () => {
      const points = [tp('status', ['crm'], { eventCodes: ['FlineStatusUpdate'] })];
      expect(route(omEvent(flineStatusUpdate(), 'flinestatusupdate'), points)).to.deep.equal([]);
      expect(route(omEvent(flineStatusUpdate(), 'FlineStatus'), points)).to.deep.equal([]);
    });

    it('routes nothing when no trigger point matches, or there are none', () => {
      expect(route(omEvent(hold()), [tp('status', ['crm'])])).to.deep.equal([]);
      expect(route(omEvent(hold()), [])).to.deep.equal([]);
    });

    it("takes every event code for '*'", () => {
      const points = [tp('audit-everything', ['archive'], { eventCodes: ['*'] })];
      for (const code of ['FlineStatusUpdate', 'HOLD', 'Unknown', 'order.shipped']) {
        expect(route(omEvent(hold(), code), points), code).to.deep.equal([{ connector: 'archive', triggerPoint: 'audit-everything' }]);
      }
    });

    it('filters by source when the trigger point gives one', () => {
      const points = [
        tp('om-only', ['crm'], { source: 'oracle-om', eventCodes: ['*'] }),
        tp('shipbob-only', ['erp'], { source: 'shipbob', eventCodes: ['*'] }),
        tp('any-source', ['archive'], { eventCodes: ['*'] }),
      ];
      expect(route(omEvent(hold()), points).map((r) => r.connector)).to.deep.equal(['crm', 'archive']);
      const webhook: RoutableEvent = { source: 'shipbob', eventCode: 'order.shipped', payload: { id: '9001' } };
      expect(route(webhook, points).map((r) => r.connector)).to.deep.equal(['erp', 'archive']);
      const po: RoutableEvent = { source: 'fusion-po', eventCode: 'PurchaseOrderChanged', payload: {} };
      expect(route(po, points).map((r) => r.connector)).to.deep.equal(['archive']);
    });

    it('routes only when every condition of a trigger point holds', () => {
      const both = tp('ship-from-m1', ['shipbob'], {
        when: [
          { field: FLINE_STATUS, in: ['AWAIT_SHIPPING'] },
          { field: 'SourceOrderSystem', equals: 'LEG_OPS' },
        ],
      });
      expect(route(omEvent(flineStatusUpdate()), [both])).to.deep.equal([{ connector: 'shipbob', triggerPoint: 'ship-from-m1' }]);
      const oneFails = { ...both, when: [...both.when, { field: 'SourceOrderSystem', equals: 'OTHER' }] };
      expect(route(omEvent(flineStatusUpdate()), [oneFails])).to.deep.equal([]);
    });

    it('gives one route per connector when several trigger points name it, recording the first', () => {
      const points = [
        tp('shipping', ['shipbob'], { when: [{ field: FLINE_STATUS, in: ['AWAIT_SHIPPING'] }] }),
        tp('status', ['crm', 'shipbob'], { eventCodes: ['FlineStatusUpdate', 'FlineClosed'] }),
        tp('everything', ['archive', 'crm'], { eventCodes: ['*'] }),
      ];
      expect(route(omEvent(flineStatusUpdate()), points)).to.deep.equal([
        { connector: 'shipbob', triggerPoint: 'shipping' },
        { connector: 'crm', triggerPoint: 'status' },
        { connector: 'archive', triggerPoint: 'everything' },
      ]);
    });

    it('records the next trigger point naming the connector when the first one does not match', () => {
      const points = [
        tp('shipping', ['shipbob'], { when: [{ field: FLINE_STATUS, in: ['CLOSED'] }] }),
        tp('status', ['crm', 'shipbob']),
      ];
      expect(route(omEvent(flineStatusUpdate()), points)).to.deep.equal([
        { connector: 'crm', triggerPoint: 'status' },
        { connector: 'shipbob', triggerPoint: 'status' },
      ]);
    });

    it('limits routing to onlyConnector', () => {
      const points = [
        tp('status', ['crm', 'shipbob']),
        tp('shipping', ['shipbob'], { when: [{ field: FLINE_STATUS, in: ['AWAIT_SHIPPING'] }] }),
        tp('exceptions', ['otm'], { eventCodes: ['HOLD'] }),
      ];
      expect(route(omEvent(flineStatusUpdate()), points, 'shipbob')).to.deep.equal([{ connector: 'shipbob', triggerPoint: 'status' }]);
      expect(route(omEvent(flineStatusUpdate()), points, 'crm')).to.deep.equal([{ connector: 'crm', triggerPoint: 'status' }]);
      // A connector that no matching trigger point names gets nothing, even when asked for by name.
      expect(route(omEvent(flineStatusUpdate()), points, 'otm')).to.deep.equal([]);
      expect(route(omEvent(flineStatusUpdate()), points, 'nobody')).to.deep.equal([]);
      expect(route(omEvent(flineStatusUpdate()), points, null).map((r) => r.connector)).to.deep.equal(['crm', 'shipbob']);
    });
  });

  describe('the values a condition looks at', () => {
    it('finds a plain field name at every level; nil values are no value', () => {
      expect(found(flineStatusUpdate(), 'StatusCodeNewValue')).to.deep.equal(['AWAIT_SHIPPING', 'PROCESSING', 'SCHEDULED', 'SHIPPED']);
      expect(found(flineStatusUpdate(), 'ActualShipDateNew')).to.deep.equal(['2026-03-02T10:15:00.000+00:00']);
      expect(found(flineStatusUpdate(), 'SourceOrderNumber')).to.deep.equal(['R13-10045']);
    });

    it('follows a dotted path through arrays, and only that path', () => {
      expect(found(flineStatusUpdate(), 'OrderLine.StatusCodeNewValue')).to.deep.equal(['AWAIT_SHIPPING', 'SCHEDULED']);
      expect(found(flineStatusUpdate(), FLINE_STATUS)).to.deep.equal(['AWAIT_SHIPPING', 'SCHEDULED', 'SHIPPED']);
      expect(found(flineStatusUpdate(), 'OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId')).to.deep.equal([
        '300000123456791001',
        '300000123456791002',
        '300000123456791003',
      ]);
    });

    it('follows a dotted path through a single child that is not an array', () => {
      const payload: XmlRecord = {
        EventCode: 'FlineClosed',
        OrderLine: { OrchestrationOrderLineId: '1', OrderFulfillmentLine: { FulfillmentOrderLineId: '300000123456791099' } },
      };
      expect(found(payload, 'OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId')).to.deep.equal(['300000123456791099']);
      expect(found(payload, 'FulfillmentOrderLineId')).to.deep.equal(['300000123456791099']);
    });

    it('finds nothing for an absent field or a path that does not exist, and no leaves for a group element', () => {
      expect(found(flineStatusUpdate(), 'JeopardyPriority')).to.deep.equal([]);
      expect(found(flineStatusUpdate(), 'OrderFulfillmentLine.StatusCodeNewValue')).to.deep.equal([]);
      expect(found(flineStatusUpdate(), 'OrderLine.Missing.StatusCodeNewValue')).to.deep.equal([]);
      expect(found(flineStatusUpdate(), 'EventCode.Something')).to.deep.equal([]);
      expect(found(flineStatusUpdate(), 'OrderLine')).to.deep.equal([]);
    });

    it('reads a nil element on the path as no value', () => {
      const payload: XmlRecord = { EventCode: 'FlineClosed', OrderLine: null };
      expect(found(payload, 'OrderLine.OrderFulfillmentLine.FulfillmentOrderLineId')).to.deep.equal([]);
      expect(found(payload, 'OrderLine')).to.deep.equal([]);
      expect(holds({ field: 'OrderLine', exists: false }, payload)).to.equal(true);
    });
  });

  describe('conditions', () => {
    it('in: holds when any value found is in the list', () => {
      expect(holds({ field: FLINE_STATUS, in: ['AWAIT_SHIPPING'] })).to.equal(true);
      expect(holds({ field: FLINE_STATUS, in: ['CLOSED', 'SHIPPED'] })).to.equal(true);
      expect(holds({ field: FLINE_STATUS, in: ['CLOSED', 'CANCELED'] })).to.equal(false);
      // The header status is PROCESSING, but a dotted path looks at fulfilment lines only.
      expect(holds({ field: FLINE_STATUS, in: ['PROCESSING'] })).to.equal(false);
      expect(holds({ field: 'StatusCodeNewValue', in: ['PROCESSING'] })).to.equal(true);
      expect(holds({ field: 'JeopardyPriority', in: ['HIGH'] })).to.equal(false);
    });

    it('notIn: holds when values are found and none of them is in the list', () => {
      expect(holds({ field: FLINE_STATUS, notIn: ['CLOSED', 'CANCELED'] })).to.equal(true);
      expect(holds({ field: FLINE_STATUS, notIn: ['SHIPPED'] })).to.equal(false);
      expect(holds({ field: 'JeopardyPriority', notIn: ['HIGH'] })).to.equal(false);
    });

    it('equals: holds when any value found is exactly that text', () => {
      expect(holds({ field: 'SourceOrderSystem', equals: 'LEG_OPS' })).to.equal(true);
      expect(holds({ field: 'SourceOrderSystem', equals: 'leg_ops' })).to.equal(false);
      expect(holds({ field: 'OrderLine.OrchestrationOrderLineNumber', equals: '2' })).to.equal(true);
      expect(holds({ field: 'OrderLine.OrchestrationOrderLineNumber', equals: '3' })).to.equal(false);
      // Long Fusion ids compare as text, digit for digit.
      expect(holds({ field: 'FulfillmentOrderLineId', equals: '300000123456791003' })).to.equal(true);
      expect(holds({ field: 'FulfillmentOrderLineId', equals: '300000123456791004' })).to.equal(false);
    });

    it('exists: true when a non-empty value is found, false when none is', () => {
      expect(holds({ field: 'SourceOrderNumber', exists: true })).to.equal(true);
      expect(holds({ field: 'SourceOrderNumber', exists: false })).to.equal(false);
      expect(holds({ field: 'HoldCode', exists: true })).to.equal(false);
      expect(holds({ field: 'HoldCode', exists: false })).to.equal(true);
      expect(holds({ field: 'HoldCode', exists: true }, hold())).to.equal(true);
    });

    it('matches: holds when any value found matches the regular expression', () => {
      expect(holds({ field: 'SourceOrderNumber', matches: '^R13-\\d+$' })).to.equal(true);
      expect(holds({ field: 'SourceOrderNumber', matches: '^R14-' })).to.equal(false);
      expect(holds({ field: FLINE_STATUS, matches: '^SHIP' })).to.equal(true);
      expect(holds({ field: FLINE_STATUS, matches: 'CLOSED|CANCEL' })).to.equal(false);
      expect(holds({ field: 'ActualShipDateNew', matches: '^2026-03' })).to.equal(true);
    });

    it('treats nil (xsi:nil) values as absent for every operator', () => {
      // HoldComments is nil at every level of the HOLD event.
      const payload = hold();
      expect(found(payload, 'HoldComments')).to.deep.equal([]);
      expect(holds({ field: 'HoldComments', exists: true }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', exists: false }, payload)).to.equal(true);
      expect(holds({ field: 'HoldComments', in: [''] }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', notIn: ['x'] }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', equals: '' }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', matches: '.*' }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', equals: 'null' }, payload)).to.equal(false);
    });

    it('treats an empty element as not existing, but as the empty text for equals', () => {
      const payload: XmlRecord = { EventCode: 'HOLD', HoldComments: '' };
      expect(holds({ field: 'HoldComments', exists: true }, payload)).to.equal(false);
      expect(holds({ field: 'HoldComments', exists: false }, payload)).to.equal(true);
      expect(holds({ field: 'HoldComments', equals: '' }, payload)).to.equal(true);
    });

    it('routes with a nil value on the path without failing', () => {
      const points = [tp('shipping', ['shipbob'], { when: [{ field: 'OrderLine.OrderFulfillmentLine.ActualShipDateNew', exists: true }] })];
      const allNil: XmlRecord = {
        ...flineStatusUpdate(),
        OrderLine: [{ StatusCodeNewValue: 'AWAIT_SHIPPING', OrderFulfillmentLine: [{ ActualShipDateNew: null }] }],
      };
      expect(route(omEvent(allNil), points)).to.deep.equal([]);
      expect(route(omEvent(flineStatusUpdate()), points)).to.deep.equal([{ connector: 'shipbob', triggerPoint: 'shipping' }]);
    });
  });
});
