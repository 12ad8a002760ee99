import { expect } from 'chai';
import {
  requestExamples,
  skipWithoutShipBobSpec,
  validateRequest,
  validateSchema,
} from '../../helpers/shipbob-openapi.ts';

const HEADERS = { authorization: 'Bearer pat-123', shipbob_channel_id: '128944', 'content-type': 'application/json' };

/** ShipBob's own order example (developer.shipbob.com guides/build-orders-integration, in NOTES.md §4). */
const GUIDE_ORDER = {
  shipping_method: 'Standard',
  recipient: {
    name: 'John Doe',
    address: {
      address1: '100 N Racine Ave',
      address2: 'Suite 100',
      company_name: null,
      city: 'Chicago',
      state: 'IL',
      country: 'US',
      zip_code: '60607',
    },
    email: 'johndoe@domain.com',
    phone_number: '555-555-5555',
  },
  products: [{ name: 'Light Roast Coffee', reference_id: 'LIGHT-ROAST', quantity: 1 }],
  reference_id: '1234762738908',
  order_number: '1001',
  type: 'DTC',
  tags: [
    { name: 'Subscription Order', value: '0' },
    { name: 'New Customer', value: '0' },
  ],
};

function order(patch: (o: Record<string, unknown>) => void): Record<string, unknown> {
  const o = structuredClone(GUIDE_ORDER) as Record<string, unknown>;
  patch(o);
  return o;
}

function postOrder(body: unknown, headers: Record<string, string> = HEADERS): string[] {
  return validateRequest('POST', '/2026-01/order', headers, body);
}

/**
 * Request examples of the spec that contradict the spec's own schema (generator placeholders, or an
 * enum that lags behind the docs). Each must fail with exactly these problems and nothing else.
 */
const CONTRADICTING_EXAMPLES: Record<string, RegExp[]> = {
  // "string" placeholders where the schema has the topic enum and the whsec_ pattern.
  'POST /2026-01/webhook': [/^body\.secret: does not match/, /^body\.topics\[0\]: "string" is not one of/],
  // 0 placeholder for an enum of 1, 2.
  'POST /2026-01/product': [/^body\.type_id: 0 is not one of 1, 2$/],
  'PATCH /2026-01/product/{productId}': [/^body\.type_id: 0 is not one of 1, 2$/],
  // "FC" is a reference type in the docs (NOTES §5) but not in this enum.
  'POST /2026-01/transactions:query': [/^body\.reference_types\[0\]: "FC" is not one of/],
};

describe('ShipBob OpenAPI request validator (test helper)', function () {
  before(function () {
    skipWithoutShipBobSpec(this);
  });

  describe("the spec's own request examples", function () {
    it('finds the examples (one per request body of the spec)', function () {
      const examples = requestExamples();
      expect(examples.length).to.be.at.least(20);
      expect(examples.map((e) => `${e.method} ${e.path}`)).to.include.members(['POST /2026-01/order', 'POST /2026-01/webhook']);
    });

    it('accepts every example, except those that contradict their own schema, which fail only there', function () {
      for (const ex of requestExamples()) {
        const key = `${ex.method} ${ex.path}`;
        const target = ex.path.replace(/\{[^}]+\}/g, '12345');
        const problems = validateRequest(ex.method, target, HEADERS, ex.example);
        const known = CONTRADICTING_EXAMPLES[key];
        if (!known) {
          expect(problems, key).to.deep.equal([]);
          continue;
        }
        expect(problems, key).to.have.length(known.length);
        for (const re of known) expect(problems.some((p) => re.test(p)), `${key}: ${re}`).to.equal(true);
      }
    });

    it('accepts the CreateOrderModel example, whose products go by id (required product_id quirk)', function () {
      const ex = requestExamples().find((e) => e.path === '/2026-01/order' && e.method === 'POST');
      expect(ex?.example).to.have.nested.property('products[0].id');
      expect(postOrder(ex?.example)).to.deep.equal([]);
      expect(validateSchema('Orders.AddProductToOrderByProductIdModel', { id: 1, quantity: 1 })).to.deep.equal([]);
    });

    it('accepts the webhook example once its placeholders are real values', function () {
      const ex = requestExamples().find((e) => e.path === '/2026-01/webhook');
      const body = { ...(ex?.example as object), topics: ['order.shipped'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
      expect(validateRequest('POST', '/2026-01/webhook', HEADERS, body)).to.deep.equal([]);
    });

    it("accepts ShipBob's guide example order (products by reference_id, null company_name)", function () {
      expect(postOrder(GUIDE_ORDER)).to.deep.equal([]);
      expect(postOrder(JSON.stringify(GUIDE_ORDER))).to.deep.equal([]);
    });
  });

  describe('broken bodies', function () {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['missing reference_id', order((o) => delete o.reference_id), /^body\.reference_id: required$/],
      ['empty reference_id', order((o) => (o.reference_id = '')), /^body\.reference_id: shorter than 1$/],
      ['numeric reference_id', order((o) => (o.reference_id = 1234762738908)), /^body\.reference_id: expected string/],
      ['missing shipping_method', order((o) => delete o.shipping_method), /^body\.shipping_method: required$/],
      ['unknown type', order((o) => (o.type = 'Retail')), /^body\.type: "Retail" is not one of "DTC", "DropShip", "B2B"$/],
      ['missing recipient', order((o) => delete o.recipient), /^body\.recipient: required$/],
      [
        'address without city',
        order((o) => delete (o.recipient as { address: Record<string, unknown> }).address.city),
        /^body\.recipient\.address: matches none of \[Orders\.AddressViewModel, Orders\.RetailerProgramDataAddressViewModel\]; closest: body\.recipient\.address\.city: required/,
      ],
      ['no products', order((o) => (o.products = [])), /^body\.products: fewer than 1 items$/],
      ['quantity as a string', order((o) => (o.products = [{ reference_id: 'X', name: 'X', quantity: '2' }])), /^body\.products\[0\]: matches none of/],
      ['product with neither reference_id nor id', order((o) => (o.products = [{ quantity: 1 }])), /^body\.products\[0\]: matches none of/],
      ['camelCase field', order((o) => (o.shippingMethod = 'Standard')), /^body\.shippingMethod: not a property of the schema$/],
      ['purchase_date not a date-time', order((o) => (o.purchase_date = 'yesterday')), /^body\.purchase_date: "yesterday" is not a date-time$/],
      ['fractional location_id', order((o) => (o.location_id = 1.5)), /^body\.location_id: expected integer \(int32\)/],
      ['location_id beyond int32', order((o) => (o.location_id = 2 ** 31)), /^body\.location_id: expected integer \(int32\)/],
      ['tag name longer than 50', order((o) => (o.tags = [{ name: 'x'.repeat(51), value: 'v' }])), /^body\.tags\[0\]\.name: longer than 50$/],
      ['tag without value', order((o) => (o.tags = [{ name: 'n' }])), /^body\.tags\[0\]\.value: required$/],
      ['shipping terms outside the enum', order((o) => (o.shipping_terms = { carrier_type: 'Boat' })), /^body\.shipping_terms\.carrier_type: "Boat" is not one of/],
      [
        'retailer data without purchase_order_number (spec says purchaseOrderNumber)',
        order((o) => (o.retailer_program_data = { retailer_program_type: 'EDI' })),
        /^body\.retailer_program_data\.purchase_order_number: required$/,
      ],
    ];
    for (const [name, body, expected] of cases) {
      it(`refuses ${name}`, function () {
        const problems = postOrder(body);
        expect(problems.some((p) => expected.test(p)), problems.join('\n')).to.equal(true);
      });
    }

    it('refuses a body that is not JSON, and a missing body', function () {
      expect(postOrder('{"reference_id":')).to.satisfy((p: string[]) => p.some((x) => /^body: not JSON/.test(x)));
      expect(validateRequest('POST', '/2026-01/order', HEADERS)).to.deep.equal(['body: missing (the operation takes a JSON body)']);
    });

    it('refuses a non-JSON content type and a body on an operation without one', function () {
      expect(postOrder(GUIDE_ORDER, { ...HEADERS, 'content-type': 'text/plain' })).to.deep.equal([
        'header Content-Type: text/plain is not application/json',
      ]);
      expect(validateRequest('GET', '/2026-01/order', HEADERS, { a: 1 })).to.deep.equal(['GET /2026-01/order takes no request body']);
    });
  });

  describe('paths, methods, parameters and headers', function () {
    it('needs shipbob_channel_id (an int32) and a bearer token to create an order', function () {
      const { shipbob_channel_id: _c, ...noChannel } = HEADERS;
      expect(postOrder(GUIDE_ORDER, noChannel)).to.deep.equal(['header parameter shipbob_channel_id: required']);
      expect(postOrder(GUIDE_ORDER, { ...HEADERS, shipbob_channel_id: 'abc' })).to.deep.equal([
        'header parameter shipbob_channel_id: "abc" is not an integer',
      ]);
      const { authorization: _a, ...noAuth } = HEADERS;
      expect(postOrder(GUIDE_ORDER, noAuth)).to.deep.equal(['header Authorization: a bearer token (PAT or OAuth2) is required']);
      expect(validateRequest('GET', '/2026-01/order', new Headers({ Authorization: 'Bearer t', Shipbob_Channel_Id: '1' }))).to.deep.equal([]);
    });

    it('matches path templates, including custom methods after a colon', function () {
      expect(validateRequest('POST', '/2026-01/order/123:cancel', HEADERS)).to.deep.equal([]);
      expect(validateRequest('GET', '/2026-01/order/123', HEADERS)).to.deep.equal([]);
      expect(validateRequest('GET', '/2026-01/order/123/shipment/456', HEADERS)).to.deep.equal([]);
      expect(validateRequest('DELETE', '/2026-01/webhook/12345', HEADERS)).to.deep.equal([]);
      expect(validateRequest('GET', '/2026-01/order/abc', HEADERS)).to.deep.equal(['path parameter orderId: "abc" is not an integer']);
    });

    it('reports unknown paths and methods', function () {
      expect(validateRequest('GET', '/2026-01/orders', HEADERS)).to.deep.equal(['no path of the spec matches /2026-01/orders']);
      expect(validateRequest('PUT', '/2026-01/order', HEADERS)).to.deep.equal(['PUT is not an operation of /2026-01/order (spec has GET, POST)']);
      expect(validateRequest('GET', '/2025-07/order', HEADERS)[0]).to.match(/^no path of the spec matches/);
    });

    it('checks query parameters and takes full URLs or a prefix before the version', function () {
      expect(validateRequest('GET', 'http://127.0.0.1:9/sandbox/shipbob/2026-01/order?ReferenceIds=a,b&Limit=250', HEADERS)).to.deep.equal([]);
      expect(validateRequest('GET', '/2026-01/order?Limit=500', HEADERS)).to.deep.equal(['query parameter Limit: above the maximum 250']);
      expect(validateRequest('GET', '/2026-01/order?HasTracking=maybe', HEADERS)).to.deep.equal([
        'query parameter HasTracking: expected boolean, got string "maybe"',
      ]);
    });
  });
});
