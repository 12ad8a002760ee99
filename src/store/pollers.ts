import type { Knex } from 'knex';
import type { PollerCursor, PollerRun, PollerRunState } from '../domain/poller.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';
import { toPollerRun, type PollerRunRow } from './rows/mapping.ts';

/** The poller's cursor and its runs (src/inbound/poller/). */
export class PollerRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /** Claims a run's slot, leased until `leaseUntil`; false when another instance has it already. */
  async claimRun(run: { id: string; poller: string; slotKey: string; owner: string; now: number; leaseUntil: number; cursorBefore: string | null }): Promise<boolean> {
    const inserted = (await this.#knex('poller_runs')
      .insert({ id: run.id, poller: run.poller, slot_key: run.slotKey, owner: run.owner, started_at: run.now, lease_until: run.leaseUntil, state: 'running', cursor_before: run.cursorBefore })
      .onConflict('slot_key')
      .ignore()
      .returning('id')) as Array<{ id: string }>;
    return inserted.length === 1;
  }

  /** A run going on renews its lease (with each page). */
  async renewRun(id: string, leaseUntil: number): Promise<void> {
    await this.#knex('poller_runs').where({ id, state: 'running' }).update({ lease_until: leaseUntil });
  }

  /**
   * Marks the runs still `running` whose lease has run out as interrupted: their instance stopped
   * (killed, crashed) before it could record how they ended. What they stored, and the cursor, stay.
   */
  async markInterrupted(poller: string, now: number): Promise<number> {
    return this.#knex('poller_runs')
      .where({ poller, state: 'running' })
      .andWhere('lease_until', '<', now)
      .update({ state: 'interrupted', finished_at: now, error: 'the instance running it stopped before the run ended' });
  }

  async cursor(poller: string): Promise<PollerCursor | null> {
    const row = (await this.#knex('poller_cursors').where({ poller }).first()) as
      | { cursor: string; cursor_at: number | string; caught_up: boolean | number; resume_skip: number | string; updated_at: number | string }
      | undefined;
    if (!row) return null;
    return { cursor: row.cursor, cursorAt: Number(row.cursor_at), caughtUp: Boolean(row.caught_up), resumeSkip: Number(row.resume_skip), updatedAt: Number(row.updated_at) };
  }

  /**
   * Moves the cursor to `cursorAt`, never back: of two instances polling at once, the one that read
   * less must not make the next run read again what the other stored.
   */
  async advance(poller: string, to: { cursor: string; cursorAt: number; caughtUp: boolean; resumeSkip: number }, now: number): Promise<void> {
    const row = { cursor: to.cursor, cursor_at: to.cursorAt, caught_up: to.caughtUp, resume_skip: to.resumeSkip, updated_at: now };
    await this.#knex('poller_cursors')
      .insert({ poller, ...row })
      .onConflict('poller')
      .merge(row)
      .where('poller_cursors.cursor_at', '<=', to.cursorAt);
  }

  /** Records how a run ended, with its audit record, in one transaction. */
  async finishRun(id: string, end: { now: number; state: Exclude<PollerRunState, 'running'>; cursorAfter: string | null; summary: unknown; error: string | null }, audit: AuditInput): Promise<void> {
    await this.#knex.transaction(async (trx) => {
      await trx('poller_runs')
        .where({ id })
        .update({ finished_at: end.now, state: end.state, cursor_after: end.cursorAfter, summary: JSON.stringify(end.summary), error: end.error });
      await trx('audit_records').insert(auditRow(audit));
    });
  }

  /** The latest runs, newest first. */
  async runs(poller: string, limit: number): Promise<PollerRun[]> {
    const rows = (await this.#knex('poller_runs').where({ poller }).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit)) as PollerRunRow[];
    return rows.map(toPollerRun);
  }
}
