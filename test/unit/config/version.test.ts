import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { configVersion } from '../../../src/config/version.ts';
import { fixtureTrees } from '../../helpers/file-tree.ts';

const GATEWAY = `inbound:
  soap:
    users:
      - username: om-connector
        password: \${env:SOAP_PASSWORD}
`;
const CRM = 'protocol: rest\nurl: http://127.0.0.1:9/crm\nauth:\n  type: bearer\n  token: ${env:CRM_TOKEN}\n';
const TRIGGER_POINTS = "triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [crm]\n";
const ENV = { SOAP_PASSWORD: 'inbound-password-1', CRM_TOKEN: 'crm-token-1234' };

describe('config version', () => {
  const fixture = fixtureTrees(() => mkdtempSync(join(tmpdir(), 'omgw-version-')));
  const folder = (files: Record<string, string> = {}) =>
    fixture({ 'gateway.yaml': GATEWAY, 'connectors/crm.yaml': CRM, 'trigger-points.yaml': TRIGGER_POINTS, 'mappings/note.jsonata': '{ "id": orderKey }', ...files });
  const versionOf = async (dir: string, env: NodeJS.ProcessEnv = ENV) => configVersion(await loadConfig(dir, env));

  it('is a short digest, the same for the same config wherever its folder is and however its files are written', async () => {
    const version = await versionOf(folder());
    expect(version).to.match(/^[0-9a-f]{12}$/);
    expect(await versionOf(folder())).to.equal(version);
    // Comments, key order and quoting change nothing that was loaded.
    const rewritten = "# CRM\nurl: 'http://127.0.0.1:9/crm'\nauth: { token: '${env:CRM_TOKEN}', type: bearer }\nprotocol: rest\n";
    expect(await versionOf(folder({ 'connectors/crm.yaml': rewritten }))).to.equal(version);
  });

  it('changes with a setting, a connector, a trigger point, a mapping or a secret behind a reference', async () => {
    const version = await versionOf(folder());
    const changed = [
      await versionOf(folder({ 'gateway.yaml': `${GATEWAY}delivery:\n  maxInFlight: 8\n` })),
      await versionOf(folder({ 'connectors/crm.yaml': `${CRM}timeout: 5s\n` })),
      await versionOf(folder({ 'trigger-points.yaml': TRIGGER_POINTS.replace("['*']", '[HOLD]') })),
      await versionOf(folder({ 'mappings/note.jsonata': '{ "order": orderKey }' })),
      await versionOf(folder(), { ...ENV, CRM_TOKEN: 'crm-token-5678' }),
      await versionOf(folder(), { ...ENV, SOAP_PASSWORD: 'inbound-password-2' }),
    ];
    for (const v of changed) expect(v).to.not.equal(version);
    expect(new Set(changed).size).to.equal(changed.length);
  });

  it('takes the cluster settings with their defaults, and refuses a pace that would show live instances stale', async () => {
    const defaults = await loadConfig(folder(), ENV);
    expect(defaults.gateway.cluster).to.deep.equal({ heartbeat: 10_000, staleAfter: 60_000, forgetAfter: 7 * 86_400_000 });
    const set = await loadConfig(folder({ 'gateway.yaml': `${GATEWAY}cluster:\n  heartbeat: 5s\n  staleAfter: 20s\n  forgetAfter: 1d\n` }), ENV);
    expect(set.gateway.cluster).to.deep.equal({ heartbeat: 5_000, staleAfter: 20_000, forgetAfter: 86_400_000 });
    try {
      await loadConfig(folder({ 'gateway.yaml': `${GATEWAY}cluster:\n  heartbeat: 500ms\n  staleAfter: 15s\n  forgetAfter: 10s\n` }), ENV);
      expect.fail('the config was accepted');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      expect(err.problems.map((p) => [p.key, p.reason])).to.deep.equal([
        ['cluster.heartbeat', 'must be at least 1s'],
        ['cluster.forgetAfter', 'must not be less than staleAfter'],
      ]);
    }
    try {
      await loadConfig(folder({ 'gateway.yaml': `${GATEWAY}cluster:\n  heartbeat: 10s\n  staleAfter: 15s\n` }), ENV);
      expect.fail('the config was accepted');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      expect(err.problems.map((p) => [p.key, p.reason])).to.deep.equal([['cluster.staleAfter', 'must be at least twice heartbeat (10000 ms)']]);
    }
  });
});
