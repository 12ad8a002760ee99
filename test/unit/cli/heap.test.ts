import { expect } from 'chai';
import { HEAP_GROWING_PERCENT, heapFlag } from '../../../src/cli/heap.ts';

describe('omgw start heap setting', () => {
  it('sets the heap growing factor when the operator has not', () => {
    expect(heapFlag([], undefined)).to.equal(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapFlag(['--enable-source-maps'], '--max-old-space-size=512')).to.equal(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it('leaves a value given on the node command line or in NODE_OPTIONS as it is', () => {
    expect(heapFlag(['--heap-growing-percent=300'], undefined)).to.equal(null);
    expect(heapFlag([], '--max-old-space-size=512 --heap-growing-percent=30')).to.equal(null);
    expect(heapFlag([], '--heap_growing_percent=30')).to.equal(null);
    expect(heapFlag(['--heap-growing-percent', '30'], undefined)).to.equal(null);
  });
});
