import type { FailureInfo } from './retry.ts';

/**
 * A per-connector circuit breaker as a pure state machine: state in, event and time in, state out.
 * The caller keeps the state (in memory or in the store) and asks canSend before each attempt and
 * recordResult after it. Deliveries that canSend refuses go on hold and are not charged an attempt.
 *
 *   closed ──too many failures──▶ open ──coolDown over (canSend)──▶ half_open (one probe)
 *     ▲                             ▲                                   │
 *     │                             └──────── probe fails ──────────────┤
 *     └──────────────────────────── probe succeeds ─────────────────────┘
 *
 * Only target-side failures count: record ok=false for network errors, timeouts, 5xx, 408, 429 and
 * SOAP Server faults. A 4xx other than 408/429 (and a SOAP Client fault) means the target is up and
 * answering; record it as ok=true for the breaker even though the delivery itself fails. Failures
 * that never reached the target (transform, config) are not recorded at all. breakerOutcome()
 * applies these rules.
 */

export interface BreakerPolicy {
  /** Open when failures / results within the window reach this ratio (0..1)... */
  failureRatio: number;
  /** ...provided the window holds at least this many results. */
  minimumRequests: number;
  /** How far back (ms) results count for the ratio. */
  windowMs: number;
  /** Open after this many failures in a row, whatever the ratio. */
  consecutiveFailures: number;
  /** How long (ms) the circuit stays open before one probe is let through. */
  coolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = {
  failureRatio: 0.5,
  minimumRequests: 20,
  windowMs: 60_000,
  consecutiveFailures: 10,
  coolDownMs: 30_000,
};

/** The states of a circuit; the store keeps the one every instance shares (connector_states.circuit). */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export interface BreakerState {
  state: CircuitState;
  /** When the circuit last opened; null while it has never opened since the last close. */
  openedAt: number | null;
  consecutiveFailures: number;
  /** Results within the last windowMs, oldest first, at most MAX_WINDOW of them. */
  window: Array<{ at: number; ok: boolean }>;
  /** half_open: the single probe has been let through and its result is not recorded yet. */
  probeInFlight: boolean;
}

/**
 * The window keeps at most this many results: at high request rates the ratio is taken over the
 * most recent MAX_WINDOW results within windowMs, which bounds memory and the cost of each update.
 */
const MAX_WINDOW = 1_000;

export function initialBreaker(): BreakerState {
  return { state: 'closed', openedAt: null, consecutiveFailures: 0, window: [], probeInFlight: false };
}

/** Results newer than now - windowMs, and no more than MAX_WINDOW of them. */
function trimWindow(policy: BreakerPolicy, window: BreakerState['window'], now: number): BreakerState['window'] {
  const since = now - policy.windowMs;
  let start = 0;
  while (start < window.length && (window[start]?.at ?? Infinity) <= since) start += 1;
  start = Math.max(start, window.length - MAX_WINDOW);
  return start === 0 ? window : window.slice(start);
}

function opened(state: BreakerState, now: number): BreakerState {
  return {
    state: 'open',
    openedAt: now,
    consecutiveFailures: state.consecutiveFailures,
    // The next closed period starts from a clean window (see the half_open success below).
    window: [],
    probeInFlight: false,
  };
}

/**
 * Records the result of one attempt at `now`.
 *
 * - closed: the result joins the window (trimmed to windowMs and MAX_WINDOW). The circuit opens
 *   when the failures in a row reach policy.consecutiveFailures, or when the window holds at least
 *   minimumRequests results and failures / results >= failureRatio.
 * - half_open: the probe's result decides. One success closes the circuit and resets everything;
 *   one failure re-opens it with openedAt = now (a new cool-down).
 * - open: a late result of a request sent before the circuit opened changes nothing.
 */
export function recordResult(policy: BreakerPolicy, state: BreakerState, ok: boolean, now: number): BreakerState {
  if (state.state === 'open') return state;
  if (state.state === 'half_open') {
    if (ok) return initialBreaker();
    return opened({ ...state, consecutiveFailures: state.consecutiveFailures + 1 }, now);
  }
  const consecutiveFailures = ok ? 0 : state.consecutiveFailures + 1;
  const window = trimWindow(policy, [...state.window, { at: now, ok }], now);
  const next: BreakerState = { ...state, consecutiveFailures, window };
  if (!ok && consecutiveFailures >= policy.consecutiveFailures) return opened(next, now);
  if (!ok && window.length >= policy.minimumRequests) {
    let failures = 0;
    for (const entry of window) if (!entry.ok) failures += 1;
    if (failures / window.length >= policy.failureRatio) return opened(next, now);
  }
  return next;
}

/**
 * Whether an attempt may be sent at `now`, and the state to keep afterwards.
 *
 * - closed: allowed.
 * - open: refused until openedAt + coolDownMs (reopensAt); from then on the circuit turns half_open
 *   and this one call is allowed as the probe (probeInFlight = true).
 * - half_open: refused while the probe is in flight (reopensAt null: it depends on the probe's
 *   result). The caller must record the probe's result, also when sending threw, or the circuit
 *   stays half_open.
 */
export function canSend(
  policy: BreakerPolicy,
  state: BreakerState,
  now: number,
): { allowed: boolean; state: BreakerState; reopensAt: number | null } {
  switch (state.state) {
    case 'closed':
      return { allowed: true, state, reopensAt: null };
    case 'open': {
      const reopensAt = (state.openedAt ?? -Infinity) + policy.coolDownMs;
      if (now < reopensAt) return { allowed: false, state, reopensAt };
      return { allowed: true, state: { ...state, state: 'half_open', probeInFlight: true }, reopensAt: null };
    }
    case 'half_open':
      if (state.probeInFlight) return { allowed: false, state, reopensAt: null };
      return { allowed: true, state: { ...state, probeInFlight: true }, reopensAt: null };
  }
}

/** The circuit every instance of a cluster shares (kept in the store), and until when it stays open. */
export interface SharedCircuit {
  circuit: CircuitState;
  /** open: the end of the cool-down; otherwise null. */
  until: number | null;
}

/**
 * The breaker as one instance of a cluster sees it, for canSend: the circuit all instances share
 * with this instance's own counts and probe (`local`).
 *
 * - closed: closed, whatever this instance saw last (another instance closed it).
 * - open until T: open since T - coolDownMs, so canSend refuses until T (reopensAt = T) and from T
 *   lets one probe through, turning it half_open; the caller then moves the shared circuit to
 *   half_open (compare-and-set: one instance wins and sends the probe). An open circuit without an
 *   end has no cool-down left.
 * - half_open: this instance's own state while it holds the probe (it moved the circuit there);
 *   otherwise the probe belongs to another instance and counts as in flight, so canSend refuses.
 */
export function sharedBreaker(policy: BreakerPolicy, shared: SharedCircuit, local: BreakerState): BreakerState {
  switch (shared.circuit) {
    case 'closed':
      return { ...local, state: 'closed', openedAt: null, probeInFlight: false };
    case 'open':
      return { ...local, state: 'open', openedAt: shared.until === null ? null : shared.until - policy.coolDownMs, probeInFlight: false };
    case 'half_open':
      return local.state === 'half_open' ? local : { ...local, state: 'half_open', probeInFlight: true };
  }
}

/**
 * How an attempt's outcome counts for the breaker: true (target up), false (target failing), or
 * null (never reached the target; do not record). `failure` null means the attempt succeeded.
 */
export function breakerOutcome(failure: Pick<FailureInfo, 'errorClass' | 'status' | 'faultParty'> | null): boolean | null {
  if (failure === null) return true;
  const targetFailingStatus = (status: number | null): boolean | null =>
    status === null ? null : status >= 500 || status === 408 || status === 429 ? false : true;
  switch (failure.errorClass) {
    case 'network':
    case 'timeout':
      return false;
    case 'http':
      return targetFailingStatus(failure.status) ?? false;
    case 'soap_fault':
      if (failure.faultParty === 'Server') return false;
      if (failure.faultParty === 'Client') return true;
      return targetFailingStatus(failure.status) ?? false;
    case 'auth':
      // A rejected credential means the target (or its token endpoint) answered: it is up.
      return targetFailingStatus(failure.status);
    case 'refused':
      // The target answered, with a reason of its own why it cannot make the change: it is up.
      return true;
    case 'transform':
    case 'config':
    // An accepted request whose callback never came: the target answered the request; the
    // missing callback is the async contract's business (the deadline), not the circuit's.
    case 'no_response':
      return null;
  }
}
