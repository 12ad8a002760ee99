/**
 * `npm run bench` (full, about 7 minutes on 2 cores) or `npm run bench -- --quick` (CI smoke, about
 * 70 s). Every server runs in its own child process, the load generator (autocannon) in another;
 * everything listens on 127.0.0.1. Prints a table and writes bench/results/<mode>-<time>.json (and
 * latest-<mode>.json). See bench/README.md for what each scenario measures.
 *
 * Options: --quick, --only=ingest,e2e,isolation,backlog,replay (any subset), --profile (write
 * --cpu-prof profiles of the gateway children to bench/results/profiles/), --no-postgres, --keep (keep
 * the work folder: databases and the children's logs), --no-build (use dist/ as it is).
 * OMGW_BENCH_DATABASE_URL overrides the PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import knexFactory from 'knex';
import { redactUrl } from '../src/store/database.ts';
import { BENCH_DIR, sampleRss, startChild, type BenchChild } from './lib/child.ts';
import { clockTicks, processTicks, serverCpu } from './lib/pg-cpu.ts';
import { bigPushTemplate, PLACEHOLDER, PUSH_HEADERS, SOAP_PASSWORD, SOAP_PATH, SOAP_USER, smallPushTemplate } from './lib/push.ts';
import type { LoadResult, LoadRun } from './children/load.ts';
import type { DeliveryStats, GatewayParams } from './lib/types.ts';
import type { ClaimResult, FillResult, ReplayResult } from './children/store.ts';

// ---------------------------------------------------------------------------------------------------------
// Options and sizes

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const NO_PG = argv.includes('--no-postgres');
const KEEP = argv.includes('--keep');
const NO_BUILD = argv.includes('--no-build');
const ALL = ['ingest', 'e2e', 'isolation', 'backlog', 'replay'] as const;
type ScenarioName = (typeof ALL)[number];
const onlyArg = argv.find((a) => a.startsWith('--only='));
const ONLY = new Set<ScenarioName>(onlyArg ? (onlyArg.slice('--only='.length).split(',') as ScenarioName[]) : ALL);
for (const s of ONLY) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s} (scenarios: ${ALL.join(', ')})`);
const PG_URL = process.env.OMGW_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const SIZES = QUICK
  ? { connections: 32, warmupSec: 1, ingestSec: 3, e2eSec: 5, isolationSec: 4, backlog: [1_000, 10_000], replay: 2_000, memorySec: 3, claimIterations: 10, claimMaxSec: 3 }
  : { connections: 32, warmupSec: 5, ingestSec: 20, e2eSec: 60, isolationSec: 20, backlog: [1_000, 1_000_000], replay: 100_000, memorySec: 15, claimIterations: 40, claimMaxSec: 15 };

/** The delivery settings of the end-to-end runs (config, not code: see README). */
const DELIVERY = { concurrency: 64, maxInFlight: 128 };

const TARGETS = {
  ingestVsBaseline2: 1.0,
  ingestVsBaseline1: 0.25,
  ingestP99Ms: 20,
  pgVsSqlite: 0.9,
  e2eDeliveriesPerSec: 2_000,
  isolationP99Ms: 50,
  claimRatio: 2,
  replaySec: 30,
  rssMb: 250,
};

const workDir = mkdtempSync(join(os.tmpdir(), 'omgw-bench-'));
const resultsDir = join(BENCH_DIR, 'results');
const profileDir = join(resultsDir, 'profiles');
mkdirSync(resultsDir, { recursive: true });
if (PROFILE) mkdirSync(profileDir, { recursive: true });

const log = (msg: string): void => {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const stampOf = (d: Date): string => d.toISOString().replace(/[:.]/g, '-');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number | null): number | null => (bytes === null ? null : Math.round(bytes / 1024 / 104.8576) / 10);

// ---------------------------------------------------------------------------------------------------------
// Children

let childSeq = 0;
const running = new Set<BenchChild>();

async function child(name: string, params: unknown = {}, opts: { profile?: boolean; label?: string } = {}): Promise<BenchChild> {
  const label = opts.label ?? name.replace(/\.mjs$/, '');
  const output = join(workDir, `${String(++childSeq).padStart(2, '0')}-${label}.log`);
  // One folder per child: the main thread and the module loader's thread each write a profile there.
  const nodeArgs = opts.profile && PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${stampOf(new Date())}-${label}`)}`] : [];
  const c = await startChild(name, params, { output, nodeArgs, readyTimeoutMs: 120_000 });
  running.add(c);
  void c.exited.then(() => running.delete(c));
  return c;
}

async function stopAll(...children: Array<BenchChild | null | undefined>): Promise<void> {
  await Promise.all(children.map((c) => c?.stop()));
}

interface GatewayTarget {
  kind: 'sqlite' | 'postgres';
  databaseUrl: string;
  schema?: string;
  /** Another instance drops the schema (instances sharing one). */
  keepSchema?: boolean;
}

function sqliteTarget(name: string): GatewayTarget {
  return { kind: 'sqlite', databaseUrl: `sqlite:${join(workDir, `${name}.db`)}` };
}

function pgTarget(): GatewayTarget {
  return { kind: 'postgres', databaseUrl: PG_URL, schema: `omgw_bench_${randomBytes(4).toString('hex')}` };
}

/**
 * The same database with the gateway's connections named (`application_name`), so its backends can
 * be told from the rest of the server's in pg_stat_activity.
 */
function taggedPgTarget(tag: string): GatewayTarget {
  const url = new URL(PG_URL);
  url.searchParams.set('application_name', tag);
  return { ...pgTarget(), databaseUrl: url.toString() };
}

function startGateway(target: GatewayTarget, extra: Partial<GatewayParams> = {}): Promise<BenchChild> {
  const params: GatewayParams = {
    databaseUrl: target.databaseUrl,
    ...(target.schema ? { schema: target.schema, dropSchema: target.keepSchema !== true } : {}),
    soapUser: SOAP_USER,
    soapPassword: SOAP_PASSWORD,
    ...extra,
  };
  return child('gateway.mjs', params, { profile: true, label: `gateway-${target.kind}` });
}

const SQLITE_ROW = 'gateway (SQLite)';
const PG_ROWS = ['gateway (PostgreSQL, 1 instance)', 'gateway (PostgreSQL, 2 instances)'] as const;

let loadSeq = 0;
/** A unique prefix per load run, so no two runs against one database send the same order. */
function nextPrefix(): string {
  const n = loadSeq++;
  return String.fromCharCode(65 + (n % 26)) + String.fromCharCode(65 + Math.floor(n / 26));
}

async function load(
  url: string | string[],
  opts: { durationSec: number; connections?: number; overallRate?: number; template?: string; unique?: boolean; beforeRun?: () => Promise<void> },
): Promise<LoadResult> {
  const generator = await child('load');
  try {
    // After the generator's start-up, so a measurement opened here covers the run and little else.
    await opts.beforeRun?.();
    const run: LoadRun = {
      url,
      path: SOAP_PATH,
      connections: opts.connections ?? SIZES.connections,
      durationSec: opts.durationSec,
      headers: PUSH_HEADERS,
      template: opts.template ?? smallPushTemplate(),
      placeholder: PLACEHOLDER,
      prefix: nextPrefix(),
      unique: opts.unique ?? true,
      ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    };
    return await generator.call<LoadResult>('run', run, (opts.durationSec + 120) * 1000);
  } finally {
    await generator.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface IngestRow {
  server: string;
  /** Summed over the instances' acknowledged pushes where there are several. */
  rps: number;
  /** With several instances: the worst instance's percentile. */
  p50: number;
  p99: number;
  /** With several instances: the largest instance's peak. */
  rssPeakMb: number | null;
  ok: number;
  failed: number;
  stored?: number;
  instances?: number;
  /** Each instance's acknowledged pushes/s. */
  perInstanceRps?: number[];
  pgCpu?: PgCpu;
}

/** PostgreSQL server CPU over the measured window (see bench/README.md). */
interface PgCpu {
  /** CPU-ms of every postgres process per 1,000 acknowledged pushes; null with `note`. */
  serverMsPer1k: number | null;
  /** Of which the backends of the gateway's own connections. */
  gatewayBackendsMsPer1k: number | null;
  serverCpuMs: number | null;
  gatewayBackendsCpuMs: number | null;
  pushes: number;
  windowSec: number;
  serverProcesses: number;
  gatewayBackends: number;
  note?: string;
}

const TICK_MS = 1000 / clockTicks();

/**
 * Reads the server's CPU now; `finish` reads it again and turns both into CPU-ms per 1,000 pushes.
 * The gateway's backends are those whose application_name is `tag`; one that exits within the
 * window is lost from their figure (not from the server's, which the postmaster's children times keep).
 */
async function pgCpuWindow(tag: string): Promise<{ finish: (pushes: number) => Promise<PgCpu>; close: () => Promise<void> }> {
  const knex = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 1, max: 1 } });
  const backends = async (): Promise<number[]> => {
    const res = (await knex.raw('select pid from pg_stat_activity where application_name = ?', [tag])) as { rows: Array<{ pid: number }> };
    return res.rows.map((r) => Number(r.pid));
  };
  try {
    await backends(); // opens the connection before the first reading
  } catch (err) {
    await knex.destroy();
    throw err;
  }
  const t0 = performance.now();
  const server0 = serverCpu();
  const gateway0 = processTicks(await backends());
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= knex.destroy());
  return {
    close,
    finish: async (pushes) => {
      try {
        const gatewayPids = await backends();
        const gateway1 = processTicks(gatewayPids);
        const server1 = serverCpu();
        const windowSec = (performance.now() - t0) / 1000;
        const per1k = (ms: number | null): number | null => (ms === null || pushes === 0 ? null : (ms / pushes) * 1000);
        if (!server0 || !server1) {
          return { serverMsPer1k: null, gatewayBackendsMsPer1k: null, serverCpuMs: null, gatewayBackendsCpuMs: null, pushes, windowSec, serverProcesses: 0, gatewayBackends: gatewayPids.length, note: 'no postgres process visible on this machine (a remote database): server CPU not measured' };
        }
        let gatewayTicks = 0;
        for (const [pid, t] of gateway1) gatewayTicks += t - (gateway0.get(pid) ?? 0);
        const serverCpuMs = (server1.ticks - server0.ticks) * TICK_MS;
        const gatewayBackendsCpuMs = gateway1.size === 0 ? null : gatewayTicks * TICK_MS;
        return {
          serverMsPer1k: per1k(serverCpuMs),
          gatewayBackendsMsPer1k: per1k(gatewayBackendsCpuMs),
          serverCpuMs,
          gatewayBackendsCpuMs,
          pushes,
          windowSec,
          serverProcesses: server1.processes,
          gatewayBackends: gateway1.size,
        };
      } finally {
        await close();
      }
    },
  };
}

/** Starts `count` gateway instances on one target, one after the other (each migrates, then the next finds nothing to do). */
async function startInstances(target: GatewayTarget, count: number): Promise<BenchChild[]> {
  const out: BenchChild[] = [];
  try {
    // Only the first instance drops the schema when it stops, and it is stopped last (stopInstances).
    for (let i = 0; i < count; i++) out.push(await startGateway({ ...target, ...(i === 0 ? {} : { keepSchema: true }) }));
  } catch (err) {
    await stopInstances(out);
    throw err;
  }
  return out;
}

/** Stops instances in reverse order, so the one that drops a shared schema goes last. */
async function stopInstances(instances: BenchChild[]): Promise<void> {
  for (const c of [...instances].reverse()) await c.stop();
}

/** requests/s, latency and RSS of each server with the same push; the gateway stores every push before its 202. */
async function ingest(): Promise<{ rows: IngestRow[]; skipped: string[] }> {
  const rows: IngestRow[] = [];
  const skipped: string[] = [];
  // Baselines get the same bytes every time (they store nothing, and autocannon is cheapest so); the
  // gateway gets a unique order per request (the dedupe would otherwise turn all but the first into
  // duplicates). The 'unique bodies' row measures what the load generator can send that way.
  // The PostgreSQL rows name their connections (pgTag) to tell their backends apart, and run one
  // or two instances on one schema with the load generator's connections split between them.
  const servers: Array<{ name: string; start: () => Promise<BenchChild[]>; stored?: boolean; unique: boolean; pgTag?: string }> = [
    { name: 'baseline 1: node:http 202', start: async () => [await child('bare.mjs')], unique: false },
    { name: 'load generator ceiling (bare 202, unique bodies)', start: async () => [await child('bare.mjs')], unique: true },
    { name: 'baseline 2: node-soap soap.listen', start: async () => [await child('soap.mjs')], unique: false },
    { name: SQLITE_ROW, start: async () => [await startGateway(sqliteTarget('ingest'))], stored: true, unique: true },
  ];
  if (await postgresReachable()) {
    for (const [name, count] of [[PG_ROWS[0], 1], [PG_ROWS[1], 2]] as const) {
      const pgTag = `omgw_bench_${randomBytes(4).toString('hex')}`;
      servers.push({ name, start: () => startInstances(taggedPgTarget(pgTag), count), stored: true, unique: true, pgTag });
    }
  } else skipped.push(`gateway (PostgreSQL): ${NO_PG ? 'left out (--no-postgres)' : `database not reachable at ${redactUrl(PG_URL)}`}`);

  for (const s of servers) {
    log(`ingest: ${s.name}`);
    const instances = await s.start();
    const urls = instances.map((c) => c.ready.url as string);
    const url = urls.length === 1 ? (urls[0] ?? '') : urls;
    const rss = instances.map((c) => sampleRss(c.pid));
    const cpu: { window?: Awaited<ReturnType<typeof pgCpuWindow>> } = {};
    try {
      await load(url, { durationSec: SIZES.warmupSec, unique: s.unique });
      const { pgTag } = s;
      const beforeRun = pgTag
        ? async (): Promise<void> => {
            cpu.window = await pgCpuWindow(pgTag);
          }
        : undefined;
      const r = await load(url, { durationSec: SIZES.ingestSec, unique: s.unique, ...(beforeRun ? { beforeRun } : {}) });
      const pgCpu = cpu.window ? await cpu.window.finish(r.ok) : undefined;
      const peaks = rss.map((x) => x.stop().peak).filter((p): p is number => p !== null);
      const row: IngestRow = {
        server: s.name,
        rps: r.rps,
        p50: r.latencyMs.p50,
        p99: r.latencyMs.p99,
        rssPeakMb: peaks.length === 0 ? null : mb(Math.max(...peaks)),
        ok: r.ok,
        failed: r.non2xx + r.errors + r.timeouts,
      };
      if (instances.length > 1) {
        row.instances = instances.length;
        row.perInstanceRps = (r.perUrl ?? []).map((p) => p.rps);
      }
      if (pgCpu) row.pgCpu = pgCpu;
      // Instances share the database: one of them counts what all stored.
      if (s.stored) row.stored = (await instances[0]?.call<DeliveryStats>('stats'))?.pushes;
      rows.push(row);
      log(
        `  ${Math.round(r.rps)} req/s${row.perInstanceRps ? ` (${row.perInstanceRps.map((x) => Math.round(x)).join(' + ')})` : ''}, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, RSS peak ${String(row.rssPeakMb)} MB, failed ${row.failed}` +
          `${row.stored !== undefined ? `, pushes stored ${row.stored}` : ''}${pgCpu ? `, ${pgCpuText(pgCpu)}` : ''}`,
      );
    } finally {
      for (const x of rss) x.stop();
      await cpu.window?.close();
      await stopInstances(instances);
    }
  }
  return { rows, skipped };
}

function pgCpuText(c: PgCpu): string {
  if (c.serverMsPer1k === null) return c.note ?? 'PostgreSQL CPU not measured';
  return `PostgreSQL CPU ${fmt(c.serverMsPer1k)} ms per 1,000 pushes (${fmt(c.serverProcesses)} processes; the gateway's ${fmt(c.gatewayBackends)} backends ${fmt(c.gatewayBackendsMsPer1k)})`;
}

interface E2eResult {
  durationSec: number;
  ingestRps: number;
  ingestP99: number;
  accepted: number;
  deliveredInWindow: number;
  deliveriesPerSec: number;
  lagMs: DeliveryStats['lagMs'];
  backlogAtEnd: number;
  drainSec: number | null;
  sinkReceived: number;
  rssPeakMb: number | null;
  steady: { rate: number; deliveriesPerSec: number; lagMs: DeliveryStats['lagMs']; rssPeakMb: number | null } | null;
}

/**
 * Pushes at full load for e2eSec while the worker delivers to a sink that answers at once; counts
 * deliveries completed within the window. Then a shorter run at a fixed rate below that throughput
 * measures the ack-to-delivery lag without a growing backlog.
 */
async function e2e(): Promise<E2eResult> {
  const sink = await child('sink.mjs');
  const target = sqliteTarget('e2e');
  const gw = await startGateway(target, { sinkUrl: sink.ready.url as string, ...DELIVERY });
  const url = gw.ready.url as string;
  try {
    log(`e2e: full load for ${SIZES.e2eSec} s, delivering to the sink`);
    const rss = sampleRss(gw.pid);
    const from = Date.now();
    const r = await load(url, { durationSec: SIZES.e2eSec });
    const to = Date.now();
    const mem = rss.stop();
    const window = await gw.call<DeliveryStats>('stats', { from, to });
    const backlogAtEnd = (window.byState.pending ?? 0) + (window.byState.in_flight ?? 0) + (window.byState.retrying ?? 0);
    // Let the backlog drain (bounded), so the steady-rate run starts from an empty queue.
    let drainSec: number | null = backlogAtEnd === 0 ? 0 : null;
    const drainStart = Date.now();
    while (drainSec === null && Date.now() - drainStart < (QUICK ? 15_000 : 60_000)) {
      await sleep(500);
      const s = await gw.call<DeliveryStats>('stats');
      if ((s.byState.pending ?? 0) + (s.byState.in_flight ?? 0) + (s.byState.retrying ?? 0) === 0) drainSec = (Date.now() - drainStart) / 1000;
    }
    const deliveriesPerSec = window.deliveredInWindow / ((to - from) / 1000);
    log(`  ingest ${Math.round(r.rps)} req/s; delivered ${Math.round(deliveriesPerSec)}/s; lag p50 ${String(window.lagMs?.p50)} ms p99 ${String(window.lagMs?.p99)} ms; backlog at end ${backlogAtEnd}; drained in ${String(drainSec)} s`);

    let steady: E2eResult['steady'] = null;
    if (drainSec !== null) {
      const rate = Math.max(100, Math.floor(Math.min(deliveriesPerSec, r.rps) * 0.5));
      const seconds = QUICK ? 3 : 15;
      log(`e2e: steady ${rate} pushes/s for ${seconds} s (half the measured throughput), lag from receipt to delivery`);
      const rss2 = sampleRss(gw.pid);
      const from2 = Date.now();
      await load(url, { durationSec: seconds, overallRate: rate });
      await sleep(1_000);
      const to2 = Date.now();
      const mem2 = rss2.stop();
      const s2 = await gw.call<DeliveryStats>('stats', { from: from2, to: to2 });
      steady = { rate, deliveriesPerSec: s2.deliveredInWindow / ((to2 - from2) / 1000), lagMs: s2.lagMs, rssPeakMb: mb(mem2.peak) };
      log(`  lag p50 ${String(s2.lagMs?.p50)} ms, p99 ${String(s2.lagMs?.p99)} ms`);
    }
    const sinkStats = await sink.call<{ received: number }>('stats');
    return {
      durationSec: (to - from) / 1000,
      ingestRps: r.rps,
      ingestP99: r.latencyMs.p99,
      accepted: r.ok,
      deliveredInWindow: window.deliveredInWindow,
      deliveriesPerSec,
      lagMs: window.lagMs,
      backlogAtEnd,
      drainSec,
      sinkReceived: sinkStats.received,
      rssPeakMb: mb(mem.peak),
      steady,
    };
  } finally {
    await stopAll(gw, sink);
  }
}

interface IsolationResult {
  /** Small pushes per second (open model), the same in both runs. */
  rate: number;
  /** p50/p99/p99.9 of the small pushes without, then with, the 2 MB pushes. */
  alone: { rps: number; p50: number; p99: number; p999: number };
  withBig: { rps: number; p50: number; p99: number; p999: number };
  bigSent: number;
  bigAccepted: number;
  bigBytes: number;
  bigLatencyMs: { p50: number; max: number };
  rssPeakMb: number | null;
}

/**
 * Small pushes at a fixed rate (half of what the gateway took at full load in the ingest run, so that
 * the latency shows blocking rather than queueing at saturation), 32 connections, first alone, then
 * while a 2 MB push (about 650 OrderHeaders) arrives once a second.
 */
async function isolation(ingestRps: number | null): Promise<IsolationResult> {
  const gw = await startGateway(sqliteTarget('isolation'));
  const url = gw.ready.url as string;
  const rss = sampleRss(gw.pid);
  try {
    const rate = Math.max(100, Math.round((ingestRps ?? 800) * 0.5));
    log(`isolation: ${rate} small pushes/s alone, then with a 2 MB push every second, ${SIZES.isolationSec} s each`);
    const big = bigPushTemplate(2 * 1024 * 1024, 'QQQQQQ');
    const bigBytes = Buffer.byteLength(big);
    await load(url, { durationSec: SIZES.warmupSec });
    const alone = await load(url, { durationSec: SIZES.isolationSec, overallRate: rate });
    let stop = false;
    const bigLatencies: number[] = [];
    let bigSent = 0;
    let bigAccepted = 0;
    const sender = (async () => {
      await sleep(500);
      let i = 0;
      const inFlight: Array<Promise<void>> = [];
      while (!stop) {
        const started = performance.now();
        const body = big.split('QQQQQQ').join(String(i++).padStart(6, '0'));
        bigSent++;
        inFlight.push(
          post(`${url}${SOAP_PATH}`, body).then((status) => {
            bigLatencies.push(performance.now() - started);
            if (status === 202) bigAccepted++;
          }),
        );
        await sleep(Math.max(0, 1000 - (performance.now() - started)));
      }
      await Promise.all(inFlight);
    })();
    const r = await load(url, { durationSec: SIZES.isolationSec, overallRate: rate });
    stop = true;
    await sender;
    const mem = rss.stop();
    bigLatencies.sort((a, b) => a - b);
    const pick = (x: LoadResult) => ({ rps: x.rps, p50: x.latencyMs.p50, p99: x.latencyMs.p99, p999: x.latencyMs.p999 });
    const result: IsolationResult = {
      rate,
      alone: pick(alone),
      withBig: pick(r),
      bigSent,
      bigAccepted,
      bigBytes,
      bigLatencyMs: { p50: Math.round(bigLatencies[Math.floor(bigLatencies.length / 2)] ?? 0), max: Math.round(bigLatencies[bigLatencies.length - 1] ?? 0) },
      rssPeakMb: mb(mem.peak),
    };
    log(`  small alone: p99 ${alone.latencyMs.p99} ms; with 2 MB pushes: p99 ${r.latencyMs.p99} ms; 2 MB pushes ${bigAccepted}/${bigSent} accepted, p50 ${result.bigLatencyMs.p50} ms`);
    return result;
  } finally {
    rss.stop();
    await stopAll(gw);
  }
}

function post(url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers: { ...PUSH_HEADERS, 'content-length': Buffer.byteLength(body) }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

interface BacklogResult {
  sizes: Array<{ pending: number; fill: FillResult; claim: ClaimResult }>;
  /** p50 claim latency at the largest backlog over that at the smallest (strict ordering). */
  ratio: number | null;
  ratioNone: number | null;
  memory: { pending: number; rssPeakMb: number | null; ingestRps: number; ingestP99: number; deliveredPerSec: number } | null;
}

/**
 * Claim latency (store.deliveries.claim, 64 at a time as the worker does) with the backlog sizes,
 * then a gateway started on the largest store: RSS while it drains the backlog and takes pushes.
 */
async function backlog(): Promise<BacklogResult> {
  const store = await child('store');
  const sizes: BacklogResult['sizes'] = [];
  const dbUrl = `sqlite:${join(workDir, 'backlog.db')}`;
  let filled = 0;
  try {
    for (const pending of SIZES.backlog) {
      log(`backlog: filling to ${pending} pending deliveries`);
      const fill = await store.call<FillResult>('fill', { databaseUrl: dbUrl, count: pending - filled, state: 'pending' }, 1_800_000);
      filled = pending;
      log(`  ${fill.inserted} added in ${fill.seconds.toFixed(1)} s; timing claims`);
      const claim = await store.call<ClaimResult>('claim', { databaseUrl: dbUrl, limit: 64, iterations: SIZES.claimIterations, maxSeconds: SIZES.claimMaxSec }, 600_000);
      sizes.push({ pending, fill, claim });
      log(`  claim p50 ${claim.strict.p50.toFixed(2)} ms (strict ordering), ${claim.none.p50.toFixed(2)} ms (no ordering)`);
    }
  } finally {
    await stopAll(store);
  }
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const ratio = first && last ? last.claim.strict.p50 / first.claim.strict.p50 : null;
  const ratioNone = first && last ? last.claim.none.p50 / first.claim.none.p50 : null;

  log(`memory: gateway on the store with ${filled} pending deliveries, delivering to the sink and taking pushes for ${SIZES.memorySec} s`);
  const sink = await child('sink.mjs');
  const gw = await startGateway({ kind: 'sqlite', databaseUrl: dbUrl }, { sinkUrl: sink.ready.url as string, ...DELIVERY });
  let memory: BacklogResult['memory'] = null;
  try {
    const rss = sampleRss(gw.pid);
    const from = Date.now();
    const r = await load(gw.ready.url as string, { durationSec: SIZES.memorySec });
    const to = Date.now();
    const mem = rss.stop();
    const s = await gw.call<DeliveryStats>('stats', { from, to }, 300_000);
    memory = { pending: filled, rssPeakMb: mb(mem.peak), ingestRps: r.rps, ingestP99: r.latencyMs.p99, deliveredPerSec: s.deliveredInWindow / ((to - from) / 1000) };
    log(`  RSS peak ${String(memory.rssPeakMb)} MB; ingest ${Math.round(r.rps)} req/s p99 ${r.latencyMs.p99} ms; delivered ${Math.round(memory.deliveredPerSec)}/s from the backlog`);
  } finally {
    await stopAll(gw, sink);
  }
  return { sizes, ratio, ratioNone, memory };
}

/** Time for DeliveryActions.replay to put every parked delivery back to pending. */
async function replay(): Promise<{ parked: number; fill: FillResult; result: ReplayResult }> {
  const store = await child('store');
  try {
    const dbUrl = `sqlite:${join(workDir, 'replay.db')}`;
    log(`replay: parking ${SIZES.replay} deliveries`);
    const fill = await store.call<FillResult>('fill', { databaseUrl: dbUrl, count: SIZES.replay, state: 'parked' }, 1_800_000);
    const result = await store.call<ReplayResult>('replay', { databaseUrl: dbUrl }, 1_800_000);
    log(`  replayed ${result.changed} in ${result.seconds.toFixed(2)} s (${Math.round(result.perSecond)}/s)`);
    return { parked: SIZES.replay, fill, result };
  } finally {
    await stopAll(store);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Environment

let pgChecked: boolean | null = null;
async function postgresReachable(): Promise<boolean> {
  if (NO_PG) return false;
  if (pgChecked !== null) return pgChecked;
  const knex = knexFactory({ client: 'pg', connection: { connectionString: PG_URL, connectionTimeoutMillis: 3_000 }, pool: { min: 0, max: 1 } });
  try {
    await knex.raw('select 1');
    pgChecked = true;
  } catch {
    pgChecked = false;
  } finally {
    await knex.destroy();
  }
  return pgChecked;
}

async function versions(): Promise<{ sqlite: string | null; postgres: string | null }> {
  const sqlite = knexFactory({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  let sqliteVersion: string | null = null;
  try {
    const rows = (await sqlite.raw('select sqlite_version() as v')) as Array<{ v: string }>;
    sqliteVersion = rows[0]?.v ?? null;
  } finally {
    await sqlite.destroy();
  }
  let pgVersion: string | null = null;
  if (await postgresReachable()) {
    const pg = knexFactory({ client: 'pg', connection: PG_URL });
    try {
      const res = (await pg.raw('show server_version')) as { rows: Array<{ server_version: string }> };
      pgVersion = res.rows[0]?.server_version ?? null;
    } finally {
      await pg.destroy();
    }
  }
  return { sqlite: sqliteVersion, postgres: pgVersion };
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Report

type Verdict = { target: string; measured: string; met: boolean | null };

function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

interface Results {
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, unknown>;
  versions?: { sqlite: string | null; postgres: string | null };
  settings: typeof SIZES & { delivery: typeof DELIVERY };
  ingest?: Awaited<ReturnType<typeof ingest>>;
  e2e?: E2eResult;
  isolation?: IsolationResult;
  backlog?: BacklogResult;
  replay?: Awaited<ReturnType<typeof replay>>;
  errors: Array<{ scenario: string; error: string }>;
  verdicts?: Verdict[];
}

function verdicts(r: Results): Verdict[] {
  const out: Verdict[] = [];
  const rows = r.ingest?.rows ?? [];
  const b1 = rows.find((x) => x.server.startsWith('baseline 1'));
  const b2 = rows.find((x) => x.server.startsWith('baseline 2'));
  const gw = rows.find((x) => x.server === SQLITE_ROW);
  const gwPg = rows.find((x) => x.server === PG_ROWS[0]);
  const gwPg2 = rows.find((x) => x.server === PG_ROWS[1]);
  if (gw && b2) out.push({ target: `ingest ≥ ${TARGETS.ingestVsBaseline2}x baseline 2 (req/s)`, measured: `${fmt(gw.rps / b2.rps, 2)}x (${fmt(gw.rps)} vs ${fmt(b2.rps)})`, met: gw.rps / b2.rps >= TARGETS.ingestVsBaseline2 });
  if (gw && b1) out.push({ target: `ingest ≥ ${TARGETS.ingestVsBaseline1}x baseline 1 (req/s)`, measured: `${fmt(gw.rps / b1.rps, 2)}x (${fmt(gw.rps)} vs ${fmt(b1.rps)})`, met: gw.rps / b1.rps >= TARGETS.ingestVsBaseline1 });
  if (gw) out.push({ target: `ingest p99 ≤ ${TARGETS.ingestP99Ms} ms`, measured: `${fmt(gw.p99)} ms`, met: gw.p99 <= TARGETS.ingestP99Ms });
  if (gwPg && gw) out.push({ target: `PostgreSQL (1 instance) ingest ≥ ${TARGETS.pgVsSqlite}x SQLite of the same run`, measured: `${fmt(gwPg.rps / gw.rps, 2)}x (${fmt(gwPg.rps)} vs ${fmt(gw.rps)}), p99 ${fmt(gwPg.p99)} ms`, met: gwPg.rps / gw.rps >= TARGETS.pgVsSqlite });
  if (gwPg && b2) out.push({ target: '(PostgreSQL 1 instance, no target) ingest vs baseline 2', measured: `${fmt(gwPg.rps / b2.rps, 2)}x`, met: null });
  if (gwPg2 && gwPg) out.push({ target: '(PostgreSQL, no target) 2 instances vs 1', measured: `${fmt(gwPg2.rps / gwPg.rps, 2)}x (${fmt(gwPg2.rps)} vs ${fmt(gwPg.rps)})`, met: null });
  if (r.e2e) out.push({ target: `end to end ≥ ${fmt(TARGETS.e2eDeliveriesPerSec)} deliveries/s`, measured: `${fmt(r.e2e.deliveriesPerSec)}/s over ${fmt(r.e2e.durationSec)} s`, met: r.e2e.deliveriesPerSec >= TARGETS.e2eDeliveriesPerSec });
  if (r.isolation) {
    out.push({
      target: `small-push p99 ≤ ${TARGETS.isolationP99Ms} ms with 2 MB pushes`,
      measured: `${fmt(r.isolation.withBig.p99)} ms at ${fmt(r.isolation.rate)}/s (${fmt(r.isolation.alone.p99)} ms without)`,
      met: r.isolation.withBig.p99 <= TARGETS.isolationP99Ms,
    });
  }
  if (r.backlog && r.backlog.ratio !== null) {
    const s = r.backlog.sizes;
    out.push({
      target: `claim at ${fmt(s[s.length - 1]?.pending)} ≤ ${TARGETS.claimRatio}x claim at ${fmt(s[0]?.pending)}`,
      measured: `${fmt(r.backlog.ratio, 2)}x (p50 ${fmt(s[s.length - 1]?.claim.strict.p50, 2)} vs ${fmt(s[0]?.claim.strict.p50, 2)} ms)`,
      met: r.backlog.ratio <= TARGETS.claimRatio,
    });
  }
  if (r.replay) out.push({ target: `replay ${fmt(r.replay.parked)} parked < ${TARGETS.replaySec} s`, measured: `${fmt(r.replay.result.seconds, 1)} s`, met: r.replay.result.seconds < TARGETS.replaySec });
  const rssValues = [
    ...rows.filter((x) => x.server.startsWith('gateway')).map((x) => x.rssPeakMb),
    r.e2e?.rssPeakMb ?? null,
    r.e2e?.steady?.rssPeakMb ?? null,
    r.isolation?.rssPeakMb ?? null,
    r.backlog?.memory?.rssPeakMb ?? null,
  ].filter((v): v is number => v !== null);
  if (rssValues.length > 0) {
    const peak = Math.max(...rssValues);
    out.push({ target: `gateway RSS ≤ ${TARGETS.rssMb} MB throughout`, measured: `peak ${fmt(peak)} MB`, met: peak <= TARGETS.rssMb });
  }
  return out;
}

function report(r: Results): string {
  const parts: string[] = [];
  const m = r.machine;
  parts.push(`OM Connector Gateway benchmark (${r.mode}) — ${String(m.cpus)} × ${String(m.cpuModel)}, ${String(m.memoryGb)} GB, Node ${String(m.node)}, SQLite ${r.versions?.sqlite ?? '?'}, PostgreSQL ${r.versions?.postgres ?? 'n/a'}; load average at start ${JSON.stringify(m.loadAverageAtStart)}`);
  if (r.ingest) {
    const rows = r.ingest.rows;
    const b1 = rows.find((x) => x.server.startsWith('baseline 1'));
    const b2 = rows.find((x) => x.server.startsWith('baseline 2'));
    const sqlite = rows.find((x) => x.server === SQLITE_ROW);
    const isPg = (x: IngestRow): boolean => (PG_ROWS as readonly string[]).includes(x.server);
    const cpuCell = (x: IngestRow): string => (x.pgCpu ? (x.pgCpu.serverMsPer1k === null ? 'n/a' : `${fmt(x.pgCpu.serverMsPer1k)} (${fmt(x.pgCpu.gatewayBackendsMsPer1k)})`) : '-');
    parts.push(
      `\nIngest: ${SIZES.connections} connections, ${SIZES.ingestSec} s after ${SIZES.warmupSec} s warm-up, ${Buffer.byteLength(smallPushTemplate())}-byte push\n` +
        table(
          ['server', 'req/s', 'p50 ms', 'p99 ms', 'RSS peak MB', 'vs baseline 1', 'vs baseline 2', 'vs SQLite', 'PG CPU ms/1k pushes (gateway backends)', 'failed'],
          rows.map((x) => [
            x.server,
            fmt(x.rps),
            fmt(x.p50),
            fmt(x.p99),
            fmt(x.rssPeakMb),
            b1 ? `${fmt(x.rps / b1.rps, 2)}x` : '-',
            b2 ? `${fmt(x.rps / b2.rps, 2)}x` : '-',
            sqlite && isPg(x) ? `${fmt(x.rps / sqlite.rps, 2)}x` : '-',
            cpuCell(x),
            fmt(x.failed),
          ]),
        ),
    );
    for (const x of rows) {
      if (x.perInstanceRps) parts.push(`  ${x.server}: ${x.perInstanceRps.map((v) => fmt(v)).join(' + ')} req/s by instance; p50/p99 and RSS are the worst instance's`);
      if (x.pgCpu?.note) parts.push(`  ${x.server}: ${x.pgCpu.note}`);
    }
    if (rows.some((x) => x.pgCpu && x.pgCpu.serverMsPer1k !== null)) {
      parts.push('  PG CPU: utime+stime of every postgres process on this machine over the measured window (any other client of the server included), per 1,000 acknowledged pushes; in parentheses the backends of the gateway\'s own connections');
    }
    for (const s of r.ingest.skipped) parts.push(`  skipped: ${s}`);
  }
  if (r.e2e) {
    const e = r.e2e;
    parts.push(
      `\nEnd to end (SQLite, sink answering at once, connector concurrency ${DELIVERY.concurrency}, maxInFlight ${DELIVERY.maxInFlight})\n` +
        table(
          ['measure', 'value'],
          [
            ['pushes accepted/s (full load)', fmt(e.ingestRps)],
            [`deliveries completed/s over ${fmt(e.durationSec)} s`, fmt(e.deliveriesPerSec)],
            ['receipt→delivery lag p50 / p99 ms (full load)', `${fmt(e.lagMs?.p50)} / ${fmt(e.lagMs?.p99)}`],
            ['backlog at end of load / drained in s', `${fmt(e.backlogAtEnd)} / ${e.drainSec === null ? 'not within limit' : fmt(e.drainSec, 1)}`],
            ...(e.steady
              ? [[`lag p50 / p99 ms at steady ${fmt(e.steady.rate)} pushes/s`, `${fmt(e.steady.lagMs?.p50)} / ${fmt(e.steady.lagMs?.p99)}`]]
              : []),
            ['RSS peak MB (full load)', fmt(e.rssPeakMb)],
          ],
        ),
    );
  }
  if (r.isolation) {
    const i = r.isolation;
    parts.push(
      `\nIsolation (SQLite): ${fmt(i.rate)} small pushes/s over 32 connections, alone and with one ${fmt(i.bigBytes / 1024 / 1024, 1)} MB push per second\n` +
        table(
          ['measure', 'alone', 'with 2 MB pushes'],
          [
            ['small pushes answered/s', fmt(i.alone.rps), fmt(i.withBig.rps)],
            ['small p50 / p99 / p99.9 ms', `${fmt(i.alone.p50)} / ${fmt(i.alone.p99)} / ${fmt(i.alone.p999)}`, `${fmt(i.withBig.p50)} / ${fmt(i.withBig.p99)} / ${fmt(i.withBig.p999)}`],
            ['2 MB pushes accepted / sent', '-', `${fmt(i.bigAccepted)} / ${fmt(i.bigSent)}`],
            ['2 MB push latency p50 / max ms', '-', `${fmt(i.bigLatencyMs.p50)} / ${fmt(i.bigLatencyMs.max)}`],
            ['RSS peak MB', '', fmt(i.rssPeakMb)],
          ],
        ),
    );
  }
  if (r.backlog) {
    const b = r.backlog;
    parts.push(
      `\nBacklog (SQLite): store.deliveries.claimWithEvents of 64, one connector\n` +
        table(
          ['pending', 'strict p50 ms', 'strict p99 ms', 'no-order p50 ms', 'no-order p99 ms', 'setup s'],
          b.sizes.map((s) => [fmt(s.pending), fmt(s.claim.strict.p50, 2), fmt(s.claim.strict.p99, 2), fmt(s.claim.none.p50, 2), fmt(s.claim.none.p99, 2), fmt(s.fill.seconds, 1)]),
        ),
    );
    if (b.memory) {
      parts.push(
        `  gateway on ${fmt(b.memory.pending)} pending: RSS peak ${fmt(b.memory.rssPeakMb)} MB, ingest ${fmt(b.memory.ingestRps)} req/s (p99 ${fmt(b.memory.ingestP99)} ms), draining ${fmt(b.memory.deliveredPerSec)} deliveries/s`,
      );
    }
  }
  if (r.replay) {
    parts.push(`\nReplay (SQLite): ${fmt(r.replay.result.changed)} parked deliveries replayed in ${fmt(r.replay.result.seconds, 2)} s (${fmt(r.replay.result.perSecond)}/s)`);
  }
  if (r.verdicts && r.verdicts.length > 0) {
    parts.push(`\nTargets\n${table(['target', 'measured', 'met'], r.verdicts.map((v) => [v.target, v.measured, v.met === null ? '-' : v.met ? 'yes' : 'NO']))}`);
  }
  for (const e of r.errors) parts.push(`\nERROR in ${e.scenario}: ${e.error}`);
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const results: Results = {
    mode: QUICK ? 'quick' : 'full',
    startedAt: new Date().toISOString(),
    machine: machine(),
    settings: { ...SIZES, delivery: DELIVERY },
    errors: [],
  };
  results.versions = await versions();
  log(`mode ${results.mode}; work dir ${workDir}`);
  const [load1 = 0] = os.loadavg();
  if (load1 > 0.5) log(`warning: load average ${load1.toFixed(2)} before the run: other processes use the CPU and every number will be lower`);
  if (!NO_BUILD) {
    // The servers under test run from dist/, as `omgw start` does: build it from the current source.
    log('building dist/ (npm run build)');
    execFileSync(process.execPath, [join(BENCH_DIR, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(BENCH_DIR, '..', 'tsconfig.build.json')], { stdio: 'inherit' });
  }
  const runScenario = async <K extends ScenarioName>(name: K, fn: () => Promise<NonNullable<Results[K]>>): Promise<void> => {
    if (!ONLY.has(name)) return;
    const t0 = performance.now();
    try {
      (results as unknown as Record<string, unknown>)[name] = await fn();
    } catch (err) {
      results.errors.push({ scenario: name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      log(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    log(`${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  await runScenario('ingest', ingest);
  await runScenario('e2e', e2e);
  await runScenario('isolation', () => isolation(results.ingest?.rows.find((x) => x.server === SQLITE_ROW)?.rps ?? null));
  await runScenario('backlog', backlog);
  await runScenario('replay', replay);
  results.finishedAt = new Date().toISOString();
  results.machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  results.verdicts = verdicts(results);

  const text = report(results);
  process.stdout.write(`\n${text}\n`);
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify(results, null, 2);
  writeFileSync(join(resultsDir, `${results.mode}-${stamp}.json`), json);
  writeFileSync(join(resultsDir, `latest-${results.mode}.json`), json);
  log(`results written to ${join(resultsDir, `${results.mode}-${stamp}.json`)}`);
  return results.errors.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} finally {
  await Promise.all([...running].map((c) => c.stop(5_000)));
  if (KEEP) log(`kept ${workDir} (databases, child logs)`);
  else rmSync(workDir, { recursive: true, force: true });
}
process.exit(code);
