import { expect } from 'chai';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Gateway } from '../../src/app.ts';
import type { Io } from '../../src/cli/output.ts';
import type { ProbeReport } from '../../src/connectors/probe.ts';
import type { AttemptReport, DeliveryWorker } from '../../src/delivery/worker.ts';
import type { Delivery } from '../../src/domain/delivery.ts';
import { main } from '../../src/main.ts';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../helpers/backend.ts';
import { fixtureTrees } from '../helpers/file-tree.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { CLIENT_KEY_PASSPHRASE, makeCertificates, startTlsTarget, type Certificates, type TlsTarget } from '../helpers/tls-fixtures.ts';

/**
 * Connectors with client certificates (mTLS) against real HTTPS servers: the certificate files are
 * found relative to the config folder, checked when the config loads, and a handshake that fails on
 * a certificate parks its delivery as a configuration error in words, while a connection dropped
 * after the handshake is retried.
 */
describe(`mTLS connectors (${backendName()})`, function () {
  this.timeout(60_000);
  let certs: Certificates;
  let mtls: TlsTarget;
  let dropping: TlsTarget;
  let stranger: TlsTarget;
  /** A certificate file as a connector names it: relative to the config folder (a sibling temp folder). */
  let rel: (name: string) => string;

  before(async () => {
    certs = makeCertificates();
    rel = (name) => `../${basename(certs.dir)}/${name}`;
    mtls = await startTlsTarget(certs, { requireClientCert: true });
    dropping = await startTlsTarget(certs, { requireClientCert: true, onRequest: 'destroy' });
    stranger = await startTlsTarget(certs, { certificate: 'stranger' });
  });
  after(async () => {
    await Promise.all([mtls, dropping, stranger].map((t) => t?.close()));
    certs?.remove();
  });

  const tlsBlock = (lines: Record<string, string>): string =>
    `tls:\n${Object.entries(lines)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}\n`;
  const connector = (url: string, tls: Record<string, string>): string => `protocol: rest\nurl: ${url}\npath: /orders\n${tlsBlock(tls)}`;
  const clientTls = () => ({ ca: rel('ca.crt'), cert: rel('client.crt'), key: rel('client.key'), passphrase: '${env:CLIENT_KEY_PASSPHRASE}' });
  const env = { CLIENT_KEY_PASSPHRASE };
  const allTo = (names: string[]): string => `triggerPoints:\n  - name: all\n    eventCodes: ['*']\n    connectors: [${names.join(', ')}]\n`;

  describe('delivery', () => {
    let gw: TestGateway | undefined;
    afterEach(async () => {
      await gw?.stop();
      gw = undefined;
    });

    const start = async (connectors: Record<string, string>): Promise<TestGateway> =>
      startGateway(
        {
          gateway: gatewayYaml('', { delivery: '  enabled: true\n  pollInterval: 1s' }),
          connectors: Object.fromEntries(Object.entries(connectors).map(([name, text]) => [`${name}.yaml`, text])),
          triggerPoints: allTo(Object.keys(connectors)),
        },
        { clock: new ManualClock(), random: () => 0.5, env },
      );

    /** Pushes one OM event and resolves when every connector has made `n` attempts. */
    const pushAndWait = async (g: TestGateway, n: number): Promise<void> => {
      const worker = g.gateway.worker as DeliveryWorker;
      const done = new Promise<void>((resolve) => {
        let seen = 0;
        const on = (_a: AttemptReport): void => {
          if (++seen < n) return;
          worker.off('attempt', on);
          resolve();
        };
        worker.on('attempt', on);
      });
      const body = buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: 'SO-TLS' } }], { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } });
      const res = await postSoap(`${g.url}/soap/business-events`, body);
      expect(res.status, res.body).to.equal(202);
      await done;
    };

    const deliveryTo = async (g: TestGateway, name: string): Promise<Delivery> => {
      const [d] = (await g.gateway.store.browse.deliveries({ connectors: [name] }, { limit: 1 })).rows;
      if (!d) throw new Error(`no delivery to ${name}`);
      return d;
    };

    it('delivers with a client certificate whose files are relative to the config folder, not the working directory', async () => {
      expect(process.cwd()).to.not.equal(tmpdir());
      const before = mtls.answered;
      gw = await start({ good: connector(mtls.url, clientTls()) });
      await pushAndWait(gw, 1);
      expect((await deliveryTo(gw, 'good')).state).to.equal('delivered');
      expect(mtls.answered).to.equal(before + 1);
    });

    it('parks a delivery whose handshake fails on a certificate, with the reason in words; retries a connection dropped after the handshake', async () => {
      gw = await start({
        nocert: connector(mtls.url, { ca: rel('ca.crt') }),
        rogue: connector(mtls.url, { ca: rel('ca.crt'), cert: rel('rogue.crt'), key: rel('rogue.key') }),
        untrusted: connector(stranger.url, { ca: rel('ca.crt') }),
        dropped: connector(dropping.url, clientTls()),
      });
      await pushAndWait(gw, 4);
      const host = (url: string): string => new URL(url).host;

      const nocert = await deliveryTo(gw, 'nocert');
      expect(nocert).to.include({ state: 'parked', parkedReason: 'config_error' });
      expect(nocert.lastError).to.include(`the server at ${host(mtls.url)} refused the TLS handshake`);
      expect(nocert.lastError).to.include('it requires a client certificate, and the connector sends none (tls.cert, tls.key)');

      const rogue = await deliveryTo(gw, 'rogue');
      expect(rogue).to.include({ state: 'parked', parkedReason: 'config_error' });
      expect(rogue.lastError).to.include(`the server at ${host(mtls.url)} closed the TLS handshake: it may have refused the client certificate`);

      const untrusted = await deliveryTo(gw, 'untrusted');
      expect(untrusted).to.include({ state: 'parked', parkedReason: 'config_error' });
      expect(untrusted.lastError).to.include(`the certificate of the server at ${host(stranger.url)} is not trusted`).and.include('UNABLE_TO_VERIFY_LEAF_SIGNATURE');

      const dropped = await deliveryTo(gw, 'dropped');
      expect(dropped.state).to.equal('retrying');
      expect(dropped.parkedReason).to.equal(null);
      expect(dropped.lastError).to.include('other side closed');

      const attempts = await gw.gateway.store.browse.attemptsOf([nocert.id, rogue.id, untrusted.id, dropped.id]);
      const classOf = (d: Delivery) => attempts.find((a) => a.deliveryId === d.id)?.errorClass;
      expect([nocert, rogue, untrusted, dropped].map(classOf)).to.deep.equal(['config', 'config', 'config', 'network']);
    });
  });

  describe('config checks and connector test', () => {
    let database: TestDatabase;
    const fixture = fixtureTrees(() => mkdtempSync(join(tmpdir(), 'omgw-tls-config-')));

    before(() => {
      database = createTestDatabase();
    });
    after(async () => {
      await database.dispose();
    });

    async function cli(args: string[], configDir: string): Promise<{ code: number; out: string; err: string }> {
      const out: string[] = [];
      const err: string[] = [];
      const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
      const code = await main([...args, '--config', configDir], io, testEnv(database, { ...env, WRONG_PASSPHRASE: 'wrong-passphrase-Zx9' }));
      return { code, out: out.join('\n'), err: err.join('\n') };
    }

    const configWith = (connectors: Record<string, string>): string =>
      fixture({
        'gateway.yaml': gatewayYaml(),
        ...Object.fromEntries(Object.entries(connectors).map(([name, text]) => [`connectors/${name}.yaml`, text])),
        'trigger-points.yaml': 'triggerPoints: []\n',
      });

    it('check-config and start refuse TLS files that cannot work, naming the connector file, the setting and the file', async () => {
      const dir = configWith({
        missing: connector(mtls.url, { cert: certs.path('client.crt'), key: 'certs/nowhere.key', passphrase: '${env:CLIENT_KEY_PASSPHRASE}' }),
        folder: connector(mtls.url, { cert: certs.path('client.crt'), key: 'certs', passphrase: '${env:CLIENT_KEY_PASSPHRASE}' }),
        garbage: connector(mtls.url, { ca: certs.path('garbage.pem') }),
        wrongpass: connector(mtls.url, { cert: certs.path('client.crt'), key: certs.path('client.key'), passphrase: '${env:WRONG_PASSPHRASE}' }),
        nopass: connector(mtls.url, { cert: certs.path('client.crt'), key: certs.path('client.key') }),
        mismatch: connector(mtls.url, { cert: certs.path('client.crt'), key: certs.path('rogue.key') }),
        halfpair: connector(mtls.url, { cert: certs.path('rogue.crt') }),
        notakey: connector(mtls.url, { cert: certs.path('rogue.crt'), key: certs.path('rogue.crt') }),
      });
      mkdirSync(join(dir, 'certs'));
      const res = await cli(['check-config'], dir);
      expect(res.code, res.out + res.err).to.equal(3);
      const lines = res.err.split('\n');
      const line = (file: string, key: string): string => lines.find((l) => l.trim().startsWith(`connectors/${file}.yaml ${key}:`)) ?? `(no line for ${file} ${key})`;
      expect(line('missing', 'tls.key')).to.include(`certs/nowhere.key (${join(dir, 'certs/nowhere.key')}) cannot be read (ENOENT)`);
      expect(line('folder', 'tls.key')).to.include(`certs (${join(dir, 'certs')}) cannot be read (EISDIR)`);
      expect(line('garbage', 'tls.ca')).to.include(`${certs.path('garbage.pem')} is not a PEM certificate`);
      expect(line('wrongpass', 'tls.key')).to.include(`${certs.path('client.key')} cannot be decrypted with tls.passphrase`);
      expect(line('nopass', 'tls.key')).to.include('is encrypted: set tls.passphrase');
      expect(line('mismatch', 'tls.key')).to.include(`${certs.path('rogue.key')} is not the private key of the certificate in tls.cert`);
      expect(line('halfpair', 'tls.key')).to.include('is required with tls.cert');
      expect(line('notakey', 'tls.key')).to.include('is not a PEM private key');
      expect(res.out + res.err).to.not.include('wrong-passphrase-Zx9').and.not.include(CLIENT_KEY_PASSPHRASE);

      // `start` loads the config the same way, and refuses it before it opens anything.
      let refused: unknown = null;
      await Gateway.create({ configDir: dir, env: testEnv(database, env), port: 0 }).catch((err: unknown) => {
        refused = err;
      });
      expect(refused).to.have.property('code', 'CONFIG_INVALID');
      expect(String((refused as Error).message)).to.include('connectors/missing.yaml tls.key').and.include('ENOENT');
    });

    it('check-config accepts a client certificate relative to the config folder from another working directory', async () => {
      const dir = configWith({ good: connector(mtls.url, clientTls()) });
      expect(process.cwd()).to.not.equal(tmpdir());
      const res = await cli(['check-config'], dir);
      expect(res.code, res.err).to.equal(0);
    });

    it('connector test reports a refused or missing client certificate as the credentials check failing, in the words a delivery parks with', async () => {
      const dir = configWith({
        good: connector(mtls.url, clientTls()),
        nocert: connector(mtls.url, { ca: rel('ca.crt') }),
        rogue: connector(mtls.url, { ca: rel('ca.crt'), cert: rel('rogue.crt'), key: rel('rogue.key') }),
        untrusted: connector(stranger.url, { ca: rel('ca.crt') }),
      });
      expect((await cli(['migrate'], dir)).code).to.equal(0);
      const report = async (name: string): Promise<{ code: number; report: ProbeReport }> => {
        const res = await cli(['connector', 'test', name, '--json'], dir);
        return { code: res.code, report: JSON.parse(res.out) as ProbeReport };
      };
      const host = new URL(mtls.url).host;

      const good = await report('good');
      expect(good.code).to.equal(0);
      expect(good.report.steps.map((s) => [s.name, s.ok])).to.deep.equal([['credentials', true], ['probe', true]]);
      expect(good.report.steps[0]?.detail).to.include('TLS client certificate');

      const nocert = await report('nocert');
      expect(nocert.code).to.equal(1);
      expect(nocert.report.steps.map((s) => [s.name, s.ok])).to.deep.equal([['credentials', false]]);
      expect(nocert.report.steps[0]?.detail).to.match(new RegExp(`^the server at ${host} refused the TLS handshake \\(alert "certificate required"\\): it requires a client certificate`));

      const rogue = await report('rogue');
      expect(rogue.code).to.equal(1);
      expect(rogue.report.steps.map((s) => [s.name, s.ok])).to.deep.equal([['credentials', false]]);
      expect(rogue.report.steps[0]?.detail).to.equal(`the server at ${host} closed the TLS handshake: it may have refused the client certificate`);

      const untrusted = await report('untrusted');
      expect(untrusted.report.steps.map((s) => [s.name, s.ok])).to.deep.equal([['credentials', false]]);
      expect(untrusted.report.steps[0]?.detail).to.include('is not trusted').and.include('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });
  });
});
