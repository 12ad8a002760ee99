import { expect } from 'chai';
import { GatewayError } from '../../../../src/domain/errors.ts';
import { readSoapCallback, callbackAck } from '../../../../src/inbound/callbacks/soap.ts';
import type { UsernameToken } from '../../../../src/inbound/soap/envelope.ts';

const LIMITS = { maxBytes: 64 * 1024, maxDepth: 32, maxElements: 1000 };
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';

function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">${header ? `<soapenv:Header>${header}</soapenv:Header>` : ''}<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}

const RESPONSE = `<cb:DeliveryResponse xmlns:cb="urn:om-connector-gateway:callback"><cb:CorrelationId> c-1 </cb:CorrelationId><cb:Status>COMPLETED</cb:Status><cb:Message>done &amp; dusted</cb:Message><cb:Detail><x:Box xmlns:x="urn:x">7</x:Box></cb:Detail></cb:DeliveryResponse>`;

async function* chunks(text: string, size = 7): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('readSoapCallback', () => {
  it('reads the DeliveryResponse fields, streaming', async () => {
    const read = await readSoapCallback(chunks(envelope(RESPONSE)), LIMITS);
    expect(read.soapVersion).to.equal('1.1');
    expect(read.fields).to.deep.equal({ correlationId: 'c-1', status: 'COMPLETED', message: 'done & dusted' });
    expect(read.redacted.toString('utf8')).to.equal(envelope(RESPONSE));
  });

  it('leaves out a Message that is not there', async () => {
    const body = '<DeliveryResponse xmlns="urn:om-connector-gateway:callback"><CorrelationId>c-2</CorrelationId><Status>FAILED</Status></DeliveryResponse>';
    const read = await readSoapCallback(chunks(envelope(body)), LIMITS);
    expect(read.fields).to.deep.equal({ correlationId: 'c-2', status: 'FAILED' });
  });

  it('refuses another operation element, a DOCTYPE and too deep a Detail', async () => {
    const other = readSoapCallback(chunks(envelope('<ns1:results xmlns:ns1="urn:other"/>')), LIMITS);
    await expectCode(other, 'SOAP_UNKNOWN_OPERATION');
    const doctype = readSoapCallback(chunks(`<!DOCTYPE x [<!ENTITY a "b">]>${envelope(RESPONSE)}`), LIMITS);
    await expectCode(doctype, 'XML_DOCTYPE_FORBIDDEN');
    const deep = RESPONSE.replace('<x:Box xmlns:x="urn:x">7</x:Box>', `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`);
    await expectCode(readSoapCallback(chunks(envelope(deep)), LIMITS), 'XML_TOO_DEEP');
  });

  it('hands the UsernameToken over when the Header closes, before the Body, and redacts its Password', async () => {
    const token = `<wsse:Security xmlns:wsse="${WSSE}"><wsse:UsernameToken><wsse:Username>wms</wsse:Username><wsse:Password>p4ssw0rd-xyz</wsse:Password></wsse:UsernameToken></wsse:Security>`;
    const seen: Array<UsernameToken | null> = [];
    const read = await readSoapCallback(chunks(envelope(RESPONSE, token)), LIMITS, (t) => {
      seen.push(t);
    });
    expect(seen).to.have.length(1);
    expect(seen[0]?.username).to.equal('wms');
    expect(read.redacted.toString('utf8')).to.not.include('p4ssw0rd-xyz');
    expect(read.redacted.toString('utf8')).to.include('<wsse:Password>***</wsse:Password>');

    // A refusal in the check stops the parse: the Body is never read.
    const refused = readSoapCallback(chunks(envelope('<not-even-closed', token)), LIMITS, () => {
      throw new GatewayError('AUTH_FAILED', 'refused');
    });
    await expectCode(refused, 'AUTH_FAILED');
  });
});

describe('callbackAck', () => {
  it('answers in the version asked, with the fields it has', () => {
    const ack = callbackAck('1.2', { eventId: 'e<1>', outcome: 'completed', deliveryId: null });
    expect(ack.contentType).to.match(/^application\/soap\+xml/);
    expect(ack.body).to.include('<cb:CallbackAck xmlns:cb="urn:om-connector-gateway:callback"><cb:EventId>e&lt;1&gt;</cb:EventId><cb:Outcome>completed</cb:Outcome></cb:CallbackAck>');
    expect(ack.body).to.include('http://www.w3.org/2003/05/soap-envelope');
  });
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect((err as { code?: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}
