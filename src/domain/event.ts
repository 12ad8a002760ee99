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

export const EVENT_SOURCES = ['oracle-om', 'shipbob', 'fusion-po'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Leaf values keep their text: Fusion ids exceed 2^53 and decimals must not be rounded. */
export type XmlValue = string | null | XmlRecord | XmlRecord[];
export interface XmlRecord {
  [name: string]: XmlValue;
}

/** Event states after ingest. */
export const EVENT_STATUSES = ['routed', 'unrouted', 'duplicate'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
