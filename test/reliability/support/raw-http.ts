import { request, type Agent } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Bytes of the body written before the answer came (or the connection ended). */
  sent: number;
  ms: number;
  /** Set when the connection failed or was closed without an answer. */
  error?: string;
}

/**
 * POSTs a body given as chunks, stopping as soon as the server answers (a server that refuses early
 * must not need the whole body). `headers` go as given (no Content-Length unless given: chunked).
 */
export function postChunks(url: string, headers: Record<string, string>, chunks: () => Iterable<Buffer | string>, pauseMs = 0, agent?: Agent): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    let done = false;
    const finish = (a: Omit<RawAnswer, 'sent' | 'ms'>): void => {
      if (done) return;
      done = true;
      resolve({ ...a, sent, ms: Date.now() - started });
    };
    const req = request(url, { method: 'POST', headers, agent: agent ?? false }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered) finish({ status: 0, headers: {}, body: '', error: err.code ?? err.message });
    });
    const it = chunks()[Symbol.iterator]();
    const pump = (): void => {
      while (!answered && !done) {
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        const buf = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        sent += buf.length;
        const ok = req.write(buf);
        if (pauseMs > 0) {
          setTimeout(pump, pauseMs);
          return;
        }
        if (!ok) {
          req.once('drain', pump);
          return;
        }
      }
      if (answered) req.destroy();
    };
    pump();
  });
}

/**
 * Writes raw bytes on a TCP connection, `pieces` with `pauseMs` between them, and collects whatever
 * comes back until the server closes (or `maxMs`). For slow-loris and malformed header sections.
 */
export function rawExchange(port: number, pieces: Array<string | Buffer>, pauseMs: number, maxMs: number): Promise<{ response: string; closedAfterMs: number; closedByServer: boolean; written: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let written = 0;
    let finished = false;
    const finish = (byServer: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      socket.destroy();
      resolve({ response, closedAfterMs: Date.now() - started, closedByServer: byServer, written });
    };
    const guard = setTimeout(() => finish(false), maxMs);
    socket.on('data', (c: Buffer) => (response += c.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    let i = 0;
    const next = (): void => {
      if (finished || i >= pieces.length) return;
      const piece = pieces[i++] as string | Buffer;
      socket.write(piece, () => {
        written += piece.length;
        if (pauseMs > 0) setTimeout(next, pauseMs);
        else next();
      });
    };
    socket.on('connect', next);
  });
}
