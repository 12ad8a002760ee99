import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttemptReport } from '../../../src/delivery/worker.ts';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import { backendName } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

/**
 * A config reload builds the connectors' runtimes again; a delivery already under way goes on with the
 * ones it started with, connection pools included, and they close after it. Here the delivery is
 * between two requests when the reload comes: it has asked for an OAuth2 token (held by the token
 * endpoint until the test lets it answer) and sends to the target only then.
 */
describe(`a config reload while a delivery is under way (${backendName()})`, () => {
  let server: Server;
  let url = '';
  let gw: TestGateway | undefined;
  /** Answers the token request held, once the test says so. */
  let answerToken: () => void = () => undefined;
  const orders: string[] = [];

  before(async () => {
    server = createServer((req, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/token') {
          answerToken = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 }));
          server.emit('token-requested');
          return;
        }
        orders.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await gw?.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends its request through the pools it started with, which the reload closes only after it', async () => {
    gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s' }),
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${url}\npath: /orders/{{orderKey}}\nauth:\n  type: oauth2-client-credentials\n  tokenUrl: ${url}/token\n  clientId: omgw\n  clientSecret: \${env:CLIENT_SECRET}\n`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n",
      },
      // A clock that stands still: a failed attempt's retry never comes, its report is the outcome.
      { clock: new ManualClock(), random: () => 0.5, env: { CLIENT_SECRET: 'client-secret-41d7' } },
    );
    const worker = gw.gateway.worker;
    if (!worker) throw new Error('no delivery worker');
    const attempt = once(worker, 'attempt') as Promise<[AttemptReport]>;
    const tokenRequested = once(server, 'token-requested');
    expect((await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-RL1' } }], { security }))).status).to.equal(202);
    await tokenRequested;

    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    answerToken();

    const [report] = await attempt;
    expect([report.outcome, report.errorClass], JSON.stringify(report)).to.deep.equal(['delivered', null]);
    expect(orders).to.deep.equal(['/orders/LEG%3ASO-RL1']);
  });
});
