import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.ts';
import { shellBlocks } from '../helpers/shell-blocks.ts';
import { until } from '../helpers/until.ts';

/**
 * Every shell block of the README, run as a reader runs it: in the checkout (built), in README order,
 * against a gateway started by package.json's start script. Only the port and the database are the
 * test's: the commands read a copy of config/ as shipped (OMGW_CONFIG_DIR) whose gateway.yaml sets
 * `server.port` to the test's port, as the README advises, so the example's relative
 * `sqlite:../data/omgw.db` is a new database beside the copy; `http://127.0.0.1:8080` and
 * `localhost:8080` in the commands become the test's port.
 *
 * Each command must match exactly one entry of EXPECTED, which gives its exit code and the key line of
 * its output; a README command with no entry, or an entry no command matches, fails the test, so the
 * README and this list cannot drift apart. Between two commands the test waits (bounded) until no
 * delivery is pending or in flight, as a reader sees the gateway settle before typing the next line;
 * a read-only command marked `until` is re-run until its key line appears (a webhook the sandbox sends
 * a moment later), as a reader runs it again.
 *
 * Needs dist/ (`npm run build`; `npm ci` runs it).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = join(ROOT, 'README.md');
const ADMIN_TOKEN = 'sandbox-admin-token-change-me';

interface Context {
  adminGet(path: string): Promise<unknown>;
}

interface Expected {
  command: RegExp;
  /** Not run here, and why. */
  skip?: string;
  exit?: number;
  line?: RegExp;
  until?: boolean;
  /** Fills the README's placeholders (`01JD...`) with ids of this run. */
  substitute?: (command: string, ctx: Context) => Promise<string>;
}

interface DeliveryItem {
  id: string;
  eventId: string;
  connector: string;
  orderKey: string | null;
}

async function soOrderDelivery(ctx: Context): Promise<DeliveryItem> {
  const page = (await ctx.adminGet('/admin/api/deliveries?connector=shipbob&limit=100')) as { items: DeliveryItem[] };
  const found = page.items.find((d) => d.orderKey === 'LEG:SO-100234');
  if (!found) throw new Error(`no shipbob delivery of LEG:SO-100234 in ${JSON.stringify(page.items)}`);
  return found;
}

const EXPECTED: Expected[] = [
  { command: /^npm install$/, skip: 'the checkout under test is installed and built' },
  { command: /^npm start$/, skip: 'the test starts the gateway itself with the start script of package.json, and checks its banner' },
  { command: /^npx omgw sandbox push --count 3$/, line: /^LEG:\S+-3\s+202\s+-\s+-$/m },
  { command: /^npx omgw status$/, line: /^database sqlite:.*\/data\/omgw\.db$/m },
  { command: /^curl -s -o \/dev\/null -w '%\{http_code\}\\n' .*\/soap\/business-events/, line: /^202$/m },
  { command: /^npx omgw sandbox push --status AWAIT_SHIPPING$/, line: /^LEG:\S+-1\s+202\s+-\s+-$/m },
  { command: /^curl -s -H 'Authorization: Bearer sandbox-shipbob-token' .*\/sandbox\/shipbob\/2026-01\/order$/, line: /"reference_id":"LEG:SO-100234:300100545547293"/ },
  { command: /\/simulate\/shipment/, line: /"message":"Simulation request submitted successfully."/ },
  { command: /^curl -s .*\/sandbox\/fusion\/received$/, line: /receivingReceiptRequests/, until: true },
  { command: /\/sandbox\/fusion\/purchase-orders -d/, line: /"OrderNumber":"PO-1001"/ },
  { command: /^npx omgw poll --now$/, line: /^poll \S+ ok: 1 read in 1 page\(s\) .* 1 routed/m },
  { command: /^npx omgw deliveries list --state parked --since 24h/, line: /^database sqlite:.*\/data\/omgw\.db$/m },
  {
    command: /^npx omgw deliveries show 01JD\.\.\./,
    line: /^state\s+delivered$/m,
    substitute: async (command, ctx) => command.replace('01JD...', (await soOrderDelivery(ctx)).id),
  },
  {
    command: /^npx omgw events show 01JD\.\.\./,
    line: /LEG:SO-100234/,
    substitute: async (command, ctx) => command.replace('01JD...', (await soOrderDelivery(ctx)).eventId),
  },
  { command: /^npx omgw connector test shipbob/, line: /^connector shipbob: OK \(\d+ ms\)$/m },
  { command: /^npx omgw replay --connector shipbob --state parked --dry-run/, line: /^dry run: replay would change 0 of 0 matching deliveries$/m },
  { command: /^npx omgw replay --connector shipbob --state parked --reason "mapping fixed"$/, line: /^replayed 0 of 0 matching deliveries$/m },
  { command: /^TOKEN=\$\{OMGW_ADMIN_TOKEN:-sandbox-admin-token-change-me\}/ },
  { command: /^curl -s -H "Authorization: Bearer \$TOKEN" '.*\/admin\/api\/deliveries\?state=parked&connector=shipbob'$/, line: /^\{"items":\[\],"nextCursor":null\}$/ },
  { command: /\/admin\/api\/deliveries\/replay$/, line: /"action":"replay","dryRun":true,"matched":0/ },
  { command: /https:\/\/api\.shipbob\.com\/2026-01\/webhook/, skip: "subscribes a real ShipBob account's webhooks at api.shipbob.com" },
  { command: /^(npm test|npm run |OMGW_TEST_DATABASE_URL=\S+ npm run |bash \.ci\/run)/, skip: 'the test suite, the linters, the benchmarks and CI themselves' },
];

/** A variable assignment alone: kept and run before the block's later commands (`TOKEN=...`). */
const ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=\S+(\s+#.*)?$/;

function run(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn('bash', ['-c', `set -o pipefail\n${script}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

/** The example config reads these; a reader has none of them set. */
function readerEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(OMGW_|SHIPBOB_|FUSION_|OTM_|CRM_|DATABASE_URL$)/.test(name)));
}

describe('the README, every shell block as a reader runs it', function () {
  this.timeout(300_000);
  let scratch: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let gateway: ReturnType<typeof spawn>;
  let banner = '';
  let exited: Promise<number | null>;

  before(async function () {
    if (process.env.OMGW_TEST_DATABASE_URL) {
      console.log('    (the README runs the example config on its SQLite database: this test runs in the SQLite pass)');
      this.skip();
    }
    scratch = mkdtempSync(join(tmpdir(), 'omgw-readme-'));
    cpSync(join(ROOT, 'config'), join(scratch, 'config'), { recursive: true });
    port = await freePort();
    const gatewayYaml = join(scratch, 'config', 'gateway.yaml');
    const yaml = readFileSync(gatewayYaml, 'utf8');
    expect(yaml).to.match(/^ {2}port: \$\{env:OMGW_PORT:-8080\}$/m);
    // The scheduled poll (every 5 minutes) is turned off in this copy: at a 5-minute mark it would read
    // the purchase order the README creates before `omgw poll --now` does, and the poll the README
    // shows would find nothing new.
    const pollerOn = /^( {2}poller:\n {4}enabled: )true$/m;
    expect(yaml).to.match(pollerOn);
    writeFileSync(gatewayYaml, yaml.replace(/^ {2}port: \$\{env:OMGW_PORT:-8080\}$/m, `  port: ${port}`).replace(pollerOn, '$1false'));
    env = { ...readerEnvironment(), OMGW_CONFIG_DIR: join(scratch, 'config'), OMGW_LOG_LEVEL: 'warn' };

    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    gateway = spawn('bash', ['-c', `exec ${start}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway.stdout?.on('data', (chunk: Buffer) => (banner += chunk.toString('utf8')));
    gateway.stderr?.on('data', (chunk: Buffer) => (banner += chunk.toString('utf8')));
    exited = new Promise((resolve) => gateway.once('close', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    await until('the gateway to listen', () => {
      if (gone) throw new Error(`the gateway exited:\n${banner}`);
      return banner.includes('omgw listening on');
    }, 60_000);
  });

  after(async () => {
    if (gateway) {
      gateway.kill('SIGTERM');
      await exited;
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('starts with the banner the README quotes', () => {
    expect(banner).to.include(`omgw listening on http://127.0.0.1:${port} (bound to 127.0.0.1:${port}; WSDL: http://127.0.0.1:${port}/soap/business-events?wsdl)`);
  });

  it('runs each command with the exit code and the key line it should have', async () => {
    const base = `http://127.0.0.1:${port}`;
    const ctx: Context = {
      adminGet: async (path) => {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
        return res.json();
      },
    };
    const settled = async (): Promise<boolean> => {
      for (const state of ['pending', 'in_flight']) {
        const page = (await ctx.adminGet(`/admin/api/deliveries?state=${state}&limit=1`)) as { items: unknown[] };
        if (page.items.length > 0) return false;
      }
      return true;
    };

    const used = new Set<Expected>();
    const blocks = shellBlocks(readFileSync(README, 'utf8'));
    expect(blocks.length, 'shell blocks in the README').to.be.greaterThan(5);
    for (const block of blocks) {
      const prelude: string[] = [];
      for (const written of block.commands) {
        const where = `README.md block at line ${block.line}: ${written.split('\n')[0]}`;
        const matches = EXPECTED.filter((e) => e.command.test(written));
        expect(matches, `${where}\nhas ${matches.length} entries in EXPECTED (must have exactly one)`).to.have.length(1);
        const expected = matches[0] as Expected;
        used.add(expected);
        if (expected.skip) continue;

        let command = written.replaceAll('http://127.0.0.1:8080', base).replaceAll('http://localhost:8080', `http://localhost:${port}`);
        if (expected.substitute) command = await expected.substitute(command, ctx);
        if (ASSIGNMENT.test(command)) {
          prelude.push(command);
          continue;
        }
        await until(`deliveries to settle before: ${where}`, settled, 30_000);
        let result = await run([...prelude, command].join('\n'), ROOT, env);
        if (expected.until && expected.line) {
          const line = expected.line;
          await until(`${line} in the output of: ${where}`, async () => {
            if (line.test(result.output)) return true;
            result = await run([...prelude, command].join('\n'), ROOT, env);
            return false;
          }, 30_000);
        }
        expect(result.code, `${where}\n${result.output}`).to.equal(expected.exit ?? 0);
        if (expected.line) expect(result.output, `${where}\nexpected a line matching ${expected.line}`).to.match(expected.line);
      }
    }
    const unused = EXPECTED.filter((e) => !used.has(e));
    expect(unused.map((e) => String(e.command)), 'entries in EXPECTED that no README command matches').to.deep.equal([]);
  });
});
