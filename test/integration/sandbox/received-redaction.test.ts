import { expect } from 'chai';
import { SOAP_PASSWORD, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { SANDBOX_ENV, SANDBOX_YAML } from '../../helpers/sandbox.ts';

/** A password no config knows: only the Password element rule can hide it. */
const UNKNOWN_PASSWORD = 'otm-pw-only-in-the-envelope-4e2b';

function publish(password: string, passwordXml: string): string {
  return (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>' +
    '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>' +
    `<wsse:Username>ATL.INTEGRATION</wsse:Username>${passwordXml.replace('PW', password)}` +
    '</wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>' +
    '<publish xmlns="http://xmlns.oracle.com/apps/otm/TransmissionService"><Transmission><TransmissionHeader>' +
    '<SenderTransmissionNo>T-1</SenderTransmissionNo></TransmissionHeader></Transmission></publish></soapenv:Body></soapenv:Envelope>'
  );
}

describe('sandbox: GET /sandbox/received shows no credentials', function () {
  let gw: TestGateway | undefined;

  before(async function () {
    gw = await startGateway({ gateway: SANDBOX_YAML }, { env: SANDBOX_ENV });
  });

  after(async function () {
    await gw?.stop();
  });

  it('blanks WS-Security passwords (any prefix, text, digest or CDATA) delivered to the OTM target', async function () {
    const forms = [
      '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">PW</wsse:Password>',
      '<Password>PW</Password>',
      '<o:Password Type="PasswordDigest"><![CDATA[PW]]></o:Password>',
    ];
    for (const form of forms) {
      const res = await fetch(`${gw!.url}/sandbox/otm/GC3Services/TransmissionService/call`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: publish(UNKNOWN_PASSWORD, form),
      });
      expect(res.status, await res.text()).to.equal(200);
    }
    const text = await (await fetch(`${gw!.url}/sandbox/received`)).text();
    const received = JSON.parse(text) as Array<{ target: string; body: string }>;
    expect(received.filter((r) => r.target === 'otm')).to.have.length(3);
    expect(text).not.to.include(UNKNOWN_PASSWORD);
    expect(received[0]?.body).to.include('#PasswordText">***</wsse:Password>');
    expect(received[1]?.body).to.include('<Password>***</Password>');
    expect(received[0]?.body).to.include('<wsse:Username>ATL.INTEGRATION</wsse:Username>');
  });

  it('blanks credential headers and every configured secret sent to the REST sink', async function () {
    const res = await fetch(`${gw!.url}/sandbox/rest-sink/orders?x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Basic dXNlcjpyZXN0LXNpbmstcGFzc3dvcmQ=',
        'proxy-authorization': 'Bearer proxy-token-91ab',
        cookie: 'session=cookie-value-77',
        'x-api-key': 'api-key-value-3c',
        'x-custom': `carries ${SANDBOX_ENV.SB_TOKEN}`,
        'idempotency-key': 'idem-1',
      },
      // Configured secrets (the inbound SOAP password, the sandbox ShipBob token), as written and JSON-escaped.
      body: JSON.stringify({ note: `pw ${SOAP_PASSWORD}`, token: SANDBOX_ENV.SB_TOKEN, fusion: SANDBOX_ENV.SB_FUSION_PASSWORD }),
    });
    expect(res.status).to.equal(200);
    const text = await (await fetch(`${gw!.url}/sandbox/received`)).text();
    for (const secret of [SOAP_PASSWORD, SANDBOX_ENV.SB_TOKEN, SANDBOX_ENV.SB_FUSION_PASSWORD, 'dXNlcjpyZXN0LXNpbmstcGFzc3dvcmQ=', 'proxy-token-91ab', 'cookie-value-77', 'api-key-value-3c']) {
      expect(text, secret).not.to.include(secret);
    }
    const sink = (JSON.parse(text) as Array<{ target: string; headers: Record<string, string>; idempotencyKey: string | null }>).find((r) => r.target === 'rest-sink');
    expect(sink?.headers).to.include({ authorization: '***', 'proxy-authorization': '***', cookie: '***', 'x-api-key': '***', 'x-custom': 'carries ***' });
    expect(sink?.idempotencyKey).to.equal('idem-1');
  });
});
