/**
 * The correlation ids a delivery was sent with (`delivery_correlations`, migration 016), as rows and
 * SQL text, without I/O: written where an id is stored on its delivery (a generated one before the
 * first request: ../callbacks.ts; one read from an answer: the completions of either dialect), read
 * where a callback looks its delivery up.
 */

/** One id a delivery was sent with. */
export type CorrelationRow = {
  connector: string;
  correlation_id: string;
  delivery_id: string;
  created_at: number;
};

export function correlationRow(connector: string, correlationId: string, deliveryId: string, at: number): CorrelationRow {
  return { connector, correlation_id: correlationId, delivery_id: deliveryId, created_at: at };
}

/**
 * The conflict clause of every insert of an id: recorded again for its own delivery (a target that
 * answers a re-send with the id it gave before) it changes nothing; for another delivery (the target
 * gave the id out again) it names that one from now on, unanswered. The same text on both databases.
 */
export const CORRELATION_UPSERT =
  'on conflict (connector, correlation_id) do update set delivery_id = excluded.delivery_id, created_at = excluded.created_at, responded_at = null ' +
  'where delivery_correlations.delivery_id <> excluded.delivery_id';
