import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { main } from '../../src/main.ts';
import { backendName } from '../helpers/backend.ts';
import { freePort } from '../helpers/free-port.ts';
import { gatewayYaml, startGateway, TEST_ENV, writeConfig, type TestGateway } from '../helpers/gateway.ts';
import { cliArgs } from '../helpers/cli-entry.ts';


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

  it('reports each Fault by its code (and its text) and exits 1 when the gateway refuses the pushes', async () => {
    const push = io();
    const code = await main(['sandbox', 'push', '--config', gw.configDir, '--url', gw.url], push.io, { ...env(), TEST_SOAP_PASSWORD: 'not-the-password' });
    expect(code).to.equal(1);
    const [header, row] = push.out.join('\n').split('\n');
    expect(header).to.match(/^ORDER\s+HTTP\s+FAULT\s+MESSAGE$/);
    expect(row).to.match(/^LEG:SB\S+-1\s+401\s+AUTH_FAILED\s+.*authentication failed/);
    const json = io();
    await main(['sandbox', 'push', '--config', gw.configDir, '--url', gw.url, '--json'], json.io, { ...env(), TEST_SOAP_PASSWORD: 'not-the-password' });
    const [result] = JSON.parse(json.out.join('\n')) as Array<{ status: number; faultCode: string; fault: string }>;
    expect(result?.faultCode).to.equal('AUTH_FAILED');
    expect(result?.fault).to.include('authentication failed');
  });

  it('posts to exactly the endpoint --url names: a connector-scoped one routes to that connector only', async () => {
    const push = io();
    const code = await main(
      ['sandbox', 'push', '--config', gw.configDir, '--url', `${gw.url}/soap/business-events/crm`, '--status', 'AWAIT_SHIPPING'],
      push.io,
      env(),
    );
    expect(code, push.err.join('\n')).to.equal(0);
    const orderKey = /^(LEG:SB\S+-1)\s+202\s/m.exec(push.out.join('\n'))?.[1];
    expect(orderKey, push.out.join('\n')).to.be.a('string');
    // AWAIT_SHIPPING routes to shipbob and crm at /soap/business-events; the crm endpoint takes crm's only.
    const deliveries = await gw.gateway.store.browse.deliveries({ orderKey }, { limit: 10 });
    expect(deliveries.rows.map((d) => d.connector)).to.deep.equal(['crm']);
  });

  it('without --url, pushes to the address gateway.yaml gives the server', async () => {
    const port = new URL(gw.url).port;
    const configDir = writeConfig({ gateway: gatewayYaml().replace('port: 0', `port: ${port}`) });
    const push = io();
    try {
      const code = await main(['sandbox', 'push', '--config', configDir], push.io, env());
      expect(code, push.err.join('\n')).to.equal(0);
      expect(push.out.join('\n')).to.match(/ 202 /);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });

  it('with server.port 0 and no --url, asks for --url (usage)', async () => {
    const push = io();
    expect(await main(['sandbox', 'push', '--config', gw.configDir], push.io, env())).to.equal(2);
    expect(push.err.join('\n')).to.include('--url');
  });

  it('exits 4 (unavailable) with one line on stderr when no gateway answers', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [...cliArgs(), 'sandbox', 'push', '--config', gw.configDir, '--url', `http://127.0.0.1:${port}`], {
      env: { ...process.env, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, err).to.equal(4);
    expect(out).to.equal('');
    expect(err.trimEnd().split('\n')).to.have.length(1);
    expect(err).to.include(`gateway unavailable: cannot reach http://127.0.0.1:${port}/soap/business-events (ECONNREFUSED)`);
  });

  it('refuses an unknown event code with a usage error', async () => {
    const push = io();
    expect(await main(['sandbox', 'push', '--config', gw.configDir, '--event', 'NOPE'], push.io, env())).to.equal(2);
    expect(push.err.join('\n')).to.include('--event must be one of');
  });
});
