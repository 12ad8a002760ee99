import type { ConfigProblem, GatewayConfig } from './load.ts';
import { Secret } from './secret.ts';
import { isLoopbackHost } from '../server/loopback.ts';

/**
 * Secret values anyone can read: the defaults of the example config (config/*.yaml, its
 * `${env:NAME:-default}` references) and the ones README.md prints. A gateway using one is a
 * demo, whatever else it is. Keep this list in step with config/ and README.md.
 */
const PUBLISHED_DEFAULT_SECRETS: ReadonlySet<string> = new Set([
  'sandbox-secret', // inbound.soap.users[].password (OMGW_SOAP_PASSWORD)
  'sandbox-admin-token-change-me', // admin.token (OMGW_ADMIN_TOKEN)
  'sandbox-encryption-key', // database.encryptionKey (OMGW_ENCRYPTION_KEY)
  'sandbox-fusion-secret', // sandbox.fusion.password, connectors/fusion.yaml (FUSION_PASSWORD)
  'sandbox-shipbob-token', // sandbox.shipbob.token, connectors/shipbob.yaml (SHIPBOB_TOKEN, OMGW_SANDBOX_SHIPBOB_TOKEN)
  'whsec_b21ndy1zYW5kYm94LXNoaXBib2Ita2V5', // sandbox.shipbob.webhookSecret, inbound.webhooks.shipbob.secrets (SHIPBOB_WEBHOOK_SECRET)
  'sandbox-crm-key', // connectors/order-status-crm.yaml (CRM_API_KEY)
  'sandbox-otm-secret', // connectors/otm.yaml (OTM_PASSWORD)
  'whsec_b21ndy1zYW5kYm94LWZ1bGZpbG1lbnQx', // connectors/fulfilment.yaml async.callback.auth.secret (FULFILMENT_CALLBACK_SECRET)
]);

export interface PublishedDefault {
  file: string;
  /** The setting, e.g. admin.token or inbound.soap.users.0.password (never its value). */
  key: string;
  /**
   * It guards a route the gateway serves to the network (admin API, SOAP endpoint, ShipBob
   * webhooks): with it, anyone who has read the README can call that route.
   */
  guardsInbound: boolean;
}

const INBOUND_KEYS = [/^admin\.token$/, /^inbound\.soap\.users\.\d+\.password$/, /^inbound\.webhooks\.shipbob\.secrets\.\d+$/];
/** A connector's callback credentials guard POST /callbacks/{connector}. */
const CONNECTOR_INBOUND_KEYS = [/^async\.callback\.auth\./];

/** Every secret setting whose resolved value is a published default, in config order. */
export function publishedDefaultsInUse(config: Pick<GatewayConfig, 'gateway' | 'connectors'>): PublishedDefault[] {
  const found: PublishedDefault[] = [];
  for (const key of secretKeys(config.gateway, '')) {
    found.push({ file: 'gateway.yaml', key, guardsInbound: INBOUND_KEYS.some((k) => k.test(key)) });
  }
  for (const connector of config.connectors) {
    for (const key of secretKeys(connector, '')) found.push({ file: `connectors/${connector.name}.yaml`, key, guardsInbound: CONNECTOR_INBOUND_KEYS.some((k) => k.test(key)) });
  }
  return found;
}

/** `gateway.yaml admin.token`: how a log line or an error names a setting. */
export function describeSetting(setting: Pick<PublishedDefault, 'file' | 'key'>): string {
  return `${setting.file} ${setting.key}`;
}

/**
 * Why the gateway must not listen on `host` with this config, as config problems (empty when it
 * may): a host other than loopback exposes the admin API and the inbound endpoints, and a
 * published default credential on one of them lets anyone in. `server.allowPublishedSecrets`
 * lets a lab do it anyway.
 */
export function exposureProblems(config: Pick<GatewayConfig, 'gateway' | 'connectors'>, host: string): ConfigProblem[] {
  if (isLoopbackHost(host) || config.gateway.server.allowPublishedSecrets) return [];
  return publishedDefaultsInUse(config)
    .filter((d) => d.guardsInbound)
    .map((d) => ({
      file: d.file,
      key: d.key,
      reason:
        `is a published default (from the example config or README) and server.host ${host} is not loopback: ` +
        'set your own secret, bind 127.0.0.1, or set server.allowPublishedSecrets: true for a lab',
    }));
}

/** Dotted paths below `value` of the Secrets whose value is a published default. */
function secretKeys(value: unknown, path: string): string[] {
  if (value instanceof Secret) return PUBLISHED_DEFAULT_SECRETS.has(value.reveal()) ? [path] : [];
  const join = (k: string | number): string => (path === '' ? String(k) : `${path}.${k}`);
  if (Array.isArray(value)) return value.flatMap((v: unknown, i) => secretKeys(v, join(i)));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => secretKeys(v, join(k)));
  return [];
}
