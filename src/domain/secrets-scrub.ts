/**
 * The one rule for keeping configured secrets out of what the gateway writes: log lines, stored
 * response snippets, last errors, audit details. A target may echo what it received in any
 * encoding, so every secret is searched for in each form it could come back in, and text is
 * scrubbed whole before it is cut: a cut first could leave part of a secret where the whole one
 * would have been found.
 */
import { escapeXmlAttribute, escapeXmlText } from './xml-escape.ts';

/** Shorter secrets are not searched for: replacing them would destroy ordinary text. */
const MIN_SECRET_CHARS = 4;
/** What a secret (or the start of one at a cut) is replaced with. */
const SCRUBBED = '***';

export interface Scrubber {
  /** `text` with every form of every secret replaced by ***. */
  scrub(text: string): string;
  /**
   * Scrubbed, then at most `maxBytes` of UTF-8 (never half a character); an end that is the start
   * of a secret's form (4 characters or more) is replaced by *** as well.
   */
  clipBytes(text: string, maxBytes: number): string;
  /** The same, at most `maxChars` characters; a cut ends in '…'. */
  clipChars(text: string, maxChars: number): string;
  /** A scrubber for these secrets and `more` (the credentials one request carried). */
  with(more: readonly string[]): Scrubber;
}

/**
 * Every form a secret may be echoed in: as is; JSON-escaped (also with `\/` and `\uXXXX`, as PHP
 * writes it); XML-escaped; percent-encoded as encodeURIComponent and RFC 3986 do, and form-encoded (spaces as
 * '+', what URLSearchParams sends), each with upper- and lower-case hex; base64 (with and without
 * padding) and base64url; and the part of its base64 that does not depend on neighbouring bytes when it
 * sits at byte offset 1 or 2 of a longer encoded text (a Basic credential whose user is not
 * configured, an encoded request body). Forms shorter than MIN_SECRET_CHARS are left out.
 */
function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_CHARS) return [];
  const forms = new Set<string>([secret]);
  const json = JSON.stringify(secret).slice(1, -1);
  forms.add(json);
  forms.add(json.replace(/\//g, '\\/').replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  // XML and HTML text (a SOAP fault quoting what it received) and attribute values.
  forms.add(escapeXmlText(secret));
  forms.add(escapeXmlAttribute(secret));
  const uri = uriEncoded(secret);
  const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  for (const encoded of [uri, strict, form]) {
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  }
  const bytes = Buffer.from(secret, 'utf8');
  const padded = bytes.toString('base64');
  const b64 = padded.replace(/=+$/, '');
  forms.add(padded);
  forms.add(b64);
  forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  for (const offset of [1, 2]) forms.add(base64Core(bytes, offset));
  return [...forms].filter((f) => f.length >= MIN_SECRET_CHARS);
}

/**
 * The base64 characters that `bytes` alone decide when they start `offset` bytes into an encoded
 * text: characters that also carry bits of the bytes before or after are left off.
 */
function base64Core(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64').replace(/=+$/, '');
  // Bits [8*offset, 8*(offset+n)) belong to the secret; character i holds bits [6i, 6i+6).
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return encoded.slice(first, end);
}

const cache = new WeakMap<readonly string[], Scrubber>();

/**
 * The scrubber of a secrets list. The forms are worked out once per list (the log hook calls this
 * for every line with the same configured list, so it is cached by the list's identity).
 */
export function scrubberFor(secrets: readonly string[]): Scrubber {
  let scrubber = cache.get(secrets);
  if (!scrubber) {
    scrubber = createScrubber(secrets.flatMap(secretForms));
    cache.set(secrets, scrubber);
  }
  return scrubber;
}

/** `text` with every form of every secret (of 4 characters or more) replaced by ***. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return scrubberFor(secrets).scrub(text);
}

function createScrubber(formsList: readonly string[]): Scrubber {
  // Longest first: where several forms start at one place, the longest is the one matched.
  const forms = [...new Set(formsList)].sort((a, b) => b.length - a.length);
  // One pass for all forms; the lookahead finds matches that overlap (two secrets sharing characters).
  const alternatives = forms.map(escapeRegExp).join('|');
  const pattern = forms.length === 0 ? null : new RegExp(`(?=(${alternatives}))`, 'g');
  // Most text holds no secret: a plain alternation answers that some thirty times faster than the
  // lookahead (which keeps the regex engine from skipping ahead), so it is asked first.
  const anywhere = new RegExp(alternatives);
  // Scrubbers for one request's credentials on top of these, kept for the next request with the same ones.
  const extended = new Map<string, Scrubber>();

  const scrub = (text: string): string => {
    if (pattern === null || text.length < MIN_SECRET_CHARS || !anywhere.test(text)) return text;
    let out = '';
    let kept = 0; // text before this is in `out`
    let coveredTo = -1; // end of the current run of matches
    let runStart = -1;
    for (const m of text.matchAll(pattern)) {
      const start = m.index;
      const end = start + (m[1] ?? '').length;
      if (runStart !== -1 && start <= coveredTo) {
        coveredTo = Math.max(coveredTo, end);
        continue;
      }
      if (runStart !== -1) {
        out += text.slice(kept, runStart) + SCRUBBED;
        kept = coveredTo;
      }
      runStart = start;
      coveredTo = end;
    }
    if (runStart === -1) return text;
    return out + text.slice(kept, runStart) + SCRUBBED + text.slice(coveredTo);
  };

  /** How many characters at the end of `text` are a proper start (>= 4 characters) of some form. */
  const partialAtEnd = (text: string): number => {
    let longest = 0;
    for (const form of forms) {
      for (let n = Math.min(form.length - 1, text.length); n > longest && n >= MIN_SECRET_CHARS; n--) {
        if (text.charCodeAt(text.length - n) !== form.charCodeAt(0)) continue; // cheap test first
        if (text.endsWith(form.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  };

  const endClean = (text: string): string => {
    const n = partialAtEnd(text);
    return n === 0 ? text : text.slice(0, text.length - n) + SCRUBBED;
  };

  return {
    scrub,
    clipBytes(text, maxBytes) {
      // A trimmed start is at least 4 bytes and *** is 3: the result stays within maxBytes.
      return endClean(utf8Prefix(scrub(text), maxBytes));
    },
    clipChars(text, maxChars) {
      const clean = scrub(text);
      if (clean.length <= maxChars) return endClean(clean);
      return `${endClean(clean.slice(0, maxChars - 1))}…`;
    },
    with(more) {
      if (more.length === 0) return this;
      const key = more.join('\u0000');
      let scrubber = extended.get(key);
      if (!scrubber) {
        scrubber = createScrubber([...forms, ...more.flatMap(secretForms)]);
        // A few at a time: a connector sends the same credentials until its token is renewed.
        if (extended.size >= 8) extended.delete(extended.keys().next().value ?? '');
        extended.set(key, scrubber);
      }
      return scrubber;
    },
  };
}

/** encodeURIComponent, but a lone surrogate (which it refuses) is encoded as U+FFFD, as Buffer does. */
function uriEncoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, (c, at: number) => (isPaired(text, at) ? c : '\ufffd')));
  }
}

function isPaired(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c <= 0xdbff) return at + 1 < text.length && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00;
  return at > 0 && (text.charCodeAt(at - 1) & 0xfc00) === 0xd800;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** At most `maxBytes` of UTF-8, never cutting a character in two. */
function utf8Prefix(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (end > 0 && Buffer.byteLength(text.slice(0, end), 'utf8') > maxBytes) {
    end = Math.max(0, end - Math.ceil((Buffer.byteLength(text.slice(0, end), 'utf8') - maxBytes) / 4));
  }
  // Do not end on the first half of a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}
