import { GatewayError } from '../../domain/errors.ts';

/**
 * Reads a request body as raw bytes, up to `maxBytes`. It stops reading as soon as the limit is
 * passed (PAYLOAD_TOO_LARGE), so a body of any size costs at most the limit in memory. A body that
 * breaks off (client gone) is BAD_REQUEST.
 */
export async function readRawBody(body: AsyncIterable<Buffer | Uint8Array | string>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      length += bytes.length;
      if (length > maxBytes) throw new GatewayError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${maxBytes} bytes`);
      chunks.push(bytes);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('BAD_REQUEST', 'the request body could not be read', { cause: err });
  }
  return Buffer.concat(chunks, length);
}
