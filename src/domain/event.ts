/**
 * Events: one business event taken from a push (one OrderHeader), a webhook or a poll.
 * Pure types and rules, no I/O.
 */

/** OM's EventCode values documented in Oracle's connector maps. Other codes are kept as they come. */
export const OM_EVENT_CODES = [
  'FlineStatusUpdate',
  'FlineClosed',
  'OrderHeaderStatusUpdate',
  'OrderAttributeUpdate',
  'HOLD',
  'JEOPARDY',
  'SPLIT',
  'OcResponse',
] as const;
export type OmEventCode = (typeof OM_EVENT_CODES)[number];

/** `callback`: an async connector's target answering a delivery later (POST /callbacks/{connector}). */
export const EVENT_SOURCES = ['oracle-om', 'shipbob', 'fusion-po', 'callback'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Leaf values keep their text: Fusion ids exceed 2^53 and decimals must not be rounded. */
export type XmlValue = string | null | XmlRecord | XmlRecord[];
export interface XmlRecord {
  [name: string]: XmlValue;
}

/** Event states after ingest. */
export const EVENT_STATUSES = ['routed', 'unrouted', 'duplicate'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** An event as stored: what the store returns for a row of `events`. */
export interface StoredEvent {
  id: string;
  /** The push it came in (null: a webhook or a poll). */
  pushId: string | null;
  source: string;
  eventCode: string;
  orderKey: string | null;
  sourceSystem: string | null;
  receivedAt: number;
  /** One of EVENT_STATUSES. */
  status: string;
  /** The event this one repeats (status duplicate). */
  duplicateOf: string | null;
  contentHash: string;
  /** The connector the push was limited to (`/soap/business-events/{connector}`), if any. */
  connectorScope: string | null;
  /** Its place within its push. */
  position: number;
  /** The canonical payload as JSON text. */
  payload: string;
  /** The bytes as received, when kept (a webhook's body). */
  raw: string | null;
}

/** A SOAP push as stored: the envelope and how it was received. */
export interface Push {
  id: string;
  receivedAt: number;
  path: string;
  connectorScope: string | null;
  soapVersion: string;
  contentType: string | null;
  /** The request's headers as JSON text. */
  headers: string;
  raw: string;
  rawSize: number;
  eventCount: number;
  authMethod: string | null;
  authUser: string | null;
  remoteAddr: string | null;
  requestId: string | null;
}

/** A stored event's parsed form (its `payload`, JSON text) as a record; an empty one for anything else. */
export function parseStoredPayload(text: string): XmlRecord {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as XmlRecord) : {};
  } catch {
    return {};
  }
}
