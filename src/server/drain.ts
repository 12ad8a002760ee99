import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DrainLimits {
  /** How long the rest of a refused body is read and thrown away before the connection is closed. */
  maxMs: number;
  /** How many bytes of it at most. */
  maxBytes: number;
}

const DEFAULT_DRAIN_LIMITS: DrainLimits = { maxMs: 5_000, maxBytes: 64 * 1024 * 1024 };

/**
 * After a refusal, reads and discards what is left of the request body, so that a client still
 * sending it reads the answer instead of a reset (closing at once makes many clients report EPIPE
 * and never see the 413 or 401). Bounded: past `maxMs` or `maxBytes` the connection is closed, once
 * the answer has gone out. A body read to its end leaves the connection open for the next request.
 */
export function discardRestOfBody(req: IncomingMessage, res: ServerResponse, limits: DrainLimits = DEFAULT_DRAIN_LIMITS): void {
  if (req.complete || req.destroyed) return;
  // Node closes a connection whose client asked for close as soon as the answer is written; the
  // client, still sending, then gets a reset instead of the answer. Keep it open while the rest is
  // read (lingering close), and close it gracefully once the body has ended.
  const clientWantsClose = req.httpVersion === '1.0' || /\bclose\b/i.test(req.headers.connection ?? '');
  if (!res.headersSent) res.shouldKeepAlive = true;
  req.once('end', () => {
    if (!clientWantsClose) return;
    if (res.writableFinished) req.socket.end();
    else res.once('finish', () => req.socket.end());
  });
  let bytes = 0;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    req.off('data', count);
    const close = (): void => {
      req.socket.destroy();
    };
    if (res.writableFinished) close();
    else res.once('finish', close).once('close', close);
  };
  const count = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) stop();
  };
  const timer = setTimeout(stop, limits.maxMs);
  timer.unref();
  req.on('data', count);
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Whether an error reading a request body means the client went away (not a fault of the gateway). */
export function isClientAbort(req: IncomingMessage, err: unknown): boolean {
  if (req.complete) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err instanceof Error && err.message === 'aborted');
}
