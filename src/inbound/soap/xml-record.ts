import type { SaxesTagNS } from 'saxes';
import type { XmlRecord, XmlValue } from '../../domain/event.ts';

/**
 * How a parsed OrderHeader is shaped as an XmlRecord: leaves are strings, elements with children are
 * records, repeated elements become arrays (and OM's line collections always are), text beside
 * children is kept under TEXT_KEY, an xsi:nil element is null. The streaming parser
 * (envelope-reader.ts) calls these as elements open and close.
 */

/** Key under which non-whitespace text is kept when it cannot be the value itself (mixed content, repeated leaves). */
const TEXT_KEY = '#text';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** Elements that are always arrays in the parsed form, even with a single occurrence. */
const ALWAYS_ARRAY: ReadonlySet<string> = new Set([
  'OrderLine',
  'OrderFulfillmentLine',
  'OrderFulfillmentLineDetails',
  'OrderFulfillmentLineEFFs',
]);

export function isWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** Value of a complex element placed in an array: a record; text-only content kept under TEXT_KEY. */
export function asComplex(v: XmlValue): XmlRecord {
  if (v === null) return {};
  if (typeof v === 'string') return isWhitespace(v) ? {} : { [TEXT_KEY]: v };
  if (Array.isArray(v)) return { [TEXT_KEY]: null }; // not produced by valueOf; keeps the type total
  return v;
}

/** Value of a repeated element placed in an array: records stay, leaves become { '#text': value }. */
function asItem(v: XmlValue): XmlRecord {
  if (v === null || typeof v === 'string') return { [TEXT_KEY]: v };
  if (Array.isArray(v)) return { [TEXT_KEY]: null };
  return v;
}

function setKey(rec: XmlRecord, name: string, value: XmlValue): void {
  if (name === '__proto__') {
    Object.defineProperty(rec, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    rec[name] = value;
  }
}

export function addChild(rec: XmlRecord, name: string, value: XmlValue): void {
  let existing = rec[name];
  // Records are plain objects: 'constructor', 'toString'... are inherited, not children.
  if (existing !== undefined && !Object.hasOwn(rec, name)) existing = undefined;
  if (ALWAYS_ARRAY.has(name)) {
    const item = asComplex(value);
    if (Array.isArray(existing)) existing.push(item);
    else if (existing === undefined) setKey(rec, name, [item]);
    else setKey(rec, name, [asComplex(existing), item]);
    return;
  }
  if (existing === undefined) setKey(rec, name, value);
  else if (Array.isArray(existing)) existing.push(asItem(value));
  else setKey(rec, name, [asItem(existing), asItem(value)]);
}

/** What an element has when it closes, as the streaming parser's frame holds it. */
export interface ElementContent {
  /** xsi:nil="true" on the element: its value is null. */
  nil: boolean;
  text: string;
  /** Child elements seen so far; null while the element is a leaf. */
  rec: XmlRecord | null;
}

export function isNil(tag: SaxesTagNS): boolean {
  const attrs = tag.attributes;
  for (const key in attrs) {
    const a = attrs[key];
    if (a !== undefined && a.local === 'nil' && a.uri === XSI_NS) {
      const v = a.value.trim();
      return v === 'true' || v === '1';
    }
  }
  return false;
}

/** The element's value: null when nil, its text when a leaf, else its children with any text under TEXT_KEY. */
export function valueOf(f: ElementContent): XmlValue {
  if (f.nil) return null;
  const rec = f.rec;
  if (rec === null) return f.text;
  if (f.text.length !== 0) rec[TEXT_KEY] = f.text;
  return rec;
}
