// @ts-check
/**
 * Why a delivery is where it is, for a person: the park or hold reason in words, then the target's
 * last error as it was recorded. A reason the console does not know yet is shown as the API wrote it.
 */

/** @type {Record<string, string>} */
const PARKED = {
  attempts_exhausted: 'Parked: every retry failed.',
  permanent_error: 'Parked: the target refused it, and would refuse it again.',
  transform_error: 'Parked: the mapping could not build the request.',
  config_error: "Parked: the connector's configuration is wrong (credentials, certificate, URL).",
  change_refused: 'Parked: the target can no longer make this change; a person must decide.',
};

/** @type {Record<string, string>} */
const HELD = {
  offline: 'On hold: the connector is offline (maintenance).',
  circuit_open: "On hold: the connector's circuit is open after repeated failures.",
  admin: 'On hold: an operator held it.',
};

/**
 * @param {{ state?: string, parkedReason?: string | null, holdReason?: string | null, lastError?: string | null, adminReason?: string | null }} d
 * @returns {string}
 */
export function why(d) {
  const parts = [];
  if (d.parkedReason) parts.push(PARKED[d.parkedReason] ?? `Parked: ${d.parkedReason}.`);
  if (d.holdReason) parts.push(HELD[d.holdReason] ?? `On hold: ${d.holdReason}.`);
  if (d.lastError) parts.push(`Last error: ${d.lastError}`);
  if (d.adminReason) parts.push(`Operator's reason: ${d.adminReason}`);
  return parts.join(' ');
}

/** JSON and XML indented for reading (as text: the page never renders what was sent or received). */

/** @param {unknown} value */
export function prettyJson(value) {
  return JSON.stringify(value, null, 2) ?? '';
}

/** @param {string} body @param {string} type @returns {{ kind: string, text: string }} */
export function prettyBody(body, type) {
  if (/json/i.test(type)) {
    try {
      return { kind: 'JSON', text: prettyJson(JSON.parse(body)) };
    } catch {
      return { kind: '', text: body };
    }
  }
  if (/xml/i.test(type) || body.trimStart().startsWith('<')) return { kind: 'XML', text: prettyXml(body) };
  return { kind: '', text: body };
}

/** @param {string} xml */
export function prettyXml(xml) {
  const parts = xml
    .replace(/>\s+</g, '><')
    .split(/(<[^>]+>)/)
    .filter((p) => p.trim() !== '');
  const out = [];
  let depth = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = /** @type {string} */ (parts[i]);
    if (p.startsWith('</')) {
      depth = Math.max(0, depth - 1);
      out.push('  '.repeat(depth) + p);
      continue;
    }
    const pad = '  '.repeat(depth);
    if (!p.startsWith('<') || p.startsWith('<?') || p.startsWith('<!') || p.endsWith('/>')) {
      out.push(pad + p);
      continue;
    }
    const text = parts[i + 1];
    const close = parts[i + 2];
    // An element holding only text stays on one line.
    if (text !== undefined && !text.startsWith('<') && close !== undefined && close.startsWith('</')) {
      out.push(pad + p + text + close);
      i += 2;
      continue;
    }
    out.push(pad + p);
    depth++;
  }
  return out.join('\n');
}
