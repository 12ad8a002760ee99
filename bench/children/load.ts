/**
 * The load generator: autocannon in its own process. Each request gets a unique body (the template's
 * placeholder replaced by a counter of the same length), so every push is a new order for the
 * gateway's dedupe and no two requests are byte-identical.
 *
 * With several URLs (instances of one gateway sharing a database), one autocannon run per URL
 * starts at the same moment in this one process, the connections split between them, each with
 * its own prefix (the run's prefix and the URL's index), so no two instances receive the same order
 * and the generator costs what one run of as many connections costs.
 */
import autocannon, { type RequestSpec, type Result } from 'autocannon';
import { serveParent } from '../lib/child.ts';

export interface LoadRun {
  /** One URL, or several: the connections are split between them (see the top of this file). */
  url: string | string[];
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
  /** With several URLs: each one's own result (the fields above then sum them; see `combine`). */
  perUrl?: LoadResult[];
}

async function run(args: LoadRun): Promise<LoadResult> {
  const urls = typeof args.url === 'string' ? [args.url] : args.url;
  if (urls.length === 1) return runOne({ ...args, url: urls[0] ?? '' });
  if (args.connections < urls.length) throw new Error('fewer connections than URLs');
  const parts = await Promise.all(
    urls.map((url, i) =>
      runOne({
        ...args,
        url,
        // The first URLs take the remainder; the prefix stays unique per URL within the run.
        connections: Math.floor(args.connections / urls.length) + (i < args.connections % urls.length ? 1 : 0),
        prefix: args.prefix + String.fromCharCode(97 + i),
        ...(args.overallRate ? { overallRate: args.overallRate / urls.length } : {}),
      }),
    ),
  );
  return combine(parts);
}

/**
 * One result for parallel runs: counts and rates summed (the acknowledged pushes/s of all URLs);
 * latency percentiles are the worst of the parts (autocannon reports percentiles, not the samples
 * to merge), the mean weighted by answers.
 */
function combine(parts: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number): number => parts.reduce((n, r) => n + f(r), 0);
  const worst = (f: (r: LoadResult) => number): number => Math.max(...parts.map(f));
  const statusCodes: Record<string, number> = {};
  for (const p of parts) for (const [code, n] of Object.entries(p.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const answered = sum((r) => r.ok);
  return {
    durationSec: worst((r) => r.durationSec),
    connections: sum((r) => r.connections),
    ok: answered,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
    rps: sum((r) => r.rps),
    latencyMs: {
      mean: answered === 0 ? 0 : sum((r) => r.latencyMs.mean * r.ok) / answered,
      p50: worst((r) => r.latencyMs.p50),
      p90: worst((r) => r.latencyMs.p90),
      p99: worst((r) => r.latencyMs.p99),
      p999: worst((r) => r.latencyMs.p999),
      max: worst((r) => r.latencyMs.max),
    },
    perUrl: parts,
  };
}

function runOne(args: LoadRun & { url: string }): Promise<LoadResult> {
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
