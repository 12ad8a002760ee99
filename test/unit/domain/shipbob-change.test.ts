import { expect } from 'chai';
import fc from 'fast-check';
import {
  applyShipBobAction,
  gatewayOrderState,
  planShipBobChange,
  quantityChanges,
  shipBobAddressHash,
  shipBobOrderContent,
  type ShipBobOrderContent,
  type ShipBobOrderState,
  type ShipBobWant,
} from '../../../src/domain/shipbob-change.ts';

// Few items and few addresses, so that equal and different inputs both come up often.
const quantities = fc.dictionary(fc.constantFrom('TShirtBlueM', 'LIGHT-ROAST', 'DARK-ROAST'), fc.integer({ min: 1, max: 4 }), { minKeys: 1 });
const content: fc.Arbitrary<ShipBobOrderContent> = fc.record({ quantities, addressHash: fc.constantFrom('a', 'b') });
const state: fc.Arbitrary<ShipBobOrderState> = fc.record({ quantities, addressHash: fc.constantFrom('a', 'b'), cancelled: fc.boolean() });
const want: fc.Arbitrary<ShipBobWant> = fc.oneof(content.map((c) => ({ kind: 'order' as const, content: c })), fc.constant({ kind: 'cancelled' as const }));
const sent = fc.option(state, { nil: null });

const stateOf = (c: ShipBobOrderContent): ShipBobOrderState => ({ quantities: c.quantities, addressHash: c.addressHash, cancelled: false });
const sameKeys = (a: object, b: object) => Object.keys(a).sort().join() === Object.keys(b).sort().join();

describe('a change from Oracle for one ShipBob order', () => {
  it('sends nothing when ShipBob already holds what the event wants (a re-sent or re-polled event)', () => {
    fc.assert(
      fc.property(content, fc.boolean(), (c, mayCreate) => {
        expect(planShipBobChange(stateOf(c), { kind: 'order', content: c }, mayCreate)).to.deep.equal({ kind: 'nothing', why: 'unchanged' });
        expect(planShipBobChange({ ...stateOf(c), cancelled: true }, { kind: 'cancelled' }, mayCreate)).to.deep.equal({ kind: 'nothing', why: 'already_cancelled' });
      }),
    );
  });

  it('brings the order to what the event wants once ShipBob confirmed the actions, and then wants nothing more', () => {
    fc.assert(
      fc.property(sent, want, (before, wanted) => {
        const plan = planShipBobChange(before, wanted, true);
        if (plan.kind !== 'send') return;
        const after = plan.actions.reduce<ShipBobOrderState | null>((s, action) => applyShipBobAction(s, action), before);
        if (wanted.kind === 'cancelled') expect(after?.cancelled).to.equal(true);
        else expect(after).to.deep.equal(stateOf(wanted.content));
        expect(planShipBobChange(after, wanted, true).kind).to.equal('nothing');
      }),
    );
  });

  it('sends each kind of change at most once, a create or a cancel alone, and never a create for a change-only event', () => {
    fc.assert(
      fc.property(sent, want, fc.boolean(), (before, wanted, mayCreate) => {
        const plan = planShipBobChange(before, wanted, mayCreate);
        if (plan.kind !== 'send') return;
        const kinds = plan.actions.map((a) => a.kind);
        expect(new Set(kinds).size).to.equal(kinds.length);
        if (kinds.includes('create') || kinds.includes('cancel')) expect(kinds).to.have.length(1);
        if (!mayCreate) expect(kinds).to.not.include('create');
      }),
    );
  });

  it('refuses what ShipBob cannot do whatever the shipment: reopening a cancelled order, swapping items', () => {
    fc.assert(
      fc.property(state, content, (before, c) => {
        const plan = planShipBobChange(before, { kind: 'order', content: c }, true);
        if (before.cancelled) expect(plan).to.deep.equal({ kind: 'refused', refusal: 'reopen' });
        else if (!sameKeys(before.quantities, c.quantities)) expect(plan).to.deep.equal({ kind: 'refused', refusal: 'items_changed' });
        else expect(plan.kind).to.not.equal('refused');
      }),
    );
  });

  it('says why nothing is sent for a line ShipBob never got', () => {
    const c = { quantities: { TShirtBlueM: 1 }, addressHash: 'a' };
    expect(planShipBobChange(null, { kind: 'cancelled' }, true)).to.deep.equal({ kind: 'nothing', why: 'nothing_to_cancel' });
    expect(planShipBobChange(null, { kind: 'order', content: c }, false)).to.deep.equal({ kind: 'nothing', why: 'not_created' });
    expect(planShipBobChange(null, { kind: 'order', content: c }, true)).to.deep.equal({ kind: 'send', actions: [{ kind: 'create', content: c }] });
  });

  it('sends a quantity change and an address change together, the quantities whole', () => {
    const before = { quantities: { TShirtBlueM: 2 }, addressHash: 'a', cancelled: false };
    expect(planShipBobChange(before, { kind: 'order', content: { quantities: { TShirtBlueM: 1 }, addressHash: 'b' } }, false)).to.deep.equal({
      kind: 'send',
      actions: [
        { kind: 'updateLineItems', quantities: { TShirtBlueM: 1 } },
        { kind: 'updateAddress', addressHash: 'b' },
      ],
    });
    expect(quantityChanges({ TShirtBlueM: 2, 'LIGHT-ROAST': 1 }, { TShirtBlueM: 1, 'LIGHT-ROAST': 1 })).to.deep.equal(['TShirtBlueM 2 → 1']);
  });
});

describe('the ship-to digest and the content of an order', () => {
  const recipient = { name: 'Jamie Rivera', email: 'jamie@example.com', address: { address1: '1200 Harbor Way', city: 'Oakland', state: 'CA', zip_code: '94607', country: 'US' } };

  it('digests an order read back from ShipBob (nulls, blanks, spaces) like the request that made it', () => {
    const readBack = { ...recipient, phone_number: null, address: { ...recipient.address, address2: null, company_name: '', city: ' Oakland ' } };
    expect(shipBobAddressHash(readBack)).to.equal(shipBobAddressHash(recipient));
  });

  it('tells any change of a field the address change can set', () => {
    const base = shipBobAddressHash(recipient);
    for (const changed of [
      { ...recipient, name: 'J. Rivera' },
      { ...recipient, email: 'other@example.com' },
      { ...recipient, phone_number: '+1 510 555 0100' },
      { ...recipient, address: { ...recipient.address, address2: 'Suite 4' } },
      { ...recipient, address: { ...recipient.address, zip_code: '94612' } },
      { ...recipient, address: { ...recipient.address, country: 'CA' } },
    ]) {
      expect(shipBobAddressHash(changed), JSON.stringify(changed)).to.not.equal(base);
    }
  });

  it('adds up the lines of one product', () => {
    const order = { recipient, products: [{ reference_id: 'MUG', quantity: 1 }, { reference_id: 'MUG', quantity: 2 }, { reference_id: 'CAP', quantity: 1 }] };
    expect(shipBobOrderContent(order).quantities).to.deep.equal({ MUG: 3, CAP: 1 });
  });
});

describe("the gateway's state of a ShipBob order a webhook names", () => {
  it('is cancel_requested once the gateway asked ShipBob to cancel it, before and after ShipBob confirmed', () => {
    expect(gatewayOrderState({ cancelled: false, cancelRequestedAt: 1 })).to.equal('cancel_requested');
    expect(gatewayOrderState({ cancelled: true, cancelRequestedAt: 1 })).to.equal('cancel_requested');
  });

  it('is cancelled when ShipBob cancelled it without being asked, open otherwise, unknown without a record', () => {
    expect(gatewayOrderState({ cancelled: true, cancelRequestedAt: null })).to.equal('cancelled');
    expect(gatewayOrderState({ cancelled: false, cancelRequestedAt: null })).to.equal('open');
    expect(gatewayOrderState(null)).to.equal('unknown');
  });
});
