import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, parseDocument, stringify } from 'yaml';
import { Gateway } from '../app.ts';
import type { GatewayConfig } from '../config/load.ts';
import { publishedDefaultsInUse } from '../config/published-defaults.ts';
import { parseDuration } from '../config/units.ts';
import { isLoopbackHost } from '../server/loopback.ts';
import { databaseUnavailable } from '../store/database.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { DemoOutput, type LiveTerminal } from './demo-output.ts';
import { demoStory, OUTAGE_CONNECTOR, STORY_CONNECTORS, StepFailed } from './demo-story.ts';
import { funnelCommand } from './funnel.ts';
import { orderCommand } from './order.ts';

/** The example config shipped beside src/ (and dist/): what `npm start` runs. */
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../config', import.meta.url));

/**
 * The retry rules the demo gives the connector it takes down: three attempts a second apart, so the
 * outage parks a delivery within the demo. The example's (5 s to 4 h over 9 attempts) would take hours.
 */
const DEMO_RETRY = { schedule: ['1s', '1s'], maxAttempts: 3 };

/** The config folder's own file, which the demo overrides the server and database of in its copy. */
const GATEWAY_FILE = 'gateway.yaml';

/** The longest one step waits for what it waits for, unless `--step-timeout` says otherwise. */
const STEP_TIMEOUT = '30s';

export interface DemoOptions {
  /** After the story, keep the gateway serving (console, admin API, sandboxes) until SIGINT or SIGTERM. */
  keepRunning: boolean;
  /** The terminal stdout is, to rewrite the progress line in place; null prints plain lines. */
  live: LiveTerminal | null;
  /** The config folder to copy (`--config`); default the example config. */
  config: string | undefined;
  /** `--step-timeout`: the longest one step waits (a duration: 30s, 2m). */
  stepTimeout: string | undefined;
}

/**
 * `omgw demo` (`npm run demo`): starts the gateway with a copy of the example config, on a free
 * loopback port and a fresh SQLite database in a temporary folder, built through app.ts as `start`
 * does, and plays the story (demo-story.ts) against its sandbox peers, printing each step as it
 * happens. Ends with the funnel (`omgw funnel`) and the journey of the sales order (`omgw order`) and, with
 * `--keep-running`, the console's URL. Exit code 0, or 1 when a step failed (it says what it waited
 * for; the temporary folder, with the gateway's log and database, is kept then).
 */
export async function demo(ctx: CommandContext, options: DemoOptions): Promise<number> {
  const started = Date.now();
  const stepTimeoutMs = parseDuration(options.stepTimeout ?? STEP_TIMEOUT);
  if (stepTimeoutMs === null || stepTimeoutMs <= 0) {
    ctx.io.err(`--step-timeout ${options.stepTimeout ?? ''} is not a duration (30s, 2m)`);
    return EXIT.usage;
  }
  const out = new DemoOutput(ctx.io, options.live);
  const source = resolve(options.config ?? EXAMPLE_CONFIG);
  if (!(await isFolder(source))) {
    ctx.io.err(`omgw demo --config ${source}: no such folder`);
    return EXIT.usage;
  }
  const dir = await mkdtemp(join(tmpdir(), 'omgw-demo-'));
  let keepDir = false;
  try {
    const configDir = join(dir, 'config');
    await cp(source, configDir, { recursive: true });
    const lacking = await lackingFiles(configDir);
    if (lacking.length > 0) {
      ctx.io.err(`omgw demo needs ${lacking.join(' and ')} in ${source} for the story (as the example config has)`);
      return EXIT.usage;
    }
    // The gateway's own address, which the example connectors reach the sandbox peers at
    // (${server:url}), must be known before it listens: a free port, asked of the system first.
    // Written into the copy (whatever its gateway.yaml says: a fixed port may be taken, a database
    // may be someone's) and given as the variables the example config reads.
    const own = { host: '127.0.0.1', port: await freePort(), database: `sqlite:${join(dir, 'omgw.db')}` };
    const serverOverlay = await writeServerOverlay(configDir, own);
    const overlay = await writeRetryOverlay(configDir);
    const env: NodeJS.ProcessEnv = { ...ctx.env, OMGW_HOST: own.host, OMGW_PORT: String(own.port), DATABASE_URL: own.database };
    const logFile = join(dir, 'gateway.log');
    const log = createWriteStream(logFile);
    try {
      const gateway = await Gateway.create({ configDir, env, logDestination: log, clock: ctx.clock });
      const missing = missingForTheStory(gateway.config);
      if (missing !== null) {
        ctx.io.err(`omgw demo needs ${missing} in ${source} (as the example config has)`);
        return EXIT.usage;
      }
      const remote = remoteEndpoints(gateway.config);
      if (remote.length > 0) {
        ctx.io.err(
          `omgw demo refuses ${source}: its connectors point at systems off this machine, and the story would send them test orders:\n` +
            remote.map((r) => `  ${r}\n`).join('') +
            'point them at the sandbox (${server:url}/sandbox/..., as the example config does)',
        );
        return EXIT.usage;
      }
      try {
        await gateway.start();
      } catch (err) {
        await gateway.stop();
        throw databaseUnavailable(err, gateway.store.describe) ?? err;
      }
      try {
        out.line(`omgw demo: the example config on ${gateway.url}, a fresh database ${gateway.store.describe}`);
        out.line(`demo overlay ${serverOverlay.file}: ${serverOverlay.summary}`);
        out.line(`demo overlay ${overlay.file}: ${overlay.summary}`);
        out.line(`the gateway's log: ${logFile}`);
        out.line('');
        // Ctrl-C during the story ends the step under way, and the demo with it, cleanly.
        const interrupted = new AbortController();
        const interrupt = (): void => interrupted.abort();
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        let code: number;
        try {
          code = await playStory(ctx, gateway, out, { configDir, env, stepTimeoutMs, signal: interrupted.signal });
        } finally {
          process.off('SIGINT', interrupt);
          process.off('SIGTERM', interrupt);
        }
        if (code !== EXIT.ok) {
          // A failed step's traces are kept for a look; an interrupted demo leaves nothing behind.
          keepDir = !interrupted.signal.aborted;
          if (keepDir) out.line(`the gateway's log and database stay in ${dir}`);
          return code;
        }
        out.line('');
        out.line(`demo done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (options.keepRunning) await serveUntilSignal(gateway, out, { configDir, env });
        return EXIT.ok;
      } finally {
        await gateway.stop();
      }
    } finally {
      log.end();
      await once(log, 'close');
    }
  } finally {
    if (!keepDir) await rm(dir, { recursive: true, force: true });
  }
}

/** The steps, one line each, then the summary; EXIT.failed after the first step that fails. */
async function playStory(
  ctx: CommandContext,
  gateway: Gateway,
  out: DemoOutput,
  run: { configDir: string; env: NodeJS.ProcessEnv; stepTimeoutMs: number; signal: AbortSignal },
): Promise<number> {
  const g = gateway.config.gateway;
  const user = g.inbound.soap.users[0];
  const { steps, result } = demoStory({
    url: gateway.url,
    adminToken: g.admin.token?.reveal() ?? '',
    soap: { username: user?.username ?? '', password: user?.password.reveal() ?? '' },
    fusion: { username: g.sandbox.fusion?.username ?? '', password: g.sandbox.fusion?.password.reveal() ?? '' },
    shipbobToken: g.sandbox.shipbob?.token.reveal() ?? '',
    attempts: gateway.worker,
    out,
    maxWaitMs: run.stepTimeoutMs,
    signal: run.signal,
  });
  for (const [i, step] of steps.entries()) {
    try {
      out.step(i + 1, steps.length, await step.run());
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      out.failed(i + 1, steps.length, err.message);
      return EXIT.failed;
    }
  }
  // The summary through the commands a person would run next, on the demo's config copy and database.
  const cli: CommandContext = { ...ctx, configDir: run.configDir, env: run.env, json: false };
  out.line('');
  out.line('the funnel, as `omgw funnel` prints it:');
  out.line('');
  const funnel = await funnelCommand(cli, {});
  if (funnel !== EXIT.ok) return funnel;
  out.line('');
  out.line(`the journey of ${result.orderKey}, as \`omgw order ${result.orderKey}\` prints it:`);
  out.line('');
  return orderCommand(cli, result.orderKey);
}

/** What the story needs that the config lacks (the example config has it all), or null. */
function missingForTheStory(config: GatewayConfig): string | null {
  const g = config.gateway;
  if (!g.sandbox.enabled || !g.sandbox.fusion || !g.sandbox.shipbob) return 'the sandbox with its Fusion and ShipBob (sandbox.enabled, sandbox.fusion, sandbox.shipbob)';
  if (!g.admin.token?.reveal()) return 'the admin API (admin.token)';
  if (!g.delivery.enabled) return 'the delivery worker (delivery.enabled)';
  if (!g.inbound.soap.users[0]) return 'an inbound SOAP user (inbound.soap.users)';
  const absent = Object.values(STORY_CONNECTORS).filter((name) => !config.connectors.some((c) => c.name === name));
  if (absent.length > 0) return `the connectors ${absent.join(', ')} (connectors/)`;
  return null;
}

/**
 * Writes the demo's retry rules into the copy's connector file of the connector it takes down
 * (never into the example config), keeping the rest of the file and its comments.
 */
async function writeRetryOverlay(configDir: string): Promise<{ file: string; summary: string }> {
  const file = join(configDir, 'connectors', `${OUTAGE_CONNECTOR}.yaml`);
  const doc = parseDocument(await readFile(file, 'utf8'));
  const before: unknown = doc.get('retry');
  const flow = (rules: unknown): string => stringify(rules, { collectionStyle: 'flow' }).trim();
  const was = isMap(before) ? flow(before.toJSON()) : 'the default retry rules';
  doc.set('retry', doc.createNode(DEMO_RETRY, { flow: true }));
  const note = `# omgw demo overlay: ${OUTAGE_CONNECTOR}'s retries shortened so that an outage parks a delivery within the demo.\n`;
  await writeFile(file, note + doc.toString());
  return { file, summary: `retry ${flow(DEMO_RETRY)} instead of ${was}` };
}

/** The files the demo writes its overlays into, missing from the copy (paths relative to it). */
async function lackingFiles(configDir: string): Promise<string[]> {
  const needed = [GATEWAY_FILE, join('connectors', `${OUTAGE_CONNECTOR}.yaml`)];
  const present = await Promise.all(needed.map(async (f) => isFile(join(configDir, f))));
  return needed.filter((_, i) => !present[i]);
}

/**
 * The scheduled jobs whose work the story does itself, by hand: it polls Fusion (step 2) and replays
 * the parked delivery (step 10). Left on, their timers (the example polls every 5 minutes, the
 * recovery run is nightly) would fire during the story now and then: a poll running when the
 * story's starts skips the story's, one just before reads the purchase order first, a recovery run
 * replays the parked delivery before the story does.
 */
const STORY_JOBS = ['poller', 'recovery'] as const;

/**
 * Writes the demo's own address and database into the copy's gateway.yaml (never into the folder
 * copied): a fixed port there may be taken, a database there may be a real gateway's. Turns off the
 * schedules of the jobs the story runs by hand.
 */
async function writeServerOverlay(configDir: string, own: { host: string; port: number; database: string }): Promise<{ file: string; summary: string }> {
  const file = join(configDir, GATEWAY_FILE);
  const doc = parseDocument(await readFile(file, 'utf8'));
  doc.setIn(['server', 'host'], own.host);
  doc.setIn(['server', 'port'], own.port);
  doc.setIn(['database', 'url'], own.database);
  for (const job of STORY_JOBS) doc.setIn(['schedules', job, 'enabled'], false);
  const note = '# omgw demo overlay: its own loopback port and fresh database, whatever the copied folder says; no scheduled poll or recovery run (the story polls and replays by hand).\n';
  await writeFile(file, note + doc.toString());
  return { file, summary: `server ${own.host}:${own.port}, database ${own.database}, schedules of ${STORY_JOBS.join(' and ')} off (the story polls and replays by hand)` };
}

/**
 * Every place a connector sends to (its endpoint, the OAuth2 token URL, a WSDL fetched over HTTP,
 * the probe of `omgw connector test` when it is an absolute URL) whose host is not this machine, as
 * `connector key: scheme://host` (never the rest: a URL may carry credentials). Other URLs in a
 * connector's config (a SOAP action, a namespace) name things and are never requested.
 */
function remoteEndpoints(config: GatewayConfig): string[] {
  const found: string[] = [];
  for (const c of config.connectors) {
    const places: Array<[string, string | undefined]> = [
      ['url', c.url],
      ['auth.tokenUrl', c.auth !== undefined && 'tokenUrl' in c.auth ? c.auth.tokenUrl : undefined],
      ['soap.wsdl', c.soap?.wsdl],
      ['probe', c.probe],
    ];
    for (const [key, value] of places) {
      const url = value !== undefined && /^https?:\/\//i.test(value) ? parseUrl(value) : null;
      if (url !== null && !isLoopbackHost(url.hostname)) found.push(`${c.name} ${key}: ${url.protocol}//${url.host}`);
    }
  }
  return found;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** With --keep-running: says where the console is, then serves until SIGINT or SIGTERM. */
async function serveUntilSignal(gateway: Gateway, out: DemoOutput, copy: { configDir: string; env: NodeJS.ProcessEnv }): Promise<void> {
  // A published default token is in the README already; a token of one's own is never printed.
  const published = publishedDefaultsInUse(gateway.config).some((d) => d.file === 'gateway.yaml' && d.key === 'admin.token');
  const token = published ? `the example's published admin token ${gateway.config.gateway.admin.token?.reveal() ?? ''}` : 'your admin token (OMGW_ADMIN_TOKEN)';
  out.line('');
  out.line(`the gateway keeps running: console ${gateway.url}/admin/ (sign in with ${token}); Ctrl-C stops it`);
  out.line(`omgw commands reach it with: OMGW_PORT=${copy.env.OMGW_PORT ?? ''} DATABASE_URL=${copy.env.DATABASE_URL ?? ''} npx omgw status --config ${copy.configDir}`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  out.line('stopping the gateway');
}

/** A loopback port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
