import { expect } from 'chai';
import { TransformError } from '../../../src/connectors/types.ts';
import { correlationFromAnswer, withCorrelationField, withCorrelationHeader } from '../../../src/delivery/correlation.ts';

describe('delivery/correlation: the correlation id out and back', () => {
  it('writes a generated id into the JSON body at its field, or into its header', () => {
    const out = withCorrelationField({ body: '{"order":{"id":"1"}}', contentType: 'application/json' }, { field: 'meta.correlationId' }, 'c-1');
    expect(JSON.parse(out.body)).to.deep.equal({ order: { id: '1' }, meta: { correlationId: 'c-1' } });
    const request = withCorrelationHeader({ method: 'POST', url: new URL('http://t/'), headers: {}, body: null }, { header: 'X-Correlation-Id' }, 'c-2');
    expect(request.headers).to.deep.equal({ 'X-Correlation-Id': 'c-2' });
  });

  it('fails as a mapping error when the body cannot carry the field', () => {
    expect(() => withCorrelationField({ body: '<xml/>', contentType: 'text/xml' }, { field: 'id' }, 'c')).to.throw(TransformError, /not JSON/);
    expect(() => withCorrelationField({ body: '[1]', contentType: 'application/json' }, { field: 'id' }, 'c')).to.throw(TransformError, /no object at id/);
  });

  it('reads the id from a JSON answer by its path, and from a SOAP answer by its element', () => {
    expect(correlationFromAnswer({ responsePath: 'data.requestId' }, '{"data":{"requestId":"R-9"}}')).to.equal('R-9');
    const soap = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a:Ack xmlns:a="urn:x"><a:RequestId> R-7 </a:RequestId></a:Ack></s:Body></s:Envelope>`;
    expect(correlationFromAnswer({ responseXPath: "//*[local-name()='RequestId']" }, soap)).to.equal('R-7');
  });

  it('an accepted answer without the id fails the attempt as a mapping error, saying where it looked', () => {
    expect(() => correlationFromAnswer({ responsePath: 'data.requestId' }, '{"data":{}}')).to.throw(TransformError, /no correlation id at data\.requestId/);
    expect(() => correlationFromAnswer({ responsePath: 'id' }, 'accepted')).to.throw(TransformError, /not JSON/);
    expect(() => correlationFromAnswer({ responseXPath: '//RequestId' }, '<Ack/>')).to.throw(TransformError, /no correlation id at \/\/RequestId/);
    expect(() => correlationFromAnswer({ responsePath: 'id' }, JSON.stringify({ id: 'x'.repeat(201) }))).to.throw(TransformError, /longer than 200 characters/);
  });
});
