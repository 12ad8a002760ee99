import { expect } from 'chai';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { SANDBOX_ENV, SANDBOX_YAML } from '../../helpers/sandbox.ts';

const OTM = '/sandbox/otm/GC3Services/TransmissionService/call';
const PUBLISH =
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>' +
  '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>' +
  '<wsse:Username>ATL.INTEGRATION</wsse:Username><wsse:Password>pw</wsse:Password></wsse:UsernameToken></wsse:Security>' +
  '</soapenv:Header><soapenv:Body><publish xmlns="http://xmlns.oracle.com/apps/otm/TransmissionService"><Transmission/></publish>' +
  '</soapenv:Body></soapenv:Envelope>';

describe('sandbox: a target taken down and brought back (/sandbox/outages)', function () {
  let gw: TestGateway;

  before(async function () {
    gw = await startGateway({ gateway: SANDBOX_YAML }, { env: SANDBOX_ENV });
  });
  after(async function () {
    await gw?.stop();
  });

  const call = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${gw.url}${path}`, init);
  const received = async (): Promise<Array<{ target: string }>> => (await (await call('/sandbox/received')).json()) as Array<{ target: string }>;

  it('answers 503 for the REST sink while it is down, records nothing, and takes requests again once it is back', async function () {
    const down = await call('/sandbox/outages/rest-sink', { method: 'POST' });
    expect(down.status).to.equal(200);
    expect(await down.json()).to.deep.include({ target: 'rest-sink', status: 503, refused: 0 });
    const before = (await received()).length;

    const refused = await call('/sandbox/rest-sink/orders/1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(refused.status).to.equal(503);
    expect(await refused.json()).to.deep.include({ code: 'SANDBOX_OUTAGE' });
    expect(await received()).to.have.length(before);
    const listed = (await (await call('/sandbox/outages')).json()) as Array<{ target: string; refused: number }>;
    expect(listed.map((o) => [o.target, o.refused])).to.deep.equal([['rest-sink', 1]]);

    expect((await call('/sandbox/outages/rest-sink', { method: 'DELETE' })).status).to.equal(204);
    const taken = await call('/sandbox/rest-sink/orders/1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(taken.status).to.equal(200);
    expect(await received()).to.have.length(before + 1);
    expect(await (await call('/sandbox/outages')).json()).to.deep.equal([]);
  });

  it('takes a SOAP target down with the status asked for, its WSDL still readable', async function () {
    expect((await call('/sandbox/outages/otm', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status": 502}' })).status).to.equal(200);
    try {
      expect((await call(OTM, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: PUBLISH })).status).to.equal(502);
      expect((await call(`${OTM}?wsdl`)).status).to.equal(200);
    } finally {
      await call('/sandbox/outages/otm', { method: 'DELETE' });
    }
    expect((await call(OTM, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: PUBLISH })).status).to.equal(200);
  });

  it('refuses an unknown target, a status that is not a server error, and ending an outage that is not in force', async function () {
    expect((await call('/sandbox/outages/shipbob', { method: 'POST' })).status).to.equal(404);
    for (const body of ['{"status": 404}', '{"status": "503"}', '{"code": 503}', '[503]', 'not json']) {
      const res = await call('/sandbox/outages/warehouse', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body).to.equal(400);
    }
    expect(await (await call('/sandbox/outages')).json()).to.deep.equal([]);
    expect((await call('/sandbox/outages/warehouse', { method: 'DELETE' })).status).to.equal(404);
  });
});
