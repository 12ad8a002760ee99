import { expect } from 'chai';
import { main } from '../../src/main.ts';
import { backendName } from '../helpers/backend.ts';
import { startGateway, TEST_ENV, type TestGateway } from '../helpers/gateway.ts';

describe(`omgw sandbox push: an emulated OM connector (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  }
  const env = () => ({ ...TEST_ENV, TEST_DATABASE_URL: gw.database.url });

  it('sends Oracle-style pushes that the gateway stores, then status shows them', async () => {
    const push = io();
    const code = await main(
      ['sandbox', 'push', '--config', gw.configDir, '--url', gw.url, '--count', '3', '--event', 'FlineStatusUpdate', '--status', 'AWAIT_SHIPPING', '--digest'],
      push.io,
      env(),
    );
    expect(code, push.err.join('\n')).to.equal(0);
    expect(push.out.join('\n').match(/ 202 /g)).to.have.length(3);
    const events = await gw.gateway.store.browse.events({ eventCodes: ['FlineStatusUpdate'] }, { limit: 1000 });
    expect(events.rows).to.have.length(3);
    expect((await gw.gateway.store.browse.deliveries({ connectors: ['shipbob'] }, { limit: 1000 })).rows).to.have.length(3);
  });

  it('reports faults and exits 1 when the gateway refuses the pushes', async () => {
    const push = io();
    const code = await main(['sandbox', 'push', '--config', gw.configDir, '--url', gw.url], push.io, { ...env(), TEST_SOAP_PASSWORD: 'not-the-password' });
    expect(code).to.equal(1);
    expect(push.out.join('\n')).to.include('401').and.include('authentication failed');
  });

  it('refuses an unknown event code with a usage error', async () => {
    const push = io();
    expect(await main(['sandbox', 'push', '--config', gw.configDir, '--event', 'NOPE'], push.io, env())).to.equal(2);
    expect(push.err.join('\n')).to.include('--event must be one of');
  });
});
