import type { Knex } from 'knex';
import { auditRow, type AuditInput } from './rows/audit.ts';
import { RefusalFolder, type RefusalInput } from './refusals.ts';
import { toAuditRecord, type AuditRecordRow } from './rows/mapping.ts';
import type { AuditRecord } from '../domain/audit.ts';

export type { RefusalInput } from './refusals.ts';

/**
 * The append-only audit trail. Records are only ever inserted, with one exception: the record of
 * folded refusals has its `detail.count` rewritten once its minute closes (src/store/refusals.ts).
 */
export class AuditRepository {
  readonly #knex: Knex;
  readonly #refusals: RefusalFolder;

  constructor(knex: Knex) {
    this.#knex = knex;
    this.#refusals = new RefusalFolder({
      insert: (record) => this.append(record),
      rewriteDetail: async (id, detail) => {
        await this.#knex('audit_records').where({ id }).update({ detail: JSON.stringify(detail) });
      },
    });
  }

  async append(record: AuditInput): Promise<void> {
    await this.#knex('audit_records').insert(auditRow(record));
  }

  /**
   * Records a refusal, which must never turn into a different error: with the store down, it returns
   * false (the refusal still goes back, and the sender tries again). Every client-chosen string in
   * it is clipped, and repeated refusals from one source are folded per minute (src/store/refusals.ts).
   */
  appendRefusal(record: RefusalInput): Promise<boolean> {
    return this.#refusals.record(record);
  }

  /** Writes the counts of folded refusals: of closed minutes before `now`, or all of them (at stop). */
  flushRefusals(now?: number): Promise<void> {
    return this.#refusals.flush(now);
  }

  /** The folder behind appendRefusal, for the gateway's once-a-minute flush. */
  get refusals(): RefusalFolder {
    return this.#refusals;
  }

  async list(filter: { eventId?: string; action?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const q = this.#knex<AuditRecordRow>('audit_records').orderBy('id', 'asc').limit(filter.limit ?? 100);
    if (filter.eventId) q.where('event_id', filter.eventId);
    if (filter.action) q.where('action', filter.action);
    return (await q).map(toAuditRecord);
  }
}
