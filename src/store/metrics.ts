import type { Knex } from 'knex';

export interface DeliveryCounts {
  connector: string;
  state: string;
  count: number;
}

export interface QueueStats {
  connector: string;
  /** Deliveries due now (pending or retrying, next attempt time reached). */
  due: number;
  /** The earliest next attempt time among them, or null when none is due. */
  oldestDueAt: number | null;
}

/** The read-only queries behind the gauges of /metrics. They read the shared store, so every instance reports the same values. */
export class MetricsQueries {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async deliveryCounts(): Promise<DeliveryCounts[]> {
    const rows = (await this.#knex('deliveries').select('connector', 'state').count({ n: '*' }).groupBy('connector', 'state')) as Array<{
      connector: string;
      state: string;
      n: number | string;
    }>;
    return rows.map((r) => ({ connector: r.connector, state: r.state, count: Number(r.n) }));
  }

  async queueStats(now: number): Promise<QueueStats[]> {
    const rows = (await this.#knex('deliveries')
      .select('connector')
      .count({ n: '*' })
      .min({ oldest: 'next_attempt_at' })
      .whereIn('state', ['pending', 'retrying'])
      .andWhere('next_attempt_at', '<=', now)
      .groupBy('connector')) as Array<{ connector: string; n: number | string; oldest: number | string | null }>;
    return rows.map((r) => ({ connector: r.connector, due: Number(r.n), oldestDueAt: r.oldest === null ? null : Number(r.oldest) }));
  }
}
