import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { parse as parseYaml } from 'yaml';
import { yamlSyntaxReason } from './yaml-syntax.ts';

/**
 * The `mappings/` folder of the config: JSONata templates for custom REST payloads
 * (`<name>.jsonata`, used as transform `jsonata:<name>`) and key→value maps (`<name>.yaml`:
 * product and location maps per customer, for ShipBob orders; status maps, ShipBob topic or status
 * → Oracle code, which templates read with `$mapValue`).
 *
 * Loading never throws for a bad file: every problem is returned as `{ file, key, reason }` (file
 * relative to the config folder, as config/load.ts reports them) so a config check lists them all.
 */

export interface MappingProblem {
  /** Relative to the config folder, e.g. `mappings/order.jsonata`. */
  file: string;
  /** Where in the file ('' for the whole file), e.g. `entries.SKU-1`. */
  key: string;
  reason: string;
}

/** Transforms a connector may name; their code lives in src/connectors/transforms/. */
export const BUILTIN_TRANSFORMS = ['canonical-json', 'om-results-xml', 'otm-transmission'] as const;
export type BuiltinTransformName = (typeof BUILTIN_TRANSFORMS)[number];
export const JSONATA_PREFIX = 'jsonata:';

/**
 * For config checks: null when `name` is a built-in or a `jsonata:<name>` whose template exists, else
 * the reason. (A template's syntax errors are reported by loadMappings.)
 */
export function validateTransformName(name: string, mappings: MappingSet): string | null {
  if ((BUILTIN_TRANSFORMS as readonly string[]).includes(name)) return null;
  if (name.startsWith(JSONATA_PREFIX)) {
    const template = name.slice(JSONATA_PREFIX.length);
    if (template === '') return `"${name}" names no template (use jsonata:<name> for mappings/<name>.jsonata)`;
    if (mappings.template(template) !== null || mappings.unusable('template', template)) return null;
    return `no template mappings/${template}.jsonata for "${name}"`;
  }
  return `unknown transform "${name}" (use one of ${BUILTIN_TRANSFORMS.join(', ')}, or jsonata:<name> for mappings/<name>.jsonata)`;
}

export const VALUE_MAP_KINDS = ['product-map', 'location-map', 'status-map'] as const;
export type ValueMapKind = (typeof VALUE_MAP_KINDS)[number];

export interface ValueMap {
  name: string;
  kind: ValueMapKind;
  customer: string | null;
  /** Keys and values exactly as written in the file (no number conversion: Fusion ids exceed 2^53). */
  entries: ReadonlyMap<string, string>;
}

export interface MappingSet {
  /** JSONata source text of template `name` (from `mappings/<name>.jsonata`), or null. Kept even when it does not compile. */
  template(name: string): string | null;
  templateNames(): string[];
  map(name: string): ValueMap | null;
  mapNames(): string[];
  /** The value for `key` in map `mapName` (from `mappings/<mapName>.yaml`), or null. */
  lookup(mapName: string, key: string): string | null;
  /**
   * Whether the file of this map or template is there but could not be used (unreadable, not YAML,
   * not a valid map; or the folder could not be read): its own problems are in `problems`, so a
   * reference to it is not reported a second time as a missing file.
   */
  unusable(kind: 'map' | 'template', name: string): boolean;
  /** Bad files found while loading. */
  readonly problems: readonly MappingProblem[];
}

/** Names whose files could not be used, or all of them when the folder could not be read. */
interface Unusable {
  maps: Set<string>;
  templates: Set<string>;
  all: boolean;
}

const MAPPINGS_DIR = 'mappings';
/** Usable as `jsonata:<name>` and as a map name. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOP_LEVEL_KEYS = new Set(['kind', 'customer', 'entries']);

/** A MappingSet from values in memory (the empty set when a config has no mappings folder). */
function createMappingSet(
  parts: { templates?: Record<string, string>; maps?: ValueMap[]; problems?: MappingProblem[]; unusable?: Unusable } = {},
): MappingSet {
  const unusable = parts.unusable ?? { maps: new Set<string>(), templates: new Set<string>(), all: false };
  const templates = new Map(Object.entries(parts.templates ?? {}));
  const maps = new Map((parts.maps ?? []).map((m) => [m.name, m]));
  const problems = [...(parts.problems ?? [])];
  return {
    template: (name) => templates.get(name) ?? null,
    templateNames: () => [...templates.keys()].sort(),
    map: (name) => maps.get(name) ?? null,
    mapNames: () => [...maps.keys()].sort(),
    lookup: (mapName, key) => maps.get(mapName)?.entries.get(key) ?? null,
    unusable: (kind, name) => unusable.all || (kind === 'map' ? unusable.maps : unusable.templates).has(name),
    problems,
  };
}

/**
 * Reads `<configDir>/mappings/*.jsonata` and `*.yaml` (`*.yml`). A missing folder is an empty set.
 * Templates are compiled once here to report syntax errors; the registry compiles them again on use.
 */
export async function loadMappings(configDir: string): Promise<MappingSet> {
  const dir = join(configDir, MAPPINGS_DIR);
  const problems: MappingProblem[] = [];
  const templates: Record<string, string> = {};
  const maps: ValueMap[] = [];
  const unusable: Unusable = { maps: new Set(), templates: new Set(), all: false };

  let files: string[];
  try {
    files = (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return createMappingSet();
    problems.push({ file: MAPPINGS_DIR, key: '', reason: `cannot be read (${code ?? String(err)})` });
    return createMappingSet({ problems, unusable: { ...unusable, all: true } });
  }

  const seenMaps = new Map<string, string>();
  for (const file of files) {
    const match = /^(.*)\.(jsonata|ya?ml)$/.exec(file);
    if (!match) continue;
    const name = match[1] ?? '';
    const ext = match[2] ?? '';
    const rel = `${MAPPINGS_DIR}/${file}`;
    if (!NAME.test(name)) {
      problems.push({ file: rel, key: '', reason: 'file name must be letters, digits, ".", "_" or "-" (it becomes the mapping name)' });
      continue;
    }
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') continue;
      problems.push({ file: rel, key: '', reason: `cannot be read (${code ?? String(err)})` });
      (ext === 'jsonata' ? unusable.templates : unusable.maps).add(name);
      continue;
    }

    if (ext === 'jsonata') {
      templates[name] = text;
      const reason = jsonataSyntaxProblem(text);
      if (reason !== null) problems.push({ file: rel, key: '', reason });
      continue;
    }

    const earlier = seenMaps.get(name);
    if (earlier !== undefined) {
      problems.push({ file: rel, key: '', reason: `map "${name}" is already defined by ${earlier}` });
      continue;
    }
    seenMaps.set(name, rel);
    const map = parseValueMap(name, text, rel, problems);
    if (map) maps.push(map);
    else unusable.maps.add(name);
  }
  return createMappingSet({ templates, maps, problems, unusable });
}

/** null when `text` compiles, else why not (with the position of the error). */
function jsonataSyntaxProblem(text: string): string | null {
  try {
    jsonata(text);
    return null;
  } catch (err) {
    return `not a valid JSONata expression: ${jsonataErrorMessage(err)}`;
  }
}

/** JSONata throws plain objects with code, position and message; Error instances from functions. */
export function jsonataErrorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { message?: unknown; code?: unknown; position?: unknown };
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'unknown error';
    const code = typeof e.code === 'string' ? ` [${e.code}]` : '';
    const position = typeof e.position === 'number' && e.position > 0 ? ` at position ${e.position}` : '';
    return `${message}${code}${position}`;
  }
  return String(err);
}

/**
 * `{ kind: product-map|location-map|status-map, customer?: string, entries: { key: value } }`. Parsed with
 * the YAML failsafe schema: every scalar stays the text written (`00123`, `300000009988776123`, `1.10`).
 */
function parseValueMap(name: string, text: string, rel: string, problems: MappingProblem[]): ValueMap | null {
  let raw: unknown;
  try {
    raw = parseYaml(text, { schema: 'failsafe', prettyErrors: false });
  } catch (err) {
    problems.push({ file: rel, key: '', reason: yamlSyntaxReason(text, err) });
    return null;
  }
  if (!isRecord(raw)) {
    problems.push({ file: rel, key: '', reason: 'must be a map with kind and entries' });
    return null;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL_KEYS.has(key)) problems.push({ file: rel, key, reason: 'unknown key' });
  }

  const kind = raw.kind;
  if (kind === undefined) problems.push({ file: rel, key: 'kind', reason: 'is required' });
  else if (typeof kind !== 'string' || !(VALUE_MAP_KINDS as readonly string[]).includes(kind)) {
    problems.push({ file: rel, key: 'kind', reason: `must be one of ${VALUE_MAP_KINDS.join(', ')}` });
  }

  const customer = raw.customer;
  if (customer !== undefined && (typeof customer !== 'string' || customer === '')) {
    problems.push({ file: rel, key: 'customer', reason: 'must be a non-empty string' });
  }

  const entries = new Map<string, string>();
  const rawEntries = raw.entries;
  if (rawEntries === undefined) problems.push({ file: rel, key: 'entries', reason: 'is required' });
  else if (!isRecord(rawEntries)) {
    problems.push({ file: rel, key: 'entries', reason: 'must be a map of key: value' });
  } else {
    for (const [key, value] of Object.entries(rawEntries)) {
      if (typeof value !== 'string') {
        problems.push({ file: rel, key: `entries.${key}`, reason: 'must be a single value, not a list or a map' });
      } else if (value === '') {
        problems.push({ file: rel, key: `entries.${key}`, reason: 'has no value' });
      } else {
        entries.set(key, value);
      }
    }
  }

  if (problems.length > before) return null;
  return {
    name,
    kind: kind as ValueMapKind,
    customer: typeof customer === 'string' ? customer : null,
    entries,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
