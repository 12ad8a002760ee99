import type { Knex } from 'knex';
import type { Backend } from './backend.ts';
import { auditRow, type AuditInput } from './rows/audit.ts';
import type { CircuitState } from '../domain/breaker.ts';
import type { AdminState, ConnectorState } from '../domain/connector-state.ts';
import { admit, readmit, RATE_MARGIN_MS, type Admission, type RateLimit, type RateTake } from '../domain/rate.ts';
import { toConnectorState, type ConnectorStateRow } from './rows/mapping.ts';
import { sendLogOf, sendLogText, type RateWindowRow } from './rows/rate.ts';

/** Connector state that every instance shares: maintenance (online/offline), circuit, rate windows. */
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
   * Takes up to `want` sends from the connector's shared rate window (src/domain/rate.ts `admit`):
   * returns how many were granted and when one more can be (now while there is room).
   *
   * `now` is read for each decision, after the log was read: a send is recorded at the time it was
   * granted, not when the caller began (a claim or a read on a busy database can take hundreds of
   * ms, and a send recorded as older than it is would leave the window too early).
   *
   * Atomic per connector by compare-and-set: read the log and its version, decide in the domain,
   * write the new log only where the version is still the one read (autocommit statements: two round
   * trips for a grant, one for a refusal). A writer that lost the race reads again, so no grant is
   * ever decided on a log another instance has since changed. No lock is held between round trips,
   * so a stalled instance never blocks the others. (A single PostgreSQL statement that locks the
   * connector, `for update` or an advisory lock in a CTE, is not enough: the rest of the statement
   * reads with the snapshot taken before the lock wait, and misses the sends the holder committed.)
   */
  async takeTokens(connector: string, limit: RateLimit, want: number, now: () => number): Promise<RateTake> {
    return this.#decide(connector, (log) => {
      const at = now();
      return { at, admission: admit(limit, log, at, want, limit.margin ?? RATE_MARGIN_MS) };
    }, now);
  }

  /**
   * Gives up a place granted at `grantedAt` (domain `readmit`: its request was not written yet) and
   * takes one at the current time, in one compare-and-set. The old place is given up even when the
   * new one is refused: nothing was sent at it.
   */
  async retakeToken(connector: string, limit: RateLimit, grantedAt: number, now: () => number): Promise<RateTake> {
    return this.#decide(connector, (log) => {
      const at = now();
      return { at, admission: readmit(limit, log, grantedAt, at, limit.margin ?? RATE_MARGIN_MS), writeRefusal: true };
    }, now);
  }

  async #decide(
    connector: string,
    decide: (log: number[]) => { at: number; admission: Admission; writeRefusal?: boolean },
    now: () => number,
  ): Promise<RateTake> {
    for (let round = 0; round < MAX_TAKE_ROUNDS; round++) {
      const row = (await this.#knex('rate_windows').where({ connector }).first('sends', 'version')) as RateWindowRow | undefined;
      if (!row) {
        await this.#knex('rate_windows').insert({ connector, sends: '', version: 0 }).onConflict('connector').ignore();
        continue;
      }
      const log = sendLogOf(row.sends);
      const { at, admission, writeRefusal } = decide(log);
      const result = { granted: admission.granted, retryAt: admission.retryAt, at };
      if (admission.granted === 0 && !writeRefusal) return result;
      const version = Number(row.version);
      const written = await this.#knex('rate_windows')
        .where({ connector, version })
        .update({ sends: sendLogText(admission.log), version: version + 1 });
      if (written === 1) return result;
    }
    // Every round lost to another writer, each of which made progress: refuse rather than wait here.
    // Nothing was granted, so the limit holds; the caller asks again at once.
    const at = now();
    return { granted: 0, retryAt: at, at };
  }
}

/** Rounds a take may lose to other instances' writes before it gives up for now. */
const MAX_TAKE_ROUNDS = 20;
