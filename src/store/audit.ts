import type { Knex } from 'knex';
import { auditRow, type AuditInput } from './ingest.ts';

/** The append-only audit trail. Records are only ever inserted. */
export class AuditRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async append(record: AuditInput): Promise<void> {
    await this.#knex('audit_records').insert(auditRow(record));
  }

  /**
   * Appends a record of a refusal, which must never turn into a different error: with the store
   * down, it returns false (the refusal still goes back, and the sender tries again).
   */
  async appendRefusal(record: AuditInput): Promise<boolean> {
    try {
      await this.append(record);
      return true;
    } catch {
      return false;
    }
  }

  async list(filter: { eventId?: string; action?: string; limit?: number } = {}): Promise<AuditRecordRow[]> {
    const q = this.#knex<AuditRecordRow>('audit_records').orderBy('id', 'asc').limit(filter.limit ?? 100);
    if (filter.eventId) q.where('event_id', filter.eventId);
    if (filter.action) q.where('action', filter.action);
    return q;
  }
}

export interface AuditRecordRow {
  id: string;
  at: number;
  direction: string;
  action: string;
  source_system: string | null;
  connector: string | null;
  event_id: string | null;
  delivery_id: string | null;
  result: string;
  detail: string | null;
  request_id: string | null;
  actor: string | null;
}
