/** The audit trail's records, as the store returns them. Pure types, no I/O. */

/** One line of the append-only audit trail: one transaction, action or refusal. */
export interface AuditRecord {
  id: string;
  at: number;
  /** One of AUDIT_DIRECTIONS. */
  direction: string;
  action: string;
  sourceSystem: string | null;
  connector: string | null;
  eventId: string | null;
  deliveryId: string | null;
  result: string;
  /** Details of the action as JSON text. */
  detail: string | null;
  requestId: string | null;
  actor: string | null;
}
