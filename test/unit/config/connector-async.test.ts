import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ConfigProblem } from '../../../src/config/load.ts';
import { Secret } from '../../../src/config/secret.ts';

const GATEWAY = `inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
`;
const ENV = { SOAP_PASSWORD: 'inbound-pw-1', CB_PASSWORD: 'callback-pw-1', CB_TOKEN: 'callback-token-1', CB_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

const ASYNC_BLOCK = `mode: async
async:
  responseTimeout: 24h
  correlation:
    header: X-Correlation-Id
  callback:
    auth:
      type: basic
      username: fulfilment
      password: \${env:CB_PASSWORD}
    delivered: [COMPLETED, SUCCESS]
    failed: [FAILED, REJECTED]
`;

const dirs: string[] = [];
function dirWith(connector: string, gateway = GATEWAY): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-async-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'gateway.yaml'), gateway);
  mkdirSync(join(dir, 'connectors'));
  writeFileSync(join(dir, 'connectors', 'fulfilment.yaml'), connector);
  return dir;
}

function rest(extra: string): string {
  return `protocol: rest\nurl: https://fulfilment.example.com/orders\n${extra}`;
}
function soap(extra: string): string {
  return `protocol: soap\nurl: https://fulfilment.example.com/ws\n${extra}`;
}

async function problemsOf(connector: string, gateway = GATEWAY): Promise<ConfigProblem[]> {
  try {
    await loadConfig(dirWith(connector, gateway), ENV);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  expect.fail('the config was accepted');
}

function keysAndReasons(problems: ConfigProblem[]): string[] {
  return problems.map((p) => `${p.key}: ${p.reason}`);
}

describe('config: a connector in mode async', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is sync without an async block by default', async () => {
    const config = await loadConfig(dirWith(rest('')), ENV);
    const [c] = config.connectors;
    expect(c?.mode).to.equal('sync');
    expect(c?.async).to.equal(undefined);
  });

  it('reads the async block: the deadline in ms, the correlation, the callback settings and their defaults', async () => {
    const config = await loadConfig(dirWith(rest(ASYNC_BLOCK)), ENV);
    const c = config.connectors[0];
    expect(c?.mode).to.equal('async');
    expect(c?.async?.responseTimeout).to.equal(24 * 3_600_000);
    expect(c?.async?.correlation).to.deep.equal({ header: 'X-Correlation-Id' });
    const cb = c?.async?.callback;
    expect(cb?.correlationPath).to.equal('correlationId');
    expect(cb?.statusPath).to.equal('status');
    expect(cb?.messagePath).to.equal(undefined);
    expect(cb?.delivered).to.deep.equal(['COMPLETED', 'SUCCESS']);
    expect(cb?.failed).to.deep.equal(['FAILED', 'REJECTED']);
    expect(cb?.maxBodySize).to.equal(1024 * 1024);
    expect(cb?.auth.type).to.equal('basic');
    if (cb?.auth.type !== 'basic') expect.fail('basic auth expected');
    expect(cb.auth.password).to.be.instanceOf(Secret);
    expect(cb.auth.password.reveal()).to.equal('callback-pw-1');
    // The callback password is a secret like any other: scrubbed from logs and answers.
    expect(config.secrets).to.include('callback-pw-1');
    expect(config.secrets).to.include('fulfilment:callback-pw-1');
  });

  it('accepts each of the four callback auth types; a webhook secret must look like one', async () => {
    const withAuth = (auth: string): string =>
      rest(ASYNC_BLOCK.replace(/ {4}auth:\n( {6}.*\n)+/, `    auth:\n${auth}`));
    const bearer = await loadConfig(dirWith(withAuth('      type: bearer\n      token: ${env:CB_TOKEN}\n')), ENV);
    expect(bearer.connectors[0]?.async?.callback.auth.type).to.equal('bearer');
    const signed = await loadConfig(dirWith(withAuth('      type: standard-webhooks\n      secret: ${env:CB_SECRET}\n')), ENV);
    const auth = signed.connectors[0]?.async?.callback.auth;
    if (auth?.type !== 'standard-webhooks') expect.fail('standard-webhooks expected');
    expect(auth.tolerance).to.equal(5 * 60_000);
    const token = await loadConfig(dirWith(soap(ASYNC_BLOCK.replace(/ {4}auth:\n( {6}.*\n)+/, '    auth:\n      type: username-token\n      username: fulfilment\n      password: ${env:CB_PASSWORD}\n'))), ENV);
    expect(token.connectors[0]?.async?.callback.auth.type).to.equal('username-token');

    const problems = await problemsOf(withAuth('      type: standard-webhooks\n      secret: ${env:SOAP_PASSWORD}\n'));
    expect(keysAndReasons(problems)).to.deep.equal(['async.callback.auth.secret: must be whsec_ followed by the base64 of 24 to 64 bytes (a Standard Webhooks secret)']);
    const literal = await problemsOf(withAuth('      type: bearer\n      token: written-here\n'));
    expect(literal.map((p) => p.key)).to.deep.equal(['async.callback.auth.token']);
  });

  it("needs a signed callback's maxBodySize to fit in inbound.webhooks.bodyBudget (read whole before its signature is checked); other callbacks are not held to it", async () => {
    const signed = (maxBodySize: string): string =>
      rest(ASYNC_BLOCK.replace(/ {4}auth:\n( {6}.*\n)+/, '    auth:\n      type: standard-webhooks\n      secret: ${env:CB_SECRET}\n') + `    maxBodySize: ${maxBodySize}\n`);
    const budget = `${GATEWAY}  webhooks:\n    bodyBudget: 4MB\n`;
    const fits = await loadConfig(dirWith(signed('4MB'), budget), ENV);
    expect(fits.connectors[0]?.async?.callback.maxBodySize).to.equal(4 * 1024 * 1024);
    expect(keysAndReasons(await problemsOf(signed('5MB'), budget))).to.deep.equal([
      'async.callback.maxBodySize: must not be more than inbound.webhooks.bodyBudget in gateway.yaml (4194304 bytes): a signed callback is held whole before its signature is checked',
    ]);
    // The default budget (16 MB) holds the default maxBodySize (1 MB) and a larger one.
    expect((await loadConfig(dirWith(signed('12MB')), ENV)).connectors).to.have.length(1);
    // Basic, bearer and UsernameToken callbacks are proven before their bodies grow: the push budget's.
    const basic = await loadConfig(dirWith(rest(`${ASYNC_BLOCK}    maxBodySize: 5MB\n`), budget), ENV);
    expect(basic.connectors[0]?.async?.callback.maxBodySize).to.equal(5 * 1024 * 1024);
  });

  it('refuses async without mode: async, and mode: async without async', async () => {
    expect(keysAndReasons(await problemsOf(rest(ASYNC_BLOCK.replace('mode: async\n', ''))))).to.deep.equal(['async: is used only with mode: async']);
    expect(keysAndReasons(await problemsOf(rest('mode: async\n')))).to.deep.equal(['async: is required with mode: async']);
  });

  it('needs exactly one way of carrying the correlation id', async () => {
    const none = await problemsOf(rest(ASYNC_BLOCK.replace('  correlation:\n    header: X-Correlation-Id\n', '  correlation: {}\n')));
    expect(keysAndReasons(none)).to.deep.equal(['async.correlation: needs exactly one of header, field, responsePath, responseXPath']);
    const two = await problemsOf(rest(ASYNC_BLOCK.replace('    header: X-Correlation-Id\n', '    header: X-Correlation-Id\n    field: meta.correlationId\n')));
    expect(keysAndReasons(two)).to.deep.equal(['async.correlation: needs exactly one of header, field, responsePath, responseXPath (has header, field)']);
  });

  it('takes field and responsePath only for REST, responseXPath only for SOAP', async () => {
    const correlation = (line: string): string => ASYNC_BLOCK.replace('    header: X-Correlation-Id\n', `    ${line}\n`);
    for (const line of ['field: meta.correlationId', 'responsePath: data.requestId']) {
      const ok = await loadConfig(dirWith(rest(correlation(line))), ENV);
      expect(ok.connectors[0]?.async?.correlation).to.have.property(line.split(':')[0] as string);
      const key = line.split(':')[0] as string;
      expect(keysAndReasons(await problemsOf(soap(correlation(line))))).to.deep.equal([`async.correlation.${key}: is for protocol: rest (a JSON body)`]);
    }
    const xpath = 'responseXPath: "//*[local-name()=\'RequestId\']"';
    const ok = await loadConfig(dirWith(soap(correlation(xpath))), ENV);
    expect(ok.connectors[0]?.async?.correlation.responseXPath).to.equal("//*[local-name()='RequestId']");
    expect(keysAndReasons(await problemsOf(rest(correlation(xpath))))).to.deep.equal(['async.correlation.responseXPath: is for protocol: soap']);
  });

  it('refuses a status value in both lists, an empty list, a bad duration and an unknown key', async () => {
    const both = await problemsOf(rest(ASYNC_BLOCK.replace('failed: [FAILED, REJECTED]', 'failed: [FAILED, SUCCESS]')));
    expect(keysAndReasons(both)).to.deep.equal(['async.callback.failed: "SUCCESS" is also in delivered: a status value means one outcome']);
    const empty = await problemsOf(rest(ASYNC_BLOCK.replace('failed: [FAILED, REJECTED]', 'failed: []')));
    expect(keysAndReasons(empty)).to.deep.equal(['async.callback.failed: at least one status value is needed']);
    const duration = await problemsOf(rest(ASYNC_BLOCK.replace('24h', 'tomorrow')));
    expect(keysAndReasons(duration)).to.deep.equal(['async.responseTimeout: "tomorrow" is not a duration (use e.g. 250ms, 30s, 5m, 2h, 7d)']);
    const unknown = await problemsOf(rest(ASYNC_BLOCK.replace('  callback:\n', '  callback:\n    retries: 3\n')));
    expect(keysAndReasons(unknown)).to.deep.equal(['async.callback.retries: unknown key']);
  });

  it('is for generic connectors only', async () => {
    const problems = await problemsOf(rest(`kind: oracle-fusion\n${ASYNC_BLOCK}`));
    expect(keysAndReasons(problems)).to.deep.equal(['mode: async is for generic connectors, not kind oracle-fusion']);
  });
});
