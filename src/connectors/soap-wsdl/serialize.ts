import { escapeXmlAttribute, escapeXmlText, hasNonXmlChar } from '../../domain/xml-escape.ts';
import type { ComplexShape, FieldShape, SimpleShape } from './shape.ts';

/**
 * Writes a mapping's JSON output as the XML of one element, following its schema shape: elements in
 * the schema's order (whatever the JSON's key order), each in its own namespace, arrays as repeated
 * elements, null as xsi:nil where the schema allows it. Whatever the schema cannot carry (a missing
 * required element, an element it does not have, a value of the wrong type, too many or too few
 * repeats) is a ShapeViolation naming the JSON path, before anything is written.
 */

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export class ShapeViolation extends Error {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path === '' ? '(the whole input)' : path}: ${reason}`);
    this.name = 'ShapeViolation';
    this.path = path;
  }
}

type Json = unknown;

interface Writer {
  prefixes: Map<string, string>;
  nil: boolean;
}

/** The element `field` holding `value`, with every namespace it uses declared on it. */
export function writeElement(field: FieldShape, value: Json): string {
  const writer: Writer = { prefixes: new Map(), nil: false };
  const name = qualified(writer, field);
  const inner = contentOf(writer, field, value, '');
  if (inner === null) writer.nil = true;
  const decls = [...writer.prefixes].map(([ns, p]) => ` xmlns:${p}="${escapeXmlAttribute(ns)}"`).join('');
  const xsi = writer.nil ? ` xmlns:xsi="${XSI_NS}"` : '';
  if (inner === null) return `<${name}${decls}${xsi} xsi:nil="true"/>`;
  return `<${name}${decls}${xsi}>${inner}</${name}>`;
}

function qualified(writer: Writer, field: FieldShape): string {
  if (field.ns === '') return field.name;
  let prefix = writer.prefixes.get(field.ns);
  if (prefix === undefined) {
    prefix = `ns${writer.prefixes.size + 1}`;
    writer.prefixes.set(field.ns, prefix);
  }
  return `${prefix}:${field.name}`;
}

/** The content of one occurrence: its XML, or null for xsi:nil. */
function contentOf(writer: Writer, field: FieldShape, value: Json, path: string): string | null {
  if (value === null) {
    if (!field.nillable) throw new ShapeViolation(path, 'is null, and the schema does not allow nil here');
    return null;
  }
  return field.shape.kind === 'simple' ? escapeText(simpleText(field.shape, value, path), path) : complexContent(writer, field.shape, value, path);
}

function complexContent(writer: Writer, shape: ComplexShape, value: Json, path: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShapeViolation(path, `must be an object (the fields of ${shape.typeName ?? 'an element'}), not ${describe(value)}`);
  }
  const object = value as Record<string, Json>;
  const known = new Set(shape.fields.map((f) => f.name));
  for (const key of Object.keys(object)) {
    if (!known.has(key)) {
      const expected = shape.fields.map((f) => f.name).join(', ') || 'none';
      throw new ShapeViolation(join(path, key), `is not an element of ${shape.typeName ?? 'this element'} (its elements: ${expected})`);
    }
  }
  let out = '';
  for (const field of shape.fields) {
    const fieldPath = join(path, field.name);
    const given = Object.hasOwn(object, field.name) ? object[field.name] : undefined;
    const repeated = field.max === null || field.max > 1;
    let items: Json[];
    if (given === undefined || (given === null && !field.nillable)) items = [];
    else if (Array.isArray(given)) {
      if (!repeated) throw new ShapeViolation(fieldPath, 'is an array, and the schema allows one value here');
      items = given;
    } else items = [given];
    if (items.length < field.min) {
      throw new ShapeViolation(fieldPath, field.min === 1 ? 'is required' : `needs at least ${field.min} values, got ${items.length}`);
    }
    if (field.max !== null && items.length > field.max) throw new ShapeViolation(fieldPath, `takes at most ${field.max} values, got ${items.length}`);
    items.forEach((item, i) => {
      const itemPath = repeated && Array.isArray(given) ? `${fieldPath}[${i}]` : fieldPath;
      const name = qualified(writer, field);
      const inner = contentOf(writer, field, item, itemPath);
      if (inner === null) {
        writer.nil = true;
        out += `<${name} xsi:nil="true"/>`;
      } else out += `<${name}>${inner}</${name}>`;
    });
  }
  return out;
}

const INTEGER_RANGES: Record<string, [bigint | null, bigint | null]> = {
  integer: [null, null],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  short: [-32768n, 32767n],
  byte: [-128n, 127n],
  nonNegativeInteger: [0n, null],
  positiveInteger: [1n, null],
  nonPositiveInteger: [null, 0n],
  negativeInteger: [null, -1n],
  unsignedLong: [0n, 2n ** 64n - 1n],
  unsignedInt: [0n, 2n ** 32n - 1n],
  unsignedShort: [0n, 65535n],
  unsignedByte: [0n, 255n],
};

const LEXICAL: Record<string, RegExp> = {
  date: /^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$/,
  dateTime: /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
  time: /^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
  decimal: /^[+-]?(\d+(\.\d*)?|\.\d+)$/,
  float: /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF|NaN)$/,
  double: /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF|NaN)$/,
  base64Binary: /^[A-Za-z0-9+/\s]*={0,2}\s*$/,
  hexBinary: /^([0-9a-fA-F]{2})*$/,
  duration: /^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/,
};

/** The text of a simple value, checked against its type. */
function simpleText(shape: SimpleShape, value: Json, path: string): string {
  const type = shape.typeName ?? shape.base;
  const wrong = (): never => {
    throw new ShapeViolation(path, `${describe(value)} is not a valid ${type}`);
  };
  let text: string;
  if (shape.base === 'boolean') {
    if (typeof value === 'boolean') text = String(value);
    else if (typeof value === 'string' && ['true', 'false', '1', '0'].includes(value)) text = value;
    else return wrong();
  } else if (shape.base in INTEGER_RANGES) {
    if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
    else if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) text = value;
    else return wrong();
    const [lo, hi] = INTEGER_RANGES[shape.base] ?? [null, null];
    const n = BigInt(text);
    if ((lo !== null && n < lo) || (hi !== null && n > hi)) return wrong();
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return wrong();
    text = String(value);
  } else if (typeof value === 'string') text = value;
  else return wrong();
  const lexical = LEXICAL[shape.base];
  if (lexical && !lexical.test(text)) return wrong();
  if (shape.enumeration && !shape.enumeration.includes(text)) {
    throw new ShapeViolation(path, `"${clip(text)}" is not one of ${shape.enumeration.map((v) => `"${v}"`).join(', ')}`);
  }
  return text;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: Json): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${clip(value)}"`;
  return typeof value === 'number' || typeof value === 'boolean' ? `${typeof value} ${String(value)}` : typeof value;
}

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}


function escapeText(text: string, path: string): string {
  if (hasNonXmlChar(text)) throw new ShapeViolation(path, 'a value contains a character that XML cannot carry');
  return escapeXmlText(text);
}
