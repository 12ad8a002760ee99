import type { EventSource, XmlRecord, XmlValue } from '../domain/event.ts';
import type { FieldCondition, TriggerPointConfig } from '../config/schema.ts';

export interface RoutableEvent {
  source: EventSource;
  eventCode: string;
  payload: XmlRecord;
}

export interface Route {
  connector: string;
  triggerPoint: string;
}

/**
 * Trigger points say which events go to which connectors: by event code, optionally by source and
 * by conditions on fields. An event matched by several trigger points goes once to each connector
 * (the first trigger point that names the connector is recorded). `onlyConnector` limits routing to
 * one connector, for pushes on /soap/business-events/{connector}.
 */
export function route(
  event: RoutableEvent,
  triggerPoints: readonly TriggerPointConfig[],
  onlyConnector: string | null = null,
): Route[] {
  const routes: Route[] = [];
  for (const point of triggerPoints) {
    if (point.source && point.source !== event.source) continue;
    if (!point.eventCodes.includes(event.eventCode) && !point.eventCodes.includes('*')) continue;
    if (!point.when.every((c) => conditionHolds(c, event.payload))) continue;
    for (const connector of point.connectors) {
      if (onlyConnector !== null && connector !== onlyConnector) continue;
      if (!routes.some((r) => r.connector === connector)) routes.push({ connector, triggerPoint: point.name });
    }
  }
  return routes;
}

/**
 * A condition holds when any value found for the field satisfies it; `notIn` holds when values are
 * found and none of them is in the list; `exists` asks whether a non-empty value is found at all.
 */
function conditionHolds(condition: FieldCondition, payload: XmlRecord): boolean {
  const values = findValues(payload, condition.field);
  if (condition.exists !== undefined) return condition.exists === values.some((v) => v !== null && v !== '');
  const present = values.filter((v): v is string => typeof v === 'string');
  if (condition.in) return present.some((v) => condition.in?.includes(v));
  if (condition.notIn) return present.length > 0 && present.every((v) => !condition.notIn?.includes(v));
  if (condition.equals !== undefined) return present.some((v) => v === condition.equals);
  if (condition.matches !== undefined) {
    const re = new RegExp(condition.matches);
    return present.some((v) => re.test(v));
  }
  return false;
}

/**
 * Values of a field: a plain name is looked up at every level (header, lines, fulfilment lines,
 * details); a dotted path (OrderLine.OrderFulfillmentLine.StatusCodeNewValue) follows that path.
 */
function findValues(payload: XmlRecord, field: string): Array<string | null> {
  const out: Array<string | null> = [];
  if (field.includes('.')) {
    collectPath([payload], field.split('.'), out);
  } else {
    collectAnywhere(payload, field, out);
  }
  return out;
}

function collectPath(records: XmlRecord[], path: string[], out: Array<string | null>): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  for (const r of records) {
    const v = r[head];
    if (v === undefined) continue;
    if (rest.length === 0) pushLeaves(v, out);
    else collectPath(toRecords(v), rest, out);
  }
}

function collectAnywhere(record: XmlRecord, field: string, out: Array<string | null>): void {
  for (const [name, v] of Object.entries(record)) {
    if (name === field) pushLeaves(v, out);
    for (const child of toRecords(v)) collectAnywhere(child, field, out);
  }
}

function pushLeaves(v: XmlValue, out: Array<string | null>): void {
  if (v === null || typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const item of v) pushLeaves(item, out);
}

function toRecords(v: XmlValue): XmlRecord[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return [v];
  return [];
}
