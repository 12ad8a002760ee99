import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Checks requests against ShipBob's published OpenAPI (2026-01), read from the shared specs folder
 * beside the repository (`<repo>/../shared/specs/shipbob/`). The spec is generated code that a strict
 * JSON Schema validator cannot use as is (DESIGN.md §6), so this is a small checker that reads it the
 * way ShipBob's server behaves:
 *
 * - `allOf` members are merged into one schema (properties, required, constraints);
 * - `oneOf` is read as `anyOf` (the product-by-reference and product-by-id models overlap);
 * - `additionalProperties: false` is ignored on a schema that has `allOf`/`oneOf`/`anyOf` (there it
 *   only knows its own part of the properties) and so are `$ref` siblings (OpenAPI 3.0); it is
 *   enforced on plain object schemas, which catches misspelt fields;
 * - a `required` name that is not a property: its snake_case form when that is a property
 *   (`purchaseOrderNumber` → `purchase_order_number`), otherwise ignored (`product_id` of
 *   `AddProductToOrderByProductIdModel`, whose property is `id`);
 * - formats are checked loosely: int32/int64 ranges, date-time (ISO 8601, as .NET reads it), date,
 *   email, uri, uuid; other formats (postal-code, currency, ...) are not checked;
 * - with `{ nullableRefs: true }` (for answers), a schema that is only a `$ref` may be null: OpenAPI
 *   3.0 cannot say `nullable` beside a `$ref`, and ShipBob answers null there (the `tracking` of a
 *   shipment not shipped yet).
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (test/helpers → ..). */
const REPO_ROOT = path.resolve(HERE, '../..');
export const SHIPBOB_SPECS_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'specs', 'shipbob');
export const SHIPBOB_OPENAPI_FILE = path.join(SHIPBOB_SPECS_DIR, 'shipbob-openapi-2026-01.json');
/** False when the shared specs folder is not there (a clone without it): tests skip. */
export const shipbobSpecAvailable = existsSync(SHIPBOB_OPENAPI_FILE);
export const SHIPBOB_SPEC_SKIP_MESSAGE = '../shared/specs/shipbob not found: ShipBob OpenAPI validation skipped';

let warned = false;
/** In a mocha hook or test: skips it (saying why, once) when the spec is not available. */
export function skipWithoutShipBobSpec(ctx: Mocha.Context): void {
  if (shipbobSpecAvailable) return;
  if (!warned) {
    warned = true;
    process.stderr.write(`${SHIPBOB_SPEC_SKIP_MESSAGE} (looked for ${SHIPBOB_OPENAPI_FILE})\n`);
  }
  ctx.skip();
}

type Schema = Record<string, unknown>;
type HeadersLike = Headers | Record<string, string | string[] | number | undefined>;

interface Doc {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema> };
}

let loaded: Doc | null = null;

export function loadShipBobSpec(): Doc {
  if (!shipbobSpecAvailable) throw new Error(SHIPBOB_SPEC_SKIP_MESSAGE);
  loaded ??= JSON.parse(readFileSync(SHIPBOB_OPENAPI_FILE, 'utf8')) as Doc;
  return loaded;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Schema checker

/** A schema with its combinators flattened. */
interface Flat {
  types: string[] | null;
  nullable: boolean;
  properties: Map<string, Schema>;
  required: string[];
  /** false: no extra properties; a schema: extras must match it; true: anything. */
  additional: boolean | Schema;
  items: Schema | null;
  enum: unknown[] | null;
  format: string | null;
  pattern: string | null;
  minLength: number | null;
  maxLength: number | null;
  minimum: number | null;
  maximum: number | null;
  minItems: number | null;
  maxItems: number | null;
  /** Each group: the value must match at least one alternative (oneOf/anyOf). */
  alternatives: Schema[][];
}

const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
/** ISO 8601 as .NET's DateTime reads it: a date alone is taken too (Billing's example sends 2019-08-24). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export class SchemaChecker {
  readonly #doc: Doc;
  readonly #flat = new WeakMap<Schema, Flat>();
  readonly #nullableRefs: boolean;

  constructor(doc: Doc, options: { nullableRefs?: boolean } = {}) {
    this.#doc = doc;
    this.#nullableRefs = options.nullableRefs ?? false;
  }

  /** Follows `$ref` (siblings of a `$ref` are ignored, as OpenAPI 3.0 says). */
  deref(schema: Schema): Schema {
    let s = schema;
    for (let i = 0; i < 32 && typeof s.$ref === 'string'; i++) {
      const ref = s.$ref as string;
      const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
      const target = m ? this.#doc.components.schemas[m[1] ?? ''] : undefined;
      if (!target) throw new Error(`unresolvable $ref ${ref}`);
      s = target;
    }
    return s;
  }

  flatten(input: Schema, seen: Set<Schema> = new Set()): Flat {
    const s = this.deref(input);
    const cached = this.#flat.get(s);
    if (cached) return cached;
    const combined = Array.isArray(s.allOf) || Array.isArray(s.oneOf) || Array.isArray(s.anyOf);
    const type = s.type;
    const flat: Flat = {
      types: typeof type === 'string' ? [type] : Array.isArray(type) ? type.filter((t): t is string => typeof t === 'string') : null,
      nullable: s.nullable === true || (Array.isArray(type) && type.includes('null')),
      properties: new Map(isObj(s.properties) ? Object.entries(s.properties).filter((e): e is [string, Schema] => isObj(e[1])) : []),
      required: Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : [],
      additional: s.additionalProperties === false ? combined : isObj(s.additionalProperties) ? s.additionalProperties : true,
      items: isObj(s.items) ? s.items : null,
      enum: Array.isArray(s.enum) ? s.enum : null,
      format: typeof s.format === 'string' ? s.format : null,
      pattern: typeof s.pattern === 'string' ? s.pattern : null,
      minLength: num(s.minLength),
      maxLength: num(s.maxLength),
      minimum: num(s.minimum),
      maximum: num(s.maximum),
      minItems: num(s.minItems),
      maxItems: num(s.maxItems),
      alternatives: [],
    };
    if (seen.has(s)) return flat;
    seen.add(s);
    for (const member of Array.isArray(s.allOf) ? s.allOf : []) {
      if (!isObj(member)) continue;
      const m = this.flatten(member, seen);
      flat.types ??= m.types;
      for (const [k, v] of m.properties) if (!flat.properties.has(k)) flat.properties.set(k, v);
      for (const r of m.required) if (!flat.required.includes(r)) flat.required.push(r);
      flat.items ??= m.items;
      flat.enum ??= m.enum;
      flat.format ??= m.format;
      flat.pattern ??= m.pattern;
      flat.minLength ??= m.minLength;
      flat.maxLength ??= m.maxLength;
      flat.minimum ??= m.minimum;
      flat.maximum ??= m.maximum;
      flat.minItems ??= m.minItems;
      flat.maxItems ??= m.maxItems;
      if (isObj(m.additional) && flat.additional === true) flat.additional = m.additional;
      flat.alternatives.push(...m.alternatives);
    }
    for (const key of ['oneOf', 'anyOf'] as const) {
      const group = s[key];
      if (Array.isArray(group)) flat.alternatives.push(group.filter(isObj));
    }
    seen.delete(s);
    this.#flat.set(s, flat);
    return flat;
  }

  /** Problems of `value` against `schema`, each prefixed with its path (e.g. `body.products[0].quantity`). */
  check(schema: Schema, value: unknown, where: string): string[] {
    const problems: string[] = [];
    this.#check(schema, value, where, problems, 0);
    return problems;
  }

  #check(schema: Schema, value: unknown, where: string, problems: string[], depth: number): void {
    if (depth > 64) {
      problems.push(`${where}: nested too deep`);
      return;
    }
    const f = this.flatten(schema);
    if (value === null) {
      if (!f.nullable && f.types !== null && !(this.#nullableRefs && typeof schema.$ref === 'string')) problems.push(`${where}: null is not allowed`);
      return;
    }
    const types = f.types ?? (f.properties.size > 0 ? ['object'] : null);
    // A .NET enum published as `type: string, format: int32, enum: [names]` also takes its ordinal
    // (System.Text.Json reads numbers into enums): Returns.ReturnAction's example sends 0.
    if (f.format === 'int32' && f.enum && typeof value === 'number' && types?.includes('string')) {
      if (!Number.isInteger(value) || value < 0 || value >= f.enum.length) problems.push(`${where}: ${value} is not an ordinal of ${f.enum.join('|')}`);
      return;
    }
    if (types && !types.some((t) => matchesType(t, value, f.format))) {
      problems.push(`${where}: expected ${types.join('|')}${f.format ? ` (${f.format})` : ''}, got ${describe(value)}`);
      return;
    }
    if (f.enum && !f.enum.some((e) => e === value)) {
      problems.push(`${where}: ${JSON.stringify(value)} is not one of ${f.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    }
    if (typeof value === 'string') {
      if (f.minLength !== null && value.length < f.minLength) problems.push(`${where}: shorter than ${f.minLength}`);
      if (f.maxLength !== null && value.length > f.maxLength) problems.push(`${where}: longer than ${f.maxLength}`);
      if (f.pattern !== null && !new RegExp(f.pattern).test(value)) problems.push(`${where}: does not match ${f.pattern}`);
      const formatProblem = checkStringFormat(f.format, value);
      if (formatProblem) problems.push(`${where}: ${formatProblem}`);
    }
    if (typeof value === 'number') {
      if (f.minimum !== null && value < f.minimum) problems.push(`${where}: below the minimum ${f.minimum}`);
      if (f.maximum !== null && value > f.maximum) problems.push(`${where}: above the maximum ${f.maximum}`);
    }
    if (Array.isArray(value)) {
      if (f.minItems !== null && value.length < f.minItems) problems.push(`${where}: fewer than ${f.minItems} items`);
      if (f.maxItems !== null && value.length > f.maxItems) problems.push(`${where}: more than ${f.maxItems} items`);
      if (f.items) value.forEach((item, i) => this.#check(f.items as Schema, item, `${where}[${i}]`, problems, depth + 1));
    }
    if (isObj(value)) {
      for (const name of f.required) {
        const prop = requiredProperty(name, f.properties);
        if (prop !== null && value[prop] === undefined) problems.push(`${where}.${prop}: required`);
      }
      for (const [k, v] of Object.entries(value)) {
        const propSchema = f.properties.get(k);
        if (propSchema) this.#check(propSchema, v, `${where}.${k}`, problems, depth + 1);
        else if (f.additional === false && f.properties.size > 0) problems.push(`${where}.${k}: not a property of the schema`);
        else if (isObj(f.additional)) this.#check(f.additional, v, `${where}.${k}`, problems, depth + 1);
      }
    }
    for (const group of f.alternatives) {
      let best: string[] | null = null;
      for (const alt of group) {
        const sub: string[] = [];
        this.#check(alt, value, where, sub, depth + 1);
        if (sub.length === 0) {
          best = null;
          break;
        }
        if (best === null || sub.length < best.length) best = sub;
      }
      if (best !== null) {
        const names = group.map((a) => (typeof a.$ref === 'string' ? a.$ref.split('/').pop() : (a.type as string | undefined) ?? 'schema'));
        problems.push(`${where}: matches none of [${names.join(', ')}]; closest: ${best.join('; ')}`);
      }
    }
  }
}

/** The property a `required` entry stands for (see the header comment), or null to ignore it. */
function requiredProperty(name: string, properties: Map<string, Schema>): string | null {
  if (properties.size === 0 || properties.has(name)) return name;
  const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return properties.has(snake) ? snake : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'string' ? `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : typeof value === 'number' ? `number ${value}` : typeof value;
}

function matchesType(type: string, value: unknown, format: string | null): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && inIntRange(value, format);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      return format === 'int32' || format === 'int64' ? Number.isInteger(value) && inIntRange(value, format) : true;
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObj(value);
    case 'null':
      return value === null;
    default:
      return true;
  }
}

function inIntRange(value: number, format: string | null): boolean {
  if (format === 'int32') return value >= INT32.min && value <= INT32.max;
  return Number.isSafeInteger(value);
}

function checkStringFormat(format: string | null, value: string): string | null {
  switch (format) {
    case 'date-time':
      return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) ? null : `${JSON.stringify(value)} is not a date-time`;
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(value) ? null : `${JSON.stringify(value)} is not a date`;
    case 'int32':
    case 'int64': {
      if (!/^-?\d+$/.test(value)) return `${JSON.stringify(value)} is not an integer`;
      const n = Number(value);
      return format === 'int32' && (n < INT32.min || n > INT32.max) ? `${value} is out of the int32 range` : null;
    }
    case 'email':
      return /^[^\s@]+@[^\s@]+$/.test(value) ? null : `${JSON.stringify(value)} is not an e-mail address`;
    case 'uri':
      try {
        new URL(value);
        return null;
      } catch {
        return `${JSON.stringify(value)} is not an absolute URI`;
      }
    case 'uuid':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) ? null : `${JSON.stringify(value)} is not a UUID`;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Operation {
  template: string;
  method: string;
  op: Record<string, unknown>;
  params: string[];
}

function templateRegex(template: string): { re: RegExp; literal: number } {
  let literal = 0;
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (/^\{[^}]+\}$/.test(part)) return '([^/]+?)';
      literal += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { re: new RegExp(`^${source}$`), literal };
}

let compiled: Array<{ template: string; re: RegExp; literal: number; params: string[] }> | null = null;

function findOperation(doc: Doc, method: string, pathname: string): Operation | string {
  compiled ??= Object.keys(doc.paths).map((template) => ({
    template,
    ...templateRegex(template),
    params: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''),
  }));
  const candidates = compiled
    .map((c) => ({ c, m: c.re.exec(pathname) }))
    .filter((x): x is { c: (typeof compiled & object)[number]; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => b.c.literal - a.c.literal);
  const best = candidates[0];
  if (!best) return `no path of the spec matches ${pathname}`;
  const item = doc.paths[best.c.template] ?? {};
  const op = item[method.toLowerCase()];
  if (!isObj(op)) {
    const allowed = METHODS.filter((m) => isObj(item[m])).map((m) => m.toUpperCase());
    return `${method.toUpperCase()} is not an operation of ${best.c.template} (spec has ${allowed.join(', ')})`;
  }
  return { template: best.c.template, method: method.toLowerCase(), op, params: best.m.slice(1) };
}

function headerGetter(headers: HeadersLike): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    lower.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v));
  }
  return (name) => lower.get(name.toLowerCase());
}

/** The path below the server URL: accepts a full URL, or a path with a prefix before `/{version}/`. */
function splitTarget(target: string): { pathname: string; query: URLSearchParams } {
  const url = new URL(target, 'http://shipbob.invalid');
  let pathname = url.pathname;
  const version = /\/(\d{4}-\d{2}|1\.0|2\.0)(?=[/:]|$)/.exec(pathname);
  if (version && version.index > 0) pathname = pathname.slice(version.index);
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    // keep it
  }
  return { pathname, query: url.searchParams };
}

/** Coerces a query/path/header string to what the parameter's schema wants, for checking. */
function coerce(checker: SchemaChecker, schema: Schema, raw: string): unknown {
  const f = checker.flatten(schema);
  const t = f.types?.[0];
  if (t === 'integer' || t === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (t === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

/**
 * Problems of one request against the 2026-01 spec (empty when it conforms): the path and method
 * exist, path/query/header parameters (required ones present, values of the right type), a bearer
 * Authorization where the operation is secured, and the JSON body against the operation's schema.
 * `body` may be the raw text or the parsed value; undefined means no body.
 */
export function validateRequest(method: string, target: string, headers: HeadersLike, body?: unknown): string[] {
  const doc = loadShipBobSpec();
  const checker = new SchemaChecker(doc);
  const problems: string[] = [];
  const { pathname, query } = splitTarget(target);
  const found = findOperation(doc, method, pathname);
  if (typeof found === 'string') return [found];
  const header = headerGetter(headers);
  const pathItem = doc.paths[found.template] ?? {};
  const params = [
    ...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []),
    ...(Array.isArray(found.op.parameters) ? found.op.parameters : []),
  ].filter(isObj);
  const pathNames = [...found.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
  for (const p of params) {
    const name = typeof p.name === 'string' ? p.name : '';
    const schema = isObj(p.schema) ? p.schema : {};
    let raw: string | undefined;
    if (p.in === 'path') raw = found.params[pathNames.indexOf(name)];
    else if (p.in === 'query') raw = [...query.entries()].find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    else if (p.in === 'header') raw = header(name);
    else continue;
    if (raw === undefined) {
      if (p.required === true) problems.push(`${p.in} parameter ${name}: required`);
      continue;
    }
    problems.push(...checker.check(schema, coerce(checker, schema, raw), `${p.in} parameter ${name}`));
  }
  const security = Array.isArray(found.op.security) ? found.op.security.filter(isObj) : [];
  if (security.length > 0 && !/^Bearer \S+$/.test(header('authorization') ?? '')) {
    problems.push('header Authorization: a bearer token (PAT or OAuth2) is required');
  }
  const requestBody = isObj(found.op.requestBody) ? found.op.requestBody : null;
  const hasBody = body !== undefined && body !== '';
  if (!requestBody) {
    if (hasBody) problems.push(`${found.method.toUpperCase()} ${found.template} takes no request body`);
    return problems;
  }
  if (!hasBody) {
    problems.push('body: missing (the operation takes a JSON body)');
    return problems;
  }
  const content = isObj(requestBody.content) ? requestBody.content : {};
  const media = isObj(content['application/json']) ? content['application/json'] : null;
  const contentType = header('content-type');
  if (media && contentType !== undefined && !/^application\/json\b/i.test(contentType)) {
    problems.push(`header Content-Type: ${contentType} is not application/json`);
  }
  let value: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      value = JSON.parse(String(body));
    } catch (err) {
      problems.push(`body: not JSON (${(err as Error).message})`);
      return problems;
    }
  }
  if (media && isObj(media.schema)) problems.push(...checker.check(media.schema, value, 'body'));
  return problems;
}

/** Problems of a value against a named component schema, e.g. `Orders.CreateOrderModel`. */
export function validateSchema(name: string, value: unknown): string[] {
  const doc = loadShipBobSpec();
  const schema = doc.components.schemas[name];
  if (!schema) throw new Error(`no schema ${name} in the spec`);
  return new SchemaChecker(doc).check(schema, value, name);
}

export interface RequestExample {
  method: string;
  path: string;
  schema: string;
  example: unknown;
}

/** The spec's own request body examples (media type `example`/`examples`, or the body schema's `example`). */
export function requestExamples(): RequestExample[] {
  const doc = loadShipBobSpec();
  const out: RequestExample[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!isObj(op) || !isObj(op.requestBody) || !isObj(op.requestBody.content)) continue;
      const media = op.requestBody.content['application/json'];
      if (!isObj(media) || !isObj(media.schema)) continue;
      const ref = typeof media.schema.$ref === 'string' ? media.schema.$ref : '';
      const schemaName = ref.split('/').pop() ?? '';
      const schema = schemaName ? doc.components.schemas[schemaName] : media.schema;
      const examples: unknown[] = [];
      if (media.example !== undefined) examples.push(media.example);
      if (isObj(media.examples)) for (const e of Object.values(media.examples)) if (isObj(e) && e.value !== undefined) examples.push(e.value);
      if (examples.length === 0 && schema && schema.example !== undefined) examples.push(schema.example);
      for (const example of examples) out.push({ method: method.toUpperCase(), path: p, schema: schemaName, example });
    }
  }
  return out;
}
