/**
 * The flow funnel: how far each fulfilment line has come from OM's AWAIT_SHIPPING to ShipBob's bill,
 * and which lines wait too long between two stages. Pure rules: src/services/funnel.ts gathers each
 * line's facts (src/store/funnel.ts, linked as an order's journey links them) and hands them here.
 *
 * A line enters at its first stage: a sales-order line at `awaiting_shipping` (OM said the line awaits
 * shipping), a purchase-order schedule at `shipbob_order` (a polled PO has no AWAIT_SHIPPING event).
 * Its furthest stage is the last of the unbroken run of stages from its entry: a line billed before
 * its write-back is at `shipped`, waiting for the write-back, because that is the gap a person must see.
 */

/** The stages, in order. */
export const FUNNEL_STAGES = ['awaiting_shipping', 'shipbob_order', 'shipped', 'written_back', 'billed'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** What each stage means, for people (the API's `label`, the CLI's table). */
export const FUNNEL_STAGE_LABELS: Readonly<Record<FunnelStage, string>> = {
  awaiting_shipping: 'OM AWAIT_SHIPPING received',
  shipbob_order: 'ShipBob order created',
  shipped: 'shipped (ShipBob webhook)',
  written_back: 'written back to Fusion',
  billed: 'billed by ShipBob',
};

/** When a line reached each stage (epoch ms), null when it has not. */
export type StageTimes = Readonly<Record<FunnelStage, number | null>>;

export interface LineFacts {
  reached: StageTimes;
  /** Its ShipBob order was cancelled: it waits for nothing more, so it is never stuck. */
  cancelled: boolean;
}

export interface LinePosition {
  /** The stage it entered at (its first reached stage). */
  entered: FunnelStage;
  /** The last stage of the unbroken run from its entry. */
  stage: FunnelStage;
  reachedAt: number;
  /** The next stage, or null when it is billed or cancelled. */
  waitingFor: FunnelStage | null;
  /** How long it has waited for the next stage at `now` (0 when it waits for nothing). */
  waitingMs: number;
  /** Waiting for the next stage longer than the threshold. */
  stuck: boolean;
}

function rank(stage: FunnelStage): number {
  return FUNNEL_STAGES.indexOf(stage);
}

/** The facts as they stood at `until`: a stage reached at or after it is not reached yet. */
export function asOf(reached: StageTimes, until: number): StageTimes {
  const out = { ...reached };
  for (const s of FUNNEL_STAGES) {
    const at = out[s];
    if (at !== null && at >= until) out[s] = null;
  }
  return out;
}

/** Where a line stands at `now`, or null for a line that reached no stage. */
export function linePosition(facts: LineFacts, now: number, stuckAfterMs: number): LinePosition | null {
  const first = FUNNEL_STAGES.findIndex((s) => facts.reached[s] !== null);
  if (first < 0) return null;
  let last = first;
  while (last + 1 < FUNNEL_STAGES.length && facts.reached[FUNNEL_STAGES[last + 1] as FunnelStage] !== null) last += 1;
  const stage = FUNNEL_STAGES[last] as FunnelStage;
  const reachedAt = facts.reached[stage] as number;
  const next = facts.cancelled ? null : (FUNNEL_STAGES[last + 1] ?? null);
  const waitingMs = next === null ? 0 : Math.max(0, now - reachedAt);
  return { entered: FUNNEL_STAGES[first] as FunnelStage, stage, reachedAt, waitingFor: next, waitingMs, stuck: next !== null && waitingMs > stuckAfterMs };
}

export interface FunnelCounts {
  /** Per stage, the lines that reached it in their unbroken run (entered at or before it, furthest at or after it). */
  counts: Record<FunnelStage, number>;
  /** Lines that entered at `shipbob_order` (no OM AWAIT_SHIPPING event: purchase-order schedules). */
  enteredAtShipbobOrder: number;
}

export function funnelCounts(positions: ReadonlyArray<Pick<LinePosition, 'entered' | 'stage'>>): FunnelCounts {
  const counts = Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0])) as Record<FunnelStage, number>;
  let enteredAtShipbobOrder = 0;
  for (const p of positions) {
    if (p.entered === 'shipbob_order') enteredAtShipbobOrder += 1;
    for (let i = rank(p.entered); i <= rank(p.stage); i += 1) counts[FUNNEL_STAGES[i] as FunnelStage] += 1;
  }
  return { counts, enteredAtShipbobOrder };
}

/** Stuck lines in the order a person should see them: the longest wait first, then by stage. */
export function byLongestWait<T extends Pick<LinePosition, 'waitingMs' | 'stage'>>(a: T, b: T): number {
  return b.waitingMs - a.waitingMs || rank(a.stage) - rank(b.stage);
}
