import { readFile } from 'node:fs/promises';
import { loadConfig } from '../config/load.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import { redactHeaders, redactUrl } from '../connectors/auth/redact.ts';
import { WsdlCatalog, WsdlUnavailableError } from '../connectors/soap-wsdl/catalog.ts';
import type { WsdlOperation } from '../connectors/soap-wsdl/document.ts';
import type { FieldShape } from '../connectors/soap-wsdl/shape.ts';
import type { ProbeReport } from '../connectors/probe.ts';
import { isGatewayError } from '../domain/errors.ts';
import { parsePreviewEvent, type DeliveryPreview, type PreviewEventInput, type PreviewSource } from '../services/preview.ts';
import { cliActor } from './actor.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { usage, withOperationServices, type OperationsArgs } from './operations.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';

/**
 * `omgw connector describe NAME`: what a connector sends and what its mapping must produce (a WSDL
 * connector's operations with the input shape of each; a REST connector's method, URL template and
 * transform). `omgw preview --connector NAME --event ID | --file event.json`: the request the next
 * delivery would send, built by the delivery runtime itself through the preview service the admin
 * API uses too (src/services/preview.ts), credentials masked, nothing sent and nothing written.
 * `omgw connector test NAME | --all`: probes the live target step by step, each test audited
 * as the admin API's test is (options and exit codes: operations.ts).
 */

function findConnector(ctx: CommandContext, connectors: readonly ConnectorConfig[], name: string): ConnectorConfig | null {
  const found = connectors.find((c) => c.name === name);
  if (!found) ctx.io.err(`no connector named "${name.slice(0, 100)}" (connectors: ${connectors.map((c) => c.name).join(', ') || 'none'})`);
  return found ?? null;
}

export async function describeCommand(ctx: CommandContext, name: string | undefined): Promise<number> {
  if (name === undefined) {
    ctx.io.err('usage: omgw connector describe NAME');
    return EXIT.usage;
  }
  const config = await loadConfig(ctx.configDir, ctx.env);
  const connector = findConnector(ctx, config.connectors, name);
  if (!connector) return EXIT.failed;
  const common = {
    name: connector.name,
    protocol: connector.protocol,
    kind: connector.kind,
    // The template as configured: {{name}} placeholders are filled per delivery.
    url: `${redactUrl(connector.url, connector).replace(/\/$/, '')}${connector.path}`,
    transform: connector.transform ?? (connector.protocol === 'soap' ? 'om-results-xml' : 'canonical-json'),
  };
  if (connector.soap?.wsdl === undefined) {
    const headers = redactHeaders(connector.headers, connector);
    const soap = connector.protocol === 'soap' ? { version: connector.soap?.version ?? '1.1', action: connector.soap?.action ?? '' } : undefined;
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ ...common, method: connector.protocol === 'soap' ? 'POST' : connector.method, headers, ...(soap ? { soap } : {}) }, null, 2));
      return EXIT.ok;
    }
    ctx.io.out(`connector ${connector.name} (${connector.protocol}, kind ${connector.kind})`);
    ctx.io.out(`  ${connector.protocol === 'soap' ? 'POST' : connector.method} ${common.url}   ({{name}} placeholders are filled from the event)`);
    for (const [k, v] of Object.entries(headers)) ctx.io.out(`  ${k}: ${v}`);
    if (soap) ctx.io.out(`  SOAP ${soap.version}, SOAPAction "${soap.action}"`);
    ctx.io.out(`  transform ${common.transform}`);
    return EXIT.ok;
  }
  let operations: WsdlOperation[];
  try {
    operations = (await new WsdlCatalog().document(connector)).operations;
  } catch (err) {
    if (!(err instanceof WsdlUnavailableError)) throw err;
    ctx.io.err(err.message);
    return EXIT.failed;
  }
  const chosen = (o: WsdlOperation): boolean =>
    o.name === connector.soap?.operation && (connector.soap.service ?? o.service) === o.service && (connector.soap.port ?? o.port) === o.port;
  if (ctx.json) {
    const out = operations.map((o) => ({ ...o, selected: chosen(o), input: o.input ? fieldJson(o.input, new Set()) : null }));
    ctx.io.out(JSON.stringify({ ...common, wsdl: connector.soap.wsdl, operations: out }, null, 2));
    return EXIT.ok;
  }
  ctx.io.out(`connector ${connector.name}: POST ${common.url}, transform ${common.transform}`);
  ctx.io.out(`WSDL ${connector.soap.wsdl}`);
  for (const o of operations) {
    ctx.io.out('');
    ctx.io.out(`${chosen(o) ? '* ' : '  '}${o.name}   ${o.service}/${o.port}   SOAP ${o.version} ${o.style}/literal   SOAPAction "${o.soapAction}"`);
    if (!o.input) {
      ctx.io.out(`    not supported: ${o.unsupported ?? 'no input'}`);
      continue;
    }
    const fields = o.input.shape.kind === 'complex' ? o.input.shape.fields : [];
    ctx.io.out(`    the mapping yields the content of <${o.input.name}> (${o.input.ns || 'no namespace'}):`);
    for (const line of shapeLines(fields, 3, new Set())) ctx.io.out(line);
  }
  ctx.io.out('');
  ctx.io.out('* the operation this connector sends. [] repeated (a JSON array), ? optional; elements are written in this order whatever the order of the keys.');
  return EXIT.ok;
}

function typeLabel(f: FieldShape): string {
  return f.shape.kind === 'simple'
    ? `${f.shape.typeName ?? f.shape.base}${f.shape.enumeration ? ` (${f.shape.enumeration.join(' | ')})` : ''}`
    : (f.shape.typeName ?? 'object');
}

function occursLabel(f: FieldShape): string {
  const max = f.max === null ? 'unbounded' : String(f.max);
  const base = f.min === 0 ? (f.max === 1 ? 'optional' : `optional, up to ${max}`) : f.max === 1 ? 'required' : `${f.min} to ${max}`;
  return f.nillable ? `${base}, nillable` : base;
}

/** One line per field, nested by indentation; a type met again inside itself is named, not expanded. */
function shapeLines(fields: FieldShape[], depth: number, seen: Set<unknown>): string[] {
  const lines: string[] = [];
  for (const f of fields) {
    const repeated = f.max === null || f.max > 1;
    const name = `${f.name}${repeated ? '[]' : ''}${f.min === 0 ? '?' : ''}`;
    lines.push(`${'  '.repeat(depth)}${name.padEnd(Math.max(28 - 2 * depth, name.length + 1))} ${typeLabel(f).padEnd(20)} ${occursLabel(f)}`);
    if (f.shape.kind !== 'complex') continue;
    if (seen.has(f.shape)) {
      lines.push(`${'  '.repeat(depth + 1)}(${f.shape.typeName ?? 'this type'} again, as above)`);
      continue;
    }
    if (f.shape.open) lines.push(`${'  '.repeat(depth + 1)}(open content: elements beyond these are not written)`);
    lines.push(...shapeLines(f.shape.fields, depth + 1, new Set([...seen, f.shape])));
  }
  return lines;
}

interface FieldJson {
  name: string;
  namespace: string;
  type: string;
  required: boolean;
  array: boolean;
  min: number;
  max: number | null;
  nillable: boolean;
  enumeration?: string[];
  fields?: FieldJson[];
  recursive?: true;
}

function fieldJson(f: FieldShape, seen: Set<unknown>): FieldJson {
  const out: FieldJson = {
    name: f.name,
    namespace: f.ns,
    type: f.shape.kind === 'simple' ? (f.shape.typeName ?? f.shape.base) : (f.shape.typeName ?? 'object'),
    required: f.min > 0,
    array: f.max === null || f.max > 1,
    min: f.min,
    max: f.max,
    nillable: f.nillable,
  };
  if (f.shape.kind === 'simple' && f.shape.enumeration) out.enumeration = f.shape.enumeration;
  if (f.shape.kind === 'complex') {
    if (seen.has(f.shape)) out.recursive = true;
    else out.fields = f.shape.fields.map((c) => fieldJson(c, new Set([...seen, f.shape])));
  }
  return out;
}

export interface PreviewArgs {
  connector?: string[] | undefined;
  event?: string[] | undefined;
  file?: string | undefined;
}

export async function previewCommand(ctx: CommandContext, args: PreviewArgs): Promise<number> {
  const name = args.connector?.at(-1);
  const eventId = args.event?.at(-1);
  if (name === undefined || (eventId === undefined) === (args.file === undefined)) {
    ctx.io.err('usage: omgw preview --connector NAME (--event ID | --file event.json)');
    return EXIT.usage;
  }
  const fromFile = args.file === undefined ? null : await eventFromFile(ctx, args.file);
  if (fromFile === 'invalid') return EXIT.usage;
  const from: PreviewSource = fromFile ? { event: fromFile } : { eventId: eventId ?? '' };
  return withServices(ctx, async ({ services }) => {
    let preview: DeliveryPreview;
    try {
      preview = await services.previews.preview(name, from);
    } catch (err) {
      if (!isGatewayError(err)) throw err;
      const label = PREVIEW_FAILURES[err.code];
      if (label !== undefined && ctx.json) ctx.io.out(JSON.stringify({ connector: name, error: label, message: err.message }, null, 2));
      else ctx.io.err(label === undefined ? err.message : `${label}: ${err.message}`);
      return EXIT.failed;
    }
    if ('eventId' in from && preview.deliveryId === 'preview') {
      ctx.io.err(`event ${from.eventId} has no delivery to ${preview.connector}: previewed with delivery id "preview"`);
    }
    if (ctx.json) ctx.io.out(JSON.stringify(preview, null, 2));
    else {
      ctx.io.out(`${preview.method} ${preview.url}`);
      for (const [k, v] of Object.entries(preview.headers)) ctx.io.out(`${k}: ${v}`);
      ctx.io.out('');
      if (preview.body !== null) ctx.io.out(preview.body);
    }
    return EXIT.ok;
  });
}

/** How `--json` names a preview that could not be built (the admin API answers the code). */
const PREVIEW_FAILURES: Partial<Record<string, string>> = {
  TRANSFORM_FAILED: 'transform error',
  PREVIEW_UNSUPPORTED: 'not supported',
  WSDL_UNAVAILABLE: 'WSDL unavailable',
};

/**
 * A hand-written event: `{ "eventCode": "HOLD", "orderKey": "...", "payload": { ... } }`, with
 * `source` (default oracle-om), `id` (default "preview") and `receivedAt` (default now) optional.
 */
async function eventFromFile(ctx: CommandContext, file: string): Promise<PreviewEventInput | 'invalid'> {
  try {
    return parsePreviewEvent(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    ctx.io.err(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    return 'invalid';
  }
}

/** `omgw connector test NAME | --all`. */
export async function connectorTestCommand(ctx: CommandContext, name: string | undefined, args: OperationsArgs): Promise<number> {
  if ((name === undefined) === !args.all) return usage(ctx, 'usage: omgw connector test NAME | omgw connector test --all');
  return withOperationServices(ctx, async ({ connectors, database }) => {
    const reports = name !== undefined ? [await connectors.test(name, cliActor(ctx.env))] : await connectors.testAll(cliActor(ctx.env));
    // The database named, as every command that opens it does (the tests are audited there).
    if (ctx.json) ctx.io.out(JSON.stringify(name !== undefined ? { database, ...reports[0] } : { database, reports }, null, 2));
    else {
      ctx.io.out(`database ${database}`);
      ctx.io.out(reports.length === 0 ? 'no connectors configured' : reports.map(describeProbe).join('\n\n'));
    }
    return reports.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
  });
}

function describeProbe(r: ProbeReport): string {
  const head = `connector ${r.connector}: ${r.ok ? 'OK' : 'FAILED'} (${r.durationMs} ms)`;
  return `${head}\n${table(
    ['STEP', 'RESULT', 'MS', 'DETAIL'],
    r.steps.map((s) => [s.name, s.ok ? 'ok' : 'FAILED', s.durationMs, s.detail]),
  )}`;
}
