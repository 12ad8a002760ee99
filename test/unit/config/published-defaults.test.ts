import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadConfig } from '../../../src/config/load.ts';
import { Secret } from '../../../src/config/secret.ts';
import { exposureProblems, publishedDefaultsInUse } from '../../../src/config/published-defaults.ts';
import { isLoopbackAddress, isLoopbackHost } from '../../../src/server/loopback.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE_CONFIG = `${ROOT}config`;

/** Every environment variable the example config reads a secret from, set to a value of our own. */
const OWN_SECRETS = {
  OMGW_SOAP_PASSWORD: 'own-soap-password',
  OMGW_ADMIN_TOKEN: 'own-admin-token-0123456789',
  OMGW_ENCRYPTION_KEY: 'own-encryption-key',
  FUSION_PASSWORD: 'own-fusion-password',
  SHIPBOB_TOKEN: 'own-shipbob-token',
  SHIPBOB_WEBHOOK_SECRET: `whsec_${Buffer.from('own-webhook-secret-24byt').toString('base64')}`,
  CRM_API_KEY: 'own-crm-key',
  OTM_PASSWORD: 'own-otm-password',
  FULFILMENT_CALLBACK_SECRET: `whsec_${Buffer.from('own-fulfilment-secret-24').toString('base64')}`,
};

describe('config/published-defaults', function () {
  it('lists every default secret the example config and README publish', async function () {
    const published = [readFileSync(`${ROOT}README.md`, 'utf8'), ...['gateway.yaml', 'connectors/fusion.yaml', 'connectors/fusion-holds.yaml', 'connectors/fusion-receipts.yaml', 'connectors/order-status-crm.yaml', 'connectors/otm.yaml', 'connectors/shipbob.yaml', 'connectors/fulfilment.yaml'].map((f) => readFileSync(`${EXAMPLE_CONFIG}/${f}`, 'utf8'))].join('\n');
    const defaults = [...published.matchAll(/\$\{env:[A-Z_]*(?:PASSWORD|TOKEN|SECRET|KEY)[A-Z_]*:-([^}]+)\}/g)].map((m) => m[1] ?? '');
    expect(defaults).not.to.be.empty;
    // A config with every secret of its own, but for an admin token set to the published value.
    const own = await loadConfig(EXAMPLE_CONFIG, OWN_SECRETS);
    for (const value of defaults) {
      const config = { ...own, gateway: { ...own.gateway, admin: { ...own.gateway.admin, token: new Secret(value) } } };
      expect(publishedDefaultsInUse(config).map((d) => d.key), value).to.deep.equal(['admin.token']);
    }
  });

  it('names each setting of the example config that uses one, and no value', async function () {
    const config = await loadConfig(EXAMPLE_CONFIG, {});
    const found = publishedDefaultsInUse(config);
    expect(found.map((d) => `${d.file} ${d.key}`)).to.have.members([
      'gateway.yaml database.encryptionKey',
      'gateway.yaml sandbox.fusion.password',
      'gateway.yaml sandbox.shipbob.token',
      'gateway.yaml sandbox.shipbob.webhookSecret',
      'gateway.yaml inbound.soap.users.0.password',
      'gateway.yaml inbound.webhooks.shipbob.secrets.0',
      'gateway.yaml admin.token',
      'connectors/fusion.yaml auth.password',
      'connectors/fusion-holds.yaml auth.password',
      'connectors/fusion-receipts.yaml auth.password',
      'connectors/order-status-crm.yaml auth.key',
      'connectors/otm.yaml auth.password',
      'connectors/shipbob.yaml auth.token',
      'connectors/fulfilment.yaml async.callback.auth.secret',
    ]);
    // A connector's callback secret guards POST /callbacks/{connector}.
    expect(found.filter((d) => d.guardsInbound).map((d) => d.key)).to.have.members(['inbound.soap.users.0.password', 'inbound.webhooks.shipbob.secrets.0', 'admin.token', 'async.callback.auth.secret']);
    expect(JSON.stringify(found)).not.to.match(/sandbox-secret|sandbox-admin-token/);
  });

  it('finds none once every secret is set', async function () {
    const config = await loadConfig(EXAMPLE_CONFIG, OWN_SECRETS);
    expect(publishedDefaultsInUse(config)).to.deep.equal([]);
  });

  it('refuses a host other than loopback only for inbound credentials, unless allowed', async function () {
    const config = await loadConfig(EXAMPLE_CONFIG, {});
    expect(exposureProblems(config, '127.0.0.1')).to.deep.equal([]);
    expect(exposureProblems(config, 'localhost')).to.deep.equal([]);
    expect(exposureProblems(config, '::1')).to.deep.equal([]);
    expect(exposureProblems(config, '0.0.0.0').map((p) => `${p.file} ${p.key}`)).to.deep.equal([
      'gateway.yaml inbound.soap.users.0.password',
      'gateway.yaml inbound.webhooks.shipbob.secrets.0',
      'gateway.yaml admin.token',
      'connectors/fulfilment.yaml async.callback.auth.secret',
    ]);
    expect(exposureProblems(config, 'omgw.example.com')).to.have.length(4);
    config.gateway.server.allowPublishedSecrets = true;
    expect(exposureProblems(config, '0.0.0.0')).to.deep.equal([]);
    const inboundOwn = await loadConfig(EXAMPLE_CONFIG, { OMGW_SOAP_PASSWORD: 'x-own', OMGW_ADMIN_TOKEN: OWN_SECRETS.OMGW_ADMIN_TOKEN, SHIPBOB_WEBHOOK_SECRET: OWN_SECRETS.SHIPBOB_WEBHOOK_SECRET, FULFILMENT_CALLBACK_SECRET: OWN_SECRETS.FULFILMENT_CALLBACK_SECRET });
    expect(exposureProblems(inboundOwn, '0.0.0.0')).to.deep.equal([]);
  });
});

describe('server/loopback', function () {
  it('tells loopback peer addresses from others', function () {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.2']) expect(isLoopbackAddress(a), a).to.equal(true);
    for (const a of ['192.0.2.2', '::ffff:192.0.2.2', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'fe80::1', '', undefined]) expect(isLoopbackAddress(a), String(a)).to.equal(false);
  });

  it('tells loopback hosts (server.host) from others', function () {
    for (const h of ['127.0.0.1', 'localhost', 'LOCALHOST', '::1', '[::1]']) expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ['0.0.0.0', '::', '192.0.2.2', 'omgw.example.com', 'localhost.example.com']) expect(isLoopbackHost(h), h).to.equal(false);
  });
});
