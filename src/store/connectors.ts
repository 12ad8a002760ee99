import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';
import type { CircuitState } from '../domain/breaker.ts';
import type { AdminState, ConnectorState } from '../domain/connector-state.ts';
import { fullBucket, refill, take, type Bucket, type RateLimit } from '../domain/rate.ts';
import { toConnectorState, type ConnectorStateRow } from './rows/mapping.ts';

/** Connector state that every instance shares: maintenance (online/offline), circuit, rate buckets. */
export class ConnectorStateRepository {
  readonly #knex: Knex;
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#knex = backend.knex;
    this.#backend = backend;
  }

  /** Adds a row for each configured connector not seen before, with its configured initial state. */
  async ensure(connectors: Array<{ name: string; state: AdminState }>, now: number): Promise<void> {
    if (connectors.length === 0) return;
    await this.#knex('connector_states')
      .insert(connectors.map((c) => ({ connector: c.name, admin_state: c.state, circuit: 'closed', updated_at: now, updated_by: 'config' })))
      .onConflict('connector')
      .ignore();
  }

  async all(): Promise<ConnectorState[]> {
    return ((await this.#knex('connector_states').select()) as ConnectorStateRow[]).map(toConnectorState);
  }

  /** Sets a connector online or offline, with an audit record, in one transaction. */
  async setAdminState(connector: string, state: AdminState, now: number, audit: AuditInput): Promise<void> {
    await this.#knex.transaction(async (trx) => {
      await trx('connector_states')
        .insert({ connector, admin_state: state, circuit: 'closed', updated_at: now, updated_by: audit.actor ?? null })
        .onConflict('connector')
        .merge({ admin_state: state, updated_at: now, updated_by: audit.actor ?? null });
      await trx('audit_records').insert(auditRow(audit));
      // Its held deliveries are released by the first worker that sees it online: wake them all.
      if (state === 'online') await this.#backend.announceDue(trx, [connector]);
    });
  }

  /**
   * Moves the circuit from one state to another only if it is still in `from` (compare-and-set), so
   * that of several instances exactly one performs each transition.
   */
  async transitionCircuit(connector: string, from: CircuitState[], to: CircuitState, until: number | null, now: number): Promise<boolean> {
    const n = await this.#knex('connector_states')
      .where({ connector })
      .whereIn('circuit', from)
      .update({ circuit: to, circuit_until: until, updated_at: now });
    return n === 1;
  }

  /**
   * Takes up to `want` tokens from the connector's shared bucket. Returns how many were granted and,
   * when none, when the next one is available.
   */
  async takeTokens(connector: string, limit: RateLimit, want: number, now: number): Promise<{ granted: number; retryAt: number }> {
    return this.#knex.transaction(async (trx) => {
      await trx('rate_buckets').insert({ connector, tokens: limit.requests, updated_at: now }).onConflict('connector').ignore();
      const result: unknown = await trx.raw(`select tokens, updated_at from rate_buckets where connector = ? ${this.#backend.forUpdate}`, [connector]);
      const row = this.#backend.rowsOf<{ tokens: number | string; updated_at: number | string }>(result)[0];
      const stored: Bucket = row ? { tokens: Number(row.tokens), updatedAt: Number(row.updated_at) } : fullBucket(limit, now);
      const bucket = refill(limit, stored, now);
      const n = Math.min(want, Math.floor(bucket.tokens));
      if (n <= 0) {
        const probe = take(limit, bucket, now, 1);
        await trx('rate_buckets').where({ connector }).update({ tokens: bucket.tokens, updated_at: bucket.updatedAt });
        return { granted: 0, retryAt: probe.retryAt };
      }
      const taken = take(limit, bucket, now, n);
      await trx('rate_buckets').where({ connector }).update({ tokens: taken.bucket.tokens, updated_at: taken.bucket.updatedAt });
      return { granted: n, retryAt: now };
    });
  }
}
