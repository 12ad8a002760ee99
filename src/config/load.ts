import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { GatewayError } from '../domain/errors.ts';
import {
  buildSchemas,
  DATABASE_URL,
  type ConnectorConfig,
  type GatewaySettings,
  type TriggerPointConfig,
} from './schema.ts';
import { Secret } from './secret.ts';
import { localServerUrl } from './server-url.ts';
import { loadMappings, validateTransformName, type MappingSet } from './mappings.ts';
import { checkTlsFiles } from './tls-files.ts';
import { yamlSyntaxReason } from './yaml-syntax.ts';

export interface ConfigProblem {
  file: string;
  key: string;
  reason: string;
}

export interface GatewayConfig {
  dir: string;
  gateway: GatewaySettings;
  connectors: ConnectorConfig[];
  triggerPoints: TriggerPointConfig[];
  /** mappings/: JSONata templates and product/location maps. */
  mappings: MappingSet;
  /**
   * Every resolved secret value, with the `user:password` pairs of credentials, so logs and what is
   * stored of a target's answers can be scrubbed of them (src/domain/secrets-scrub.ts).
   */
  secrets: string[];
}

/** What `${server:url}` stands for while gateway.yaml is invalid (the config is refused anyway). */
const UNKNOWN_SERVER_URL = 'http://gateway.invalid';

export class ConfigError extends GatewayError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super('CONFIG_INVALID', `config has ${problems.length} problem(s):\n${formatProblems(problems)}`);
    this.problems = problems;
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `  ${p.file}${p.key ? ` ${p.key}` : ''}: ${p.reason}`).join('\n');
}

/**
 * Reads a config folder as a whole: gateway.yaml, connectors/*.yaml, trigger-points.yaml.
 * Either every file is valid and consistent, or a ConfigError lists every problem found.
 */
export async function loadConfig(dirArg: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  const dir = resolve(dirArg);
  const schemas = buildSchemas({ env, baseDir: dir });
  const problems: ConfigProblem[] = [];

  const gatewayRaw = await readYaml(dir, 'gateway.yaml', problems, { required: true });
  const gateway = gatewayRaw === undefined ? undefined : validate(schemas.gateway, gatewayRaw, 'gateway.yaml', problems);
  if (env.DATABASE_URL && !DATABASE_URL.test(env.DATABASE_URL)) {
    problems.push({ file: 'gateway.yaml', key: 'database.url', reason: 'DATABASE_URL must start with sqlite: or postgres://' });
  } else if (gateway && env.DATABASE_URL) gateway.database.url = env.DATABASE_URL;

  // Connector files may reach the gateway's own routes (the sandbox peers) through ${server:url}.
  // Without a valid gateway.yaml that URL is unknown, which is its problem, not the connectors':
  // they are checked with a stand-in.
  const connectorSchema = buildSchemas({ env, baseDir: dir, serverUrl: gateway ? localServerUrl(gateway.server) : UNKNOWN_SERVER_URL }).connector;
  const connectors: ConnectorConfig[] = [];
  /** Each valid connector's file, relative to the config folder. */
  const fileOf = new Map<ConnectorConfig, string>();
  /** Connectors whose file has problems: a trigger point naming one is not reported a second time. */
  const invalidConnectors = new Set<string>();
  for (const file of await listYaml(join(dir, 'connectors'))) {
    const rel = `connectors/${file}`;
    const stem = basename(file).replace(/\.ya?ml$/, '');
    const raw = await readYaml(dir, rel, problems, { required: true });
    if (raw === undefined) {
      invalidConnectors.add(stem);
      continue;
    }
    const withName = isRecord(raw) && raw.name === undefined ? { ...raw, name: stem } : raw;
    const parsed = validate(connectorSchema, withName, rel, problems);
    if (!parsed) {
      invalidConnectors.add(isRecord(withName) && typeof withName.name === 'string' ? withName.name : stem);
      continue;
    }
    if (connectors.some((c) => c.name === parsed.name)) {
      problems.push({ file: rel, key: 'name', reason: `connector "${parsed.name}" is defined twice` });
      continue;
    }
    connectors.push(parsed);
    fileOf.set(parsed, rel);
  }
  // Relative tls.* paths become absolute (against this folder), and each file must be usable.
  for (const c of connectors) {
    const file = fileOf.get(c) ?? `connectors/${c.name}.yaml`;
    for (const p of await checkTlsFiles(c, dir)) problems.push({ file, ...p });
    // A WSDL file is read at start and at each reload (src/connectors/soap-wsdl/catalog.ts), from this folder.
    if (c.soap?.wsdl !== undefined && !/^https?:/i.test(c.soap.wsdl)) c.soap.wsdl = resolve(dir, c.soap.wsdl);
  }

  const tpRaw = await readYaml(dir, 'trigger-points.yaml', problems, { required: false });
  const tp = validate(schemas.triggerPoints, tpRaw ?? {}, 'trigger-points.yaml', problems);
  const triggerPoints = tp?.triggerPoints ?? [];
  // Cross-checks read the raw entries, so they are reported even when the file has other problems
  // (name and connectors are plain strings: the raw values are the parsed ones).
  const rawPoints = isRecord(tpRaw) && Array.isArray(tpRaw.triggerPoints) ? (tpRaw.triggerPoints as unknown[]) : [];
  const names = new Set<string>();
  rawPoints.forEach((point, i) => {
    if (!isRecord(point)) return;
    if (typeof point.name === 'string') {
      if (names.has(point.name)) {
        problems.push({ file: 'trigger-points.yaml', key: `triggerPoints.${i}.name`, reason: `"${point.name}" is used twice` });
      }
      names.add(point.name);
    }
    const named = Array.isArray(point.connectors) ? (point.connectors as unknown[]) : [];
    named.forEach((name, j) => {
      if (typeof name !== 'string' || name === '' || invalidConnectors.has(name)) return;
      if (!connectors.some((c) => c.name === name)) {
        problems.push({
          file: 'trigger-points.yaml',
          key: `triggerPoints.${i}.connectors.${j}`,
          reason: `no connector named "${name}" (connectors: ${connectors.map((c) => c.name).join(', ') || 'none'})`,
        });
      }
    });
  });

  const mappings = await loadMappings(dir);
  problems.push(...mappings.problems);
  for (const c of connectors) {
    if (c.transform === undefined) continue;
    const reason = validateTransformName(c.transform, mappings);
    if (reason) problems.push({ file: `connectors/${c.name}.yaml`, key: 'transform', reason });
  }

  /** Whether `name` is an oracle-fusion connector, or a connector file whose problems are listed already. */
  const isFusionConnector = (name: string): boolean => {
    const found = connectors.find((x) => x.name === name);
    return found ? found.kind === 'oracle-fusion' : invalidConnectors.has(name);
  };
  for (const c of connectors) {
    const file = `connectors/${c.name}.yaml`;
    if (c.kind === 'shipbob') {
      // ShipBob allows 150 requests a minute per token; a connector that sets no limit gets that one.
      c.rateLimit ??= { requests: 150, per: 60_000 };
      if (!c.shipbob) {
        problems.push({ file, key: 'shipbob', reason: 'a shipbob connector needs a shipbob block (enrichFrom, productMap)' });
        continue;
      }
      if (!isFusionConnector(c.shipbob.enrichFrom)) {
        problems.push({ file, key: 'shipbob.enrichFrom', reason: `no oracle-fusion connector named "${c.shipbob.enrichFrom}"` });
      }
      for (const [key, name, kind] of [['shipbob.productMap', c.shipbob.productMap, 'product-map'], ['shipbob.locationMap', c.shipbob.locationMap, 'location-map']] as const) {
        if (name === undefined) continue;
        const map = mappings.map(name);
        if (!map) {
          // A map file that is there but could not be used has its own problem already.
          if (!mappings.unusable('map', name)) problems.push({ file, key, reason: `no mappings/${name}.yaml` });
        } else if (map.kind !== kind) problems.push({ file, key, reason: `mappings/${name}.yaml is a ${map.kind}, not a ${kind}` });
      }
    }
  }

  const poller = gateway?.schedules.poller;
  if (poller?.enabled) {
    if (poller.connector === undefined) problems.push({ file: 'gateway.yaml', key: 'schedules.poller.connector', reason: 'is required when the poller is enabled' });
    else if (!isFusionConnector(poller.connector)) {
      problems.push({ file: 'gateway.yaml', key: 'schedules.poller.connector', reason: `no oracle-fusion connector named "${poller.connector}"` });
    }
  }

  // A signed callback is read whole before its signature is checked, from the signed-body budget:
  // the largest one must fit in it, or it could never be accepted.
  const signedBudget = gateway?.inbound.webhooks.bodyBudget;
  for (const c of connectors) {
    const callback = c.async?.callback;
    if (signedBudget === undefined || callback?.auth.type !== 'standard-webhooks' || callback.maxBodySize <= signedBudget) continue;
    problems.push({
      file: fileOf.get(c) ?? `connectors/${c.name}.yaml`,
      key: 'async.callback.maxBodySize',
      reason: `must not be more than inbound.webhooks.bodyBudget in gateway.yaml (${signedBudget} bytes): a signed callback is held whole before its signature is checked`,
    });
  }

  if (gateway && !gateway.database.encryptionKey) {
    for (const c of connectors) {
      if (c.auth.type === 'oauth2-refresh-token') {
        problems.push({
          file: 'gateway.yaml',
          key: 'database.encryptionKey',
          reason: `is required: connector "${c.name}" rotates refresh tokens, which are kept encrypted in the database`,
        });
      }
    }
  }
  if (problems.length > 0 || !gateway) throw new ConfigError(problems);
  const loaded = { dir, gateway, connectors, triggerPoints, mappings, secrets: [] as string[] };
  loaded.secrets = collectSecrets(loaded);
  const dbPassword = databasePassword(gateway.database.url);
  if (dbPassword) loaded.secrets.push(dbPassword);
  // Each value once, longest first, so scrubbing replaces a secret before any shorter one inside it.
  loaded.secrets = [...new Set(loaded.secrets)].sort((a, b) => b.length - a.length);
  return loaded;
}

async function listYaml(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir);
    return entries.filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function readYaml(
  dir: string,
  rel: string,
  problems: ConfigProblem[],
  opts: { required: boolean },
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, rel), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !opts.required) return undefined;
    problems.push({ file: rel, key: '', reason: code === 'ENOENT' ? 'file not found' : `cannot be read (${code})` });
    return undefined;
  }
  try {
    return parseYaml(text, { prettyErrors: false }) ?? {};
  } catch (err) {
    problems.push({ file: rel, key: '', reason: yamlSyntaxReason(text, err) });
    return undefined;
  }
}

function validate<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  file: string,
  problems: ConfigProblem[],
): z.output<S> | undefined {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      // One problem per unknown key, with its full path (a key at the top level has no path otherwise).
      for (const k of issue.keys) problems.push({ file, key: key ? `${key}.${k}` : k, reason: 'unknown key' });
      continue;
    }
    problems.push({ file, key, reason: describeIssue(issue) });
  }
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Values that may be written as a number or as a string ("10MB", "${env:PORT}", "true"): zod says only
    // "Invalid input"; the branch that failed on the content, not on the type, says what is wrong.
    const branches = issue.errors.filter((b) => b.length > 0);
    const telling = branches.find((b) => b.some((i) => i.code !== 'invalid_type')) ?? branches[branches.length - 1];
    if (telling) return telling.map(describeIssue).join('; ');
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return 'is required';
  return issue.message;
}

function databasePassword(url: string): string | null {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : null;
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Every secret value, and the forms of it that a target may echo which scrubbing cannot derive
 * from the value alone: the `user:password` pair of Basic credentials (its base64 is what an
 * Authorization header carries; OAuth2 client ids and secrets are form-encoded first, RFC 6749
 * §2.3.1), and the key of a `whsec_` webhook secret without its prefix.
 */
function collectSecrets(value: unknown, out: string[] = []): string[] {
  if (value instanceof Secret) {
    const s = value.reveal();
    if (s.length > 0) out.push(s);
    if (s.startsWith('whsec_')) out.push(s.slice('whsec_'.length));
  } else if (Array.isArray(value)) {
    for (const v of value) collectSecrets(v, out);
  } else if (isRecord(value)) {
    const pair = (user: unknown, secret: unknown): void => {
      if (typeof user !== 'string' || !(secret instanceof Secret) || secret.reveal() === '') return;
      out.push(`${user}:${secret.reveal()}`);
      const formEncoded = `${formEncode(user)}:${formEncode(secret.reveal())}`;
      if (formEncoded !== `${user}:${secret.reveal()}`) out.push(formEncoded);
    };
    pair(value.username, value.password);
    pair(value.clientId, value.clientSecret);
    for (const v of Object.values(value)) collectSecrets(v, out);
  }
  return out;
}

function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}
