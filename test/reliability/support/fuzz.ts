import { buildPush, pushHttpHeaders, PUSH_EVENT_CODES, type PushHeaderInput } from '../../../src/sandbox/om-push.ts';
import type { Rng } from '../../helpers/prng.ts';
import { security } from './push-client.ts';

/**
 * Mutated pushes for the fuzz run: a realistic push (one of several shapes), then one to three
 * mutations: byte flips, insertions and deletions, truncation, elements duplicated, removed, swapped
 * with a sibling or moved, text replaced by hostile snippets, and header changes. Everything comes
 * from the seeded PRNG, so case n is the same in every run with the same seed.
 */

export interface FuzzCase {
  body: Buffer;
  headers: Record<string, string>;
  mutation: string;
}

const SNIPPETS = [
  '<',
  '>',
  '&',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#xD800;',
  '&#x10FFFF;',
  '&unknown;',
  ']]>',
  '<![CDATA[x]]>',
  '<![CDATA[',
  '<!-- c -->',
  '<!--',
  '<?pi x?>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x>',
  '<!ENTITY e "e">',
  '</ns1:OrderHeader>',
  '<ns1:OrderHeader>',
  '<ns1:OrderLine>',
  '</soapenv:Body>',
  '<soapenv:Body>',
  '<x:y/>',
  'xmlns="urn:x"',
  'xsi:nil="true"',
  ' a="1" a="2"',
  '\u0000',
  '\uFEFF',
  '\u202E',
  '😀',
  '\uD800',
  'ＳＯ',
  '9'.repeat(40),
  '-1e309',
  "' OR 1=1 --",
  '${env:REL_SOAP_PASSWORD}',
  '__proto__',
  'constructor',
];

function base(rng: Rng, n: number, now: Date): { xml: string; headers: Record<string, string>; kind: string } {
  const order = (i: number): string => `SO-FZ${n}-${i}`;
  const header = (i: number): PushHeaderInput => {
    const eventCode = rng.pick(PUSH_EVENT_CODES);
    return { eventCode, order: { sourceOrderNumber: order(i), lines: 1 + rng.int(3), ...(eventCode === 'FlineStatusUpdate' ? { statusTo: rng.pick(['SHIPPED', 'AWAIT_SHIPPING', 'CLOSED']) } : {}) } };
  };
  const count = rng.chance(0.25) ? 2 + rng.int(3) : 1;
  const soapVersion = rng.chance(0.15) ? '1.2' : '1.1';
  const style = rng.pick(['plain', 'oracle', 'perl'] as const);
  const xml = buildPush(
    Array.from({ length: count }, (_, i) => header(i)),
    // The client's clock fixed for the fuzz run: Created, Nonce and message ids no longer vary case by
    // case, so case n has the same shape (and the same mutations) in every run with the same seed.
    { security, soapVersion, style, pretty: style !== 'perl' && rng.chance(0.3), now },
  );
  return { xml, headers: pushHttpHeaders({ soapVersion }), kind: `${count}x ${style} ${soapVersion}` };
}

/** Spans of elements in `xml`: [start, end) of `<p:Name ...>...</p:Name>` for names that do not nest in themselves. */
function elements(xml: string): Array<{ name: string; start: number; end: number }> {
  const out: Array<{ name: string; start: number; end: number }> = [];
  const open = /<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(\s[^<>]*)?>/g;
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    if (m[0].endsWith('/>')) {
      out.push({ name: `${m[1] ?? ''}${m[2]}`, start: m.index, end: m.index + m[0].length });
      continue;
    }
    const name = `${m[1] ?? ''}${m[2]}`;
    const close = xml.indexOf(`</${name}>`, m.index);
    if (close > 0) out.push({ name, start: m.index, end: close + name.length + 3 });
  }
  return out;
}

function mutateText(rng: Rng, xml: string): { xml: string; what: string } {
  const els = elements(xml);
  const pickEl = (): { name: string; start: number; end: number } | undefined => (els.length ? rng.pick(els) : undefined);
  switch (rng.int(9)) {
    case 0: {
      const e = pickEl();
      if (!e) return { xml, what: 'none' };
      return { xml: xml.slice(0, e.end) + xml.slice(e.start, e.end) + xml.slice(e.end), what: `duplicate ${e.name}` };
    }
    case 1: {
      const e = pickEl();
      if (!e) return { xml, what: 'none' };
      return { xml: xml.slice(0, e.start) + xml.slice(e.end), what: `remove ${e.name}` };
    }
    case 2: {
      // Swap an element with the next sibling (the element that starts where it ends, give or take whitespace).
      const e = pickEl();
      if (!e) return { xml, what: 'none' };
      const ws = /^\s*/.exec(xml.slice(e.end))?.[0].length ?? 0;
      const sib = els.find((x) => x.start === e.end + ws);
      if (!sib) return { xml, what: 'none' };
      return { xml: xml.slice(0, e.start) + xml.slice(sib.start, sib.end) + xml.slice(e.end, sib.start) + xml.slice(e.start, e.end) + xml.slice(sib.end), what: `swap ${e.name} and ${sib.name}` };
    }
    case 3: {
      // Move an element somewhere else entirely.
      const e = pickEl();
      const to = pickEl();
      if (!e || !to || (to.start >= e.start && to.start < e.end)) return { xml, what: 'none' };
      const piece = xml.slice(e.start, e.end);
      const without = xml.slice(0, e.start) + xml.slice(e.end);
      const at = to.start > e.start ? to.start - piece.length : to.start;
      return { xml: without.slice(0, at) + piece + without.slice(at), what: `move ${e.name} before ${to.name}` };
    }
    case 4: {
      // Replace a leaf's text.
      const leaf = /<([\w.-]+:)?[\w.-]+>([^<]*)<\//g;
      const leaves: Array<{ at: number; len: number }> = [];
      for (let m = leaf.exec(xml); m; m = leaf.exec(xml)) leaves.push({ at: m.index + m[0].length - 2 - (m[2]?.length ?? 0), len: m[2]?.length ?? 0 });
      if (!leaves.length) return { xml, what: 'none' };
      const l = rng.pick(leaves);
      const junk = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(SNIPPETS)).join('');
      return { xml: xml.slice(0, l.at) + junk + xml.slice(l.at + l.len), what: `text ${JSON.stringify(junk).slice(0, 30)}` };
    }
    case 5: {
      const at = rng.int(xml.length);
      const junk = rng.pick(SNIPPETS);
      return { xml: xml.slice(0, at) + junk + xml.slice(at), what: `insert ${JSON.stringify(junk).slice(0, 30)}` };
    }
    case 6: {
      // Rename an element's open or close tag (mismatched tags, other namespaces).
      const e = pickEl();
      if (!e) return { xml, what: 'none' };
      const renamed = rng.pick(['ns1:Other', 'soapenv:Body', 'Envelope', 'ns2:OrderHeader', 'wsse:Password', 'ns1:OrderLine']);
      const closeAt = xml.lastIndexOf(`</${e.name}>`, e.end);
      if (rng.chance(0.5) || closeAt < 0) return { xml: `${xml.slice(0, e.start + 1)}${renamed}${xml.slice(e.start + 1 + e.name.length)}`, what: `rename <${e.name}> to ${renamed}` };
      return { xml: `${xml.slice(0, closeAt + 2)}${renamed}${xml.slice(closeAt + 2 + e.name.length)}`, what: `rename </${e.name}> to ${renamed}` };
    }
    case 7: {
      // Namespace games: drop or change a namespace declaration.
      const decls = [...xml.matchAll(/xmlns:([\w-]+)="([^"]*)"/g)];
      const d = decls.length ? rng.pick(decls) : undefined;
      if (!d || d.index === undefined) return { xml, what: 'none' };
      const replacement = rng.pick(['', `xmlns:${d[1]}="urn:other"`, `xmlns:${d[1]}=""`, `xmlns:${d[1]}="${d[2]}" xmlns:${d[1]}="${d[2]}"`]);
      return { xml: xml.slice(0, d.index) + replacement + xml.slice(d.index + d[0].length), what: `namespace ${d[1]} -> ${JSON.stringify(replacement).slice(0, 30)}` };
    }
    default: {
      // Deep or wide nesting inside the payload.
      const e = pickEl();
      if (!e) return { xml, what: 'none' };
      const n = rng.pick([10, 60, 70, 500]);
      return { xml: xml.slice(0, e.end) + '<ns1:N>'.repeat(n) + '</ns1:N>'.repeat(n) + xml.slice(e.end), what: `nest ${n}` };
    }
  }
}

function mutateBytes(rng: Rng, buf: Buffer): { buf: Buffer; what: string } {
  switch (rng.int(4)) {
    case 0: {
      const out = Buffer.from(buf);
      const flips = 1 + rng.int(5);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(out.length);
        out[at] = (out[at] as number) ^ (1 << rng.int(8));
      }
      return { buf: out, what: `flip ${flips} bits` };
    }
    case 1: {
      const at = rng.int(buf.length);
      return { buf: buf.subarray(0, at), what: `truncate at ${at}/${buf.length}` };
    }
    case 2: {
      const at = rng.int(buf.length);
      const len = 1 + rng.int(16);
      return { buf: Buffer.concat([buf.subarray(0, at), buf.subarray(at + len)]), what: `delete ${len} bytes` };
    }
    default: {
      const at = rng.int(buf.length);
      const junk = Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)));
      return { buf: Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]), what: `insert ${junk.length} random bytes` };
    }
  }
}

/** Case n of the run; `now` is the fuzz run's start (the clock of the emulated client). */
export function fuzzCase(rng: Rng, n: number, now: Date): FuzzCase {
  const b = base(rng, n, now);
  let xml = b.xml;
  const whats: string[] = [];
  const textMutations = rng.int(3); // 0..2 structural mutations
  for (let i = 0; i < textMutations; i++) {
    const m = mutateText(rng, xml);
    xml = m.xml;
    whats.push(m.what);
  }
  let body: Buffer = Buffer.from(xml, 'utf8');
  if (textMutations === 0 || rng.chance(0.4)) {
    const m = mutateBytes(rng, body);
    body = m.buf;
    whats.push(m.what);
  }
  const headers = { ...b.headers };
  if (rng.chance(0.05)) {
    headers['content-type'] = rng.pick(['text/xml', 'application/soap+xml', 'application/xml', 'text/xml; charset=utf-16', 'application/json', 'text/xml; action="x"']);
    whats.push(`content-type ${headers['content-type']}`);
  }
  return { body, headers, mutation: `${b.kind}: ${whats.join(', ')}` };
}
