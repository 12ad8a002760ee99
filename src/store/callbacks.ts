import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { appliesFrom, patchOf, type Delivery } from '../domain/delivery.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';
import { CORRELATION_UPSERT, correlationRow } from './rows/correlation.ts';
import { batchRows, CHUNK, type IngestEvent } from './rows/ingest.ts';
import { deliveryUpdate, toDelivery, type DeliveryRow } from './rows/mapping.ts';
import type { AttemptInput } from './rows/delivery.ts';

/**
 * Async connectors' deliveries: the correlation id kept before a request goes, the expiry of
 * responses past their deadline, and a callback stored with the completion of the delivery it
 * answers, found by any correlation id the delivery was sent with (`delivery_correlations`). What
 * each writes comes from the domain's DELIVERY_TRANSITIONS (await is written by the worker's
 * completions, deliveries.ts).
 */

/** How an overdue delivery goes on: the retry rules' decision, made by the caller. */
export type Expiry =
  | { event: 'expire'; nextAttemptAt: number; error: string }
  | { event: 'expire_park'; reason: string; error: string };

export interface ExpireInput {
  delivery: Delivery;
  now: number;
  expiry: Expiry;
  audit: AuditInput;
}

/** How a callback completes its delivery. */
export interface CallbackCompletion {
  event: 'respond' | 'respond_failed';
  /** respond_failed: the callback's message (the delivery's last error). */
  error: string | null;
  /** The callback beside the delivery's attempts (its number: the attempt it answers). */
  attempt: AttemptInput;
}

/** What a callback stores, decided by the caller from the delivery it matched (read in the transaction). */
export type CallbackPlan =
  /** Nothing is written (a repeated callback). */
  | { write: false }
  | {
      write: true;
      /** The callback as an event, routed (its deliveries) by the caller. */
      event: IngestEvent;
      receivedAt: number;
      requestId: string | null;
      audit: AuditInput;
      /** Null: the delivery is left as it is (none matched, or it is finished). */
      completion: CallbackCompletion | null;
    };

/**
 * A WS-Security nonce a callback's UsernameToken carried (src/inbound/soap/auth.ts: the key is a
 * digest of the user and the nonce's decoded bytes): claimed in the callback's transaction, in the
 * table OM's pushes use, so a token seen before (and not expired) refuses the callback.
 */
export interface NonceClaim {
  key: string;
  expiresAt: number;
}

export interface CallbackRecordInput {
  connector: string;
  /** Null: the callback names none (nothing is looked up). */
  correlationId: string | null;
  now: number;
  /** A UsernameToken's nonce to claim first (none: nothing to claim). */
  nonce?: NonceClaim | null;
  /** A signed callback's message id to claim next: claimed before, the callback is a repeat that writes nothing. */
  message?: NonceClaim | null;
  /**
   * `match`: the delivery sent with this correlation id (its latest or an earlier one), null when
   * none was; `answered`: a callback with this very id has completed that delivery before.
   */
  plan(match: Delivery | null, answered: boolean): CallbackPlan;
}

/** The delivery a correlation id names, and whether a callback with this id has completed it before. */
interface CorrelationMatch {
  delivery: Delivery;
  answered: boolean;
}

/** A delivery's row read through one of its correlation ids, with that id's responded_at. */
type MatchedRow = DeliveryRow & { id_responded_at: number | string | null };

export type CallbackRecorded =
  | {
      refused: false;
      plan: CallbackPlan;
      /** The matched delivery as it was, and after the callback (null: none matched). */
      before: Delivery | null;
      after: Delivery | null;
    }
  /** The nonce was used before, or the message was seen before: nothing was written. */
  | { refused: CallbackClaimLost };

/** Why a callback's transaction wrote nothing: its token's nonce, or its message id, was claimed before. */
export type CallbackClaimLost = 'nonce_replayed' | 'message_seen';

/** An invalid callback's audit record, with its nonce claimed in the same transaction. */
export interface InvalidCallbackInput {
  nonce: NonceClaim | null;
  /** As CallbackRecordInput's: a repeated message adds no audit record. */
  message?: NonceClaim | null;
  now: number;
  audit: AuditInput;
}

/** Most overdue deliveries one sweep reads. */
const SWEEP_LIMIT = 200;

export class CallbackRepository {
  readonly #knex: Knex;
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#knex = backend.knex;
    this.#backend = backend;
  }

  /**
   * Keeps the correlation id of a delivery before its first request goes, so the id sent is the one
   * a callback finds, whatever happens to the worker after the send: on the delivery, and among the
   * ids it was sent with (one lookup finds generated ids and ids read from answers alike), in one
   * transaction. Only while `owner` holds the lease and the delivery has none yet. Returns whether
   * it was written.
   */
  async keepCorrelationId(id: string, owner: string, correlationId: string, now: number): Promise<boolean> {
    return this.#knex.transaction(async (trx) => {
      const changed = (await trx('deliveries')
        .where({ id, lease_owner: owner, state: 'in_flight' })
        .whereNull('correlation_id')
        .update({ correlation_id: correlationId })
        .returning('connector')) as Array<{ connector: string }>;
      const [row] = changed;
      if (!row) return false;
      const kept = correlationRow(row.connector, correlationId, id, now);
      await trx.raw(`insert into delivery_correlations (connector, correlation_id, delivery_id, created_at) values (?, ?, ?, ?) ${CORRELATION_UPSERT}`, [
        kept.connector,
        kept.correlation_id,
        kept.delivery_id,
        kept.created_at,
      ]);
      return true;
    });
  }

  /** The delivery of a connector a correlation id names: the one sent with it (as its latest id or an earlier one). */
  async findByCorrelation(connector: string, correlationId: string): Promise<Delivery | undefined> {
    return (await this.#match(this.#knex, connector, correlationId, false))?.delivery;
  }

  /**
   * The delivery sent with a correlation id, through the ids each delivery was sent with; `lock`:
   * its rows locked for the transaction (PostgreSQL). A delivery whose latest id has no row there
   * (written by a gateway older than migration 016, still running beside this one during an upgrade)
   * is found by that id on the delivery, answered as far as the delivery says.
   */
  async #match(db: Knex, connector: string, correlationId: string, lock: boolean): Promise<CorrelationMatch | null> {
    const sent = db('delivery_correlations as c')
      .join('deliveries as d', 'd.id', 'c.delivery_id')
      .where({ 'c.connector': connector, 'c.correlation_id': correlationId })
      .select('d.*', 'c.responded_at as id_responded_at')
      .first();
    if (lock) sent.forUpdate();
    const row = (await sent) as MatchedRow | undefined;
    if (row) return { delivery: toDelivery(row), answered: row.id_responded_at !== null };
    const latest = db('deliveries').where({ connector, correlation_id: correlationId }).first();
    if (lock) latest.forUpdate();
    const unrecorded = (await latest) as DeliveryRow | undefined;
    if (!unrecorded) return null;
    const delivery = toDelivery(unrecorded);
    return { delivery, answered: delivery.respondedAt !== null };
  }

  /**
   * Deliveries awaiting a response past their deadline, earliest deadline first, of every connector
   * (also one a reload made sync or removed: its deliveries still expire by their stored deadline).
   */
  async overdue(now: number, limit = SWEEP_LIMIT): Promise<Delivery[]> {
    const rows = (await this.#knex('deliveries')
      .where('state', 'awaiting_response')
      .andWhere('response_due_at', '<=', now)
      .orderBy('response_due_at')
      .limit(limit)) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  /**
   * Expires one overdue delivery (retrying, or parked no_response) with its audit record, in one
   * transaction: a compare-and-set on its state and deadline, so that of several instances sweeping
   * at once exactly one changes it (the others' update finds it changed and writes nothing).
   */
  async expire(input: ExpireInput): Promise<Delivery | null> {
    const { delivery, now, expiry } = input;
    const args = expiry.event === 'expire' ? { nextAttemptAt: expiry.nextAttemptAt, error: expiry.error } : { reason: expiry.reason, error: expiry.error };
    return this.#knex.transaction(async (trx) => {
      const rows = (await trx('deliveries')
        .where({ id: delivery.id })
        .whereIn('state', appliesFrom(expiry.event))
        .andWhere('response_due_at', '<=', now)
        .update(deliveryUpdate(patchOf(expiry.event, args, now)))
        .returning('*')) as DeliveryRow[];
      const [row] = rows;
      if (!row) return null;
      await trx('audit_records').insert(auditRow(input.audit));
      return toDelivery(row);
    });
  }

  /**
   * Stores a callback in one transaction: reads the delivery its correlation id names, the latest
   * id the delivery was sent with or an earlier one (locked on PostgreSQL, so two callbacks for one
   * delivery take turns and the second sees the first's completion), asks `plan` what to store, then
   * writes the event, its routed deliveries, the audit records, the callback's attempt row, the
   * delivery's completion and which of its ids answered. Resolves after the commit.
   */
  async record(input: CallbackRecordInput): Promise<CallbackRecorded> {
    return this.#knex.transaction(async (trx): Promise<CallbackRecorded> => {
      // First, so a replayed token changes nothing, not even a duplicate's answer.
      if (!(await claimNonce(trx, input.nonce ?? null, input.now))) return { refused: 'nonce_replayed' };
      // Then the message: a sender's retry of a callback it already delivered changes nothing.
      if (!(await claimNonce(trx, input.message ?? null, input.now))) return { refused: 'message_seen' };
      const match = input.correlationId === null ? null : await this.#match(trx, input.connector, input.correlationId, this.#backend.forUpdate !== '');
      const before = match?.delivery ?? null;
      const plan = input.plan(before, match?.answered ?? false);
      if (!plan.write) return { refused: false, plan, before, after: before };

      const rows = batchRows([{ push: null, receivedAt: plan.receivedAt, nonce: null, events: [plan.event], requestId: plan.requestId }], new Set(), new Map());
      await trx('events').insert(rows.events);
      for (let i = 0; i < rows.deliveries.length; i += CHUNK) await trx('deliveries').insert(rows.deliveries.slice(i, i + CHUNK));
      await trx('audit_records').insert([...rows.audit, auditRow(plan.audit)]);

      let after = before;
      const due = new Set(rows.deliveries.map((d) => String(d.connector)));
      if (before !== null && plan.completion !== null) {
        const { completion } = plan;
        const changed = (await trx('deliveries')
          .where({ id: before.id })
          .whereIn('state', appliesFrom(completion.event))
          .whereNotNull('correlation_id')
          .whereNull('responded_at')
          .update(deliveryUpdate(patchOf(completion.event, { error: completion.error ?? '' }, input.now)))
          .returning('*')) as DeliveryRow[];
        if (changed[0]) {
          after = toDelivery(changed[0]);
          const a = completion.attempt;
          await trx('attempts').insert({
            id: a.id,
            delivery_id: before.id,
            number: a.number,
            started_at: a.startedAt,
            duration_ms: Math.round(a.durationMs),
            request_summary: JSON.stringify(a.requestSummary),
            response_status: a.responseStatus,
            response_headers: a.responseHeaders ? JSON.stringify(a.responseHeaders) : null,
            response_snippet: a.responseSnippet,
            error_class: a.errorClass,
            error_message: a.errorMessage,
            outcome: a.outcome,
          });
          // This id has answered: the same callback again is a duplicate; one with another id of the
          // delivery finds it finished. (Also records a latest id written without its row.)
          if (input.correlationId !== null) {
            await trx('delivery_correlations')
              .insert({ ...correlationRow(before.connector, input.correlationId, before.id, input.now), responded_at: input.now })
              .onConflict(['connector', 'correlation_id'])
              .merge(['responded_at']);
          }
          // Under strict ordering the next delivery of its order key may go now.
          due.add(before.connector);
        }
      }
      await this.#backend.announceDue(trx, [...due]);
      return { refused: false, plan, before, after };
    });
  }

  /**
   * Audits a callback the service could not read (no correlation id, a status it does not know),
   * claiming its nonce and its message id in the same transaction. Writes nothing, saying which
   * claim was lost, when either was claimed before.
   */
  async recordInvalid(input: InvalidCallbackInput): Promise<CallbackClaimLost | 'stored'> {
    return this.#knex.transaction(async (trx) => {
      if (!(await claimNonce(trx, input.nonce, input.now))) return 'nonce_replayed';
      if (!(await claimNonce(trx, input.message ?? null, input.now))) return 'message_seen';
      await trx('audit_records').insert(auditRow(input.audit));
      return 'stored';
    });
  }
}

/**
 * Claims a nonce (or a signed callback's message id, keyed apart) in `trx`: taken when new, or when the one stored has expired (as the ingest
 * writers do for pushes). An upsert whose RETURNING says who won, so two instances claiming one
 * nonce at once cannot both take it: PostgreSQL makes the second wait on the key, then see it taken.
 */
async function claimNonce(trx: Knex.Transaction, nonce: NonceClaim | null, now: number): Promise<boolean> {
  if (nonce === null) return true;
  const won = (await trx('ws_nonces')
    .insert({ nonce_key: nonce.key, expires_at: nonce.expiresAt })
    .onConflict('nonce_key')
    .merge(['expires_at'])
    .where('ws_nonces.expires_at', '<', now)
    .returning('nonce_key')) as Array<{ nonce_key: string }>;
  return won.length === 1;
}
