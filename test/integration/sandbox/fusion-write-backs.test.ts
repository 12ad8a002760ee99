import { expect } from 'chai';
import { FUSION_REST_BASE, startFusionSandboxServer, type RunningFusionSandbox } from '../../../src/sandbox/fusion.ts';

const USERNAME = 'omgw.integration';
const PASSWORD = 'sandbox-fusion-password';
const AUTH = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
const ACTION = 'application/vnd.oracle.adf.action+json';

interface Answer {
  status: number;
  headers: Headers;
  json: { detail?: string; 'o:errorDetails'?: Array<{ detail: string }> } & Record<string, unknown>;
}

async function post(url: string, body: unknown, contentType = 'application/json', auth: string | null = AUTH): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Answer['json']) : {} };
}

/** The reasons of a 400, one per problem. */
function reasons(a: Answer): string[] {
  expect(a.status, JSON.stringify(a.json)).to.equal(400);
  expect(a.json.detail).to.be.a('string');
  return (a.json['o:errorDetails'] ?? []).map((d) => d.detail);
}

const lineHold = {
  SourceTransactionSystem: 'LEG',
  SourceTransactionId: 'SO-77',
  FulfillLineId: '300100545547293',
  HoldCode: 'SHIPBOB_ON_HOLD',
  HoldComments: 'ShipBob shipment 200000001 of order 100000001 is OnHold',
};

const soReceipt = {
  ShipmentNumber: '100000001',
  lines: [{ TransactionType: 'RECEIVE', AutoTransactCode: 'DELIVER', Quantity: 2, TransactionDate: '2026-12-02T10:00:00Z', SourceOrderKey: 'LEG:SO-77', FulfillLineId: '300100545547293' }],
};

const poReceipt = {
  ShipmentNumber: '100000002',
  lines: [{ TransactionType: 'RECEIVE', AutoTransactCode: 'DELIVER', Quantity: 1, ReceiptSourceCode: 'VENDOR', SourceDocumentCode: 'PO', DocumentNumber: 'PO-1001', POLineLocationId: '300100700000011' }],
};

const poAsn = {
  ASNType: 'ASN',
  ShipmentNumber: '100000002',
  lines: [{ TransactionType: 'SHIP', ReceiptSourceCode: 'VENDOR', DocumentNumber: 'PO-1001', DocumentLineNumber: 1, DocumentScheduleNumber: 1, Quantity: 1 }],
};

describe('sandbox Fusion write-backs over HTTP', () => {
  let fusion: RunningFusionSandbox;
  let base: string;

  before(async () => {
    fusion = await startFusionSandboxServer({ username: USERNAME, password: PASSWORD, holdCodes: ['SHIPBOB_ON_HOLD', 'SHIPBOB_EXCEPTION'] });
    base = `${fusion.url}${FUSION_REST_BASE}`;
  });
  after(async () => {
    await fusion?.close();
  });

  describe('POST salesOrdersForOrderHub/action/applyHold', () => {
    it('applies a hold on a fulfilment line, records it, and lists it among the holds of that line', async () => {
      const before = fusion.received().length;
      const applied = await post(`${base}/salesOrdersForOrderHub/action/applyHold`, { holdRequests: [lineHold] }, ACTION);
      expect(applied.status).to.equal(200);
      expect(applied.headers.get('content-type')).to.match(/^application\/vnd\.oracle\.adf\.actionresult\+json/);
      const result = (applied.json.result as { holdRequests: Array<Record<string, unknown>> }).holdRequests;
      expect(result).to.have.length(1);
      expect(result[0]).to.include({ ...lineHold, ReturnStatus: 'SUCCESS' });
      expect(fusion.received().slice(before)).to.have.length(1);
      expect(fusion.received().at(-1)).to.deep.include({ method: 'POST', path: '/sandbox/fusion/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub/action/applyHold', body: { holdRequests: [lineHold] } });

      const res = await fetch(`${base}/salesOrdersForOrderHub/LEG:SO-77/child/lines/300100545547293/child/holds`, { headers: { authorization: AUTH } });
      expect(res.status).to.equal(200);
      const holds = (await res.json()) as { items: Array<Record<string, unknown>>; count: number };
      expect(holds.count).to.equal(1);
      expect(holds.items[0]).to.include({ HoldCode: 'SHIPBOB_ON_HOLD', HoldComments: lineHold.HoldComments, FulfillLineId: '300100545547293', HoldInstanceId: result[0]?.HoldInstanceId });
      const other = (await (await fetch(`${base}/salesOrdersForOrderHub/LEG:SO-77/child/lines/1/child/holds`, { headers: { authorization: AUTH } })).json()) as { count: number };
      expect(other.count).to.equal(0);
    });

    it('takes a header hold by order, and a line id as a JSON number', async () => {
      const header = await post(`${base}/salesOrdersForOrderHub/action/applyHold`, { holdRequests: [{ SourceTransactionSystem: 'LEG', OrderNumber: '522001', HoldCode: 'SHIPBOB_EXCEPTION' }] }, ACTION);
      expect(header.status).to.equal(200);
      const numeric = await post(`${base}/salesOrdersForOrderHub/action/applyHold`, { holdRequests: [{ ...lineHold, FulfillLineId: 300100545547293 }] }, ACTION);
      expect(numeric.status).to.equal(200);
    });

    it('refuses what Fusion refuses, with every reason, and records nothing', async () => {
      const before = fusion.received().length;
      const url = `${base}/salesOrdersForOrderHub/action/applyHold`;
      expect(reasons(await post(url, [lineHold], ACTION))).to.deep.equal(['The request body must be an object with holdRequests.']);
      expect(reasons(await post(url, { holdRequests: [] }, ACTION))).to.deep.equal(['holdRequests is required and must list at least one hold request.']);
      expect(reasons(await post(url, { holdRequests: [lineHold], lines: [] }, ACTION))).to.deep.equal(['The attribute lines is not defined for the applyHold action.']);
      const bad = reasons(
        await post(url, { holdRequests: [{ FulfillLineId: '3001x', HoldCode: 'NOT_SET_UP', HoldComments: null, Status: 'ON_HOLD' }] }, ACTION),
      );
      expect(bad).to.deep.equal([
        'holdRequests[0]: the attribute Status is not defined for a hold request.',
        'holdRequests[0].HoldComments must be a value, not null.',
        'holdRequests[0].SourceTransactionSystem is required.',
        'holdRequests[0].HoldCode NOT_SET_UP is not a hold code set up in Order Management.',
        'holdRequests[0].FulfillLineId "3001x" is not a fulfillment line id.',
      ]);
      expect(reasons(await post(url, { holdRequests: [{ SourceTransactionSystem: 'LEG' }] }, ACTION))).to.deep.equal([
        'holdRequests[0] needs HoldCode or HoldName.',
        'holdRequests[0] names neither a fulfillment line (FulfillLineId) nor an order (SourceTransactionId or OrderNumber).',
      ]);
      expect((await post(url, '{"holdRequests": [', ACTION)).status).to.equal(400);
      const plainJson = await post(url, { holdRequests: [lineHold] });
      expect(plainJson.status).to.equal(415);
      expect(plainJson.json.detail).to.equal(`Content-Type application/json is not one of ${ACTION}.`);
      expect((await post(url, { holdRequests: [lineHold] }, ACTION, null)).status).to.equal(401);
      expect(fusion.received().length).to.equal(before);
    });
  });

  describe('POST receivingReceiptRequests', () => {
    it('takes receipts against a sales order line or a purchase order schedule, and shipment notices, as JSON or resource items', async () => {
      const before = fusion.received().length;
      for (const [body, type] of [
        [soReceipt, 'application/json'],
        [poReceipt, 'application/vnd.oracle.adf.resourceitem+json'],
        [poAsn, 'application/json; charset=utf-8'],
      ] as const) {
        const res = await post(`${base}/receivingReceiptRequests`, body, type);
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        expect(res.json).to.include({ ProcessingStatusCode: 'PENDING' });
      }
      expect(fusion.received().slice(before).map((r) => r.body)).to.deep.equal([soReceipt, poReceipt, poAsn]);
    });

    it('refuses a body without lines, without a document, or mixing a receipt and a notice, and records nothing', async () => {
      const before = fusion.received().length;
      const url = `${base}/receivingReceiptRequests`;
      expect(reasons(await post(url, { ShipmentNumber: '1' }))).to.deep.equal(['The request has no lines: a receipt or shipment notice needs at least one.']);
      expect(reasons(await post(url, { ASNType: 'ASN', lines: [{ Quantity: 1, SourceOrderKey: 'LEG:SO-1', FulfillLineId: '3001' }] }))).to.deep.equal([
        'An advance shipment notice needs its ShipmentNumber.',
      ]);
      expect(reasons(await post(url, { ShipmentNumber: '1', lines: [{ TransactionType: 'RECEIVE', AutoTransactCode: 'DELIVER', Quantity: 0, SourceOrderKey: 'shopify-9001:' }] }))).to.deep.equal([
        'lines[0].Quantity 0 is not a positive number.',
        'lines[0].SourceOrderKey "shopify-9001:" is not an order key (SourceOrderSystem:SourceTransactionId).',
        'lines[0].FulfillLineId is required with SourceOrderKey.',
      ]);
      expect(reasons(await post(url, { ShipmentNumber: '1', lines: [{ Quantity: 1, TransactionDate: 'yesterday', DocumentNumber: 'PO-1' }] }))).to.deep.equal([
        'lines[0].TransactionType must be RECEIVE in a receipt (a notice of a shipment gives ASNType).',
        'lines[0].TransactionDate "yesterday" is not a date.',
        'lines[0] names no schedule of purchase order "PO-1" (POLineLocationId, or DocumentLineNumber and DocumentScheduleNumber).',
      ]);
      expect(reasons(await post(url, { ...poAsn, lines: [{ ...poReceipt.lines[0], AutoTransactCode: 'SHIP' }] }))).to.deep.equal([
        'lines[0] receives goods in an advance shipment notice (TransactionType SHIP).',
        'lines[0].AutoTransactCode "SHIP" is not one of RECEIVE, DELIVER.',
      ]);
      expect(reasons(await post(url, { ShipmentNumber: '1', lines: [{ TransactionType: 'RECEIVE', AutoTransactCode: 'DELIVER', Quantity: 1 }] }))).to.deep.equal([
        'lines[0] names no document: a purchase order (DocumentNumber) or a sales order line (SourceOrderKey, FulfillLineId).',
      ]);
      expect((await post(url, soReceipt, 'text/plain')).status).to.equal(415);
      expect(fusion.received().length).to.equal(before);
    });
  });
});
