import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

/**
 * Certificates for TLS tests, made with openssl in a temp folder (EC P-256, valid two days):
 *
 * - ca.crt: the test CA; server.crt/.key (localhost, 127.0.0.1) and client.crt/.key are signed by it,
 *   client.key encrypted with CLIENT_KEY_PASSPHRASE;
 * - other-ca.crt: a CA nobody trusts; rogue.crt/.key (a client certificate) and
 *   stranger.crt/.key (a server certificate for 127.0.0.1) are signed by it;
 * - garbage.pem: not PEM at all.
 */
export const CLIENT_KEY_PASSPHRASE = 'client-key-passphrase-8Jq2';

export interface Certificates {
  dir: string;
  path(name: string): string;
  read(name: string): Buffer;
  remove(): void;
}

export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-tls-'));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const ca = (name: string, cn: string): void => openssl('req', '-x509', ...ec, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`);
  const signed = (name: string, by: string, ext: string, keyArgs: string[]): void => {
    openssl('req', ...ec, ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.crt`, '-CAkey', `${by}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext);
  };
  ca('ca', 'omgw test CA');
  ca('other-ca', 'nobody trusts this CA');
  signed('server', 'ca', 'server.ext', ['-nodes']);
  signed('client', 'ca', 'client.ext', ['-passout', `pass:${CLIENT_KEY_PASSPHRASE}`]);
  signed('rogue', 'other-ca', 'client.ext', ['-nodes']);
  signed('stranger', 'other-ca', 'server.ext', ['-nodes']);
  writeFileSync(join(dir, 'garbage.pem'), 'this is not a certificate\n');
  return {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsTarget {
  url: string;
  /** Requests answered (the TLS handshake and the client certificate were accepted). */
  answered: number;
  close(): Promise<void>;
}

/**
 * A real HTTPS server on 127.0.0.1:0 answering 200 `{}` to every request. `requireClientCert` asks
 * for a client certificate signed by the test CA and refuses the handshake without one;
 * `certificate` picks its own ('server': trusted through ca.crt, 'stranger': from the other CA);
 * `onRequest: 'destroy'` drops each connection once its request has arrived (after the handshake).
 */
export async function startTlsTarget(
  certs: Certificates,
  options: { requireClientCert?: boolean; certificate?: 'server' | 'stranger'; onRequest?: 'answer' | 'destroy'; maxVersion?: ServerOptions['maxVersion'] } = {},
): Promise<TlsTarget> {
  const name = options.certificate ?? 'server';
  const state = { answered: 0 };
  const server = createServer(
    {
      key: certs.read(`${name}.key`),
      cert: certs.read(`${name}.crt`),
      ca: certs.read('ca.crt'),
      requestCert: options.requireClientCert ?? false,
      rejectUnauthorized: options.requireClientCert ?? false,
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        if (options.onRequest === 'destroy') {
          (req.socket as TLSSocket).destroy();
          return;
        }
        state.answered++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    },
  );
  // A refused handshake is the point of most of these tests, not a failure of the server.
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get answered() {
      return state.answered;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
