import { createHash } from 'node:crypto';
import type { XmlRecord, XmlValue } from './event.ts';

/** What identifies an OM event: its code, the order it belongs to and the system that sent the order. */
export interface OmEventIdentity {
  eventCode: string;
  orderKey: string | null;
  sourceSystem: string | null;
}

/** Oracle puts JEOPARDY's EventCode on the OrderLine and leaves the header without one. */
export function identifyOmEvent(header: XmlRecord): OmEventIdentity {
  const lines = asRecords(header.OrderLine);
  const firstLine = lines[0];
  const eventCode = text(header.EventCode) ?? (firstLine ? text(firstLine.EventCode) : null) ?? 'Unknown';
  const sourceSystem = text(header.SourceOrderSystem) ?? firstText(lines, 'SourceOrderSystem');
  const orderNumber =
    text(header.SourceOrderNumber) ?? text(header.SourceOrderId) ?? firstText(lines, 'SourceOrderId');
  const orchestrationId = text(header.OrchestrationOrderId);
  let orderKey: string | null = null;
  if (orderNumber) orderKey = sourceSystem ? `${sourceSystem}:${orderNumber}` : orderNumber;
  else if (orchestrationId) orderKey = `OrchestrationOrderId:${orchestrationId}`;
  return { eventCode, orderKey, sourceSystem };
}

/**
 * The hash of an event's content, from its canonicalJson: it ignores how the XML was written
 * (prefixes, whitespace between elements, attribute order), since OM re-sends the same payload after
 * errors, sometimes days later. Callers build the canonical JSON once and store it beside the hash.
 */
export function hashOfCanonicalJson(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}

export function canonicalJson(value: XmlValue): string {
  if (value === null || typeof value === 'string') return JSON.stringify(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i] as XmlValue);
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(value[k] as XmlValue)}`;
  }
  return `${out}}`;
}

function text(v: XmlValue | undefined): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

function asRecords(v: XmlValue | undefined): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return [v];
  return [];
}

function firstText(records: XmlRecord[], name: string): string | null {
  for (const r of records) {
    const t = text(r[name]);
    if (t) return t;
  }
  return null;
}
