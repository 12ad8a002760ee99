/**
 * A body the test already holds, as the async iterable of chunks that parsePush reads from a request
 * stream; a small `chunkSize` makes the parser meet every boundary (inside a name, a character, a tag).
 */
export function chunksOf(body: Buffer | string, chunkSize = 64 * 1024): AsyncIterable<Buffer> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunkSize must be a positive integer, got ${String(chunkSize)}`);
  }
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, i + chunkSize);
    },
  };
}
