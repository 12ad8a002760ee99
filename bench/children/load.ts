/**
 * The load generator: autocannon in its own process. Each request gets a unique body (the template's
 * placeholder replaced by a counter of the same length), so every push is a new order for the
 * gateway's dedupe and no two requests are byte-identical.
 */
import autocannon, { type RequestSpec, type Result } from 'autocannon';
import { serveParent } from '../lib/child.ts';

export interface LoadRun {
  url: string;
  path: string;
  connections: number;
  durationSec: number;
  headers: Record<string, string>;
  /** The body; every occurrence of `placeholder` is replaced by a unique value of the same length. */
  template: string;
  placeholder: string;
  /** Leading characters of the unique value (keeps runs against the same database apart). */
  prefix: string;
  /** false: send the template as it is, the same bytes every time (autocannon's cheapest mode). */
  unique?: boolean;
  /** Requests per second over all connections (open model); none: as fast as answers come. */
  overallRate?: number;
  timeoutSec?: number;
}

export interface LoadResult {
  durationSec: number;
  connections: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** 2xx answers per second. */
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
}

function run(args: LoadRun): Promise<LoadResult> {
  const width = args.placeholder.length - args.prefix.length;
  if (width < 6) throw new Error('placeholder too short for the prefix');
  let n = 0;
  // The body as bytes with the placeholder's offsets: each request copies it and writes its id there.
  const template = Buffer.from(args.template, 'utf8');
  const placeholder = Buffer.from(args.placeholder, 'utf8');
  const offsets: number[] = [];
  for (let at = template.indexOf(placeholder); at !== -1; at = template.indexOf(placeholder, at + 1)) offsets.push(at);
  const fixed = Buffer.from(args.template.split(args.placeholder).join(args.prefix.padEnd(args.placeholder.length, '0')), 'utf8');
  const request: RequestSpec = args.unique === false ? { method: 'POST', path: args.path, headers: args.headers, body: fixed } : {
    method: 'POST',
    path: args.path,
    headers: args.headers,
    setupRequest: (req) => {
      const id = args.prefix + String(n++ % 10 ** width).padStart(width, '0');
      const body = Buffer.allocUnsafe(template.length);
      template.copy(body);
      for (const at of offsets) body.write(id, at, 'latin1');
      req.body = body;
      return req;
    },
  };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: args.url,
        connections: args.connections,
        duration: args.durationSec,
        timeout: args.timeoutSec ?? 30,
        requests: [request],
        ...(args.overallRate ? { overallRate: args.overallRate } : {}),
      },
      (err: Error | null, r: Result) => {
        if (err) {
          reject(err);
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = s.count;
        resolve({
          durationSec: r.duration,
          connections: r.connections,
          ok: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          statusCodes,
          rps: r['2xx'] / r.duration,
          latencyMs: {
            mean: r.latency.mean,
            p50: r.latency.p50,
            p90: r.latency.p90,
            p99: r.latency.p99,
            p999: r.latency.p99_9,
            max: r.latency.max,
          },
        });
      },
    );
  });
}

serveParent({}, { run: (a) => run(a as LoadRun) }, () => undefined);
