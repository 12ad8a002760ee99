import { expect } from 'chai';
import type { Dispatcher } from 'undici';
import { buildSchemas } from '../../../src/config/schema.ts';
import { createDispatcher, httpRequest, NetworkError, TlsError } from '../../../src/connectors/http-client.ts';
import { CLIENT_KEY_PASSPHRASE, makeCertificates, startTlsTarget, type Certificates, type TlsTarget } from '../../helpers/tls-fixtures.ts';

/**
 * What a request through a connector's dispatcher fails with when TLS goes wrong: each cause told
 * apart and worded, on TLS 1.3 (where the server judges the client certificate after the client
 * has finished its side of the handshake) and TLS 1.2 (where it does so within the handshake).
 */
for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  describe(`TLS failures of a connector's requests (${version})`, function () {
    this.timeout(30_000);
    let certs: Certificates;
    let mtls: TlsTarget;
    let dropping: TlsTarget;
    let stranger: TlsTarget;
    const agents: Dispatcher[] = [];

    before(async () => {
      certs = makeCertificates();
      mtls = await startTlsTarget(certs, { requireClientCert: true, maxVersion: version });
      dropping = await startTlsTarget(certs, { requireClientCert: true, onRequest: 'destroy', maxVersion: version });
      stranger = await startTlsTarget(certs, { certificate: 'stranger', maxVersion: version });
    });
    after(async () => {
      await Promise.all(agents.map((a) => a.close()));
      await Promise.all([mtls, dropping, stranger].map((t) => t?.close()));
      certs.remove();
    });

    /** One POST through a fresh dispatcher of a connector with these tls settings (paths relative to the certificates). */
    const post = async (url: string, tls: Record<string, unknown>) => {
      const connector = buildSchemas({ env: { PASSPHRASE: CLIENT_KEY_PASSPHRASE, WRONG: 'not-the-passphrase' }, baseDir: certs.dir }).connector.parse({
        name: 'target',
        protocol: 'rest',
        url,
        tls,
      });
      const agent = createDispatcher(connector, { baseDir: certs.dir });
      agents.push(agent);
      return httpRequest(agent, { method: 'POST', url: new URL(`${url}/orders`), headers: {}, body: '{}' }, 10_000);
    };
    const failure = async (url: string, tls: Record<string, unknown>): Promise<Error> => {
      try {
        await post(url, tls);
      } catch (err) {
        return err as Error;
      }
      throw new Error('the request succeeded');
    };
    const client = { ca: 'ca.crt', cert: 'client.crt', key: 'client.key', passphrase: '${env:PASSPHRASE}' };

    it('goes through with the client certificate the server trusts', async () => {
      const res = await post(mtls.url, client);
      expect(res.status).to.equal(200);
    });

    it('says the server wants a client certificate when the connector sends none (a config error)', async () => {
      const err = await failure(mtls.url, { ca: 'ca.crt' });
      expect(err).to.be.instanceOf(TlsError);
      expect(err).to.include({ errorClass: 'config', problem: 'refused' });
      expect(err.message).to.include(`the server at ${new URL(mtls.url).host}`).and.include('TLS handshake');
      expect(err.message).to.include('client certificate, and the connector sends none (tls.cert, tls.key)');
    });

    it('says the server closed the handshake when it refuses a certificate from a CA it does not trust', async () => {
      const err = await failure(mtls.url, { ca: 'ca.crt', cert: 'rogue.crt', key: 'rogue.key' });
      expect(err).to.be.instanceOf(TlsError);
      expect(err).to.include({ errorClass: 'config', problem: 'refused' });
      expect(err.message).to.equal(`the server at ${new URL(mtls.url).host} closed the TLS handshake: it may have refused the client certificate`);
    });

    it('names a wrong key passphrase, and never the passphrase', async () => {
      const err = await failure(mtls.url, { ...client, passphrase: '${env:WRONG}' });
      expect(err).to.be.instanceOf(TlsError);
      expect(err).to.include({ errorClass: 'config', problem: 'client_key' });
      expect(err.message).to.include('the client key (tls.key) cannot be decrypted').and.include('tls.passphrase');
      expect(err.message).to.not.include('not-the-passphrase').and.not.include(CLIENT_KEY_PASSPHRASE);
    });

    it('names a key that does not belong to the certificate', async () => {
      const err = await failure(mtls.url, { ca: 'ca.crt', cert: 'client.crt', key: 'rogue.key' });
      expect(err).to.include({ errorClass: 'config', problem: 'client_key' });
      expect(err.message).to.include('does not belong to the client certificate');
    });

    it("names the reason a server's certificate is not trusted", async () => {
      const err = await failure(stranger.url, { ca: 'ca.crt' });
      expect(err).to.be.instanceOf(TlsError);
      expect(err).to.include({ errorClass: 'config', problem: 'untrusted' });
      expect(err.message).to.match(/^the certificate of the server at 127\.0\.0\.1:\d+ is not trusted: .*set tls\.ca.*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
      // And with the server's CA it goes through.
      expect((await post(stranger.url, { ca: 'other-ca.crt' })).status).to.equal(200);
    });

    it('keeps a connection dropped after an accepted handshake a network error', async () => {
      const err = await failure(dropping.url, client);
      expect(err).to.be.instanceOf(NetworkError);
      expect(err).to.include({ errorClass: 'network' });
      expect(err.message).to.include('other side closed');
    });

    it('keeps a refused TCP connection a network error', async () => {
      const closed = await startTlsTarget(certs);
      const url = closed.url;
      await closed.close();
      const err = await failure(url, client);
      expect(err).to.be.instanceOf(NetworkError);
      expect(err.message).to.include('ECONNREFUSED');
    });
  });
}
