import { expect } from 'chai';
import { HEAP_GROWING_PERCENT, heapFlag } from '../../../src/cli/heap.ts';

describe('omgw start heap setting', () => {
  it('sets the heap growing factor when the operator has not', () => {
    expect(heapFlag([])).to.equal(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapFlag(['--enable-source-maps', '--max-old-space-size=512'])).to.equal(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapFlag(['--heap-growing-percentage-of-nothing'])).to.equal(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it("leaves a value given on the node command line as it is (0 keeps V8's own factor)", () => {
    expect(heapFlag(['--heap-growing-percent=300'])).to.equal(null);
    expect(heapFlag(['--heap-growing-percent=0'])).to.equal(null);
    expect(heapFlag(['--heap_growing_percent=30'])).to.equal(null);
    expect(heapFlag(['--heap-growing-percent', '30'])).to.equal(null);
  });
});
