import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Io } from '../../src/cli/output.ts';
import type { OperationResult } from '../../src/services/delivery-actions.ts';
import type { DeliverySummary } from '../../src/services/delivery-views.ts';
import { main } from '../../src/main.ts';
import { Store } from '../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { gatewayYaml, testEnv, writeConfig } from '../helpers/gateway.ts';
import { Seeder } from '../helpers/seed.ts';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe(`omgw deliveries, events, replay, discard, hold, release (${backendName()})`, () => {
  let database: TestDatabase;
  let configDir: string;
  let store: Store;
  let seed: Seeder;
  const ids: Record<string, string> = {};

  beforeEach(async () => {
    database = createTestDatabase();
    configDir = writeConfig();
    store = new Store({ url: database.url, ...(database.schema ? { schema: database.schema } : {}) });
    await store.migrate();
    // Seeded "now": the CLI reads the real clock for --since, so the rows are recent.
    seed = new Seeder(database.tables(), Date.now() - 3_600_000);
    ids.event = await seed.event({ withPush: true, orderKey: 'LEG:SO-1', eventCode: 'HOLD' });
    ids.parked = await seed.delivery({ connector: 'crm', state: 'parked', eventId: ids.event, orderKey: 'LEG:SO-1', lastError: 'HTTP 503 Service Unavailable' });
    ids.otmParked = await seed.delivery({ connector: 'otm', state: 'parked', eventId: ids.event, orderKey: 'LEG:SO-1', lastError: 'SOAP Client fault: Unknown release' });
    seed.tick(60_000);
    ids.pending = await seed.delivery({ connector: 'crm', state: 'pending', orderKey: 'LEG:SO-2', eventCode: 'SPLIT' });
    seed.tick(60_000);
    ids.delivered = await seed.delivery({ connector: 'crm', state: 'delivered', orderKey: 'LEG:SO-3', eventCode: 'JEOPARDY' });
    seed.tick(60_000);
    ids.flying = await seed.delivery({ connector: 'crm', state: 'in_flight', orderKey: 'LEG:SO-4', eventCode: 'HOLD' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(configDir, { recursive: true, force: true });
    await database.dispose();
  });

  async function run(args: string[], env: NodeJS.ProcessEnv = testEnv(database, { USER: 'olivia' })): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
    const code = await main([...args, '--config', configDir], io, env);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const state = async (id: string | undefined) => (id === undefined ? undefined : (await store.browse.delivery(id))?.state);
  /** The operators' audit records, oldest first (the store lists newest first). */
  const adminAudit = async () => (await store.browse.audit({ directions: ['admin'] }, { limit: 100 })).rows.reverse();
  const connectorState = async (name: string) => (await store.connectorStates.all()).find((c) => c.connector === name);
  const json = <T>(r: Run): T => JSON.parse(r.out) as T;

  it('lists the commands in the usage text', async () => {
    const r = await run(['--help']);
    for (const text of ['deliveries list', 'deliveries show ID', 'events show ID', 'replay | discard | hold | release', 'connector test NAME', '--dry-run', '--order-key']) {
      expect(r.out).to.include(text);
    }
  });

  describe('deliveries list and show', () => {
    it('prints a table, newest first, and filters by every option', async () => {
      const all = await run(['deliveries', 'list']);
      expect(all.code, all.err).to.equal(0);
      const lines = all.out.split('\n');
      expect(lines[0]).to.match(/^DELIVERY\s+CREATED\s+CONNECTOR\s+STATE\s+EVENT CODE\s+ORDER KEY\s+ATTEMPTS\s+LAST ERROR\s+OPERATOR REASON$/);
      expect(lines.slice(1, -2).map((l) => l.split(/\s+/)[0])).to.deep.equal([ids.flying, ids.delivered, ids.pending, ids.otmParked, ids.parked]);
      expect(lines.slice(-2)).to.deep.equal(['', `database ${store.describe}`]);
      expect(all.out).to.include('HTTP 503 Service Unavailable');
      expect(lines.find((l) => l.startsWith(ids.parked as string))).to.include('parked (attempts_exhausted)');

      const ids_ = async (args: string[]) => json<{ items: DeliverySummary[] }>(await run(['deliveries', 'list', '--json', ...args])).items.map((d) => d.id);
      expect(await ids_(['--connector', 'otm'])).to.deep.equal([ids.otmParked]);
      expect(await ids_(['--state', 'parked,pending'])).to.deep.equal([ids.pending, ids.otmParked, ids.parked]);
      expect(await ids_(['--state', 'parked', '--state', 'delivered'])).to.deep.equal([ids.delivered, ids.otmParked, ids.parked]);
      expect(await ids_(['--event-code', 'SPLIT'])).to.deep.equal([ids.pending]);
      expect(await ids_(['--order-key', 'LEG:SO-1'])).to.deep.equal([ids.otmParked, ids.parked]);
      expect(await ids_(['--error', 'unknown release'])).to.deep.equal([ids.otmParked]);
      expect(await ids_(['--event', ids.event as string])).to.deep.equal([ids.otmParked, ids.parked]);
      expect(await ids_(['--id', `${ids.parked},${ids.pending}`])).to.deep.equal([ids.pending, ids.parked]);
      // --since as a duration back from the CLI's clock (the real one): counted from now, to a cut-off
      // half way between the parked deliveries and the pending one, however long the commands above took.
      const since = `${Math.round((Date.now() - (seed.now - 150_000)) / 1000)}s`;
      expect(await ids_(['--since', since])).to.deep.equal([ids.flying, ids.delivered, ids.pending]);
      expect(await ids_(['--until', new Date(seed.now - 60_000).toISOString()])).to.deep.equal([ids.pending, ids.otmParked, ids.parked]);
      expect(await ids_(['--connector', "crm' OR '1'='1"])).to.deep.equal([]);
    });

    it('pages with --limit and --cursor', async () => {
      const first = await run(['deliveries', 'list', '--limit', '2']);
      const cursor = /more: add --cursor (\w+)/.exec(first.out)?.[1];
      expect(cursor).to.equal(ids.delivered);
      const second = json<{ items: DeliverySummary[]; nextCursor: string | null }>(await run(['deliveries', 'list', '--limit', '2', '--cursor', cursor as string, '--json']));
      expect(second.items.map((d) => d.id)).to.deep.equal([ids.pending, ids.otmParked]);
      const third = json<{ items: DeliverySummary[]; nextCursor: string | null }>(await run(['deliveries', 'list', '--limit', '2', '--cursor', second.nextCursor as string, '--json']));
      expect(third.items.map((d) => d.id)).to.deep.equal([ids.parked]);
      expect(third.nextCursor).to.equal(null);
    });

    it('exits 2 for a bad option value', async () => {
      for (const args of [
        ['--state', 'lost'],
        ['--since', 'yesterday'],
        ['--until', '2026-13-01'],
        ['--limit', '0'],
        ['--limit', 'many'],
        ['--id', 'nope'],
        ['--cursor', "'; drop table deliveries; --"],
      ]) {
        const r = await run(['deliveries', 'list', ...args]);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.err).to.have.length.greaterThan(5);
      }
      expect((await run(['deliveries'])).code).to.equal(2);
      expect((await run(['deliveries', 'list', 'extra'])).code).to.equal(2);
    });

    it('shows one delivery with its attempts and audit records; exits 1 when there is none', async () => {
      const r = await run(['deliveries', 'show', ids.parked as string]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^delivery\s+\S+/);
      expect(r.out).to.match(/state\s+parked \(attempts_exhausted\)/);
      expect(r.out).to.match(/last error\s+HTTP 503 Service Unavailable/);
      expect(r.out).to.match(/\n#\s+STARTED\s+DELIVERY\s+OUTCOME/);
      // Each attempt's response snippet as stored, not only with --json.
      expect(r.out).to.include(`attempt 1 of ${ids.parked}: response HTTP 503\n  down`);
      expect(r.out).to.include(`attempt 2 of ${ids.parked}: response HTTP 503\n  down`);
      const detail = json<{ delivery: DeliverySummary; attempts: unknown[] }>(await run(['deliveries', 'show', ids.parked as string, '--json']));
      expect(detail.delivery.id).to.equal(ids.parked);
      expect(detail.attempts).to.have.length(2);
      const none = await run(['deliveries', 'show', '01JAAAAAAAAAAAAAAAAAAAAAAA']);
      expect(none.code).to.equal(1);
      expect(none.err).to.include('no delivery');
      expect((await run(['deliveries', 'show'])).code).to.equal(2);
    });

    it('lists deliveries awaiting a response and shows their correlation id and deadline', async () => {
      const due = seed.now + 3_600_000;
      const awaiting = await seed.delivery({ connector: 'crm', state: 'awaiting_response', orderKey: 'LEG:SO-5', attempts: 1, correlationId: 'c-77', responseDueAt: due });
      const list = await run(['deliveries', 'list', '--state', 'awaiting_response']);
      expect(list.code, list.err).to.equal(0);
      expect(list.out).to.include(awaiting);
      expect(list.out).to.not.include(ids.pending as string);
      const r = await run(['deliveries', 'show', awaiting]);
      expect(r.out).to.match(/state\s+awaiting_response/);
      expect(r.out).to.match(/correlation id\s+c-77/);
      expect(r.out).to.match(new RegExp(`response due\\s+${new Date(due).toISOString()}`));
      // A sync delivery has none of these lines.
      expect((await run(['deliveries', 'show', ids.parked as string])).out).to.not.include('correlation id');
    });
  });

  describe('reasons', () => {
    it('shows a hold reason as a hold reason and the operators\' --reason texts, in list and show', async () => {
      const hold = await run(['hold', '--id', ids.pending as string, '--reason', 'waiting for OM']);
      expect(hold.code, hold.err).to.equal(0);
      const list = await run(['deliveries', 'list', '--state', 'on_hold']);
      const [header, row] = list.out.split('\n');
      const at = (name: string): number => header?.indexOf(name) ?? -1;
      expect(row?.slice(at('STATE'), at('EVENT CODE')).trim()).to.equal('on_hold (hold: admin)');
      expect(row?.slice(at('LAST ERROR'), at('OPERATOR REASON')).trim()).to.equal('-');
      expect(row?.slice(at('OPERATOR REASON')).trim()).to.equal('waiting for OM');

      const shown = await run(['deliveries', 'show', ids.pending as string]);
      expect(shown.out).to.match(/\nstate\s+on_hold \(hold: admin\)\n/);
      expect(shown.out).to.match(/\nhold reason\s+admin \(held by an operator until released\)\n/);
      expect(shown.out).to.match(/\nlast error\s+-\n/);
      expect(shown.out).to.match(/\noperator reason\s+waiting for OM\n/);

      // A replay clears the delivery's reasons; its --reason stays in the audit trail show prints.
      expect((await run(['replay', '--id', ids.pending as string, '--reason', 'OM fixed the order'])).code).to.equal(0);
      const after = await run(['deliveries', 'show', ids.pending as string]);
      expect(after.out).to.match(/\noperator reason\s+-\n/);
      expect(after.out).to.match(/\nAT\s+ACTION\s+RESULT\s+ACTOR\s+REASON\n/);
      expect(after.out).to.match(/delivery\.held\s+on_hold\s+cli:olivia\s+waiting for OM/);
      expect(after.out).to.match(/delivery\.replayed\s+pending\s+cli:olivia\s+OM fixed the order/);
    });

    it('audits as the account the command runs as when USER is unset, never cli:unknown (a real process, as cron starts it)', async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(database) };
      delete env.USER;
      delete env.LOGNAME;
      // bin/omgw.js runs dist/ (npx tsc -p tsconfig.build.json), as an installed gateway does.
      const cli = fileURLToPath(new URL('../../bin/omgw.js', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, [cli, 'hold', '--id', ids.pending as string, '--reason', 'from cron', '--config', configDir], { env });
      expect(stdout).to.include('held 1 of 1');
      const [audit] = await adminAudit();
      expect(audit?.actor).to.equal(`cli:${userInfo().username}`);
      const shown = await promisify(execFile)(process.execPath, [cli, 'deliveries', 'show', ids.pending as string, '--config', configDir], { env });
      expect(shown.stdout).to.match(new RegExp(`delivery\\.held\\s+on_hold\\s+cli:${userInfo().username}\\s+from cron`));
    });
  });

  describe('events show', () => {
    it('shows the event, its deliveries and attempts, the parsed form and the raw push', async () => {
      const r = await run(['events', 'show', ids.event as string]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/event code\s+HOLD/);
      expect(r.out).to.include(ids.parked).and.include(ids.otmParked);
      expect(r.out).to.include('parsed event:').and.include('"SourceOrderNumber": "SO-1"');
      expect(r.out).to.include('raw push (passwords redacted):').and.include('<Password>***</Password>');
      const detail = json<{ deliveries: unknown[]; push: { raw: string } }>(await run(['events', 'show', ids.event as string, '--json']));
      expect(detail.deliveries).to.have.length(2);
      expect((await run(['events', 'show', '01JAAAAAAAAAAAAAAAAAAAAAAA'])).code).to.equal(1);
      expect((await run(['events', 'list'])).code).to.equal(2);
    });
  });

  describe('replay, discard, hold, release', () => {
    it('replay --dry-run counts and samples without changing anything; then replays, audited as cli:<user>', async () => {
      const dry = await run(['replay', '--state', 'parked', '--dry-run']);
      expect(dry.code, dry.err).to.equal(0);
      expect(dry.out).to.include('dry run: replay would change 2 of 2 matching deliveries');
      expect(dry.out).to.include(ids.parked).and.include('run again without --dry-run');
      expect(await state(ids.parked)).to.equal('parked');
      // Each sampled delivery as it is now, with why, and what it would become.
      const lines = dry.out.split('\n');
      const header = lines.find((l) => l.startsWith('DELIVERY')) ?? '';
      expect(header).to.match(/^DELIVERY\s+CONNECTOR\s+EVENT CODE\s+ORDER KEY\s+ATTEMPTS\s+NOW\s+LAST ERROR\s+OPERATOR REASON\s+WOULD BE$/);
      const row = lines.find((l) => l.startsWith(ids.otmParked as string)) ?? '';
      const at = (name: string): number => header.indexOf(name);
      expect(row.slice(at('NOW'), at('LAST ERROR')).trim()).to.equal('parked (attempts_exhausted)');
      expect(row.slice(at('LAST ERROR'), at('OPERATOR REASON')).trim()).to.equal('SOAP Client fault: Unknown release');
      expect(row.slice(at('WOULD BE')).trim()).to.equal('pending');
      const sample = json<OperationResult>(await run(['replay', '--state', 'parked', '--dry-run', '--json'])).sample;
      expect(sample.map((d) => [d.id, d.state, d.lastError, d.before.state, d.before.parkedReason, d.before.lastError])).to.deep.equal([
        [ids.parked, 'pending', null, 'parked', 'attempts_exhausted', 'HTTP 503 Service Unavailable'],
        [ids.otmParked, 'pending', null, 'parked', 'attempts_exhausted', 'SOAP Client fault: Unknown release'],
      ]);

      const real = await run(['replay', '--state', 'parked', '--connector', 'crm', '--reason', 'target fixed']);
      expect(real.code, real.err).to.equal(0);
      expect(real.out).to.include('replayed 1 of 1 matching deliveries');
      expect(real.out).to.match(/\nDELIVERY\s+CONNECTOR\s+EVENT CODE\s+ORDER KEY\s+ATTEMPTS\s+WAS\s+LAST ERROR\s+OPERATOR REASON\s+NOW\n/);
      expect(real.out).to.match(/parked \(attempts_exhausted\)\s+HTTP 503 Service Unavailable\s+-\s+pending/);
      expect(await state(ids.parked)).to.equal('pending');
      expect(await state(ids.otmParked)).to.equal('parked');
      const [audit] = await store.audit.list({ action: 'delivery.replayed' });
      expect(audit?.actor).to.equal('cli:olivia');
      expect(JSON.parse(audit?.detail ?? '{}')).to.include({ reason: 'target fixed', from: 'parked' });
    });

    it('replays by --id (delivered ones too) and by --event (all connectors), and explains what it left alone', async () => {
      const byFilter = await run(['replay', '--connector', 'crm']);
      expect(byFilter.out).to.include('replayed 1 of 4 matching deliveries (left alone:');
      expect(byFilter.out).to.include('1 delivered').and.include('1 in_flight').and.include('1 pending');
      expect(byFilter.out).to.include('delivered deliveries are replayed only when chosen with --id or --event');
      expect(byFilter.out).to.include('deliveries in flight are never touched');
      expect(await state(ids.delivered)).to.equal('delivered');

      const byId = json<OperationResult>(await run(['replay', '--id', ids.delivered as string, '--id', ids.flying as string, '--json']));
      expect(byId).to.include({ matched: 2, changed: 1 });
      expect(byId.skipped).to.deep.equal({ in_flight: 1 });
      expect(await state(ids.delivered)).to.equal('pending');

      const byEvent = json<OperationResult>(await run(['replay', '--event', ids.event as string, '--json']));
      expect(byEvent).to.include({ matched: 2, changed: 1 }); // crm's was replayed above; otm's now
      expect(await state(ids.otmParked)).to.equal('pending');
    });

    it('--limit caps how many change, oldest first', async () => {
      const r = json<OperationResult>(await run(['replay', '--state', 'parked', '--limit', '1', '--json']));
      expect(r).to.include({ eligible: 2, changed: 1 });
      expect(await state(ids.parked)).to.equal('pending');
      expect(await state(ids.otmParked)).to.equal('parked');
    });

    it('discard needs --reason; hold and release work on a selection', async () => {
      const noReason = await run(['discard', '--id', ids.otmParked as string]);
      expect(noReason.code).to.equal(2);
      expect(noReason.err).to.include('--reason');
      const discard = await run(['discard', '--id', ids.otmParked as string, '--reason', 'order cancelled']);
      expect(discard.code, discard.err).to.equal(0);
      expect(discard.out).to.include('discarded 1 of 1');
      expect(await state(ids.otmParked)).to.equal('discarded');

      const hold = await run(['hold', '--order-key', 'LEG:SO-2', '--reason', 'waiting for OM']);
      expect(hold.out).to.include('held 1 of 1');
      expect(await state(ids.pending)).to.equal('on_hold');
      const release = await run(['release', '--order-key', 'LEG:SO-2', '--dry-run', '--json']);
      expect(json<OperationResult>(release)).to.include({ dryRun: true, changed: 1 });
      expect(await state(ids.pending)).to.equal('on_hold');
      expect((await run(['release', '--connector', 'crm'])).out).to.include('released 1 of');
      expect(await state(ids.pending)).to.equal('pending');
    });

    it('exits 2 without a selection or with a bad selector, and changes nothing', async () => {
      for (const args of [['replay'], ['hold', '--dry-run'], ['release', '--reason', 'x'], ['replay', '--id', 'nope'], ['replay', '--event', '123'], ['discard', '--state', 'gone', '--reason', 'x']]) {
        const r = await run(args);
        expect(r.code, args.join(' ')).to.equal(2);
      }
      expect(await adminAudit()).to.have.length(0);
      expect((await run(['replay', 'extra', '--id', ids.parked as string])).code).to.equal(2);
    });
  });

  describe('connector online and offline', () => {
    it('goes through the same service as the admin API: the state is stored with one audit record each, as cli:<user>', async () => {
      const off = await run(['connector', 'offline', 'crm']);
      expect(off.code, off.err).to.equal(0);
      expect(off.out).to.match(/^database \S+\nconnector crm is offline: due deliveries go on hold$/);
      expect(await connectorState('crm')).to.include({ adminState: 'offline', updatedBy: 'cli:olivia' });
      const on = await run(['connector', 'online', 'crm', '--json']);
      expect(on.code, on.err).to.equal(0);
      expect(json(on)).to.deep.equal({ database: json<{ database: string }>(await run(['status', '--json'])).database, connector: 'crm', state: 'online' });
      expect(await connectorState('crm')).to.include({ adminState: 'online' });
      const audit = await adminAudit();
      expect(audit.map((a) => [a.action, a.connector, a.result, a.actor])).to.deep.equal([
        ['connector.offline', 'crm', 'ok', 'cli:olivia'],
        ['connector.online', 'crm', 'ok', 'cli:olivia'],
      ]);
    });

    it('exits 1 for a connector that is not configured, naming the ones that are, and exits 2 without a name', async () => {
      const r = await run(['connector', 'offline', 'nope']);
      expect(r.code).to.equal(1);
      expect(r.err).to.match(/^no connector named "nope" \(connectors: .*crm/);
      expect((await run(['connector', 'online'])).code).to.equal(2);
      expect(await adminAudit()).to.have.length(0);
    });
  });

  describe('the database each command used', () => {
    it('is named by every command that opens the store, as status names it: the first line, or `database` in --json', async function () {
      this.timeout(90_000); // a command takes a second or two here (it opens the store and migrates)
      const status = json<{ database: string }>(await run(['status', '--json'])).database;
      expect(status).to.match(/^(sqlite|postgres):/);
      // Each command once, as text or as JSON (connector online|offline: in their own test above).
      const text = [['recover'], ['poll'], ['connector', 'test', '--all'], ['replay', '--id', ids.parked as string, '--dry-run']];
      const asJson = [['recover', '--now', '--connector', 'crm', '--limit', '1'], ['poll'], ['connector', 'test', 'crm'], ['hold', '--id', ids.pending as string]];
      for (const args of text) {
        const r = await run(args);
        expect(r.out.split('\n')[0], `${args.join(' ')}: ${r.err}`).to.equal(`database ${status}`);
      }
      for (const args of asJson) {
        const r = await run([...args, '--json']);
        expect(json<{ database?: string }>(r).database, `${args.join(' ')}: ${r.err}`).to.equal(status);
      }
    });
  });

  describe('exit codes', () => {
    it('exits 3 when the config is invalid and 4 when the database is unavailable', async () => {
      const broken = writeConfig({ gateway: `${gatewayYaml()}bogus: true\n` });
      try {
        const out: string[] = [];
        const io: Io = { out: (t) => void out.push(t), err: (t) => void out.push(t) };
        expect(await main(['deliveries', 'list', '--config', broken], io, testEnv(database))).to.equal(3);
        expect(await main(['replay', '--connector', 'crm', '--config', broken], io, testEnv(database))).to.equal(3);
      } finally {
        rmSync(broken, { recursive: true, force: true });
      }
      const unreachable = { ...testEnv(database), TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };
      for (const args of [['deliveries', 'list'], ['events', 'show', ids.event as string], ['replay', '--connector', 'crm']]) {
        const r = await run(args, unreachable);
        expect(r.code, args.join(' ')).to.equal(4);
        expect(r.err).to.match(/^database unavailable/);
      }
    });
  });
});
