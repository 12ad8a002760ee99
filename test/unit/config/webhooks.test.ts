import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type ConfigProblem } from '../../../src/config/load.ts';
import { Secret } from '../../../src/config/secret.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../config', import.meta.url));

function gatewayYaml(webhooks: string): string {
  return `inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
${webhooks}`;
}

const dirs: string[] = [];
function dirWith(gateway: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-wh-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'gateway.yaml'), gateway);
  return dir;
}

async function problemsOf(gateway: string, env: NodeJS.ProcessEnv): Promise<ConfigProblem[]> {
  try {
    await loadConfig(dirWith(gateway), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  expect.fail('the config was accepted');
}

describe('config: inbound.webhooks.shipbob', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is absent by default (the endpoint answers 404)', async () => {
    const config = await loadConfig(dirWith(gatewayYaml('')), { SOAP_PASSWORD: 'pw-123456' });
    expect(config.gateway.inbound.webhooks.shipbob).to.equal(undefined);
  });

  it('takes secrets as references and fills the defaults: 5m tolerance, 1 MB, 7 d dedupe window', async () => {
    const config = await loadConfig(
      dirWith(gatewayYaml(`  webhooks:
    shipbob:
      secrets:
        - \${env:SHIPBOB_WEBHOOK_SECRET}
        - \${env:SHIPBOB_WEBHOOK_SECRET_OLD}
`)),
      { SOAP_PASSWORD: 'pw-123456', SHIPBOB_WEBHOOK_SECRET: SECRET, SHIPBOB_WEBHOOK_SECRET_OLD: OLD },
    );
    const settings = config.gateway.inbound.webhooks.shipbob;
    expect(settings).to.not.equal(undefined);
    if (!settings) return;
    expect(settings.enabled).to.equal(true);
    expect(settings.secrets.map((s) => s.reveal())).to.deep.equal([SECRET, OLD]);
    expect(settings.secrets[0]).to.be.instanceOf(Secret);
    expect(settings.tolerance).to.equal(5 * 60_000);
    expect(settings.maxBodySize).to.equal(1024 * 1024);
    expect(settings.dedupeWindow).to.equal(7 * 24 * 3_600_000);
    // Secrets are known to the log scrubber.
    expect(config.secrets).to.include(SECRET).and.include(OLD);
    expect(JSON.stringify(config.gateway)).to.not.include(SECRET);
  });

  it('refuses a secret written in the file, a malformed one, none while enabled, a short dedupe window', async () => {
    const env = { SOAP_PASSWORD: 'pw-123456', BAD: 'whsec_not-base64!', SHORT: 'whsec_c2hvcnQ=', EMPTY: '' };
    const problems = await problemsOf(
      gatewayYaml(`  webhooks:
    shipbob:
      secrets:
        - ${SECRET}
        - \${env:BAD}
        - \${env:SHORT}
        - \${env:EMPTY:-}
      tolerance: 10m
      dedupeWindow: 15m
      unknown: 1
`),
      env,
    );
    const at = (key: string) => problems.filter((p) => p.key === key).map((p) => p.reason).join(' | ');
    expect(at('inbound.webhooks.shipbob.secrets.0')).to.include('${env:NAME}');
    expect(at('inbound.webhooks.shipbob.secrets.1')).to.include('whsec_');
    expect(at('inbound.webhooks.shipbob.secrets.2')).to.include('24 to 64 bytes');
    expect(at('inbound.webhooks.shipbob.secrets.3')).to.include('whsec_');
    expect(at('inbound.webhooks.shipbob.unknown')).to.equal('unknown key');
    for (const p of problems) expect(p.reason).to.not.include('not-base64').and.not.include(SECRET.slice(6));

    const none = await problemsOf(gatewayYaml('  webhooks:\n    shipbob:\n      enabled: true\n'), env);
    expect(none.map((p) => [p.key, p.reason])).to.deep.include(['inbound.webhooks.shipbob.secrets', 'at least one secret is needed while enabled']);

    const short = await problemsOf(
      gatewayYaml(`  webhooks:\n    shipbob:\n      secrets: ['\${env:S}']\n      tolerance: 10m\n      dedupeWindow: 15m\n`),
      { ...env, S: SECRET },
    );
    expect(short.map((p) => [p.key, p.reason])).to.deep.include(['inbound.webhooks.shipbob.dedupeWindow', 'must be at least twice the tolerance']);
  });

  it('has a signed-body budget of 16 MB by default, which must hold shipbob.maxBodySize', async () => {
    const env = { SOAP_PASSWORD: 'pw-123456', S: SECRET };
    const plain = await loadConfig(dirWith(gatewayYaml('')), env);
    expect(plain.gateway.inbound.webhooks.bodyBudget).to.equal(16 * 1024 * 1024);
    const fits = await loadConfig(dirWith(gatewayYaml(`  webhooks:\n    bodyBudget: 2MB\n    shipbob:\n      secrets: ['\${env:S}']\n      maxBodySize: 2MB\n`)), env);
    expect(fits.gateway.inbound.webhooks.bodyBudget).to.equal(2 * 1024 * 1024);
    const tooSmall = await problemsOf(gatewayYaml(`  webhooks:\n    bodyBudget: 1MB\n    shipbob:\n      secrets: ['\${env:S}']\n      maxBodySize: 2MB\n`), env);
    expect(tooSmall.map((p) => [p.key, p.reason])).to.deep.equal([
      ['inbound.webhooks.bodyBudget', 'must be at least shipbob.maxBodySize (2097152 bytes): a webhook of that size must fit'],
    ]);
  });

  it('may be disabled without secrets', async () => {
    const config = await loadConfig(dirWith(gatewayYaml('  webhooks:\n    shipbob:\n      enabled: false\n')), { SOAP_PASSWORD: 'pw-123456' });
    expect(config.gateway.inbound.webhooks.shipbob?.enabled).to.equal(false);
  });

  it('the example config has the block, with a sandbox secret in the right format, overridable by SHIPBOB_WEBHOOK_SECRET', async () => {
    const config = await loadConfig(EXAMPLE_CONFIG, {});
    const secret = config.gateway.inbound.webhooks.shipbob?.secrets[0]?.reveal() ?? '';
    expect(secret).to.match(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).to.have.length(24);
    const overridden = await loadConfig(EXAMPLE_CONFIG, { SHIPBOB_WEBHOOK_SECRET: SECRET });
    expect(overridden.gateway.inbound.webhooks.shipbob?.secrets[0]?.reveal()).to.equal(SECRET);
  });
});
