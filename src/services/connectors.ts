import type { GatewayConfig } from '../config/load.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import { redactUrl } from '../connectors/auth/redact.ts';
import type { TokenStore } from '../connectors/auth/token-store.ts';
import { probeConnector, type ProbeReport } from '../connectors/probe.ts';
import type { CircuitState } from '../domain/breaker.ts';
import type { Clock } from '../domain/clock.ts';
import { GatewayError } from '../domain/errors.ts';
import type { Store } from '../store/index.ts';

/**
 * Operator actions on connectors, shared by the admin API and the CLI: the overview (admin state,
 * circuit, rate, queue depth, parked count, blocked order keys), maintenance on/off, and the live
 * connector test (src/connectors/probe.ts).
 */

export interface BlockedKey {
  orderKey: string;
  /** The first unfinished delivery of the key, which the others wait behind. */
  blockedBy: string;
  blockerState: string;
  waiting: number;
}

export interface ConnectorOverview {
  name: string;
  description: string | null;
  targetSystem: string | null;
  protocol: 'rest' | 'soap';
  kind: string;
  /** Credentials in the URL are redacted. */
  url: string;
  auth: string;
  ordering: 'strict' | 'none';
  concurrency: number;
  rateLimit: { requests: number; perMs: number } | null;
  /** Maintenance: offline connectors hold their due deliveries. */
  adminState: 'online' | 'offline';
  circuit: CircuitState;
  circuitUntil: string | null;
  stateUpdatedAt: string | null;
  stateUpdatedBy: string | null;
  /** Deliveries waiting to be sent (pending + retrying). */
  queueDepth: number;
  /** When the oldest due delivery became due (ISO 8601), or null. */
  oldestDueAt: string | null;
  counts: { pending: number; retrying: number; inFlight: number; onHold: number; parked: number; delivered: number; discarded: number };
  /** Order keys that cannot move (up to 20), each with the delivery that blocks it. */
  blockedKeys: BlockedKey[];
}

export interface ConnectorOperationsDeps {
  store: Store;
  config: () => GatewayConfig;
  clock: Clock;
  newId: () => string;
  /** Refresh tokens (the connector test may rotate one, and must keep it). */
  tokenStore: TokenStore;
  /** Wakes the delivery worker (after a connector comes back online). */
  notify: () => void;
}

const BLOCKED_SHOWN = 20;

export class ConnectorOperations {
  readonly #deps: ConnectorOperationsDeps;

  constructor(deps: ConnectorOperationsDeps) {
    this.#deps = deps;
  }

  /** Every configured connector, in name order. */
  async list(): Promise<ConnectorOverview[]> {
    const connectors = [...this.#deps.config().connectors].sort((a, b) => a.name.localeCompare(b.name));
    return this.#overview(connectors);
  }

  /** One connector; throws NOT_FOUND when none has that name. */
  async get(name: string): Promise<ConnectorOverview> {
    const [overview] = await this.#overview([this.#connector(name)]);
    if (!overview) throw new GatewayError('NOT_FOUND', `no connector named "${name.slice(0, 100)}"`);
    return overview;
  }

  /** Maintenance on or off, persisted for every instance, with an audit record. */
  async setState(name: string, state: 'online' | 'offline', actor: string, reason?: string): Promise<ConnectorOverview> {
    const connector = this.#connector(name);
    const now = this.#deps.clock.now();
    await this.#deps.store.connectorStates.setAdminState(connector.name, state, now, {
      id: this.#deps.newId(),
      at: now,
      direction: 'admin',
      action: `connector.${state}`,
      connector: connector.name,
      result: 'ok',
      actor,
      ...(reason ? { detail: { reason } } : {}),
    });
    this.#deps.notify();
    return this.get(connector.name);
  }

  /** Tests one connector for real and records the outcome in the audit trail. */
  async test(name: string, actor: string): Promise<ProbeReport> {
    const connector = this.#connector(name);
    const config = this.#deps.config();
    const report = await probeConnector(connector, {
      tokenStore: this.#deps.tokenStore,
      now: () => this.#deps.clock.now(),
      secrets: config.secrets,
    });
    const now = this.#deps.clock.now();
    await this.#deps.store.audit.append({
      id: this.#deps.newId(),
      at: now,
      direction: 'admin',
      action: 'connector.tested',
      connector: connector.name,
      result: report.ok ? 'ok' : 'failed',
      actor,
      detail: { url: report.url, steps: report.steps },
    });
    return report;
  }

  /** Tests every configured connector, one after the other. */
  async testAll(actor: string): Promise<ProbeReport[]> {
    const reports: ProbeReport[] = [];
    for (const c of this.#deps.config().connectors) reports.push(await this.test(c.name, actor));
    return reports;
  }

  #connector(name: string): ConnectorConfig {
    const found = this.#deps.config().connectors.find((c) => c.name === name);
    if (!found) {
      const names = this.#deps.config().connectors.map((c) => c.name);
      throw new GatewayError('NOT_FOUND', `no connector named "${name.slice(0, 100)}" (connectors: ${names.join(', ') || 'none'})`);
    }
    return found;
  }

  async #overview(connectors: ConnectorConfig[]): Promise<ConnectorOverview[]> {
    const { store, clock } = this.#deps;
    const [states, counts, dueNow] = await Promise.all([store.connectorStates.all(), store.browse.deliveryCounts(), store.browse.dueByConnector(clock.now())]);
    const stateOf = new Map(states.map((s) => [s.connector, s]));
    const out: ConnectorOverview[] = [];
    for (const c of connectors) {
      const count = (state: string): number => counts.find((r) => r.connector === c.name && r.state === state)?.count ?? 0;
      const s = stateOf.get(c.name);
      const blocked = await store.deliveries.blockedKeys(c.name, BLOCKED_SHOWN);
      const due = dueNow.get(c.name)?.oldestDueAt ?? null;
      out.push({
        name: c.name,
        description: c.description ?? null,
        targetSystem: c.targetSystem ?? null,
        protocol: c.protocol,
        kind: c.kind,
        url: redactUrl(c.url, c),
        auth: c.auth.type,
        ordering: c.ordering,
        concurrency: c.concurrency,
        rateLimit: c.rateLimit ? { requests: c.rateLimit.requests, perMs: c.rateLimit.per } : null,
        adminState: s?.adminState ?? c.state,
        circuit: s?.circuit ?? 'closed',
        circuitUntil: s?.circuitUntil != null ? new Date(s.circuitUntil).toISOString() : null,
        stateUpdatedAt: s ? new Date(s.updatedAt).toISOString() : null,
        stateUpdatedBy: s?.updatedBy ?? null,
        queueDepth: count('pending') + count('retrying'),
        oldestDueAt: due !== null ? new Date(due).toISOString() : null,
        counts: {
          pending: count('pending'),
          retrying: count('retrying'),
          inFlight: count('in_flight'),
          onHold: count('on_hold'),
          parked: count('parked'),
          delivered: count('delivered'),
          discarded: count('discarded'),
        },
        blockedKeys: blocked.map((b) => ({ orderKey: b.orderKey, blockedBy: b.blockedBy, blockerState: b.blockerState, waiting: b.waiting })),
      });
    }
    return out;
  }
}
