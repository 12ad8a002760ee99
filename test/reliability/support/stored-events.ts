import type { Delivery } from '../../../src/domain/delivery.ts';
import type { StoredEvent } from '../../../src/domain/event.ts';

/**
 * What the store holds of a run's pushes, keyed for the reliability checks: the routed events by
 * `orderKey#seq` (the sequence number the pushes carry in StatusCodeNewValue, `S00042`), how many
 * events were stored as duplicates, and each event's deliveries.
 */
export function storedByOrder(
  events: readonly StoredEvent[],
  deliveries: readonly Delivery[],
): { routed: Map<string, string[]>; duplicateEvents: number; deliveriesOf: Map<string, Delivery[]> } {
  const seqOf = (payload: string): number => Number((JSON.parse(payload) as { OrderLine: Array<{ StatusCodeNewValue: string }> }).OrderLine[0]?.StatusCodeNewValue.slice(1));
  const routed = new Map<string, string[]>();
  for (const e of events.filter((x) => x.status === 'routed')) {
    const k = `${e.orderKey}#${seqOf(e.payload)}`;
    routed.set(k, [...(routed.get(k) ?? []), e.id]);
  }
  const duplicateEvents = events.filter((e) => e.status === 'duplicate').length;
  const deliveriesOf = new Map<string, Delivery[]>();
  for (const d of deliveries) deliveriesOf.set(d.eventId, [...(deliveriesOf.get(d.eventId) ?? []), d]);
  return { routed, duplicateEvents, deliveriesOf };
}
