import { createHash } from 'node:crypto';
import type { GatewayConfig } from './load.ts';
import { Secret } from './secret.ts';

/**
 * The config version an instance reports (src/domain/instance.ts): a digest of the config it has in
 * force, so an operator can tell the instances that run the same config from one that did not reload.
 *
 * It is taken over what was loaded (gateway.yaml with its defaults and resolved references, the
 * connectors, the trigger points, the mappings), not over the files' bytes: a changed environment
 * variable behind `${env:...}` changes it, reformatting a file does not, and the folder's path is left
 * out so that instances with the same config elsewhere on disk agree. A secret enters only as its own
 * digest, and only the overall digest leaves this function.
 */
export function configVersion(config: GatewayConfig): string {
  let version = VERSIONS.get(config);
  if (version === undefined) {
    const mappings = config.mappings;
    const content = canonical({
      gateway: config.gateway,
      connectors: config.connectors,
      triggerPoints: config.triggerPoints,
      templates: Object.fromEntries(mappings.templateNames().map((name) => [name, mappings.template(name)])),
      maps: mappings.mapNames().map((name) => mappings.map(name)),
    });
    version = sha256(content).slice(0, 12);
    VERSIONS.set(config, version);
  }
  return version;
}

/** A loaded config does not change: its digest is taken once (the heartbeat asks for it at every beat). */
const VERSIONS = new WeakMap<GatewayConfig, string>();

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted, secrets as their digest, maps as sorted entries; undefined members left out. */
function canonical(value: unknown): string {
  if (value instanceof Secret) return JSON.stringify(`secret:${sha256(value.reveal())}`);
  if (value instanceof Map) return canonical(Object.fromEntries([...(value as Map<unknown, unknown>).entries()].map(([k, v]) => [String(k), v])));
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonical(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined && typeof v !== 'function')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
