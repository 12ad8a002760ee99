/**
 * What the ingest path stores and the rows it makes of it, without I/O: shared by IngestWriter
 * (PostgreSQL, ingest.ts) and the SQLite connection thread (sqlite/batch.ts).
 */
import type { EventSource, EventStatus, Push } from '../../domain/event.ts';
import { auditRow, type Row } from './audit.ts';

/** Everything one inbound request wants stored, prepared by the caller (ids, hashes, routing). */
export interface IngestItem {
  /** A SOAP push as it is stored, its headers not yet JSON text; its event count is the item's. */
  push: (Omit<Push, 'headers' | 'eventCount'> & { headers: Record<string, string> }) | null;
  /** When the item arrived, for items without a push (webhooks, polls); the push's time otherwise. */
  receivedAt?: number;
  /** A WS-Security nonce to record; a nonce seen before (and not expired) rejects the whole item. */
  nonce: { key: string; expiresAt: number } | null;
  events: IngestEvent[];
  requestId: string | null;
}

/** A part of a large item, as IngestWriter stores it (see submit). */
export interface StoredPart extends IngestItem {
  /** The push these events belong to, when an earlier part stored the push row. */
  pushId?: string | null;
  /** Events of the whole push (the push row's event_count), when the item is stored in parts. */
  totalEvents?: number;
}

export interface IngestEvent {
  id: string;
  source: EventSource;
  eventCode: string;
  orderKey: string | null;
  sourceSystem: string | null;
  connectorScope: string | null;
  position: number;
  payload: string;
  raw: string | null;
  contentHash: string;
  /** Events with the same scope and hash within the dedupe window are duplicates. */
  dedupeScope: string;
  dedupeSince: number;
  deliveries: Array<{ id: string; connector: string; triggerPoint: string; orderKey: string | null; idempotencyKey: string | null }>;
}

export type IngestOutcome =
  | { accepted: true; events: Array<{ id: string; eventCode: string; status: EventStatus; duplicateOf: string | null; deliveries: number }> }
  | { accepted: false; reason: 'nonce_replayed' };

/** Most rows one insert statement carries. */
export const CHUNK = 200;

/** The WS-Security nonces of a batch: the rows to claim, and the items that repeat a nonce within it. */
export interface NonceClaims {
  rows: Array<{ nonce_key: string; expires_at: number }>;
  /** Index in the batch and nonce key of every item that carries a nonce. */
  items: Array<{ index: number; key: string }>;
  /** Items whose nonce an earlier item of the same batch carries. */
  replayed: Set<number>;
  /** The batch's time: a stored nonce that expires before it may be used again. */
  now: number;
}

export function nonceClaims(items: StoredPart[]): NonceClaims {
  const replayed = new Set<number>();
  const seen = new Set<string>();
  const rows: Array<{ nonce_key: string; expires_at: number }> = [];
  const withNonce: Array<{ index: number; key: string }> = [];
  let now = 0;
  for (const [index, item] of items.entries()) {
    if (item.nonce === null) continue;
    const { key, expiresAt } = item.nonce;
    withNonce.push({ index, key });
    now = Math.max(now, itemTime(item));
    if (seen.has(key)) replayed.add(index);
    else {
      seen.add(key);
      rows.push({ nonce_key: key, expires_at: expiresAt });
    }
  }
  return { rows, items: withNonce, replayed, now };
}

/** One (scope, hash) an event claims for the dedupe window. */
export interface DedupeClaim {
  scope: string;
  hash: string;
  event_id: string;
  seen_at: number;
  /** Start of the event's dedupe window: a claim seen before it has expired. */
  since: number;
}

/**
 * The dedupe keys the events of the live items claim. An event whose content an earlier event of the
 * same batch has is a duplicate of that one and claims nothing.
 */
export function dedupeClaims(live: StoredPart[]): { claims: DedupeClaim[]; duplicateOf: Map<string, string> } {
  const owners = new Map<string, string>(); // scope\0hash → event id that owns it in this batch
  const duplicateOf = new Map<string, string>(); // event id → original event id
  const claims: DedupeClaim[] = [];
  for (const item of live) {
    const seenAt = itemTime(item);
    for (const ev of item.events) {
      const key = `${ev.dedupeScope}\u0000${ev.contentHash}`;
      const owner = owners.get(key);
      if (owner) duplicateOf.set(ev.id, owner);
      else {
        owners.set(key, ev.id);
        claims.push({ scope: ev.dedupeScope, hash: ev.contentHash, event_id: ev.id, seen_at: seenAt, since: ev.dedupeSince });
      }
    }
  }
  return { claims, duplicateOf };
}

export function pushRows(live: StoredPart[]): Row[] {
  const rows: Row[] = [];
  for (const item of live) {
    if (!item.push) continue;
    const p = item.push;
    rows.push({
      id: p.id,
      received_at: p.receivedAt,
      path: p.path,
      connector_scope: p.connectorScope,
      soap_version: p.soapVersion,
      content_type: p.contentType,
      headers: JSON.stringify(p.headers),
      raw: p.raw,
      raw_size: p.rawSize,
      event_count: item.totalEvents ?? item.events.length,
      auth_method: p.authMethod,
      auth_user: p.authUser,
      remote_addr: p.remoteAddr,
      request_id: p.requestId,
    });
  }
  return rows;
}

export interface BatchRows {
  events: Row[];
  deliveries: Row[];
  audit: Row[];
  outcomes: IngestOutcome[];
}

/** The event, delivery and audit rows of a batch, once its replayed nonces and duplicates are known. */
export function batchRows(items: StoredPart[], replayed: ReadonlySet<number>, duplicateOf: ReadonlyMap<string, string>): BatchRows {
  const eventRows: Row[] = [];
  const deliveryRows: Row[] = [];
  const auditRows: Row[] = [];
  const outcomes: IngestOutcome[] = [];
  for (const [i, item] of items.entries()) {
    if (replayed.has(i)) {
      outcomes.push({ accepted: false, reason: 'nonce_replayed' });
      continue;
    }
    const now = itemTime(item);
    const results: Array<{ id: string; eventCode: string; status: EventStatus; duplicateOf: string | null; deliveries: number }> = [];
    for (const ev of item.events) {
      const dupOf = duplicateOf.get(ev.id) ?? null;
      const status: EventStatus = dupOf ? 'duplicate' : ev.deliveries.length > 0 ? 'routed' : 'unrouted';
      eventRows.push({
        id: ev.id,
        push_id: item.push?.id ?? item.pushId ?? null,
        source: ev.source,
        event_code: ev.eventCode,
        order_key: ev.orderKey,
        source_system: ev.sourceSystem,
        received_at: now,
        status,
        duplicate_of: dupOf,
        content_hash: ev.contentHash,
        connector_scope: ev.connectorScope,
        position: ev.position,
        payload: ev.payload,
        raw: ev.raw,
      });
      if (status === 'routed') {
        for (const d of ev.deliveries) {
          deliveryRows.push({
            id: d.id,
            event_id: ev.id,
            connector: d.connector,
            trigger_point: d.triggerPoint,
            order_key: d.orderKey,
            event_code: ev.eventCode,
            state: 'pending',
            attempt_count: 0,
            attempts_in_cycle: 0,
            next_attempt_at: now,
            idempotency_key: d.idempotencyKey,
            created_at: now,
            updated_at: now,
          });
        }
      }
      auditRows.push(
        auditRow({
          id: ev.id, // the event's own id: one audit record per stored event
          at: now,
          direction: 'in',
          action: 'event.received',
          sourceSystem: ev.sourceSystem ?? ev.source,
          connector: ev.connectorScope,
          eventId: ev.id,
          result: status,
          detail: {
            eventCode: ev.eventCode,
            orderKey: ev.orderKey,
            pushId: item.push?.id ?? item.pushId ?? null,
            duplicateOf: dupOf,
            connectors: status === 'routed' ? ev.deliveries.map((d) => d.connector) : [],
          },
          requestId: item.requestId,
        }),
      );
      results.push({ id: ev.id, eventCode: ev.eventCode, status, duplicateOf: dupOf, deliveries: status === 'routed' ? ev.deliveries.length : 0 });
    }
    if (item.push && item.events.length === 0) {
      // A push without OrderHeaders stores no event; its audit record says it came.
      auditRows.push(
        auditRow({
          id: item.push.id,
          at: now,
          direction: 'in',
          action: 'push.received',
          sourceSystem: 'oracle-om',
          connector: item.push.connectorScope,
          result: 'empty',
          detail: { pushId: item.push.id, path: item.push.path, events: 0 },
          requestId: item.requestId,
        }),
      );
    }
    outcomes.push({ accepted: true, events: results });
  }
  return { events: eventRows, deliveries: deliveryRows, audit: auditRows, outcomes };
}

/**
 * A batch's delivery rows with their place in the order (deliveries.seq) written in, numbered on from
 * `last`, the largest seq stored, in the order of the batch: where the database does not number them
 * itself (SQLite, whose single writer reads `last` in the batch's transaction; migration 009).
 */
export function numberDeliveries(deliveries: Row[], last: number): Row[] {
  return deliveries.map((row, i) => ({ ...row, seq: last + i + 1 }));
}

/** When the gateway received the item, by its own clock. */
export function itemTime(item: IngestItem): number {
  return item.push?.receivedAt ?? item.receivedAt ?? Date.now();
}
