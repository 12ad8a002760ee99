import type { XmlRecord, XmlValue } from '../../domain/event.ts';

/**
 * Parses a JSON webhook body into the gateway's event form (the one parsed XML has): records with text
 * leaves, so trigger-point conditions, transforms and templates treat every event alike.
 *
 * - Numbers keep their exact text ("12.50", "300100072403436123456"): JSON.parse would turn money
 *   into binary floats and ids above 2^53 into other ids. Booleans become "true"/"false".
 * - Arrays become arrays of records: a primitive item is `{ "#text": value }` (as a repeated XML leaf,
 *   which the canonical-json transform turns back into the value), a nested array `{ "#array": [...] }`.
 * - A body that is not an object is kept as `{ "#text": value }` or `{ "#array": [...] }`.
 * - Nesting is limited, so a hostile body cannot exhaust the stack.
 *
 * Throws JsonSyntaxError for anything JSON.parse would refuse (RFC 8259 grammar, no trailing commas,
 * no comments, no leading zeros, no control characters inside strings).
 */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.position = position;
  }
}

const TEXT_KEY = '#text';
const ARRAY_KEY = '#array';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

export function parseJsonRecord(text: string, options: { maxDepth: number }): XmlRecord {
  const parser = new Parser(text, options.maxDepth);
  parser.skipWs();
  const value = parser.value(0);
  parser.skipWs();
  if (parser.pos !== text.length) throw new JsonSyntaxError('unexpected data after the JSON value', parser.pos);
  if (value.kind === 'record') return value.record;
  if (value.kind === 'array') return { [ARRAY_KEY]: value.items };
  return { [TEXT_KEY]: value.text };
}

type Parsed =
  | { kind: 'record'; record: XmlRecord }
  | { kind: 'array'; items: XmlRecord[] }
  | { kind: 'leaf'; text: string | null };

class Parser {
  pos = 0;
  readonly #text: string;
  readonly #maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
  }

  skipWs(): void {
    const t = this.#text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  value(depth: number): Parsed {
    const t = this.#text;
    const c = t[this.pos];
    if (c === '{') return { kind: 'record', record: this.#object(depth + 1) };
    if (c === '[') return { kind: 'array', items: this.#array(depth + 1) };
    if (c === '"') return { kind: 'leaf', text: this.#string() };
    if (t.startsWith('true', this.pos)) return this.#literal(4, 'true');
    if (t.startsWith('false', this.pos)) return this.#literal(5, 'false');
    if (t.startsWith('null', this.pos)) return this.#literal(4, null);
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(t);
    if (m) {
      this.pos += m[0].length;
      return { kind: 'leaf', text: m[0] };
    }
    throw new JsonSyntaxError(this.pos >= t.length ? 'unexpected end of JSON' : 'unexpected character', this.pos);
  }

  #literal(length: number, text: string | null): Parsed {
    this.pos += length;
    return { kind: 'leaf', text };
  }

  #enter(depth: number): void {
    if (depth > this.#maxDepth) throw new JsonSyntaxError(`JSON nesting exceeds ${this.#maxDepth} levels`, this.pos);
  }

  #object(depth: number): XmlRecord {
    this.#enter(depth);
    const record: XmlRecord = {};
    this.pos++; // {
    this.skipWs();
    if (this.#text[this.pos] === '}') {
      this.pos++;
      return record;
    }
    for (;;) {
      if (this.#text[this.pos] !== '"') throw new JsonSyntaxError('expected a property name', this.pos);
      const key = this.#string();
      this.skipWs();
      if (this.#text[this.pos] !== ':') throw new JsonSyntaxError('expected ":"', this.pos);
      this.pos++;
      this.skipWs();
      const v = this.value(depth);
      setKey(record, key, asValue(v));
      this.skipWs();
      const c = this.#text[this.pos];
      this.pos++;
      if (c === '}') return record;
      if (c !== ',') throw new JsonSyntaxError('expected "," or "}"', this.pos - 1);
      this.skipWs();
    }
  }

  #array(depth: number): XmlRecord[] {
    this.#enter(depth);
    const items: XmlRecord[] = [];
    this.pos++; // [
    this.skipWs();
    if (this.#text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      const v = this.value(depth);
      items.push(v.kind === 'record' ? v.record : v.kind === 'array' ? { [ARRAY_KEY]: v.items } : { [TEXT_KEY]: v.text });
      this.skipWs();
      const c = this.#text[this.pos];
      this.pos++;
      if (c === ']') return items;
      if (c !== ',') throw new JsonSyntaxError('expected "," or "]"', this.pos - 1);
      this.skipWs();
    }
  }

  /** A string token: its end is found here, its escapes are decoded by JSON.parse. */
  #string(): string {
    const t = this.#text;
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      if (i >= t.length) throw new JsonSyntaxError('unterminated string', start);
      const c = t.charCodeAt(i);
      if (c === 0x22) break; // "
      if (c < 0x20) throw new JsonSyntaxError('control character in string', i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    if (!escaped) return t.slice(start + 1, i);
    try {
      return JSON.parse(t.slice(start, i + 1)) as string;
    } catch {
      throw new JsonSyntaxError('invalid escape in string', start);
    }
  }
}

function asValue(v: Parsed): XmlValue {
  if (v.kind === 'record') return v.record;
  if (v.kind === 'array') return v.items;
  return v.text;
}

/** A key called __proto__ stays a plain own key instead of changing the record's prototype. */
function setKey(record: XmlRecord, key: string, value: XmlValue): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
