import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Io } from '../../src/cli/output.ts';
import { signedHeaders } from '../helpers/webhook-signing.ts';
import { main } from '../../src/main.ts';
import { buildPush, pushHttpHeaders } from '../../src/sandbox/om-push.ts';
import { backendName, type TestDatabase } from '../helpers/backend.ts';
import { FakeTarget, type Answer, type ReceivedRequest } from '../helpers/target.ts';
import { allPages, authYaml, deliveriesIn, dumpDatabase, freePort, GatewayProcess, openStore, relDatabase, relEnv, relGatewayYaml } from './support/gateway.ts';
import { sleep } from './support/push-client.ts';
import { addSecret, allLeaks, scan, scannedSoFar, SECRETS, SOAP_USER } from './support/secrets.ts';
import { SIZE } from './support/size.ts';
import { report, reportedRows } from './support/summary.ts';

/**
 * Issue 8, item 7: after everything above, no configured secret is anywhere it should not be. Every
 * scenario has searched its own database, logs, answers and CLI output as it went (support/secrets.ts);
 * this one adds the situations most likely to leak, on purpose: targets that echo the credentials they
 * received (headers, query string, the WS-Security password in the body) in their error answers, a
 * token endpoint that echoes the client secret, near-miss passwords, secrets in a bad config and in an
 * unreachable database URL; then every view an operator has (admin API, CLI, /metrics, the WSDL) is
 * searched, and the total over the whole run must be zero.
 */

describe(`reliability 7: secrets (${backendName()}, ${SIZE.label})`, function () {
  this.timeout(SIZE.timeoutMs);

  let gw: GatewayProcess;
  let db: TestDatabase;
  let target: FakeTarget;

  after(async () => {
    await gw?.stop();
    gw?.dispose();
    await target?.close();
    await db?.dispose();
  });

  it('finds no configured secret in any database, log, answer or CLI output of the whole run', async () => {
    target = await new FakeTarget().start();
    const accessToken = `at-${randomBytes(18).toString('base64url')}`;
    addSecret('issued access token', accessToken);
    let tokenCalls = 0;
    const echo = (req: ReceivedRequest): string => JSON.stringify({ youSent: { path: req.path, headers: req.headers, body: req.body.slice(0, 4000) } });
    target.answer = (req): Answer => {
      const path = req.path.split('?')[0] ?? '';
      if (path === '/token') {
        // First a refusal that quotes the client's credentials, then a token.
        tokenCalls++;
        return tokenCalls === 1
          ? { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: `bad credentials ${req.headers.authorization ?? ''} ${req.body}` }) }
          : { status: 200, body: JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600 }) };
      }
      if (path === '/crm') return { status: 400, body: echo(req) };
      if (path === '/bi') return { status: 500, body: echo(req), headers: { 'x-echo-authorization': String(req.headers.authorization ?? '') } };
      if (path === '/ops') return { status: 401, body: echo(req), headers: { 'www-authenticate': `Bearer error="${String(req.headers['x-api-key'] ?? '')}"` } };
      if (path === '/keyq') return { status: 422, body: echo(req) };
      if (path === '/erp') return { status: 401, body: echo(req) };
      if (path === '/otm') return { status: 500, headers: { 'content-type': 'text/xml' }, body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>echo ${req.body.replace(/</g, '&lt;').slice(0, 3000)}</faultstring></soap:Fault></soap:Body></soap:Envelope>` };
      return { status: 200, body: echo(req) };
    };
    db = relDatabase();
    const retry = 'retry:\n  schedule: [50ms]\n  maxAttempts: 2\n';
    gw = new GatewayProcess(
      {
        gateway: relGatewayYaml({ port: await freePort(), delivery: '  enabled: true\n  pollInterval: 100ms' }),
        connectors: {
          'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /crm\n${retry}${authYaml('bearer')}`,
          'bi.yaml': `protocol: rest\nurl: ${target.url}\npath: /bi\n${retry}${authYaml('basic')}`,
          'ops.yaml': `protocol: rest\nurl: ${target.url}\npath: /ops\nprobe: /ops\n${retry}${authYaml('api-key')}`,
          'keyq.yaml': `protocol: rest\nurl: ${target.url}\npath: /keyq\nprobe: /keyq\n${retry}auth:\n  type: api-key\n  key: \${env:REL_API_KEY}\n  in: query\n  name: api_key\n`,
          'erp.yaml': `protocol: rest\nurl: ${target.url}\npath: /erp\nprobe: /erp\n${retry}${authYaml('oauth2', `${target.url}/token`)}`,
          'otm.yaml': `protocol: soap\nurl: ${target.url}/otm\n${retry}${authYaml('ws-security')}`,
        },
        triggerPoints: "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm, bi, ops, keyq, erp, otm]\n",
      },
      relEnv(db),
    );
    await gw.start();
    const answers: string[] = [];
    const keep = async (res: Response): Promise<void> => {
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    };

    // Inbound: every way of sending the password, right and nearly right.
    const url = `${gw.url}/soap/business-events`;
    const soap = (n: string, kind: 'text' | 'digest' | 'none', password = SECRETS.soapPassword): string =>
      buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: n } }], { security: kind === 'none' ? { kind } : { kind, username: SOAP_USER, password } });
    const basic = (p: string): string => `Basic ${Buffer.from(`${SOAP_USER}:${p}`).toString('base64')}`;
    const pushes: Array<[string, Record<string, string>]> = [
      [soap('SO-SEC1', 'text'), {}],
      [soap('SO-SEC2', 'digest'), {}],
      [soap('SO-SEC3', 'none'), { authorization: basic(SECRETS.soapPassword) }],
      [soap('SO-SEC4', 'text', `${SECRETS.soapPassword}x`), {}],
      [soap('SO-SEC5', 'text', SECRETS.soapPassword.slice(0, -1)), {}],
      [soap('SO-SEC6', 'digest', `${SECRETS.soapPassword}x`), {}],
      [soap('SO-SEC7', 'none'), { authorization: basic(`${SECRETS.soapPassword}x`) }],
      [soap('SO-SEC8', 'text').replace('</ns1:results>', ''), {}],
      [soap('SO-SEC9', 'text').replace('<ns1:HoldCode>', `<ns1:HoldCode>${'&'}`), {}],
      [`<?xml version="1.0"?><!DOCTYPE x>${soap('SO-SEC10', 'text')}`, {}],
    ];
    for (const [body, headers] of pushes) await keep(await fetch(url, { method: 'POST', headers: { ...pushHttpHeaders(), ...headers }, body }));
    // Webhooks: good, forged, and signed with a near-miss secret.
    const hook = '{"order_id":7,"status":"Completed"}';
    const nearMiss = `whsec_${Buffer.from(Buffer.from(SECRETS.webhookSecret.slice(6), 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64')}`;
    for (const secret of [SECRETS.webhookSecret, nearMiss]) {
      await keep(await fetch(`${gw.url}/webhooks/shipbob`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-topic': 'order.shipped', ...signedHeaders(secret, `msg_${randomBytes(6).toString('hex')}`, Math.floor(Date.now() / 1000), hook) }, body: hook }));
    }

    // Let every delivery attempt (and its retries) happen.
    const store = openStore(db);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const open = await deliveriesIn(store, ['pending', 'retrying', 'in_flight']);
        if (open === 0 || Date.now() > deadline) break;
        await sleep(100);
      }
      const deliveries = await allPages((page) => store.browse.deliveries({}, page));

      // Every view an operator has.
      const admin = { authorization: `Bearer ${SECRETS.adminToken}` };
      const views = [
        '/admin/api/connectors',
        ...['crm', 'bi', 'ops', 'keyq', 'erp', 'otm'].map((c) => `/admin/api/connectors/${c}`),
        '/admin/api/deliveries?limit=500',
        '/admin/api/attempts?limit=500',
        '/admin/api/audit?limit=500',
        '/admin/api/events?limit=500',
        '/admin/api/recovery/runs',
        '/admin/api/billing',
        ...deliveries.map((d) => `/admin/api/deliveries/${d.id}`),
        ...[...new Set(deliveries.map((d) => d.eventId))].map((e) => `/admin/api/events/${e}`),
      ];
      for (const v of views) await keep(await fetch(`${gw.url}${v}`, { headers: admin }));
      for (const c of ['crm', 'bi', 'ops', 'keyq', 'erp', 'otm']) await keep(await fetch(`${gw.url}/admin/api/connectors/${c}/test`, { method: 'POST', headers: admin }));
      await keep(await fetch(`${gw.url}/admin/api/connectors/crm/test`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.adminToken}x` } }));
      await keep(await fetch(`${gw.url}/metrics`));
      await keep(await fetch(`${gw.url}/soap/business-events?wsdl`));
      await keep(await fetch(`${gw.url}/readyz`));

      const cliOut: string[] = [];
      const io: Io = { out: (s) => void cliOut.push(s), err: (s) => void cliOut.push(s) };
      const env = relEnv(db, { USER: 'reliability' });
      const cli = (args: string[], e: NodeJS.ProcessEnv = env): Promise<number> => main([...args, '--config', gw.configDir], io, e);
      for (const args of [
        ['check-config'],
        ['check-config', '--json'],
        ['status'],
        ['status', '--json'],
        ['connector', 'test', '--all'],
        ['connector', 'test', '--all', '--json'],
        ['deliveries', 'list', '--json', '--limit', '500'],
        ['deliveries', 'list'],
        ['recover'],
      ]) {
        await cli(args);
      }
      for (const d of deliveries) await cli(['deliveries', 'show', d.id, '--json']);
      for (const e of new Set(deliveries.map((d) => d.eventId))) await cli(['events', 'show', e]);
      // A broken config that holds secrets, and a database that cannot be reached with a password in its URL.
      const brokenSecret = `${SECRETS.webhookSecret}!not-base64`;
      const badConfig = await cli(['check-config'], { ...env, REL_WEBHOOK_SECRET: brokenSecret, REL_ADMIN_TOKEN: SECRETS.adminToken.slice(0, 8) });
      const unreachable = await cli(['status'], { ...env, TEST_DATABASE_URL: `postgres://omgw:${encodeURIComponent(SECRETS.dbPassword)}@127.0.0.1:1/omgw`, TEST_DATABASE_SCHEMA: 'omgw' });

      const leaks = [
        ...scan('secrets', 'answers', answers.join('\n')),
        ...scan('secrets', 'cli output', cliOut.join('\n')),
        ...scan('secrets', 'gateway logs', gw.output()),
        ...scan('secrets', 'database', await dumpDatabase(db)),
      ];
      const echoedAtTarget = target.requests.filter((r) => JSON.stringify(r.headers).includes(SECRETS.crmToken) || r.path.includes(SECRETS.apiKey) || r.body.includes(SECRETS.wsPassword)).length;
      const all = allLeaks();
      const evidence = scannedSoFar();
      const secretsTried = answers.length + cliOut.length;
      report('7 secrets (whole run)', {
        tried: secretsTried,
        leaked: all.length,
        crashed: gw.crashLines().length + gw.unexpectedExits,
        notes:
          `${Object.keys(SECRETS).length + 1} secrets, each in up to 9 forms, searched in ${evidence.pieces} pieces of evidence (${(evidence.bytes / 1024 / 1024).toFixed(1)} MB: databases, logs, answers, CLI output) ` +
          `from ${reportedRows().length} scenario rows; targets echoed credentials back ${echoedAtTarget} times, the token endpoint quoted the client secret once; ` +
          `bad config exit ${badConfig}, unreachable database exit ${unreachable}; leaks here: ${leaks.length}, in the whole run: ${all.length}`,
      });
      // The search itself finds what it looks for: the credentials the targets received, in every form.
      const selfTest = scan('secrets', 'self-test: what the targets received', target.requests.map((r) => `${r.path} ${JSON.stringify(r.headers)} ${r.body}`).join('\n'), false);
      expect(new Set(selfTest.map((l) => l.secret)), 'the search finds secrets where they are').to.include.members(['crmToken', 'biPassword', 'apiKey', 'oauthClientSecret', 'wsPassword']);
      expect(echoedAtTarget, 'the targets did receive the credentials (so the echo test means something)').to.be.greaterThan(0);
      expect(tokenCalls, 'token endpoint calls').to.be.at.least(2);
      expect([badConfig, unreachable]).to.deep.equal([3, 4]);
      expect(all.map((l) => `${l.scenario} / ${l.where}: ${l.secret} in …${l.context}…`)).to.deep.equal([]);
    } finally {
      await store.close();
    }
  });
});
