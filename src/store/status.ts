import type { Knex } from 'knex';

export interface StatusReport {
  events: Array<{ eventCode: string; status: string; count: number }>;
  deliveries: Array<{ connector: string; state: string; count: number }>;
  pushes: number;
  lastReceivedAt: number | null;
}

/** Counts for `omgw status` and the admin overview. */
export async function readStatus(knex: Knex): Promise<StatusReport> {
  const events = (await knex('events')
    .select('event_code', 'status')
    .count<Array<{ event_code: string; status: string; n: number | string }>>({ n: '*' })
    .groupBy('event_code', 'status')
    .orderBy(['event_code', 'status'])) as Array<{ event_code: string; status: string; n: number | string }>;
  const deliveries = (await knex('deliveries')
    .select('connector', 'state')
    .count({ n: '*' })
    .groupBy('connector', 'state')
    .orderBy(['connector', 'state'])) as Array<{ connector: string; state: string; n: number | string }>;
  const pushes = (await knex('pushes').count({ n: '*' }).max({ last: 'received_at' }).first()) as
    | { n: number | string; last: number | string | null }
    | undefined;
  return {
    events: events.map((r) => ({ eventCode: r.event_code, status: r.status, count: Number(r.n) })),
    deliveries: deliveries.map((r) => ({ connector: r.connector, state: r.state, count: Number(r.n) })),
    pushes: Number(pushes?.n ?? 0),
    lastReceivedAt: pushes?.last == null ? null : Number(pushes.last),
  };
}
