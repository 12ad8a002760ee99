import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * ULID generator: 26 characters, sortable by creation time and monotonic within one process, so
 * ordering by id is ordering by arrival for everything this process creates. `random` gives the 10
 * random bytes of each new millisecond (injected, like the clock, so that tests can choose them).
 */
export function createIdGenerator(now: () => number = Date.now, random: () => Uint8Array = () => randomBytes(10)): () => string {
  let lastTime = -1;
  let lastRandom: Uint8Array = new Uint8Array(10);
  return () => {
    let time = now();
    if (time <= lastTime) {
      time = lastTime;
      lastRandom = increment(lastRandom);
    } else {
      lastTime = time;
      lastRandom = new Uint8Array(random());
    }
    return encodeTime(time) + encodeRandom(lastRandom);
  };
}

function encodeTime(time: number): string {
  let out = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** The random part of a ULID: 80 bits as 16 Crockford base32 characters, most significant first. */
function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters, five bytes (40 bits, 8 characters) at a time.
  return encode40(bytes, 0) + encode40(bytes, 5);
}

function encode40(bytes: Uint8Array, from: number): string {
  // 40 bits fit a double exactly; split in two 20-bit halves to stay within 32-bit operators.
  let value = 0;
  for (let i = from; i < from + 5; i++) value = value * 256 + (bytes[i] as number);
  const high = Math.floor(value / 0x100000);
  const low = value % 0x100000;
  return (
    (ALPHABET[(high >>> 15) & 31] as string) +
    (ALPHABET[(high >>> 10) & 31] as string) +
    (ALPHABET[(high >>> 5) & 31] as string) +
    (ALPHABET[high & 31] as string) +
    (ALPHABET[(low >>> 15) & 31] as string) +
    (ALPHABET[(low >>> 10) & 31] as string) +
    (ALPHABET[(low >>> 5) & 31] as string) +
    (ALPHABET[low & 31] as string)
  );
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if ((next[i] as number) < 255) {
      next[i] = (next[i] as number) + 1;
      return next;
    }
    next[i] = 0;
  }
  return next;
}
