import { expect } from 'chai';
import { applyHeapSettings } from '../../../src/cli/heap.ts';

// Applying the flag to the test process only changes when V8 runs a full collection, as in `omgw start`.
describe('omgw start heap setting', () => {
  it('sets the heap growing factor when the operator has not', () => {
    expect(applyHeapSettings([])).to.equal('--heap-growing-percent=100');
    expect(applyHeapSettings(['--enable-source-maps', '--max-old-space-size=512'])).to.equal('--heap-growing-percent=100');
    expect(applyHeapSettings(['--heap-growing-percentage-of-nothing'])).to.equal('--heap-growing-percent=100');
  });

  it("leaves a value given on the node command line as it is (0 keeps V8's own factor)", () => {
    expect(applyHeapSettings(['--heap-growing-percent=300'])).to.equal(null);
    expect(applyHeapSettings(['--heap-growing-percent=0'])).to.equal(null);
    expect(applyHeapSettings(['--heap_growing_percent=30'])).to.equal(null);
    expect(applyHeapSettings(['--heap-growing-percent', '30'])).to.equal(null);
  });
});
