import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createIdGenerator } from '../../../src/domain/ids.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The ULID spec's definition, with big integers: 80 bits, five at a time from the least significant. */
function reference(bytes: Uint8Array): string {
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = (ALPHABET[Number(bits & 31n)] as string) + out;
    bits >>= 5n;
  }
  return out;
}

describe('ids (ULID)', () => {
  it('encodes the random part as the ULID spec does, edge values included', () => {
    const cases = [new Uint8Array(10), new Uint8Array(10).fill(255), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
    for (let i = 0; i < 2000; i++) cases.push(new Uint8Array(randomBytes(10)));
    // Each id of a new millisecond takes fresh random bytes: its last 16 characters encode them.
    let t = 1_700_000_000_000;
    let bytes: Uint8Array = new Uint8Array(10);
    const next = createIdGenerator(() => t, () => bytes);
    const randomPart = (b: Uint8Array): string => {
      bytes = b;
      t += 1;
      return next().slice(10);
    };
    for (const b of cases) expect(randomPart(b)).to.equal(reference(b));
    expect(randomPart(new Uint8Array(10).fill(255))).to.equal('ZZZZZZZZZZZZZZZZ');
  });

  it('makes 26-character ids that sort by creation, also within one millisecond', () => {
    let t = 1_700_000_000_000;
    const next = createIdGenerator(() => t);
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      if (i % 100 === 0) t += 1;
      ids.push(next());
    }
    for (const id of ids) expect(id).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
