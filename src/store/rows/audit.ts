/** Rows several repositories write: the audit record of an action, and the row type they share. */
import type { AuditDirection } from '../../domain/delivery.ts';

/** A row as the store writes it: text, numbers (times, counts) and nulls. */
export type Row = Record<string, string | number | null>;

export interface AuditInput {
  id: string;
  at: number;
  direction: AuditDirection;
  action: string;
  sourceSystem?: string | null;
  connector?: string | null;
  eventId?: string | null;
  deliveryId?: string | null;
  result: string;
  detail?: unknown;
  requestId?: string | null;
  actor?: string | null;
}

export function auditRow(a: AuditInput): Row {
  return {
    id: a.id,
    at: a.at,
    direction: a.direction,
    action: a.action,
    source_system: a.sourceSystem ?? null,
    connector: a.connector ?? null,
    event_id: a.eventId ?? null,
    delivery_id: a.deliveryId ?? null,
    result: a.result,
    detail: a.detail === undefined ? null : JSON.stringify(a.detail),
    request_id: a.requestId ?? null,
    actor: a.actor ?? null,
  };
}
