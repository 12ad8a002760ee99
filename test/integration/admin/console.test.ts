import { expect } from 'chai';
import { backendName } from '../../helpers/backend.ts';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';

describe(`the operator console page (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('serves one static page, locked down, that works only through the admin API', async () => {
    const res = await fetch(`${gw.url}/admin/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.include('text/html');
    expect(res.headers.get('content-security-policy')).to.include("default-src 'none'").and.include("connect-src 'self'");
    expect(res.headers.get('cache-control')).to.equal('no-store');
    const html = await res.text();
    expect(html).to.include("const api = '/admin/api'");
    expect(html).to.include('sessionStorage');
    expect((await fetch(`${gw.url}/admin`)).status).to.equal(200);
  });
});
