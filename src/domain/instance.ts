/**
 * Gateway instances: the processes that share one database (see the README, "Running several
 * instances"). Each registers itself when it starts, writes a heartbeat every `cluster.heartbeat`, and
 * marks itself stopped when it stops cleanly. What an operator sees of one is computed here, from its
 * row and the deliveries it holds, at the reader's time.
 */

/**
 * `live`: its last heartbeat is recent. `stale`: it stopped beating without saying so (killed, hung,
 * cut off from the database); its leases run out and other instances reclaim them. `stopped`: it
 * stopped cleanly.
 */
export const INSTANCE_STATES = ['live', 'stale', 'stopped'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** An instance as it registered itself. */
export interface Instance {
  /** The owner of its leases (deliveries, runs): one per process run. */
  id: string;
  host: string;
  pid: number;
  /** The gateway's version (package.json). */
  version: string;
  /** A digest of the config in force there (src/config/version.ts): it changes when a reload changes the config. */
  configVersion: string;
  startedAt: number;
  heartbeatAt: number;
  stoppedAt: number | null;
}

/** The deliveries one lease owner has in flight. */
export interface LeaseHoldings {
  owner: string;
  inFlight: number;
  /** When the longest-held of them was claimed. */
  oldestClaimedAt: number;
  /** The earliest lease end among them (in the past: that lease has run out and will be reclaimed). */
  nextLeaseExpiresAt: number | null;
}

/** An instance as an operator sees it now. */
export interface InstanceView extends Instance {
  state: InstanceState;
  /** Time since its last heartbeat, never negative (clocks of two hosts may differ a little). */
  heartbeatAgeMs: number;
  inFlight: number;
  /** How long the longest-held of its in-flight deliveries has been held; null when it holds none. */
  oldestLeaseAgeMs: number | null;
  nextLeaseExpiresAt: number | null;
}

function instanceState(instance: Pick<Instance, 'heartbeatAt' | 'stoppedAt'>, now: number, staleAfterMs: number): InstanceState {
  if (instance.stoppedAt !== null) return 'stopped';
  return now - instance.heartbeatAt > staleAfterMs ? 'stale' : 'live';
}

const STATE_ORDER: Record<InstanceState, number> = { live: 0, stale: 1, stopped: 2 };

/**
 * Each instance with its state and what it holds: live ones first, then stale, then stopped, each
 * newest first.
 */
export function describeInstances(instances: readonly Instance[], holdings: readonly LeaseHoldings[], now: number, staleAfterMs: number): InstanceView[] {
  const held = new Map(holdings.map((h) => [h.owner, h]));
  return instances
    .map((i): InstanceView => {
      const h = held.get(i.id);
      return {
        ...i,
        state: instanceState(i, now, staleAfterMs),
        heartbeatAgeMs: Math.max(0, now - i.heartbeatAt),
        inFlight: h?.inFlight ?? 0,
        oldestLeaseAgeMs: h ? Math.max(0, now - h.oldestClaimedAt) : null,
        nextLeaseExpiresAt: h?.nextLeaseExpiresAt ?? null,
      };
    })
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.startedAt - a.startedAt || a.id.localeCompare(b.id));
}
