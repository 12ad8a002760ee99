import { expect } from 'chai';
import fc from 'fast-check';
import { asOf, byLongestWait, FUNNEL_STAGES, funnelCounts, linePosition, type FunnelStage, type StageTimes } from '../../../src/domain/funnel.ts';
import { billedShipmentId } from '../../../src/domain/shipbob-webhook.ts';

const HOUR = 3_600_000;
const NONE: StageTimes = { awaiting_shipping: null, shipbob_order: null, shipped: null, written_back: null, billed: null };
const times = (t: Partial<Record<FunnelStage, number>>): StageTimes => ({ ...NONE, ...t });

describe('the flow funnel (domain)', () => {
  it("puts a line at the last stage of its unbroken run, waiting for the next one", () => {
    const p = linePosition({ reached: times({ awaiting_shipping: 0, shipbob_order: 10, shipped: 20 }), cancelled: false }, 20 + 3 * HOUR, 2 * HOUR);
    expect(p).to.deep.equal({ entered: 'awaiting_shipping', stage: 'shipped', reachedAt: 20, waitingFor: 'written_back', waitingMs: 3 * HOUR, stuck: true });
  });

  it('is not stuck before the threshold, nor once billed, nor when its ShipBob order was cancelled', () => {
    expect(linePosition({ reached: times({ awaiting_shipping: 0 }), cancelled: false }, 2 * HOUR, 2 * HOUR)?.stuck).to.equal(false);
    expect(linePosition({ reached: times({ awaiting_shipping: 0 }), cancelled: false }, 2 * HOUR + 1, 2 * HOUR)?.stuck).to.equal(true);
    const billed = linePosition({ reached: times({ awaiting_shipping: 0, shipbob_order: 1, shipped: 2, written_back: 3, billed: 4 }), cancelled: false }, 100 * HOUR, HOUR);
    expect(billed).to.include({ stage: 'billed', waitingFor: null, stuck: false });
    const cancelled = linePosition({ reached: times({ awaiting_shipping: 0, shipbob_order: 1 }), cancelled: true }, 100 * HOUR, HOUR);
    expect(cancelled).to.include({ stage: 'shipbob_order', waitingFor: null, stuck: false });
  });

  it('keeps a line billed before its write-back at shipped (the gap a person must see)', () => {
    const p = linePosition({ reached: times({ awaiting_shipping: 0, shipbob_order: 1, shipped: 2, billed: 4 }), cancelled: false }, 5, HOUR);
    expect(p).to.include({ stage: 'shipped', waitingFor: 'written_back' });
  });

  it("enters a purchase order's line at shipbob_order, and says so in the counts", () => {
    const po = linePosition({ reached: times({ shipbob_order: 5, shipped: 6 }), cancelled: false }, 7, HOUR);
    const om = linePosition({ reached: times({ awaiting_shipping: 0 }), cancelled: false }, 7, HOUR);
    expect(po).to.include({ entered: 'shipbob_order', stage: 'shipped' });
    if (po === null || om === null) throw new Error('no position');
    expect(funnelCounts([po, om])).to.deep.equal({
      counts: { awaiting_shipping: 1, shipbob_order: 1, shipped: 1, written_back: 0, billed: 0 },
      enteredAtShipbobOrder: 1,
    });
    expect(linePosition({ reached: NONE, cancelled: false }, 7, HOUR)).to.equal(null);
  });

  it('sees the facts as they stood at `until`', () => {
    expect(asOf(times({ awaiting_shipping: 1, shipbob_order: 10, shipped: 20 }), 10)).to.deep.equal(times({ awaiting_shipping: 1 }));
  });

  it('orders stuck lines by the longest wait, then by stage', () => {
    const rows = [
      { waitingMs: 5, stage: 'shipped' as const },
      { waitingMs: 9, stage: 'billed' as const },
      { waitingMs: 5, stage: 'awaiting_shipping' as const },
    ];
    expect([...rows].sort(byLongestWait).map((r) => `${r.waitingMs} ${r.stage}`)).to.deep.equal(['9 billed', '5 awaiting_shipping', '5 shipped']);
  });

  const facts = fc.record({
    reached: fc.record(Object.fromEntries(FUNNEL_STAGES.map((s) => [s, fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null })])) as Record<FunnelStage, fc.Arbitrary<number | null>>),
    cancelled: fc.boolean(),
  });

  it('property: counts never grow from one stage to the next for lines that entered at the first stage', () => {
    fc.assert(
      fc.property(fc.array(facts, { maxLength: 40 }), fc.integer({ min: 0, max: 2_000_000 }), (lines, now) => {
        const positions = lines.map((l) => linePosition(l, now, HOUR)).filter((p) => p !== null);
        const fromFirst = funnelCounts(positions.filter((p) => p.entered === 'awaiting_shipping')).counts;
        for (let i = 1; i < FUNNEL_STAGES.length; i += 1) {
          expect(fromFirst[FUNNEL_STAGES[i] as FunnelStage]).to.be.at.most(fromFirst[FUNNEL_STAGES[i - 1] as FunnelStage]);
        }
        // Every line counts at its entry and its furthest stage; the first stage counts exactly those that entered there.
        const all = funnelCounts(positions);
        expect(all.counts.awaiting_shipping).to.equal(positions.filter((p) => p.entered === 'awaiting_shipping').length);
        expect(all.enteredAtShipbobOrder).to.equal(positions.filter((p) => p.entered === 'shipbob_order').length);
        expect(all.counts.shipbob_order).to.be.at.most(all.counts.awaiting_shipping + all.enteredAtShipbobOrder);
      }),
    );
  });

  it('property: a line is stuck exactly when it waits for a next stage longer than the threshold, and has reached every stage up to where it is', () => {
    fc.assert(
      fc.property(facts, fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 1, max: 500_000 }), (l, now, threshold) => {
        const p = linePosition(l, now, threshold);
        if (p === null) {
          expect(FUNNEL_STAGES.every((s) => l.reached[s] === null)).to.equal(true);
          return;
        }
        const from = FUNNEL_STAGES.indexOf(p.entered);
        const to = FUNNEL_STAGES.indexOf(p.stage);
        for (let i = from; i <= to; i += 1) expect(l.reached[FUNNEL_STAGES[i] as FunnelStage]).to.not.equal(null);
        for (let i = 0; i < from; i += 1) expect(l.reached[FUNNEL_STAGES[i] as FunnelStage]).to.equal(null);
        expect(p.stuck).to.equal(p.waitingFor !== null && now - p.reachedAt > threshold);
        expect(p.waitingFor === null).to.equal(l.cancelled || p.stage === 'billed');
      }),
    );
  });

  it('links a charge to the shipment it names, and nothing else', () => {
    expect(billedShipmentId({ reference: '98765', referenceType: 'Shipment' })).to.equal('98765');
    expect(billedShipmentId({ reference: '98765', referenceType: null })).to.equal('98765');
    expect(billedShipmentId({ reference: '55', referenceType: 'WRO' })).to.equal(null);
    expect(billedShipmentId({ reference: null, referenceType: 'Shipment' })).to.equal(null);
  });
});
