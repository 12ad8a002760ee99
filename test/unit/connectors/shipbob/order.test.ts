import { expect } from 'chai';
import { parseJsonKeepingIds, type FusionSalesOrder } from '../../../../src/connectors/fusion/sales-orders.ts';
import { needsSalesOrder, purchaseOrderTargets, salesOrderTargets, type ShipBobOrderRequest, type ShipBobSettings, type ShipBobTarget } from '../../../../src/connectors/shipbob/order.ts';
import type { XmlRecord } from '../../../../src/domain/event.ts';
import { TransformError } from '../../../../src/connectors/types.ts';
import { mappingsFrom } from '../../../helpers/mappings.ts';

const settings: ShipBobSettings = {
  productMap: 'products',
  locationMap: 'locations',
  shippingMethod: 'Standard',
  orderType: 'DTC',
  referencePrefix: '',
  changes: {
    cancelledWhen: [
      { field: 'CancelFlagNewValue', in: ['Y'] },
      { field: 'StatusCodeNewValue', in: ['CANCELED'] },
    ],
    changeOnly: ['OrderAttributeUpdate', 'FlineClosed', 'SPLIT'],
    purchaseOrderStatus: { OPEN: 'fulfil', CANCELED: 'cancel' },
  },
};

/** The orders the targets want made (or changed to), in order. */
function ordersOf(targets: ShipBobTarget[]): ShipBobOrderRequest[] {
  return targets.flatMap((t) => (t.want.kind === 'order' ? [t.want.order] : []));
}

const buildShipBobOrders = (s: ShipBobSettings, o: FusionSalesOrder, payload: XmlRecord, m: typeof mappings): ShipBobOrderRequest[] =>
  ordersOf(salesOrderTargets(s, o.orderKey, payload, o, m));
const buildShipBobOrdersFromPurchaseOrder = (s: ShipBobSettings, key: string, po: XmlRecord, m: typeof mappings): ShipBobOrderRequest[] =>
  ordersOf(purchaseOrderTargets(s, key, po, m));

const mappings = await mappingsFrom({
  'products.yaml': 'kind: product-map\nentries:\n  TSHIRT-M: SB-TSHIRT-M\n  MUG: SB-MUG\n',
  'locations.yaml': 'kind: location-map\nentries:\n  M1: "156"\n',
});
if (mappings.problems.length > 0) throw new Error(`test mappings: ${JSON.stringify(mappings.problems)}`);

function order(overrides: Partial<FusionSalesOrder> = {}): FusionSalesOrder {
  return {
    orderKey: 'LEG:SO-1',
    orderNumber: '512345',
    customerPoNumber: null,
    shipTo: { name: 'Jamie Rivera', address1: '1200 Harbor Way', address2: null, city: 'Oakland', state: 'CA', postalCode: '94607', country: 'US', email: null, phone: null },
    lines: [
      { fulfillLineId: '300100000000011', productNumber: 'TSHIRT-M', description: 'T-shirt', quantity: 2, organizationCode: 'M1' },
      { fulfillLineId: '300100000000012', productNumber: 'MUG', description: null, quantity: 1, organizationCode: 'M1' },
    ],
    ...overrides,
  };
}

const eventWith = (...ids: string[]) => ({
  EventCode: 'FlineStatusUpdate',
  OrderLine: ids.map((id) => ({ OrderFulfillmentLine: [{ FulfillmentOrderLineId: id, StatusCodeNewValue: 'AWAIT_SHIPPING' }] })),
});

describe('ShipBob orders from a Fusion sales order', () => {
  it('builds one CreateOrder per fulfilment line the event names, with mapped product and location', () => {
    const [one, ...rest] = buildShipBobOrders(settings, order(), eventWith('300100000000012'), mappings);
    expect(rest).to.have.length(0);
    expect(one).to.deep.equal({
      reference_id: 'LEG:SO-1:300100000000012',
      order_number: '512345',
      shipping_method: 'Standard',
      type: 'DTC',
      location_id: 156,
      recipient: { name: 'Jamie Rivera', address: { address1: '1200 Harbor Way', city: 'Oakland', country: 'US', state: 'CA', zip_code: '94607' } },
      products: [{ reference_id: 'SB-MUG', name: 'MUG', quantity: 1 }],
      tags: [
        { name: 'oracle_order_key', value: 'LEG:SO-1' },
        { name: 'oracle_fulfill_line_id', value: '300100000000012' },
      ],
    });
  });

  it('takes every line when the event names none, and keeps reference ids stable', () => {
    const a = buildShipBobOrders(settings, order(), { EventCode: 'OrderHeaderStatusUpdate' }, mappings).map((o) => o.reference_id);
    const b = buildShipBobOrders(settings, order(), { EventCode: 'OrderHeaderStatusUpdate' }, mappings).map((o) => o.reference_id);
    expect(a).to.deep.equal(['LEG:SO-1:300100000000011', 'LEG:SO-1:300100000000012']);
    expect(b).to.deep.equal(a);
    const prefixed = buildShipBobOrders({ ...settings, referencePrefix: 'ACME-' }, order(), eventWith('300100000000011'), mappings);
    expect(prefixed.map((o) => o.reference_id)).to.deep.equal(['ACME-LEG:SO-1:300100000000011']);
  });

  it('refuses, naming the missing key, a missing product or location mapping, an unknown line, or no address', () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).to.be.instanceOf(TransformError);
        return (err as Error).message;
      }
      throw new Error('expected a TransformError');
    };
    const unmapped = order({ lines: [{ fulfillLineId: '1', productNumber: 'HAT', description: null, quantity: 1, organizationCode: 'M1' }] });
    expect(attempt(() => buildShipBobOrders(settings, unmapped, eventWith('1'), mappings))).to.equal('no product mapping for item "HAT" in mappings/products.yaml');
    const elsewhere = order({ lines: [{ fulfillLineId: '1', productNumber: 'MUG', description: null, quantity: 1, organizationCode: 'Z9' }] });
    expect(attempt(() => buildShipBobOrders(settings, elsewhere, eventWith('1'), mappings))).to.equal('no location mapping for organization "Z9" in mappings/locations.yaml');
    expect(attempt(() => buildShipBobOrders(settings, order(), eventWith('404'), mappings))).to.include('fulfilment line 404 is not a line');
    expect(attempt(() => buildShipBobOrders(settings, order({ shipTo: null }), eventWith(), mappings))).to.include('ship-to address');
  });

  it('reads fulfilment line ids from the event, in its order, trimmed', () => {
    const ids = (payload: XmlRecord) => buildShipBobOrders(settings, order(), payload, mappings).map((o) => o.reference_id);
    expect(ids(eventWith('300100000000012', ' 300100000000011 '))).to.deep.equal(['LEG:SO-1:300100000000012', 'LEG:SO-1:300100000000011']);
    expect(ids({})).to.deep.equal(['LEG:SO-1:300100000000011', 'LEG:SO-1:300100000000012']);
  });

  it('parses Fusion JSON without rounding ids above 2^53', () => {
    const doc = parseJsonKeepingIds('{"HeaderId": 300100072403436123456, "lines": [ 12345678901234567 ,1], "n": 42, "s": "x:1234567890123456789"}') as Record<string, unknown>;
    expect(doc.HeaderId).to.equal('300100072403436123456');
    expect(doc.lines).to.deep.equal(['12345678901234567', 1]);
    expect(doc.n).to.equal(42);
    expect(doc.s).to.equal('x:1234567890123456789');
  });
});

describe('ShipBob orders from a polled Fusion purchase order', () => {
  const shipTo = { PartyName: 'Ada Moreno', Address1: '55 Pier St', City: 'Seattle', State: 'WA', PostalCode: '98101', Country: 'US', Email: 'ada@example.com' };
  const schedule = (id: string, overrides: XmlRecord = {}): XmlRecord => ({ LineLocationId: id, ScheduleNumber: '1', Quantity: '2', ShipToOrganizationCode: 'M1', StatusCode: 'OPEN', shipToCustomer: [shipTo], ...overrides });
  const po = (lines: XmlRecord[]): XmlRecord => ({ POHeaderId: '30010020000000123', OrderNumber: 'PO-1001', StatusCode: 'OPEN', lines });

  it('builds one order per open schedule, the reference id from the PO number and LineLocationId', () => {
    const orders = buildShipBobOrdersFromPurchaseOrder(
      settings,
      'PO-1001',
      po([
        { LineNumber: '1', Item: 'TSHIRT-M', Description: 'T-shirt', Quantity: '3', StatusCode: 'OPEN', schedules: [schedule('9001'), schedule('9002', { Quantity: '1' })] },
        { LineNumber: '2', Item: 'MUG', Quantity: '1', StatusCode: 'OPEN', schedules: { items: [schedule('9003', { StatusCode: 'CANCELED' }), schedule('9004', { Quantity: null })] } },
        { LineNumber: '3', Item: 'UNMAPPED', Quantity: '1', StatusCode: 'CLOSED', schedules: [schedule('9005')] },
      ]),
      mappings,
    );
    expect(orders.map((o) => [o.reference_id, o.products[0]?.reference_id, o.products[0]?.quantity])).to.deep.equal([
      ['PO-1001:9001', 'SB-TSHIRT-M', 2],
      ['PO-1001:9002', 'SB-TSHIRT-M', 1],
      ['PO-1001:9004', 'SB-MUG', 1], // no schedule quantity: the line's
    ]);
    expect(orders[0]).to.deep.include({ order_number: 'PO-1001', location_id: 156, shipping_method: 'Standard', type: 'DTC' });
    expect(orders[0]?.recipient).to.deep.equal({ name: 'Ada Moreno', email: 'ada@example.com', address: { address1: '55 Pier St', city: 'Seattle', state: 'WA', zip_code: '98101', country: 'US' } });
    expect(orders[0]?.tags).to.deep.equal([
      { name: 'oracle_po_number', value: 'PO-1001' },
      { name: 'oracle_po_line_number', value: '1' },
      { name: 'oracle_po_schedule_number', value: '1' },
      { name: 'oracle_line_location_id', value: '9001' },
    ]);
  });

  it('refuses, before anything is sent, a PO without lines, without open schedules, without a ship-to or with an unmapped item', () => {
    const attempt = (payload: XmlRecord): string => {
      try {
        buildShipBobOrdersFromPurchaseOrder(settings, 'PO-1', payload, mappings);
        return 'built';
      } catch (err) {
        expect(err).to.be.instanceOf(TransformError);
        return (err as Error).message;
      }
    };
    expect(attempt({ OrderNumber: 'PO-1' })).to.equal('purchase order PO-1 has no lines in the event (schedules.poller.expand must include lines.schedules)');
    expect(attempt(po([{ Item: 'MUG', schedules: [schedule('1', { StatusCode: 'CLOSED' })] }]))).to.equal('purchase order PO-1 has no open schedules to fulfil');
    expect(attempt(po([{ Item: 'MUG', schedules: [schedule('1', { shipToCustomer: [{ PartyName: 'No Address' }] })] }]))).to.equal(
      'schedule 1 of purchase order PO-1 has no complete ship-to address (name, address line 1, city, country)',
    );
    expect(attempt(po([{ Item: 'MUG', schedules: [schedule('1')] }, { Item: 'HAT', schedules: [schedule('2')] }]))).to.equal('no product mapping for item "HAT" in mappings/products.yaml');
    expect(attempt(po([{ Item: 'MUG', schedules: [schedule('1', { Quantity: '0.5' })] }]))).to.include('needs a whole number of at least 1');
  });
});

describe('what an event wants of the ShipBob orders made before', () => {
  const cancelFlag = (id: string, flag: string): XmlRecord => ({ EventCode: 'FlineClosed', OrderLine: [{ OrderFulfillmentLine: [{ FulfillmentOrderLineId: id, CancelFlagOldValue: 'N', CancelFlagNewValue: flag }] }] });
  const wants = (targets: ShipBobTarget[]) => targets.map((t) => [t.referenceId, t.want.kind]);

  it('cancels a fulfilment line whose cancel flag or new status says so, without the sales order', () => {
    expect(needsSalesOrder(settings, cancelFlag('300100000000011', 'Y'))).to.equal(false);
    expect(wants(salesOrderTargets(settings, 'LEG:SO-1', cancelFlag('300100000000011', 'Y'), null, mappings))).to.deep.equal([['LEG:SO-1:300100000000011', 'cancelled']]);
    const canceled = { OrderLine: [{ OrderFulfillmentLine: [{ FulfillmentOrderLineId: '300100000000012', StatusCodeNewValue: 'CANCELED' }] }] };
    expect(wants(salesOrderTargets(settings, 'LEG:SO-1', canceled, null, mappings))).to.deep.equal([['LEG:SO-1:300100000000012', 'cancelled']]);
    // A line closed without being cancelled wants its order as Fusion describes it.
    expect(needsSalesOrder(settings, cancelFlag('300100000000011', 'N'))).to.equal(true);
    expect(wants(salesOrderTargets(settings, 'LEG:SO-1', cancelFlag('300100000000011', 'N'), order(), mappings))).to.deep.equal([['LEG:SO-1:300100000000011', 'order']]);
  });

  it('reads the cancelled values from the config', () => {
    const tenant: ShipBobSettings = { ...settings, changes: { ...settings.changes, cancelledWhen: [{ field: 'StatusCodeNewValue', in: ['CANCELLED_BY_CUSTOMER'] }] } };
    const event = (status: string) => ({ OrderLine: [{ OrderFulfillmentLine: [{ FulfillmentOrderLineId: '300100000000011', StatusCodeNewValue: status }] }] });
    expect(wants(salesOrderTargets(tenant, 'LEG:SO-1', event('CANCELLED_BY_CUSTOMER'), null, mappings))).to.deep.equal([['LEG:SO-1:300100000000011', 'cancelled']]);
    expect(wants(salesOrderTargets(tenant, 'LEG:SO-1', event('CANCELED'), order(), mappings))).to.deep.equal([['LEG:SO-1:300100000000011', 'order']]);
  });

  it('cancels the schedules of a purchase order, line or schedule whose status maps to cancel, and leaves closed ones alone', () => {
    const shipTo = { PartyName: 'Ada Moreno', Address1: '55 Pier St', City: 'Seattle', Country: 'US' };
    const schedule = (id: string, status: string): XmlRecord => ({ LineLocationId: id, Quantity: '1', ShipToOrganizationCode: 'M1', StatusCode: status, shipToCustomer: [shipTo] });
    const po = (status: string, lines: XmlRecord[]): XmlRecord => ({ OrderNumber: 'PO-9', StatusCode: status, lines });
    expect(
      wants(
        purchaseOrderTargets(
          settings,
          'PO-9',
          po('OPEN', [
            { Item: 'MUG', StatusCode: 'OPEN', schedules: [schedule('1', 'OPEN'), schedule('2', 'CANCELED'), schedule('3', 'CLOSED')] },
            // An unmapped item of a cancelled line does not stop the rest: nothing is built for it.
            { Item: 'UNMAPPED', StatusCode: 'CANCELED', schedules: [schedule('4', 'OPEN')] },
          ]),
          mappings,
        ),
      ),
    ).to.deep.equal([
      ['PO-9:1', 'order'],
      ['PO-9:2', 'cancelled'],
      ['PO-9:4', 'cancelled'],
    ]);
    expect(wants(purchaseOrderTargets(settings, 'PO-9', po('CANCELED', [{ Item: 'MUG', schedules: [schedule('1', 'OPEN'), schedule('3', 'CLOSED')] }]), mappings))).to.deep.equal([
      ['PO-9:1', 'cancelled'],
      ['PO-9:3', 'cancelled'],
    ]);
  });
});
