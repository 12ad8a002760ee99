/**
 * The WSDL the gateway serves at `GET /soap/business-events?wsdl`.
 *
 * `wsdl/business-events.wsdl` imports `wsdl/business-events-payload.xsd` by relative
 * schemaLocation, so the pair reads fine from disk. The served document has the schema inlined in
 * `wsdl:types` instead: one fetch, no relative URL for a client to resolve (several toolkits get
 * that wrong behind proxies), and nothing else to serve. The XSD file stays the single source; the
 * inlined text is built here once at load time. Each `soap:address` / `soap12:address` location is
 * the placeholder `{{ADDRESS}}`, replaced per request by the URL the WSDL was fetched from.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeXmlAttribute } from '../../domain/xml-escape.ts';

const WSDL_FILE = 'business-events.wsdl';
const XSD_FILE = 'business-events-payload.xsd';
/** The placeholder as it appears in the WSDL file, inside `location="..."`. */
const ADDRESS_PLACEHOLDER = '{{ADDRESS}}';

export interface WsdlDocument {
  /** The WSDL with the schema inlined and every service address set to `address` (escaped here). */
  render(address: string): string;
}

/**
 * Loads and prepares the WSDL once. `wsdlDir` may be the `wsdl/` folder itself or the project root
 * holding it; without it the folder is found by walking up from this module (works from `src/` and
 * from `dist/`).
 */
export async function loadWsdl(wsdlDir?: string): Promise<WsdlDocument> {
  const dir = wsdlDir === undefined ? await findWsdlDir() : await resolveGivenDir(wsdlDir);
  const [wsdlText, xsdText] = await Promise.all([
    readFile(path.join(dir, WSDL_FILE), 'utf8'),
    readFile(path.join(dir, XSD_FILE), 'utf8'),
  ]);
  const inlined = inlineSchema(wsdlText, xsdText);
  const pieces = inlined.split(`location="${ADDRESS_PLACEHOLDER}"`);
  if (pieces.length < 2) {
    throw new Error(`${path.join(dir, WSDL_FILE)}: no location="${ADDRESS_PLACEHOLDER}" found`);
  }
  return {
    render(address: string): string {
      return pieces.join(`location="${escapeXmlAttribute(sanitizeUrl(address))}"`);
    },
  };
}

/**
 * Builds the served text: the WSDL's prologue comments are dropped (they describe the file on
 * disk), and its `wsdl:types` block is replaced by one holding the XSD's root element. The schema
 * element declares every prefix it uses, so it is correct wherever it is placed.
 */
function inlineSchema(wsdlText: string, xsdText: string): string {
  const wsdlRoot = rootElementStart(wsdlText, 'WSDL');
  const schema = xsdText.slice(rootElementStart(xsdText, 'XSD')).trimEnd();
  const body = wsdlText.slice(wsdlRoot);

  const typesPattern = /(^[ \t]*)<wsdl:types>[\s\S]*?<\/wsdl:types>/m;
  const matches = body.match(new RegExp(typesPattern.source, 'gm'));
  if (matches === null || matches.length !== 1) {
    throw new Error(`${WSDL_FILE}: expected exactly one <wsdl:types> block`);
  }
  const replaced = body.replace(typesPattern, (_whole, indent: string) => {
    const inner = schema
      .split('\n')
      .map((line) => (line.trim() === '' ? '' : `${indent}  ${line}`))
      .join('\n');
    return `${indent}<wsdl:types>\n${inner}\n${indent}</wsdl:types>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${replaced}`;
}

/**
 * The public base URL (scheme and authority, no trailing slash) a request was made to.
 * With `trustProxy`, X-Forwarded-Proto and X-Forwarded-Host win (first value of a comma list);
 * otherwise the Host header and the socket's TLS state decide. A host that is missing or is not a
 * plain `name[:port]` / `[ipv6][:port]` falls back to the next source and finally to `localhost`, so
 * a hostile Host header cannot put arbitrary text into the served WSDL.
 */
export function requestBaseUrl(input: {
  host: string | undefined;
  encrypted: boolean;
  forwardedProto?: string | undefined;
  forwardedHost?: string | undefined;
  trustProxy: boolean;
}): string {
  let scheme = input.encrypted ? 'https' : 'http';
  let host: string | undefined;
  if (input.trustProxy) {
    const proto = firstListValue(input.forwardedProto)?.toLowerCase();
    if (proto === 'http' || proto === 'https') scheme = proto;
    host = validHost(firstListValue(input.forwardedHost));
  }
  host ??= validHost(input.host?.trim()) ?? 'localhost';
  return `${scheme}://${host}`;
}

// ---------------------------------------------------------------------------------------------

const HOST_PATTERN =
  /^(?:\[[0-9A-Fa-f:.]+(?:%25[0-9A-Za-z._~-]+)?\]|[0-9A-Za-z](?:[0-9A-Za-z._-]*[0-9A-Za-z_])?\.?)(?::[0-9]{1,5})?$/;

function validHost(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.length > 300) return undefined;
  return HOST_PATTERN.test(value) ? value : undefined;
}

function firstListValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/** Control characters cannot appear in XML 1.0 at all (not even escaped); percent-encode them. */
function sanitizeUrl(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it removes
  return value.replace(/[\u0000-\u001f\u007f\ufffe\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c);
  });
}

/** Offset of the root element's start tag: skips the XML declaration, comments, PIs and whitespace. */
function rootElementStart(text: string, what: string): number {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i);
      if (end < 0) break;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i);
      if (end < 0) break;
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      throw new Error(`${what}: a DOCTYPE is not expected`);
    } else if (text.charAt(i) === '<') {
      return i;
    } else {
      break;
    }
  }
  throw new Error(`${what}: no root element found`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function resolveGivenDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  if (await exists(path.join(abs, WSDL_FILE))) return abs;
  if (await exists(path.join(abs, 'wsdl', WSDL_FILE))) return path.join(abs, 'wsdl');
  throw new Error(`no ${WSDL_FILE} in ${abs} or ${path.join(abs, 'wsdl')}`);
}

async function findWsdlDir(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'wsdl');
    if (await exists(path.join(candidate, WSDL_FILE))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`wsdl/${WSDL_FILE} not found above ${path.dirname(fileURLToPath(import.meta.url))}`);
    }
    dir = parent;
  }
}
