import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  billingFields,
  isKnownShipBobTopic,
  shipbobOrderKey,
  shipbobOrderNamed,
  shipbobTopic,
  SHIPBOB_BILLING_TOPICS,
  webhookIdHash,
} from '../../../src/domain/shipbob-webhook.ts';
import { parseJsonRecord } from '../../../src/inbound/webhooks/json.ts';

const json = (value: unknown) => parseJsonRecord(JSON.stringify(value), { maxDepth: 64 });

describe('ShipBob webhooks as events', () => {
  describe('topic', () => {
    it('comes from x-webhook-topic; the body is read only when the header is missing', () => {
      expect(shipbobTopic('order.shipped', json({ topic: 'return.created' }))).to.equal('order.shipped');
      expect(shipbobTopic(undefined, json({ topic: 'return.created' }))).to.equal('return.created');
      expect(shipbobTopic('', json({ type: 'order.delivered' }))).to.equal('order.delivered');
      expect(shipbobTopic(undefined, json({ order_id: 1 }))).to.equal('unknown');
    });

    it('a header that is not a dotted name (or over 100 characters) is "unknown", never stored as is', () => {
      for (const bad of ['order shipped', 'a'.repeat(101), '../../etc', 'x\u00e9', '.order']) {
        expect(shipbobTopic(bad, json({ topic: 'order.shipped' })), bad).to.equal('unknown');
      }
      expect(shipbobTopic('  order.shipment.on_hold  ', {})).to.equal('order.shipment.on_hold');
    });

    it('knows the documented topics and the billing ones', () => {
      expect(isKnownShipBobTopic('order.shipment.on_hold')).to.equal(true);
      expect(isKnownShipBobTopic('wro.box.exploded')).to.equal(false);
      expect(SHIPBOB_BILLING_TOPICS).to.include('billing.refund.created');
      expect(SHIPBOB_BILLING_TOPICS).to.not.include('order.shipped');
    });
  });

  describe('order key', () => {
    it('is the ShipBob order id: order_id in shipment payloads, id in order payloads', () => {
      // NOTES §8.6 verbatim tracking_received example.
      const tracking = json({ event_time: '2025-10-23T15:55:09.3614767Z', order_id: 100000001, reference_id: 'TEST101', status: 'LabelCreated' });
      expect(shipbobOrderKey('order.shipment.tracking_received', tracking)).to.equal('shipbob:100000001');
      // A shipment payload's id is the shipment id: never the key.
      expect(shipbobOrderKey('order.shipment.delivered', json({ id: 555, order_id: 777, reference_id: 'R-1' }))).to.equal('shipbob:777');
      expect(shipbobOrderKey('order.shipment.delivered', json({ id: 555, reference_id: 'R-1' }))).to.equal('shipbob-ref:R-1');
      expect(shipbobOrderKey('order.shipped', json({ id: 888, reference_id: 'R-2' }))).to.equal('shipbob:888');
      expect(shipbobOrderKey('order_shipped', json({ id: 888 }))).to.equal('shipbob:888');
      expect(shipbobOrderKey('order.delivered', json({ data: { id: 999 } }))).to.equal('shipbob:999');
    });

    it("is the shipment's for a billing webhook that charges a shipment, so the order's journey finds it", () => {
      expect(shipbobOrderKey('billing.charge.created', json({ reference_id: '123', amount: 1 }))).to.equal('shipbob-shipment:123');
      expect(shipbobOrderKey('billing.charge.created', json({ data: { reference_id: '123', reference_type: 'Shipment' } }))).to.equal('shipbob-shipment:123');
      expect(shipbobOrderKey('billing.refund.created', json({ reference_id: 124, reference_type: 'shipment' }))).to.equal('shipbob-shipment:124');
    });

    it('is null for events that are not about an order, or with nothing usable', () => {
      expect(shipbobOrderKey('billing.charge.created', json({ reference_id: '123', reference_type: 'WRO', amount: 1 }))).to.equal(null);
      expect(shipbobOrderKey('billing.charge.created', json({ amount: 1 }))).to.equal(null);
      expect(shipbobOrderKey('return.created', json({ id: 1, reference_id: 'RMA' }))).to.equal(null);
      expect(shipbobOrderKey('order.shipped', json({}))).to.equal(null);
      expect(shipbobOrderKey('order.shipped', json({ id: 'a b c' }))).to.equal(null);
      expect(shipbobOrderKey('order.shipped', json({ reference_id: 'x'.repeat(300) }))).to.equal(null);
    });
  });

  describe('the order a webhook names', () => {
    it("is the gateway's reference id and ShipBob's order id, read like the order key", () => {
      expect(shipbobOrderNamed('order.shipment.cancelled', json({ id: 555, order_id: 777, reference_id: 'LEG:SO-1:3001' }))).to.deep.equal({ referenceId: 'LEG:SO-1:3001', orderId: '777' });
      expect(shipbobOrderNamed('order.shipped', json({ id: 888, reference_id: 'R-2' }))).to.deep.equal({ referenceId: 'R-2', orderId: '888' });
      expect(shipbobOrderNamed('shipment_cancelled', json({ data: { order_id: 9, reference_id: 'R-3' } }))).to.deep.equal({ referenceId: 'R-3', orderId: '9' });
      expect(shipbobOrderNamed('order.shipment.on_hold', json({ id: 555, order_id: 'a b' }))).to.deep.equal({ referenceId: null, orderId: null });
    });

    it('is null for topics that are not about an order', () => {
      expect(shipbobOrderNamed('billing.charge.created', json({ reference_id: '123' }))).to.equal(null);
      expect(shipbobOrderNamed('return.created', json({ id: 1, reference_id: 'RMA' }))).to.equal(null);
    });
  });

  it('dedupes on sha256 of webhook-id', () => {
    expect(webhookIdHash('msg_1')).to.equal(createHash('sha256').update('msg_1').digest('hex'));
    expect(webhookIdHash('msg_1')).to.have.length(64);
  });

  describe('billing fields', () => {
    it('reads a TransactionDtoV3-shaped payload, amounts exactly as written', () => {
      const payload = parseJsonRecord(
        '{"transaction_id":"tx-1","amount":12.50,"currency_code":"USD","charge_date":"2026-01-15","invoice_id":42,"invoice_type":"Shipping","transaction_type":"Charge","reference_id":"98765","reference_type":"Shipment"}',
        { maxDepth: 64 },
      );
      expect(billingFields(payload)).to.deep.equal({
        amount: '12.50',
        currency: 'USD',
        reference: '98765',
        referenceType: 'Shipment',
        transactionId: 'tx-1',
        transactionType: 'Charge',
        invoiceId: '42',
        invoiceType: 'Shipping',
        occurredAt: '2026-01-15',
      });
    });

    it('reads a Standard Webhooks envelope (data) and the usual alternative names; missing fields are null', () => {
      const fields = billingFields(json({ type: 'billing.credit.created', timestamp: '2026-02-01T10:00:00Z', data: { total_amount: -3, currency: 'EUR' } }));
      expect(fields).to.include({ amount: '-3', currency: 'EUR', occurredAt: '2026-02-01T10:00:00Z', reference: null, transactionId: null });
      expect(billingFields({})).to.deep.include({ amount: null, currency: null, reference: null });
    });
  });
});
