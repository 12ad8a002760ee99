import { expect } from 'chai';
import { GatewayError, type ErrorCode } from '../../../../src/domain/errors.ts';
import type { XmlRecord } from '../../../../src/domain/event.ts';
import { parsePush, type ParseLimits, type ParsedPush, type UsernameToken } from '../../../../src/inbound/soap/envelope.ts';
import { chunksOf } from '../../../helpers/chunks.ts';

// ---------------------------------------------------------------------------------------------------------
// Builders

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const OM = 'http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const PW_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const PW_DIGEST =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const NONCE_B64 =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

const LIMITS: ParseLimits = { maxBytes: 1024 * 1024, maxDepth: 64, maxElements: 10_000 };

interface EnvOptions {
  version?: '1.1' | '1.2';
  prefix?: string;
  header?: string;
  body: string;
  prolog?: string;
  envelopeAttrs?: string;
  bodyAttrs?: string;
}

function env(o: EnvOptions): string {
  const p = o.prefix ?? 'soapenv';
  const ns = o.version === '1.2' ? SOAP12 : SOAP11;
  const header = o.header === undefined ? '' : `\n  <${p}:Header>${o.header}</${p}:Header>`;
  return (
    `${o.prolog ?? '<?xml version="1.0" encoding="UTF-8"?>\n'}` +
    `<${p}:Envelope xmlns:${p}="${ns}"${o.envelopeAttrs ?? ''}>${header}\n` +
    `  <${p}:Body${o.bodyAttrs ?? ''}>\n${o.body}\n  </${p}:Body>\n</${p}:Envelope>`
  );
}

/** `results` with the given OrderHeader bodies, all elements prefixed with `p`. */
function results(headers: string[], p = 'ns1'): string {
  const open = p === '' ? `<results xmlns="${OM}">` : `<${p}:results xmlns:${p}="${OM}">`;
  const close = p === '' ? '</results>' : `</${p}:results>`;
  return `${open}\n${headers.map((h) => `  ${q('OrderHeader', h, p)}`).join('\n')}\n${close}`;
}

/** Element `p:name` wrapping content. */
function q(name: string, content: string, p = 'ns1'): string {
  const n = p === '' ? name : `${p}:${name}`;
  return `<${n}>${content}</${n}>`;
}

/** Leaf elements from an object, in order. */
function leaves(fields: Record<string, string>, p = 'ns1'): string {
  return Object.entries(fields)
    .map(([k, v]) => q(k, v, p))
    .join('');
}

interface TokenOptions {
  user?: string;
  password?: string;
  type?: string | null;
  nonce?: string;
  created?: string;
  mustUnderstand?: string;
  soapPrefix?: string;
}

function security(o: TokenOptions = {}): string {
  const sp = o.soapPrefix ?? 'soapenv';
  const mu = o.mustUnderstand === undefined ? '' : ` ${sp}:mustUnderstand="${o.mustUnderstand}"`;
  const type = o.type === null ? '' : ` Type="${o.type ?? PW_TEXT}"`;
  const nonce = o.nonce === undefined ? '' : `<wsse:Nonce EncodingType="${NONCE_B64}">${o.nonce}</wsse:Nonce>`;
  const created = o.created === undefined ? '' : `<wsu:Created>${o.created}</wsu:Created>`;
  return (
    `<wsse:Security${mu} xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}">` +
    `<wsse:UsernameToken wsu:Id="UsernameToken-1">` +
    `<wsse:Username>${o.user ?? 'OM_CONNECTOR_USER'}</wsse:Username>` +
    `<wsse:Password${type}>${o.password ?? 'secret'}</wsse:Password>${nonce}${created}` +
    `</wsse:UsernameToken></wsse:Security>`
  );
}

/** What Oracle's own client may add: WS-Addressing, wsu:Timestamp, Nonce and Created with PasswordText. */
function oracleHeader(password = 'Welcome1', addressing = true): string {
  return (
    (addressing ? wsAddressing() : '') +
    oracleSecurity(password)
  );
}

function wsAddressing(): string {
  return (
    `<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">https://gw.example.com/om/events</wsa:To>` +
    `<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">pushPayload</wsa:Action>` +
    `<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:uuid:5b1a6c4e-0c1f-4f0e-9d7e-3f3c2b1a0e9d</wsa:MessageID>` +
    `<wsa:ReplyTo xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>` +
    `<work:WorkContext xmlns:work="http://oracle.com/weblogic/soap/workarea/">rO0ABXdbABh3ZWJsb2dpYy5hcHAub21fZ2F0ZXdheQ==</work:WorkContext>`
  );
}

function oracleSecurity(password: string): string {
  return (
    `<wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}">` +
    `<wsu:Timestamp wsu:Id="TS-1"><wsu:Created>2025-03-04T10:15:30.123Z</wsu:Created><wsu:Expires>2025-03-04T10:20:30.123Z</wsu:Expires></wsu:Timestamp>` +
    `<wsse:UsernameToken wsu:Id="UsernameToken-2">` +
    `<wsse:Username>OM_CONNECTOR_USER</wsse:Username>` +
    `<wsse:Password Type="${PW_TEXT}">${password}</wsse:Password>` +
    `<wsse:Nonce EncodingType="${NONCE_B64}">q83vEjRWeJA=</wsse:Nonce>` +
    `<wsu:Created>2025-03-04T10:15:30.120Z</wsu:Created>` +
    `</wsse:UsernameToken></wsse:Security>`
  );
}

function parse(xml: string | Buffer, chunkSize?: number, limits: ParseLimits = LIMITS): Promise<ParsedPush> {
  return parsePush(chunksOf(xml, chunkSize), limits);
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(GatewayError);
    const ge = err as GatewayError;
    expect(ge.code, ge.message).to.equal(code);
    return ge;
  }
  return expect.fail(`expected GatewayError ${code}, but parsing succeeded`);
}

/** The only OrderHeader of a push. */
async function onlyHeader(xml: string): Promise<XmlRecord> {
  const r = await parse(xml);
  expect(r.headers).to.have.length(1);
  const h = r.headers[0];
  if (h === undefined) return expect.fail('no header');
  return h;
}

// Sample from NOTES 3.4 (fulfillment line status update), verbatim apart from the password.
const FLINE_SAMPLE = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Header>
    <wsse:Security soapenv:mustUnderstand="1"
        xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
        xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
      <wsse:UsernameToken wsu:Id="UsernameToken-1">
        <wsse:Username>OM_CONNECTOR_USER</wsse:Username>
        <wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">Tr0ub4dor3</wsse:Password>
      </wsse:UsernameToken>
    </wsse:Security>
  </soapenv:Header>
  <soapenv:Body>
    <ns1:results xmlns:ns1="http://xmlns.oracle.com/apps/scm/doo/decomposition/DooDecompositionOrderStatusUpdateComposite">
      <ns1:OrderHeader>
        <ns1:EventCode>FlineStatusUpdate</ns1:EventCode>
        <ns1:SourceOrderSystem>LEG</ns1:SourceOrderSystem>
        <ns1:SourceOrderId>SO-100234</ns1:SourceOrderId>
        <ns1:SourceOrderNumber>SO-100234</ns1:SourceOrderNumber>
        <ns1:StatusCodeOldValue>OPEN</ns1:StatusCodeOldValue>
        <ns1:StatusCodeNewValue>OPEN</ns1:StatusCodeNewValue>
        <ns1:OrderLine>
          <ns1:OrchestrationOrderLineNumber>1</ns1:OrchestrationOrderLineNumber>
          <ns1:StatusCodeOldValue>AWAIT_SHIPPING</ns1:StatusCodeOldValue>
          <ns1:StatusCodeNewValue>SHIPPED</ns1:StatusCodeNewValue>
          <ns1:OrderFulfillmentLine>
            <ns1:SourceOrderScheduleId>1</ns1:SourceOrderScheduleId>
            <ns1:OrchestrationOrderLineId>300100072403400</ns1:OrchestrationOrderLineId>
            <ns1:FulfillmentOrderLineId>300100072403436</ns1:FulfillmentOrderLineId>
            <ns1:StatusCodeOldValue>AWAIT_SHIPPING</ns1:StatusCodeOldValue>
            <ns1:StatusCodeNewValue>SHIPPED</ns1:StatusCodeNewValue>
          </ns1:OrderFulfillmentLine>
        </ns1:OrderLine>
      </ns1:OrderHeader>
    </ns1:results>
  </soapenv:Body>
</soapenv:Envelope>`;

const FLINE_EXPECTED: XmlRecord = {
  EventCode: 'FlineStatusUpdate',
  SourceOrderSystem: 'LEG',
  SourceOrderId: 'SO-100234',
  SourceOrderNumber: 'SO-100234',
  StatusCodeOldValue: 'OPEN',
  StatusCodeNewValue: 'OPEN',
  OrderLine: [
    {
      OrchestrationOrderLineNumber: '1',
      StatusCodeOldValue: 'AWAIT_SHIPPING',
      StatusCodeNewValue: 'SHIPPED',
      OrderFulfillmentLine: [
        {
          SourceOrderScheduleId: '1',
          OrchestrationOrderLineId: '300100072403400',
          FulfillmentOrderLineId: '300100072403436',
          StatusCodeOldValue: 'AWAIT_SHIPPING',
          StatusCodeNewValue: 'SHIPPED',
        },
      ],
    },
  ],
};

/** A realistic push of about 3.6 KB: UsernameToken with Nonce/Created and a wsu:Timestamp, one OrderHeader with 3 lines. */
function realisticPush(): string {
  const line = (n: number): string =>
    q(
      'OrderLine',
      leaves({
        OrchestrationOrderLineId: `30010007240340${n}`,
        OrchestrationOrderLineNumber: String(n),
        StatusCodeOldValue: 'AWAIT_SHIPPING',
        StatusCodeNewValue: 'SHIPPED',
      }) +
        q(
          'OrderFulfillmentLine',
          leaves({
            SourceOrderScheduleId: String(n),
            OrchestrationOrderLineId: `30010007240340${n}`,
            FulfillmentOrderLineId: `30010007240343${n}`,
            OrderedQtyNew: '10.50',
            StatusCodeOldValue: 'AWAIT_SHIPPING',
            StatusCodeNewValue: 'SHIPPED',
          }),
        ),
    );
  const header =
    leaves({
      EventCode: 'FlineStatusUpdate',
      SourceOrderSystem: 'LEG',
      SourceOrderId: 'SO-100234',
      SourceOrderNumber: 'SO-100234',
      OrchestrationOrderNumber: '512345',
      OrchestrationOrderId: '300100072403300',
      StatusCodeOldValue: 'OPEN',
      StatusCodeNewValue: 'OPEN',
    }) +
    line(1) +
    line(2) +
    line(3);
  return env({ header: oracleHeader('Welcome1', false), body: results([header]) });
}

// ---------------------------------------------------------------------------------------------------------

describe('inbound/soap/envelope parsePush', () => {
  describe('SOAP envelope', () => {
    it('parses the NOTES 3.4 FlineStatusUpdate sample (SOAP 1.1)', async () => {
      const r = await parse(FLINE_SAMPLE);
      expect(r.soapVersion).to.equal('1.1');
      expect(r.headers).to.deep.equal([FLINE_EXPECTED]);
      expect(r.byteLength).to.equal(Buffer.byteLength(FLINE_SAMPLE));
      expect(r.usernameToken).to.deep.equal({
        username: 'OM_CONNECTOR_USER',
        password: 'Tr0ub4dor3',
        passwordType: 'text',
        nonce: null,
        created: null,
      });
    });

    it('parses a SOAP 1.2 envelope', async () => {
      const xml = env({
        version: '1.2',
        prefix: 'env',
        header: security({ soapPrefix: 'env', mustUnderstand: 'true' }),
        body: results([leaves({ EventCode: 'HOLD' })]),
      });
      const r = await parse(xml);
      expect(r.soapVersion).to.equal('1.2');
      expect(r.headers).to.deep.equal([{ EventCode: 'HOLD' }]);
      expect(r.usernameToken?.password).to.equal('secret');
    });

    it('matches by namespace URI and local name whatever the prefixes (inp:, default namespace)', async () => {
      const fields = { EventCode: 'SPLIT', OrchestrationOrderId: '300100072403300' };
      const a = await parse(env({ body: results([leaves(fields, 'inp')], 'inp') }));
      const b = await parse(env({ body: results([leaves(fields, '')], '') }));
      const c = await parse(
        `<Envelope xmlns="${SOAP11}"><Body><results xmlns="${OM}"><OrderHeader>` +
          `<EventCode>SPLIT</EventCode><OrchestrationOrderId>300100072403300</OrchestrationOrderId>` +
          `</OrderHeader></results></Body></Envelope>`,
      );
      expect(a.headers).to.deep.equal([fields]);
      expect(b.headers).to.deep.equal([fields]);
      expect(c.headers).to.deep.equal([fields]);
    });

    it('accepts an envelope without Header and without XML declaration', async () => {
      const r = await parse(env({ prolog: '', body: results([leaves({ EventCode: 'HOLD' })]) }));
      expect(r.usernameToken).to.equal(null);
      expect(r.headers).to.have.length(1);
    });

    it('returns no headers for an empty results element', async () => {
      const r = await parse(env({ body: `<ns1:results xmlns:ns1="${OM}"/>` }));
      expect(r.headers).to.deep.equal([]);
    });

    it('ignores processing instructions and comments', async () => {
      const xml = env({
        prolog: '<?xml version="1.0"?>\n<?xml-stylesheet href="x.xsl"?>\n<!-- before -->\n',
        body: `<!-- c --><?pi x?>${results([`<!-- in header -->${leaves({ EventCode: 'HOLD' })}<?pi y?>`])}`,
      });
      expect((await parse(xml)).headers).to.deep.equal([{ EventCode: 'HOLD' }]);
    });
  });

  describe('event shapes (NOTES 2.3 / 3.4)', () => {
    it('OrderHeaderStatusUpdate', async () => {
      const fields = {
        EventCode: 'OrderHeaderStatusUpdate',
        SourceOrderSystem: 'LEG',
        SourceOrderId: 'SO-100234',
        SourceOrderNumber: 'SO-100234',
        OrchestrationOrderNumber: '512345',
        OrchestrationOrderId: '300100072403300',
        CustomerId: '300100001234567',
        StatusPriorValue: 'OPEN',
        StatusNewValue: 'CLOSED',
      };
      expect(await onlyHeader(env({ body: results([leaves(fields)]) }))).to.deep.equal(fields);
    });

    it('HOLD on a fulfillment line', async () => {
      const body = results([
        leaves({
          EventCode: 'HOLD',
          SourceOrderSystem: 'LEG',
          SourceOrderNumber: 'SO-100234',
          OrchestrationOrderId: '300100072403300',
          HoldCode: 'CREDIT_CHECK',
        }) +
          q(
            'OrderLine',
            leaves({ OrchestrationOrderLineId: '300100072403400' }) +
              q(
                'OrderFulfillmentLine',
                leaves({
                  FulfillmentOrderLineId: '300100072403436',
                  HoldCode: 'CREDIT_CHECK',
                  HoldComments: 'Credit review',
                  ItemId: '300100010000001',
                  InventoryOrganizationId: '204',
                }),
              ),
          ),
      ]);
      expect(await onlyHeader(env({ body }))).to.deep.equal({
        EventCode: 'HOLD',
        SourceOrderSystem: 'LEG',
        SourceOrderNumber: 'SO-100234',
        OrchestrationOrderId: '300100072403300',
        HoldCode: 'CREDIT_CHECK',
        OrderLine: [
          {
            OrchestrationOrderLineId: '300100072403400',
            OrderFulfillmentLine: [
              {
                FulfillmentOrderLineId: '300100072403436',
                HoldCode: 'CREDIT_CHECK',
                HoldComments: 'Credit review',
                ItemId: '300100010000001',
                InventoryOrganizationId: '204',
              },
            ],
          },
        ],
      });
    });

    it('JEOPARDY: EventCode on the OrderLine, OrderHeader without fields', async () => {
      const body = results([
        q(
          'OrderLine',
          leaves({
            EventCode: 'JEOPARDY',
            OrchestrationOrderLineId: '300100072403400',
            SourceOrderSystem: 'LEG',
            SourceOrderId: 'SO-100234',
          }) +
            q(
              'OrderFulfillmentLine',
              leaves({ FulfillmentOrderLineId: '300100072403436', JeopardyPriority: 'HIGH' }),
            ),
        ),
      ]);
      const h = await onlyHeader(env({ body }));
      expect(h).to.not.have.property('EventCode');
      expect(h).to.deep.equal({
        OrderLine: [
          {
            EventCode: 'JEOPARDY',
            OrchestrationOrderLineId: '300100072403400',
            SourceOrderSystem: 'LEG',
            SourceOrderId: 'SO-100234',
            OrderFulfillmentLine: [{ FulfillmentOrderLineId: '300100072403436', JeopardyPriority: 'HIGH' }],
          },
        ],
      });
    });

    it('SPLIT with quantities kept as written', async () => {
      const body = results([
        leaves({ EventCode: 'SPLIT', OrchestrationOrderId: '300100072403300', CustomerId: '300100001234567' }) +
          q(
            'OrderLine',
            leaves({
              OrchestrationOrderLineId: '300100072403400',
              PreSplitOrderedQuantity: '10.000',
              ItemId: '300100010000001',
              InventoryOrganizationId: '204',
            }) +
              q('OrderFulfillmentLine', leaves({ FulfillmentOrderLineId: '1', ShippedQuantity: '4', OrderedQuantity: '4' })) +
              q('OrderFulfillmentLine', leaves({ FulfillmentOrderLineId: '2', ShippedQuantity: '0', OrderedQuantity: '6.00' })),
          ),
      ]);
      const h = await onlyHeader(env({ body }));
      expect(h).to.deep.equal({
        EventCode: 'SPLIT',
        OrchestrationOrderId: '300100072403300',
        CustomerId: '300100001234567',
        OrderLine: [
          {
            OrchestrationOrderLineId: '300100072403400',
            PreSplitOrderedQuantity: '10.000',
            ItemId: '300100010000001',
            InventoryOrganizationId: '204',
            OrderFulfillmentLine: [
              { FulfillmentOrderLineId: '1', ShippedQuantity: '4', OrderedQuantity: '4' },
              { FulfillmentOrderLineId: '2', ShippedQuantity: '0', OrderedQuantity: '6.00' },
            ],
          },
        ],
      });
    });

    it('FlineClosed', async () => {
      const body = results([
        leaves({ EventCode: 'FlineClosed', SourceOrderNumber: 'SO-1', OrchestrationOrderId: '300100072403300' }) +
          q(
            'OrderLine',
            leaves({ OrchestrationOrderLineId: '300100072403400', OpenFlagNewValue: 'N', OpenFlagOldValue: 'Y' }) +
              q(
                'OrderFulfillmentLine',
                leaves({ FulfillmentOrderLineId: '300100072403436', CancelFlagOldValue: 'N', CancelFlagNewValue: 'N' }),
              ),
          ),
      ]);
      const h = await onlyHeader(env({ body }));
      expect(h['EventCode']).to.equal('FlineClosed');
      expect(h['OrderLine']).to.deep.equal([
        {
          OrchestrationOrderLineId: '300100072403400',
          OpenFlagNewValue: 'N',
          OpenFlagOldValue: 'Y',
          OrderFulfillmentLine: [
            { FulfillmentOrderLineId: '300100072403436', CancelFlagOldValue: 'N', CancelFlagNewValue: 'N' },
          ],
        },
      ]);
    });

    it('OcResponse', async () => {
      const body = results([
        leaves({
          EventCode: 'OcResponse',
          SourceOrderSystem: 'LEG',
          SourceOrderNumber: 'SO-100234',
          CompensationStatus: 'SUCCESS',
          CompensationMessage: 'Change order &lt;3&gt; applied &amp; compensated',
        }) +
          q(
            'OrderLine',
            leaves({ SourceOrderLineId: 'SOL-1' }) +
              q('OrderFulfillmentLine', leaves({ FulfillmentOrderLineId: '300100072403436' })),
          ),
      ]);
      expect(await onlyHeader(env({ body }))).to.deep.equal({
        EventCode: 'OcResponse',
        SourceOrderSystem: 'LEG',
        SourceOrderNumber: 'SO-100234',
        CompensationStatus: 'SUCCESS',
        CompensationMessage: 'Change order <3> applied & compensated',
        OrderLine: [
          { SourceOrderLineId: 'SOL-1', OrderFulfillmentLine: [{ FulfillmentOrderLineId: '300100072403436' }] },
        ],
      });
    });

    it('OrderAttributeUpdate with OrderFulfillmentLineDetails and nested OrderFulfillmentLineEFFs', async () => {
      const eff = (seg: string, oldV: string, newV: string): string =>
        q('OrderFulfillmentLineEFFs', leaves({ ContextCode: 'ShipInfo', SegmentCode: seg, SegmentCharOldValue: oldV, SegmentCharNewValue: newV }));
      const body = results([
        leaves({ EventCode: 'OrderAttributeUpdate', OrchestrationOrderId: '300100072403300' }) +
          q(
            'OrderLine',
            leaves({ OrchestrationOrderLineId: '300100072403400' }) +
              q(
                'OrderFulfillmentLine',
                leaves({
                  FulfillmentOrderLineId: '300100072403436',
                  ScheduleShipDateNew: '2025-03-05T00:00:00.000+00:00',
                  ScheduleShipDateOld: '2025-03-04T00:00:00.000+00:00',
                  UnitSellingPriceNew: '19.990',
                  UnitSellingPriceOld: '20',
                }) +
                  q(
                    'OrderFulfillmentLineDetails',
                    leaves({
                      FulfillmentOrderLineDetailId: '300100099999999001',
                      TaskType: 'Shipment',
                      TrackingNumber: '1Z999AA10123456784',
                      Quantity: '2.0',
                    }) +
                      eff('Carrier', 'UPS', 'FEDEX') +
                      eff('Dock', 'A', 'B'),
                  ) +
                  q('OrderFulfillmentLineDetails', leaves({ TaskType: 'Invoice', BillingTransactionAmount: '39.98' })),
              ),
          ),
      ]);
      const h = await onlyHeader(env({ body }));
      expect(h).to.deep.equal({
        EventCode: 'OrderAttributeUpdate',
        OrchestrationOrderId: '300100072403300',
        OrderLine: [
          {
            OrchestrationOrderLineId: '300100072403400',
            OrderFulfillmentLine: [
              {
                FulfillmentOrderLineId: '300100072403436',
                ScheduleShipDateNew: '2025-03-05T00:00:00.000+00:00',
                ScheduleShipDateOld: '2025-03-04T00:00:00.000+00:00',
                UnitSellingPriceNew: '19.990',
                UnitSellingPriceOld: '20',
                OrderFulfillmentLineDetails: [
                  {
                    FulfillmentOrderLineDetailId: '300100099999999001',
                    TaskType: 'Shipment',
                    TrackingNumber: '1Z999AA10123456784',
                    Quantity: '2.0',
                    OrderFulfillmentLineEFFs: [
                      { ContextCode: 'ShipInfo', SegmentCode: 'Carrier', SegmentCharOldValue: 'UPS', SegmentCharNewValue: 'FEDEX' },
                      { ContextCode: 'ShipInfo', SegmentCode: 'Dock', SegmentCharOldValue: 'A', SegmentCharNewValue: 'B' },
                    ],
                  },
                  { TaskType: 'Invoice', BillingTransactionAmount: '39.98' },
                ],
              },
            ],
          },
        ],
      });
    });

    it('keeps several OrderHeaders in document order', async () => {
      const r = await parse(
        env({
          body: results([
            leaves({ EventCode: 'HOLD', SourceOrderNumber: 'A' }),
            leaves({ EventCode: 'SPLIT', SourceOrderNumber: 'B' }),
            leaves({ EventCode: 'FlineClosed', SourceOrderNumber: 'C' }),
          ]),
        }),
      );
      expect(r.headers).to.deep.equal([
        { EventCode: 'HOLD', SourceOrderNumber: 'A' },
        { EventCode: 'SPLIT', SourceOrderNumber: 'B' },
        { EventCode: 'FlineClosed', SourceOrderNumber: 'C' },
      ]);
    });
  });

  describe('values', () => {
    it('keeps ids above 2^53 and decimals exactly as written', async () => {
      const h = await onlyHeader(
        env({
          body: results([
            leaves({ OrchestrationOrderId: '300100072403436123456', CustomerId: '9007199254740993' }) +
              q('OrderLine', q('OrderFulfillmentLine', leaves({ OrderedQtyNew: '10.50', UnitSellingPriceNew: '0.10000', FulfillmentOrderLineId: '00012' }))),
          ]),
        }),
      );
      expect(h['OrchestrationOrderId']).to.equal('300100072403436123456');
      expect(h['CustomerId']).to.equal('9007199254740993');
      expect(h['OrderLine']).to.deep.equal([
        { OrderFulfillmentLine: [{ OrderedQtyNew: '10.50', UnitSellingPriceNew: '0.10000', FulfillmentOrderLineId: '00012' }] },
      ]);
    });

    it('maps xsi:nil="true" (any prefix) to null and empty elements to ""', async () => {
      const body =
        `<ns1:results xmlns:ns1="${OM}" xmlns:xsi="${XSI}"><ns1:OrderHeader>` +
        `<ns1:EventCode>HOLD</ns1:EventCode>` +
        `<ns1:CustomerId xsi:nil="true"/>` +
        `<ns1:HoldCode i:nil="true" xmlns:i="${XSI}"></ns1:HoldCode>` +
        `<ns1:HoldComments xsi:nil="1"/>` +
        `<ns1:SourceOrderId xsi:nil="false">X</ns1:SourceOrderId>` +
        `<ns1:SourceOrderNumber/>` +
        `<ns1:StatusCodeOldValue></ns1:StatusCodeOldValue>` +
        `<ns1:StatusCodeNewValue nil="true">N</ns1:StatusCodeNewValue>` +
        `</ns1:OrderHeader></ns1:results>`;
      expect(await onlyHeader(env({ body }))).to.deep.equal({
        EventCode: 'HOLD',
        CustomerId: null,
        HoldCode: null,
        HoldComments: null,
        SourceOrderId: 'X',
        SourceOrderNumber: '',
        StatusCodeOldValue: '',
        StatusCodeNewValue: 'N', // nil without the xsi namespace is an ordinary attribute
      });
    });

    it('keeps leaf text exactly (spaces, entities, character references, CDATA)', async () => {
      const body = results([
        leaves({
          HoldComments: '  two  spaces &amp; &lt;tag&gt; &#233;&#x4E2D; ',
          CompensationMessage: '<![CDATA[<raw> & ]]>tail',
          SourceOrderId: '   ',
        }),
      ]);
      expect(await onlyHeader(env({ body }))).to.deep.equal({
        HoldComments: '  two  spaces & <tag> é中 ',
        CompensationMessage: '<raw> & tail',
        SourceOrderId: '   ',
      });
    });

    it('always makes arrays of OrderLine, OrderFulfillmentLine, ...Details and ...EFFs; other repeats become arrays', async () => {
      const body = results([
        leaves({ EventCode: 'HOLD' }) +
          q('OrderLine', q('OrderFulfillmentLine', q('OrderFulfillmentLineDetails', q('OrderFulfillmentLineEFFs', leaves({ SegmentCode: 'S' }))))) +
          q('Extra', leaves({ A: '1' })) +
          q('Extra', leaves({ A: '2' })) +
          leaves({ Note: 'first' }) +
          leaves({ Note: 'second' }) +
          '<ns1:Note xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>' +
          '<ns1:OrderLine/>',
      ]);
      expect(await onlyHeader(env({ body }))).to.deep.equal({
        EventCode: 'HOLD',
        OrderLine: [
          { OrderFulfillmentLine: [{ OrderFulfillmentLineDetails: [{ OrderFulfillmentLineEFFs: [{ SegmentCode: 'S' }] }] }] },
          {},
        ],
        Extra: [{ A: '1' }, { A: '2' }],
        Note: [{ '#text': 'first' }, { '#text': 'second' }, { '#text': null }],
      });
    });

    it('keeps unknown elements and elements of other namespaces by local name; ignores attributes', async () => {
      const body = results([
        leaves({ EventCode: 'FlineStatusUpdate' }) +
          `<ns1:NewCloudField attr="ignored">v</ns1:NewCloudField>` +
          `<x:Extension xmlns:x="urn:example:ext" x:version="2"><x:Key>k</x:Key><ns1:Value>v</ns1:Value></x:Extension>` +
          `<Unqualified xmlns="">plain</Unqualified>` +
          `<ns1:constructor>c</ns1:constructor><ns1:__proto__>p</ns1:__proto__>`,
      ]);
      const h = await onlyHeader(env({ body }));
      expect(Object.keys(h)).to.deep.equal([
        'EventCode',
        'NewCloudField',
        'Extension',
        'Unqualified',
        'constructor',
        '__proto__',
      ]);
      expect(h['NewCloudField']).to.equal('v');
      expect(h['Extension']).to.deep.equal({ Key: 'k', Value: 'v' });
      expect(h['Unqualified']).to.equal('plain');
      expect(h['constructor']).to.equal('c');
      expect(Object.getOwnPropertyDescriptor(h, '__proto__')?.value).to.equal('p');
      expect(Object.getPrototypeOf(h)).to.equal(Object.prototype);
    });

    it('keeps non-whitespace mixed content under "#text"', async () => {
      const body = results([`${q('Odd', `hello ${q('Child', 'c')} world`)}`]);
      expect(await onlyHeader(env({ body }))).to.deep.equal({ Odd: { Child: 'c', '#text': 'hello  world' } });
    });
  });

  describe('WS-Security header', () => {
    it('reads a PasswordText token', async () => {
      const r = await parse(env({ header: security({ user: 'u1', password: 'p1' }), body: results([]) }));
      expect(r.usernameToken).to.deep.equal({
        username: 'u1',
        password: 'p1',
        passwordType: 'text',
        nonce: null,
        created: null,
      });
    });

    it('reads a PasswordDigest token with Nonce and Created', async () => {
      const r = await parse(
        env({
          header: security({
            user: 'u2',
            password: 'tuOSpGlFlIXsozq4HFNeeGeFLEI=',
            type: PW_DIGEST,
            nonce: 'LKqI6G/AikKCQrN0zqZFlg==',
            created: '2025-03-04T10:15:30Z',
          }),
          body: results([]),
        }),
      );
      expect(r.usernameToken).to.deep.equal({
        username: 'u2',
        password: 'tuOSpGlFlIXsozq4HFNeeGeFLEI=',
        passwordType: 'digest',
        nonce: 'LKqI6G/AikKCQrN0zqZFlg==',
        created: '2025-03-04T10:15:30Z',
      });
      expect(r.redactedXml).to.not.include('tuOSpGlFlIXsozq4HFNeeGeFLEI=');
    });

    it('treats a missing Type as text, the two OASIS URIs as their kinds, anything else (the QName form too) as null', async () => {
      const tokenOf = async (type: string | null): Promise<string | null | undefined> =>
        (await parse(env({ header: security({ type }), body: results([]) }))).usernameToken?.passwordType;
      expect(await tokenOf(null)).to.equal('text');
      const profile = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
      expect(await tokenOf(`${profile}#PasswordText`)).to.equal('text');
      expect(await tokenOf(`${profile}#PasswordDigest`)).to.equal('digest');
      expect(await tokenOf('wsse:PasswordDigest')).to.equal(null);
      expect(await tokenOf('PasswordText')).to.equal(null);
      expect(await tokenOf('urn:example#PasswordText')).to.equal(null);
    });

    it('accepts Oracle-style headers (WS-Addressing, wsu:Timestamp, WorkContext, Nonce and Created with PasswordText)', async () => {
      const r = await parse(env({ header: oracleHeader('Welcome1'), body: results([leaves({ EventCode: 'HOLD' })]) }));
      expect(r.usernameToken).to.deep.equal({
        username: 'OM_CONNECTOR_USER',
        password: 'Welcome1',
        passwordType: 'text',
        nonce: 'q83vEjRWeJA=',
        created: '2025-03-04T10:15:30.120Z', // the token's Created, not the Timestamp's
      });
      expect(r.headers).to.deep.equal([{ EventCode: 'HOLD' }]);
    });

    it('accepts Perl-style requests (soap:encodingStyle, mustUnderstand="1", SOAP::Lite namespaces)', async () => {
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:xsi="${XSI}" ` +
        `xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
        `soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soap="${SOAP11}">` +
        `<soap:Header>${security({ soapPrefix: 'soap', mustUnderstand: '1', user: 'perl', password: 'camel' })}</soap:Header>` +
        `<soap:Body soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">` +
        `<results xmlns="${OM}"><OrderHeader><EventCode xsi:type="xsd:string">HOLD</EventCode></OrderHeader></results>` +
        `</soap:Body></soap:Envelope>`;
      const r = await parse(xml);
      expect(r.usernameToken?.username).to.equal('perl');
      expect(r.usernameToken?.password).to.equal('camel');
      expect(r.headers).to.deep.equal([{ EventCode: 'HOLD' }]);
    });

    it('returns null when there is no UsernameToken, and uses the first token when there are several', async () => {
      const none = await parse(env({ header: '<x:Other xmlns:x="urn:x">1</x:Other>', body: results([]) }));
      expect(none.usernameToken).to.equal(null);
      const two = await parse(
        env({ header: security({ user: 'first', password: 'a' }) + security({ user: 'second', password: 'b' }), body: results([]) }),
      );
      expect(two.usernameToken?.username).to.equal('first');
      expect(two.redactedXml).to.not.match(/>a<|>b</);
    });
  });

  describe('redactedXml', () => {
    it('replaces the Password content by *** and keeps everything else byte for byte', async () => {
      const xml = env({ header: security({ password: 'Sup3rS3cret' }), body: results([leaves({ EventCode: 'HOLD' })]) });
      const r = await parse(xml);
      expect(r.redactedXml).to.not.include('Sup3rS3cret');
      expect(r.redactedXml).to.equal(xml.replace('Sup3rS3cret', '***'));
      expect(r.redactedXml).to.include(`<wsse:Password Type="${PW_TEXT}">***</wsse:Password>`);
    });

    it('redacts passwords written with &amp; escapes and character references', async () => {
      const xml = env({ header: security({ password: 'p&amp;ss&#119;ord&lt;x' }), body: results([]) });
      const r = await parse(xml);
      expect(r.usernameToken?.password).to.equal('p&ssword<x');
      expect(r.redactedXml).to.not.include('p&amp;ss');
      expect(r.redactedXml).to.not.include('p&ss');
      expect(r.redactedXml).to.not.include('&#119;ord');
      expect(r.redactedXml).to.equal(xml.replace('p&amp;ss&#119;ord&lt;x', '***'));
    });

    it('redacts CDATA and comments inside the Password, and every Password element', async () => {
      const xml = env({
        header: security({ password: '<![CDATA[c<d]]>e<!-- f -->' }) + `<x:Creds xmlns:x="urn:x"><x:Password>other</x:Password></x:Creds>`,
        body: results([]),
      });
      const r = await parse(xml, 5);
      expect(r.usernameToken?.password).to.equal('c<de');
      expect(r.redactedXml).to.equal(
        xml.replace('<![CDATA[c<d]]>e<!-- f -->', '***').replace('<x:Password>other<', '<x:Password>***<'),
      );
    });

    it('leaves an empty or self-closing Password as it is', async () => {
      const xml = env({ header: security({ password: '' }), body: results([]) });
      const r = await parse(xml);
      expect(r.usernameToken?.password).to.equal('');
      expect(r.redactedXml).to.equal(xml);
      const selfClosing = xml.replace('<wsse:Password Type="' + PW_TEXT + '"></wsse:Password>', '<wsse:Password/>');
      const r2 = await parse(selfClosing);
      expect(r2.usernameToken?.password).to.equal('');
      expect(r2.redactedXml).to.equal(selfClosing);
    });

    it('redacts a password split across chunks at every position', async () => {
      const xml = env({ header: oracleHeader('sp&amp;lit-PW-ü'), body: results([leaves({ EventCode: 'HOLD' })]) });
      const expected = xml.replace('sp&amp;lit-PW-ü', '***');
      const buf = Buffer.from(xml);
      const at = buf.indexOf('sp&amp;lit');
      for (let cut = at - 2; cut <= at + 20; cut++) {
        const r = await parsePush(twoChunks(buf, cut), LIMITS);
        expect(r.redactedXml, `cut at ${cut}`).to.equal(expected);
      }
      const one = await parse(xml, 1);
      expect(one.redactedXml).to.equal(expected);
      expect(one.usernameToken?.password).to.equal('sp&lit-PW-ü');
    });

    it('keeps a BOM-less, CRLF document intact apart from the password', async () => {
      const xml = env({ header: security({ password: 'crlf\r\npw' }), body: results([leaves({ EventCode: 'HOLD' })]) }).replace(
        /\n/g,
        '\r\n',
      );
      const r = await parse(xml, 3);
      expect(r.redactedXml).to.equal(xml.replace('crlf\r\r\npw', '***'));
      expect(r.usernameToken?.password).to.equal('crlf\n\npw'); // XML end-of-line normalisation
    });
  });

  describe('headers handed over as they are parsed (onHeader)', () => {
    const header = (n: number): string =>
      leaves({ EventCode: 'FlineStatusUpdate', SourceOrderSystem: 'LEG', SourceOrderNumber: `SO-${String(n).padStart(5, '0')}` }) +
      q('OrderLine', q('OrderFulfillmentLine', leaves({ FulfillLineId: String(n), StatusCode: 'SHIPPED' })));

    it('gives each OrderHeader with its position, in document order, and keeps none of them', async () => {
      const xml = env({ header: security(), body: results([header(1), header(2), header(3)]) });
      const seen: Array<{ position: number; number: unknown }> = [];
      const r = await parsePush(chunksOf(xml, 7), LIMITS, (h, position) => seen.push({ position, number: h.SourceOrderNumber }));
      expect(seen).to.deep.equal([
        { position: 0, number: 'SO-00001' },
        { position: 1, number: 'SO-00002' },
        { position: 2, number: 'SO-00003' },
      ]);
      expect(r.headers).to.deep.equal([]);
      const plain = await parse(xml);
      expect(plain.headers.map((h) => h.SourceOrderNumber)).to.deep.equal(['SO-00001', 'SO-00002', 'SO-00003']);
      expect(r.redactedXml).to.equal(plain.redactedXml);
    });

    it('lets other work run while it parses a large body that has already arrived', async () => {
      const xml = Buffer.from(env({ header: security(), body: results(Array.from({ length: 3000 }, (_, i) => header(i))) }));
      // Every chunk is there at once, as when a big push has arrived before the parser reads it.
      const body = {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < xml.length; i += 65_536) yield xml.subarray(i, i + 65_536);
        },
      };
      let otherWorkRan = false;
      let headersAfterOtherWork = 0;
      setImmediate(() => {
        otherWorkRan = true;
      });
      const r = await parsePush(body, { ...LIMITS, maxBytes: 10_000_000, maxElements: 100_000 }, () => {
        if (otherWorkRan) headersAfterOtherWork++;
      });
      expect(r.byteLength).to.equal(xml.length);
      expect(otherWorkRan).to.equal(true);
      expect(headersAfterOtherWork).to.be.greaterThan(0);
    });
  });

  describe('streaming and chunk boundaries', () => {
    const small = env({
      header: security({ password: 'pässwörd', nonce: 'bm9uY2U=', created: '2025-01-01T00:00:00Z' }),
      body: results([
        leaves({ EventCode: 'HOLD', HoldComments: 'Grüße 日本 😀 &amp; done', OrchestrationOrderId: '300100072403436123456' }) +
          q('OrderLine', q('OrderFulfillmentLine', leaves({ OrderedQtyNew: '10.50' }))),
      ]),
    }).replace('\n  <soapenv:Body>', '\r\n  <soapenv:Body>');

    it('gives the same result for 1-byte chunks as for one chunk', async () => {
      const whole = await parse(small);
      const bytes = await parse(small, 1);
      expect(bytes).to.deep.equal(whole);
      expect(whole.headers[0]?.['HoldComments']).to.equal('Grüße 日本 😀 & done');
      expect(whole.redactedXml).to.not.include('pässwörd');
    });

    it('gives the same result for every two-chunk split', async () => {
      const whole = await parse(small);
      const buf = Buffer.from(small);
      for (let cut = 1; cut < buf.length; cut++) {
        const r = await parsePush(twoChunks(buf, cut), LIMITS);
        expect(r, `cut at ${cut}`).to.deep.equal(whole);
      }
    });

    it('accepts string and Uint8Array chunks', async () => {
      async function* mixed(): AsyncGenerator<string | Uint8Array> {
        yield small.slice(0, 50);
        yield new Uint8Array(Buffer.from(small.slice(50, 400)));
        yield small.slice(400);
      }
      expect(await parsePush(mixed(), LIMITS)).to.deep.equal(await parse(small));
    });

    it('accepts a UTF-8 BOM and counts it in byteLength', async () => {
      const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(small)]);
      const r = await parsePush(chunksOf(buf, 2), LIMITS);
      expect(r.byteLength).to.equal(Buffer.byteLength(small) + 3);
      expect(r.headers).to.deep.equal((await parse(small)).headers);
    });

    it('chunksOf splits and reassembles, and refuses a bad chunk size', async () => {
      const parts: Buffer[] = [];
      for await (const c of chunksOf('abcdefg', 3)) parts.push(c);
      expect(parts.map((p) => p.toString())).to.deep.equal(['abc', 'def', 'g']);
      const again: Buffer[] = [];
      for await (const c of chunksOf(Buffer.from('xy'))) again.push(c);
      expect(again.map((p) => p.toString())).to.deep.equal(['xy']);
      expect(() => chunksOf('x', 0)).to.throw(RangeError);
    });
  });

  describe('refusals', () => {
    it('malformed XML → XML_MALFORMED with line:column, without echoing long input', async () => {
      const e1 = await expectCode(parse(env({ body: results([leaves({ EventCode: 'HOLD' })]) }).replace('</ns1:EventCode>', '</ns1:Event>')), 'XML_MALFORMED');
      expect(e1.message).to.match(/at \d+:\d+: /);
      await expectCode(parse('<soapenv:Envelope xmlns:soapenv="' + SOAP11 + '"><soapenv:Body>'), 'XML_MALFORMED');
      await expectCode(parse(''), 'XML_MALFORMED');
      await expectCode(parse('<a b="1" b="2"/>'), 'XML_MALFORMED');
      const longName = 'X'.repeat(50_000);
      const e2 = await expectCode(parse(env({ body: results([`<${longName}>`]) })), 'XML_TOO_LONG');
      expect(e2.message.length).to.be.lessThan(400);
      await expectCode(parse(env({ body: `<u:results xmlns:ns1="${OM}"/>` })), 'XML_MALFORMED'); // unbound prefix
      await expectCode(parse(env({ body: results([]) }) + '<trailing/>'), 'XML_MALFORMED');
    });

    it('undefined entity → XML_MALFORMED', async () => {
      await expectCode(parse(env({ body: results([leaves({ HoldComments: '&lol9;' })]) })), 'XML_MALFORMED');
      await expectCode(parse(env({ body: results([leaves({ HoldComments: '&nbsp;' })]) })), 'XML_MALFORMED');
    });

    it('root not a SOAP Envelope → SOAP_NOT_ENVELOPE naming the root', async () => {
      const e = await expectCode(parse(results([leaves({ EventCode: 'HOLD' })])), 'SOAP_NOT_ENVELOPE');
      expect(e.message).to.include(`{${OM}}results`);
      await expectCode(parse('<Envelope><Body/></Envelope>'), 'SOAP_NOT_ENVELOPE');
      await expectCode(parse('<e:Envelope xmlns:e="urn:not-soap"><e:Body/></e:Envelope>'), 'SOAP_NOT_ENVELOPE');
      await expectCode(parse(`<s:Body xmlns:s="${SOAP11}"/>`), 'SOAP_NOT_ENVELOPE');
    });

    it('two Bodies → SOAP_NOT_ENVELOPE', async () => {
      const xml = env({ body: results([]) }).replace('</soapenv:Envelope>', '<soapenv:Body/></soapenv:Envelope>');
      await expectCode(parse(xml), 'SOAP_NOT_ENVELOPE');
    });

    it('wrong Body element or namespace → SOAP_UNKNOWN_OPERATION naming {ns}local', async () => {
      const e1 = await expectCode(parse(env({ body: `<ns1:pushPayload xmlns:ns1="${OM}"/>` })), 'SOAP_UNKNOWN_OPERATION');
      expect(e1.message).to.include(`{${OM}}pushPayload`);
      const e2 = await expectCode(parse(env({ body: '<results xmlns="urn:wrong"><OrderHeader/></results>' })), 'SOAP_UNKNOWN_OPERATION');
      expect(e2.message).to.include('{urn:wrong}results');
      const e3 = await expectCode(parse(env({ body: '<results><OrderHeader/></results>' })), 'SOAP_UNKNOWN_OPERATION');
      expect(e3.message).to.include('{}results');
      await expectCode(
        parse(env({ body: `<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>x</faultstring></soapenv:Fault>` })),
        'SOAP_UNKNOWN_OPERATION',
      );
    });

    it('no Body or an empty Body → SOAP_EMPTY_BODY', async () => {
      await expectCode(parse(`<s:Envelope xmlns:s="${SOAP11}"><s:Header/></s:Envelope>`), 'SOAP_EMPTY_BODY');
      await expectCode(parse(`<s:Envelope xmlns:s="${SOAP11}"/>`), 'SOAP_EMPTY_BODY');
      await expectCode(parse(`<s:Envelope xmlns:s="${SOAP11}"><s:Body/></s:Envelope>`), 'SOAP_EMPTY_BODY');
      await expectCode(parse(env({ body: '   \n  ' })), 'SOAP_EMPTY_BODY');
      await expectCode(parse(env({ version: '1.2', body: '<!-- nothing -->' })), 'SOAP_EMPTY_BODY');
      // a Body in the other SOAP version's namespace is not this envelope's Body
      await expectCode(parse(`<s:Envelope xmlns:s="${SOAP11}"><b:Body xmlns:b="${SOAP12}">${results([])}</b:Body></s:Envelope>`), 'SOAP_EMPTY_BODY');
    });

    describe('DOCTYPE', () => {
      const body = results([leaves({ EventCode: 'HOLD' })]);

      it('refuses a DOCTYPE without internal subset', async () => {
        await expectCode(parse(env({ prolog: '<?xml version="1.0"?>\n<!DOCTYPE soapenv:Envelope>\n', body })), 'XML_DOCTYPE_FORBIDDEN');
      });

      it('refuses a DOCTYPE with an internal subset', async () => {
        await expectCode(
          parse(env({ prolog: '<!DOCTYPE Envelope [<!ELEMENT Envelope ANY>]>\n', body })),
          'XML_DOCTYPE_FORBIDDEN',
        );
      });

      it('refuses billion laughs', async () => {
        let dtd = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n';
        for (let i = 1; i <= 9; i++) dtd += `<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">\n`;
        dtd += ']>\n';
        await expectCode(parse(env({ prolog: dtd, body: results([leaves({ HoldComments: '&lol9;' })]) })), 'XML_DOCTYPE_FORBIDDEN');
      });

      it('refuses XXE (SYSTEM "file:///etc/passwd")', async () => {
        const prolog = '<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n';
        await expectCode(parse(env({ prolog, body: results([leaves({ HoldComments: '&xxe;' })]) })), 'XML_DOCTYPE_FORBIDDEN');
        await expectCode(parse(env({ prolog: '<!DOCTYPE foo SYSTEM "file:///etc/passwd">\n', body })), 'XML_DOCTYPE_FORBIDDEN');
      });

      it('refuses a stray <!ENTITY', async () => {
        await expectCode(parse(env({ body: `<!ENTITY x "y">${body}` })), 'XML_DOCTYPE_FORBIDDEN');
      });

      it('refuses a DOCTYPE split across chunks at every position, and with 1-byte chunks', async () => {
        const buf = Buffer.from(env({ prolog: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>', body }));
        const at = buf.indexOf('<!DOCTYPE');
        for (let cut = at; cut <= at + 9; cut++) {
          await expectCode(parsePush(twoChunks(buf, cut), LIMITS), 'XML_DOCTYPE_FORBIDDEN');
        }
        await expectCode(parsePush(chunksOf(buf, 1), LIMITS), 'XML_DOCTYPE_FORBIDDEN');
      });

      it('stops reading as soon as the DOCTYPE is seen (a huge internal subset is never accumulated)', async () => {
        let pulled = 0;
        let finished = false;
        async function* hostile(): AsyncGenerator<Buffer> {
          try {
            pulled++;
            yield Buffer.from('<?xml version="1.0"?>\n<!DOC');
            pulled++;
            yield Buffer.from('TYPE x [\n');
            for (;;) {
              pulled++;
              yield Buffer.from('<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'.repeat(1000));
            }
          } finally {
            finished = true;
          }
        }
        await expectCode(parsePush(hostile(), { ...LIMITS, maxBytes: 1e9 }), 'XML_DOCTYPE_FORBIDDEN');
        expect(pulled).to.equal(2);
        expect(finished).to.equal(true);
      });
    });

    it('nesting of 10,000 → XML_TOO_DEEP', async () => {
      const deep = '<ns1:X>'.repeat(10_000) + '</ns1:X>'.repeat(10_000);
      await expectCode(parse(env({ body: results([deep]) })), 'XML_TOO_DEEP');
      await expectCode(parse(env({ header: '<a>'.repeat(10_000) + '</a>'.repeat(10_000), body: results([]) })), 'XML_TOO_DEEP');
      // exactly at the limit is accepted: Envelope, Body, results, OrderHeader = 4 levels, plus 60
      const ok = '<ns1:X>'.repeat(60) + '</ns1:X>'.repeat(60);
      expect((await parse(env({ body: results([ok]) }))).headers).to.have.length(1);
      await expectCode(parse(env({ body: results(['<ns1:X>'.repeat(61) + '</ns1:X>'.repeat(61)]) })), 'XML_TOO_DEEP');
    });

    it('more elements than maxElements → XML_TOO_MANY_ELEMENTS', async () => {
      const many = '<ns1:Note>x</ns1:Note>'.repeat(200);
      await expectCode(parse(env({ body: results([many]) }), undefined, { ...LIMITS, maxElements: 100 }), 'XML_TOO_MANY_ELEMENTS');
      // Envelope + Body + results + OrderHeader + 96 = 100: accepted
      const r = await parse(env({ body: results(['<ns1:Note>x</ns1:Note>'.repeat(96)]) }), undefined, { ...LIMITS, maxElements: 100 });
      expect(r.headers[0]?.['Note']).to.have.length(96);
    });

    it('body over maxBytes → PAYLOAD_TOO_LARGE, and stops reading at once (100 MB generator)', async () => {
      let pulled = 0;
      let finished = false;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      async function* huge(): AsyncGenerator<Buffer> {
        try {
          yield Buffer.from(`<s:Envelope xmlns:s="${SOAP11}"><s:Body>`);
          for (let sent = 0; sent < 100 * 1024 * 1024; sent += chunk.length) {
            pulled++;
            yield chunk;
          }
        } finally {
          finished = true;
        }
      }
      const e = await expectCode(parsePush(huge(), { ...LIMITS, maxBytes: 1_000_000 }), 'PAYLOAD_TOO_LARGE');
      expect(e.status).to.equal(413);
      expect(pulled).to.equal(16); // 15 × 64 KiB + the opening tag is under 1 MB, the 16th goes over
      expect(finished).to.equal(true);
    });

    it('exactly maxBytes is accepted', async () => {
      const xml = env({ body: results([]) });
      const r = await parse(xml, 7, { ...LIMITS, maxBytes: Buffer.byteLength(xml) });
      expect(r.byteLength).to.equal(Buffer.byteLength(xml));
      await expectCode(parse(xml, 7, { ...LIMITS, maxBytes: Buffer.byteLength(xml) - 1 }), 'PAYLOAD_TOO_LARGE');
    });

    it('invalid UTF-8 → XML_INVALID_ENCODING', async () => {
      const xml = env({ body: results([leaves({ HoldComments: 'MARK' })]) });
      const [before = '', after = ''] = xml.split('MARK');
      const withBytes = (bytes: number[]): Buffer => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
      await expectCode(parsePush(chunksOf(withBytes([0xff])), LIMITS), 'XML_INVALID_ENCODING');
      await expectCode(parsePush(chunksOf(withBytes([0xc0, 0xaf])), LIMITS), 'XML_INVALID_ENCODING'); // overlong '/'
      await expectCode(parsePush(chunksOf(withBytes([0xed, 0xa0, 0x80])), LIMITS), 'XML_INVALID_ENCODING'); // surrogate
      await expectCode(parsePush(chunksOf(withBytes([0xe6, 0x97])), LIMITS), 'XML_INVALID_ENCODING'); // truncated
      // truncated sequence at the very end of the body
      await expectCode(
        parsePush(chunksOf(Buffer.concat([Buffer.from(env({ body: results([]) })), Buffer.from([0xe6])]), 1), LIMITS),
        'XML_INVALID_ENCODING',
      );
    });

    it('declared encoding other than UTF-8 → XML_INVALID_ENCODING saying only UTF-8 is accepted', async () => {
      const body = results([leaves({ EventCode: 'HOLD' })]);
      for (const enc of ['ISO-8859-1', 'UTF-16', 'windows-1252', 'US-ASCII']) {
        const e = await expectCode(parse(env({ prolog: `<?xml version="1.0" encoding="${enc}"?>\n`, body })), 'XML_INVALID_ENCODING');
        expect(e.message).to.include('only UTF-8 is accepted');
      }
      // UTF-16 bytes, with and without BOM
      const utf16 = env({ prolog: '<?xml version="1.0" encoding="UTF-16"?>\n', body });
      await expectCode(parsePush(chunksOf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf16, 'utf16le')])), LIMITS), 'XML_INVALID_ENCODING');
      const e = await expectCode(parsePush(chunksOf(Buffer.from(utf16, 'utf16le')), LIMITS), 'XML_INVALID_ENCODING');
      expect(e.message).to.include('only UTF-8 is accepted');
      // utf-8 in any case is fine
      expect((await parse(env({ prolog: `<?xml version="1.0" encoding="utf-8"?>`, body }))).headers).to.have.length(1);
    });
  });

  describe('performance', () => {
    it('prints the time per parse of a realistic 3-line push (2,000 runs)', async () => {
      const xml = realisticPush();
      const buf = Buffer.from(xml);
      const check = await parsePush(chunksOf(buf), LIMITS);
      expect(check.headers[0]?.['OrderLine']).to.have.length(3);
      expect(check.usernameToken?.nonce).to.equal('q83vEjRWeJA=');
      for (let i = 0; i < 500; i++) await parsePush(chunksOf(buf), LIMITS);
      const runs = 2000;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < runs; i++) await parsePush(chunksOf(buf), LIMITS);
      const perParse = Number(process.hrtime.bigint() - t0) / runs / 1000;
      console.log(`      parsePush: ${buf.length} bytes, 3 lines: ${perParse.toFixed(1)} µs per parse (mean of ${runs})`);
    });
  });
});

/** Two chunks cut at byte `cut`. */
function twoChunks(buf: Buffer, cut: number): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      yield buf.subarray(0, cut);
      yield buf.subarray(cut);
    },
  };
}

describe('inbound/soap/envelope parsePush: credentials before work, and limits', () => {
  /** Records, in order, when the credentials were checked and when each OrderHeader was built. */
  async function trace(xml: string, check: (t: UsernameToken | null) => void = () => undefined) {
    const seen: string[] = [];
    const result = await parsePush(
      chunksOf(xml, 16),
      LIMITS,
      (h) => seen.push(`header ${String(h.EventCode)}`),
      (t) => {
        seen.push(`credentials ${t?.username ?? 'none'}`);
        check(t);
      },
    );
    return { seen, result };
  }

  it('checks the token when the Header closes, before any OrderHeader is built', async () => {
    const xml = env({ header: security({ user: 'u1' }), body: results([leaves({ EventCode: 'A' }), leaves({ EventCode: 'B' })]) });
    const { seen } = await trace(xml);
    expect(seen).to.deep.equal(['credentials u1', 'header A', 'header B']);
  });

  it('a refusal from the check stops the parse: no OrderHeader is built', async () => {
    const xml = env({ header: security({ user: 'u1' }), body: results([leaves({ EventCode: 'A' })]) });
    const seen: string[] = [];
    const refused = parsePush(chunksOf(xml, 16), LIMITS, () => seen.push('header'), () => {
      throw new GatewayError('AUTH_FAILED', 'no');
    });
    await expectCode(refused, 'AUTH_FAILED');
    expect(seen).to.deep.equal([]);
  });

  it('without a Header the check runs when the Body opens, with no token', async () => {
    const { seen } = await trace(env({ body: results([leaves({ EventCode: 'A' })]) }));
    expect(seen).to.deep.equal(['credentials none', 'header A']);
  });

  it('a UsernameToken after the Body is never seen', async () => {
    const xml = env({ body: results([leaves({ EventCode: 'A' })]) }).replace(
      /<\/(\w+):Body>/,
      (m, p: string) => `${m}<${p}:Header>${security({ user: 'late' })}</${p}:Header>`,
    );
    const tokens: Array<UsernameToken | null> = [];
    await parsePush(chunksOf(xml, 16), LIMITS, undefined, (t) => tokens.push(t));
    expect(tokens).to.deep.equal([null]);
  });

  it('reads no more than maxBytesBeforeCredentials before the credentials come', async () => {
    const padding = `<x:Pad xmlns:x="urn:pad">${'p'.repeat(200_000)}</x:Pad>`;
    const xml = env({ header: padding + security(), body: results([]) });
    let pulled = 0;
    async function* counted() {
      for await (const c of chunksOf(xml, 1024)) {
        pulled += c.length;
        yield c;
      }
    }
    const e = await expectCode(
      parsePush(counted(), { ...LIMITS, maxBytesBeforeCredentials: 8 * 1024 }, undefined, () => undefined),
      'AUTH_FAILED',
    );
    expect(e.message).to.include('8192');
    expect(pulled).to.be.at.most(8 * 1024 + 1024);
    // The same Header within the allowance is read.
    const ok = await parsePush(chunksOf(xml, 1024), { ...LIMITS, maxBytesBeforeCredentials: 512 * 1024 }, undefined, () => undefined);
    expect(ok.usernameToken?.username).to.equal('OM_CONNECTOR_USER');
  });

  it('limits attributes per element and in total, name and text lengths', async () => {
    const attrs = (n: number) => Array.from({ length: n }, (_, i) => ` a${i}="v"`).join('');
    const withTag = (tag: string) => env({ header: `<x:H xmlns:x="urn:x">${tag}</x:H>`, body: results([]) });
    await expectCode(parse(withTag(`<x:E${attrs(65)}/>`)), 'XML_TOO_MANY_ATTRIBUTES');
    expect((await parse(withTag(`<x:E${attrs(64)}/>`))).soapVersion).to.equal('1.1');
    const many = Array.from({ length: 40 }, () => `<x:E${attrs(30)}/>`).join('');
    await expectCode(parse(withTag(many), undefined, { ...LIMITS, maxTotalAttributes: 1_000 }), 'XML_TOO_MANY_ATTRIBUTES');
    await expectCode(parse(withTag(`<x:E ${'n'.repeat(300)}="v"/>`)), 'XML_TOO_LONG');
    const short = { ...LIMITS, maxTextLength: 4_096 };
    await expectCode(parse(withTag(`<x:E a="${'v'.repeat(5_000)}"/>`), undefined, short), 'XML_TOO_LONG');
    await expectCode(parse(withTag(`<x:E>${'t'.repeat(5_000)}</x:E>`), undefined, short), 'XML_TOO_LONG');
    await expectCode(parse(env({ body: results([leaves({ EventCode: 'A', Note: 't'.repeat(5_000) })]) }), 7, short), 'XML_TOO_LONG');
    expect((await parse(env({ body: results([leaves({ EventCode: 'A', Note: 't'.repeat(4_000) })]) }), 7, short)).headers).to.have.length(1);
  });

  it('a million attributes on one element are refused at the 65th, not after they are all held', async () => {
    const head = env({ header: '<x:H xmlns:x="urn:x">CUT', body: results([]) }).split('CUT')[0] ?? '';
    let pulled = 0;
    async function* hostile() {
      yield Buffer.from(`${head}<x:E`);
      for (let i = 0; i < 1_000_000; i += 1000) {
        const chunk = Buffer.from(Array.from({ length: 1000 }, (_, k) => ` a${i + k}="1"`).join(''));
        pulled += chunk.length;
        yield chunk;
      }
    }
    await expectCode(parsePush(hostile(), { ...LIMITS, maxBytes: 1e9 }), 'XML_TOO_MANY_ATTRIBUTES');
    expect(pulled).to.be.lessThan(100_000);
  });
});
