import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqlitePassOnly } from '../helpers/backend.ts';
import { cliArgs } from '../helpers/cli-entry.ts';

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../config', import.meta.url));

/** The example config reads these; undefined drops a variable from the child's environment. */
function withoutExampleVariables(): NodeJS.ProcessEnv {
  const names = Object.keys(process.env).filter((name) => /^(OMGW_(?!TEST_)|SHIPBOB_|FUSION_|OTM_|CRM_|DATABASE_URL$)/.test(name));
  return Object.fromEntries(names.map((name) => [name, undefined]));
}

interface DemoRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout holds `needle` (already or later); rejects if the demo ends first. */
  waitFor(needle: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** `omgw demo` as a child process, as `npm run demo` runs it (stdout a pipe, not a terminal). */
function runDemo(args: string[] = []): DemoRun {
  const child = spawn(process.execPath, [...cliArgs(), 'demo', ...args], {
    env: { ...process.env, ...withoutExampleVariables() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const changes = new EventEmitter();
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    changes.emit('data');
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const waitFor = (needle: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = needle.exec(out);
        if (!found) return;
        changes.off('data', check);
        resolve(found);
      };
      changes.on('data', check);
      void exited.then((code) => {
        changes.off('data', check);
        if (!needle.test(out)) reject(new Error(`demo exited (${code}) before printing ${needle}:\n${out}\n${err}`));
      });
      check();
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** The temporary folder the demo said it runs in (its database's folder). */
function demoFolder(out: string): string {
  const db = /a fresh database sqlite:(\S+)/.exec(out)?.[1];
  if (!db) throw new Error(`no database named in:\n${out}`);
  return dirname(db);
}

describe('npm run demo (omgw demo)', function () {
  this.timeout(180_000);

  before(function () {
    sqlitePassOnly(this, 'the demo always makes a fresh SQLite database of its own');
  });

  it('plays the whole story step by step, exits 0, and ends with the journey of the sales order', async () => {
    const demo = runDemo();
    const code = await demo.exited;
    const out = demo.stdout();
    expect(code, `${out}\n${demo.stderr()}`).to.equal(0);
    expect(demo.stderr()).to.equal('');

    // Each step on its own line, in order; the demo's overlay is shown to the user.
    const steps = out.split('\n').filter((l) => /^\s*\d+\/11 /.test(l));
    expect(steps.map((l) => l.trim().split(' ')[0])).to.deep.equal(Array.from({ length: 11 }, (_, i) => `${i + 1}/11`));
    const expected = [
      /^ 1\/11 purchase order (PO-\d+) created in Fusion \(OMGW-MUG-12OZ × 2\)$/,
      /^ 2\/11 Fusion polled \(admin API, poll \w+\): 1 purchase order read, 1 routed to ShipBob$/,
      /^ 3\/11 ShipBob order \d+ created for PO-\d+ \(reference PO-\d+:\d+\)$/,
      /^ 4\/11 OM pushed FlineStatusUpdate for LEG:SO-DEMO-1: fulfilment line \d+ SCHEDULED → AWAIT_SHIPPING \(HTTP 202\)$/,
      /^ 5\/11 ShipBob order \d+ created for the line \(reference LEG:SO-DEMO-1:\d+\); the status sent to the CRM$/,
      /^ 6\/11 ShipBob shipped shipment \d+ \(UPS 1Z999AA10123456784\): its signed order\.shipped webhook received$/,
      /^ 7\/11 shipment notice written back to Fusion \(connector fusion, receivingReceiptRequests\)$/,
      /^ 8\/11 the CRM is down \(sandbox rest-sink answers 503\); OM pushed FlineStatusUpdate AWAIT_SHIPPING → SHIPPED for LEG:SO-DEMO-1 \(HTTP 202\)$/,
      /^ 9\/11 delivery to order-status-crm parked \(attempts_exhausted\): .*HTTP 503/,
      /^10\/11 the CRM is back; delivery \w+ replayed \(admin API, reason "the CRM is back"\)$/,
      /^11\/11 delivered to order-status-crm on attempt 4$/,
    ];
    expected.forEach((pattern, i) => expect(steps[i], out).to.match(pattern));
    expect(out).to.match(/^demo overlay \S+\/connectors\/order-status-crm\.yaml: retry \{ schedule: \[ 1s, 1s \], maxAttempts: 3 \} instead of \{ schedule: \[ 5s, 30s, /m);
    // The retries were watched: a progress line while the delivery failed (plain lines into a pipe).
    expect(out).to.match(/^ {5}… waiting for the delivery to order-status-crm to use up its retries: attempt \d failed \(HTTP 503\)/m);
    expect(out).not.to.include('\u001b[');

    // The funnel, as `omgw funnel` prints it: the sales order's line and the purchase order's schedule.
    const funnel = out.slice(out.indexOf('the funnel, as `omgw funnel` prints it:'), out.indexOf('the journey of'));
    expect(funnel, out).to.match(/^funnel \S+ → \S+: 2 line\(s\)$/m);
    expect(funnel).to.match(/^OM AWAIT_SHIPPING received\s+1$/m);
    expect(funnel).to.match(/^ShipBob order created\s+2\s+0$/m);
    expect(funnel).to.match(/^shipped \(ShipBob webhook\)\s+1\s+1$/m);
    expect(funnel).to.match(/^written back to Fusion\s+1\s+0$/m);

    // The journey, as `omgw order` prints it, with the outage in it.
    expect(out).to.include('the journey of LEG:SO-DEMO-1, as `omgw order LEG:SO-DEMO-1` prints it:');
    expect(out).to.match(/^where it stands: ShipBob order \d+ shipped, notice written to fusion; waiting for: delivered$/m);
    expect(out).to.match(/^AT\s+WHAT\s+DETAIL\s+STATE$/m);
    expect(out).to.match(/write-back\s+fusion order\.shipped\s+delivered/);
    expect(out).to.match(/attempt 3\s+HTTP 503 .*\s+parked$/m);
    expect(out).to.match(/attempt 4\s+HTTP 200 .*\s+delivered$/m);
    expect(out).to.match(/operator\s+delivery\.replayed by admin-api: the CRM is back/);
    expect(out).to.match(/^demo done in \d+\.\d s$/m);

    // The example config is left as it was, and the demo's folder is gone.
    expect(readFileSync(join(EXAMPLE_CONFIG, 'connectors', 'order-status-crm.yaml'), 'utf8')).not.to.include('demo');
    expect(existsSync(demoFolder(out))).to.equal(false);
  });

  it('with --keep-running serves the console until SIGTERM, then stops cleanly with exit 0', async () => {
    const demo = runDemo(['--keep-running']);
    try {
      const [, url] = await demo.waitFor(/console (http:\/\/127\.0\.0\.1:\d+)\/admin\/ \(sign in with the example's published admin token \S+\); Ctrl-C stops it\n/);
      expect(demo.stdout()).to.match(/^demo done in /m);
      const page = await fetch(`${url}/admin/`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.match(/<html/i);
      const journey = await fetch(`${url}/admin/api/orders/LEG%3ASO-DEMO-1`, { headers: { authorization: 'Bearer sandbox-admin-token-change-me' } });
      expect(journey.status).to.equal(200);
      demo.child.kill('SIGTERM');
      expect(await demo.exited, demo.stderr()).to.equal(0);
      expect(demo.stdout()).to.match(/^stopping the gateway$/m);
      expect(existsSync(demoFolder(demo.stdout()))).to.equal(false);
      await fetch(`${url}/healthz`).then(
        () => expect.fail('the gateway still answers'),
        () => undefined,
      );
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  });

  it('a step that fails says what it waited for and exits 1, keeping its folder', async () => {
    // ShipBob in maintenance: the purchase order's ShipBob order never comes.
    const dir = mkdtempSync(join(tmpdir(), 'omgw-demo-test-'));
    try {
      const config = join(dir, 'config');
      cpSync(EXAMPLE_CONFIG, config, { recursive: true });
      writeFileSync(join(config, 'connectors', 'shipbob.yaml'), `${readFileSync(join(config, 'connectors', 'shipbob.yaml'), 'utf8')}state: offline\n`);
      const demo = runDemo(['--config', config, '--step-timeout', '2s']);
      const code = await demo.exited;
      const out = demo.stdout();
      expect(code, `${out}\n${demo.stderr()}`).to.equal(1);
      expect(out).to.match(/^ 2\/11 Fusion polled/m);
      expect(out).not.to.match(/^ 3\/11/m);
      expect(demo.stderr()).to.match(/^ 3\/11 failed: waited \d+ s for the ShipBob order of PO-\d+; last seen: delivery to shipbob on_hold\n/);
      const kept = demoFolder(out);
      try {
        expect(out).to.include(`the gateway's log and database stay in ${kept}`);
        expect(existsSync(join(kept, 'gateway.log'))).to.equal(true);
        // The story polls and replays by hand: the scheduled poll (every 5 minutes in the example) and
        // the recovery run were never armed, so neither could fire in the middle of it.
        const scheduled = readFileSync(join(kept, 'gateway.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"msg":"job scheduled"'))
          .map((l) => (JSON.parse(l) as { job: string }).job);
        expect(scheduled).to.deep.equal(['retention']);
      } finally {
        rmSync(kept, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('interrupted (SIGINT) while a step waits, ends that step, stops the gateway and leaves no folder behind', async () => {
    const demo = runDemo();
    try {
      // The outage's retries are a second apart: the demo waits on them when the signal comes.
      await demo.waitFor(/^ {5}… waiting for the delivery to order-status-crm to use up its retries/m);
      demo.child.kill('SIGINT');
      expect(await demo.exited, demo.stdout()).to.equal(1);
      expect(demo.stderr()).to.match(/^ 9\/11 failed: interrupted while waiting for the delivery to order-status-crm to use up its retries\n/);
      expect(demo.stdout()).not.to.include('stay in');
      expect(existsSync(demoFolder(demo.stdout()))).to.equal(false);
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  });

  /** A copy of the example config in a temporary folder, changed by `change`; removed after `fn`. */
  async function withConfig(change: (config: string, dir: string) => void, fn: (config: string, dir: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'omgw-demo-test-'));
    try {
      const config = join(dir, 'config');
      cpSync(EXAMPLE_CONFIG, config, { recursive: true });
      change(config, dir);
      await fn(config, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('refuses a --config lacking what the story needs, saying what (exit 2)', async () => {
    await withConfig(
      (config) => rmSync(join(config, 'connectors', 'order-status-crm.yaml')),
      async (config) => {
        const demo = runDemo(['--config', config]);
        expect(await demo.exited, demo.stderr()).to.equal(2);
        expect(demo.stderr()).to.equal(`omgw demo needs connectors/order-status-crm.yaml in ${config} for the story (as the example config has)\n`);
        expect(demo.stdout()).to.equal('');
      },
    );
    const nowhere = join(tmpdir(), `omgw-demo-nowhere-${process.pid}`);
    const demo = runDemo(['--config', nowhere]);
    expect(await demo.exited, demo.stderr()).to.equal(2);
    expect(demo.stderr()).to.equal(`omgw demo --config ${nowhere}: no such folder\n`);
  });

  it('refuses a --config whose connectors point off this machine: the story would send them test orders (exit 2)', async () => {
    await withConfig(
      (config) => {
        const file = join(config, 'connectors', 'shipbob.yaml');
        writeFileSync(file, readFileSync(file, 'utf8').replace('url: ${server:url}/sandbox/shipbob', 'url: https://user:secret@api.shipbob.com/2026-01'));
      },
      async (config) => {
        const demo = runDemo(['--config', config]);
        expect(await demo.exited, demo.stderr()).to.equal(2);
        expect(demo.stderr()).to.match(/^omgw demo refuses \S+: its connectors point at systems off this machine, and the story would send them test orders:\n {2}shipbob url: https:\/\/api\.shipbob\.com\n/);
        expect(demo.stderr()).not.to.include('secret');
        expect(demo.stdout()).to.equal('');
      },
    );
  });

  it("runs on a port and database of its own whatever the --config's gateway.yaml says", async () => {
    // A fixed port already taken, and a database that is not the demo's to touch.
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as AddressInfo).port;
    try {
      await withConfig(
        (config, dir) => {
          const file = join(config, 'gateway.yaml');
          const text = readFileSync(file, 'utf8')
            .replace('host: ${env:OMGW_HOST:-127.0.0.1}', 'host: localhost')
            .replace('port: ${env:OMGW_PORT:-8080}', `port: ${port}`)
            .replace('url: sqlite:../data/omgw.db', `url: sqlite:${join(dir, 'someone-elses.db')}`);
          writeFileSync(file, text);
          // ShipBob in maintenance: the story stops at step 3, which is enough to know the gateway served.
          writeFileSync(join(config, 'connectors', 'shipbob.yaml'), `${readFileSync(join(config, 'connectors', 'shipbob.yaml'), 'utf8')}state: offline\n`);
        },
        async (config, dir) => {
          const demo = runDemo(['--config', config, '--step-timeout', '1s']);
          const code = await demo.exited;
          const out = demo.stdout();
          expect(code, `${out}\n${demo.stderr()}`).to.equal(1);
          expect(out).to.match(/^ 2\/11 Fusion polled/m);
          const own = /^demo overlay \S+\/config\/gateway\.yaml: server 127\.0\.0\.1:(\d+), database sqlite:\S+\/omgw\.db, schedules of poller and recovery off \(the story polls and replays by hand\)$/m.exec(out);
          expect(own, out).to.not.equal(null);
          expect(Number(own?.[1])).to.not.equal(port);
          expect(existsSync(join(dir, 'someone-elses.db'))).to.equal(false);
          expect(readFileSync(join(config, 'gateway.yaml'), 'utf8')).not.to.include('omgw demo overlay');
          rmSync(demoFolder(out), { recursive: true, force: true });
        },
      );
    } finally {
      taken.close();
    }
  });

  it('refuses a --step-timeout that is not a duration (exit 2)', async () => {
    const demo = runDemo(['--step-timeout', 'soon']);
    expect(await demo.exited).to.equal(2);
    expect(demo.stderr()).to.match(/--step-timeout soon is not a duration/);
  });
});
