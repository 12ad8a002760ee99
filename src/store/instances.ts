import type { Knex } from 'knex';
import type { Instance, LeaseHoldings } from '../domain/instance.ts';
import { instanceRow, toInstance, type InstanceRow } from './rows/instance.ts';

/**
 * The gateway instances sharing this database (migration 010): each registers, heartbeats and marks
 * itself stopped here (src/jobs/heartbeat.ts); `omgw status`, the admin API, the console and /metrics
 * read them with what each holds. A handful of rows, one short statement each: what a heartbeat costs
 * the shared database stays small.
 */
export class InstanceRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /**
   * Registers an instance that starts, and forgets those stopped or silent since before
   * `forgetBefore` (an instance that registers is the one moment a cluster surely writes here).
   */
  async register(instance: Instance, forgetBefore: number): Promise<void> {
    await this.#knex.transaction(async (trx) => {
      await trx('instances').where(trx.raw('coalesce(stopped_at, heartbeat_at)'), '<', forgetBefore).delete();
      await trx('instances').insert(instanceRow(instance)).onConflict('id').merge();
    });
  }

  /**
   * A heartbeat: when, and the config version in force. Written whole, so an instance whose row was
   * forgotten while it could not reach the database (it was silent for longer than forgetAfter)
   * comes back with its next beat.
   */
  async beat(instance: Instance): Promise<void> {
    await this.#knex('instances').insert(instanceRow(instance)).onConflict('id').merge(['heartbeat_at', 'config_version']);
  }

  /** A clean stop: the instance is shown stopped, not stale. */
  async markStopped(id: string, now: number): Promise<void> {
    await this.#knex('instances').where({ id }).update({ stopped_at: now });
  }

  async list(): Promise<Instance[]> {
    const rows = (await this.#knex('instances').select('*').orderBy('started_at', 'desc').orderBy('id')) as InstanceRow[];
    return rows.map(toInstance);
  }

  /** The deliveries each lease owner has in flight: how many, the longest held, the next lease to end. */
  async holdings(): Promise<LeaseHoldings[]> {
    const rows = (await this.#knex('deliveries')
      .select('lease_owner')
      .count({ n: '*' })
      // An in-flight delivery's updated_at is its claim: only the worker writes it while in flight, and renewing a lease does not.
      .min({ claimed: 'updated_at' })
      .min({ expires: 'lease_expires_at' })
      .where({ state: 'in_flight' })
      .whereNotNull('lease_owner')
      .groupBy('lease_owner')) as Array<{ lease_owner: string; n: number | string; claimed: number | string; expires: number | string | null }>;
    return rows.map((r) => ({
      owner: r.lease_owner,
      inFlight: Number(r.n),
      oldestClaimedAt: Number(r.claimed),
      nextLeaseExpiresAt: r.expires === null ? null : Number(r.expires),
    }));
  }
}
