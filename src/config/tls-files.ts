import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { ConnectorConfig } from './schema.ts';

/** A problem with one setting of the connector's `tls` block: `key` is its path, e.g. `tls.key`. */
export interface TlsFileProblem {
  key: string;
  reason: string;
}

/**
 * A connector's TLS files (`tls.ca`, `tls.cert`, `tls.key`), checked when the config is loaded so
 * that `check-config`, `start` and a reload all refuse a file that cannot work, instead of the
 * first delivery failing on it: each file must be readable, the CA and the certificate must be PEM
 * certificates, the key a PEM private key that the passphrase (when there is one) decrypts, and
 * the key must belong to the certificate.
 *
 * Relative paths are relative to the config folder, like `${file:...}` references; the paths are
 * made absolute here, so every connection made from this config (deliveries, token endpoints,
 * `omgw connector test`) reads the same files whatever the working directory.
 *
 * A problem names the setting and the file (the loader adds the connector's file); never the
 * passphrase.
 */
export async function checkTlsFiles(connector: ConnectorConfig, dir: string): Promise<TlsFileProblem[]> {
  const tls = connector.tls;
  if (!tls) return [];
  const problems: TlsFileProblem[] = [];
  const problem = (key: 'ca' | 'cert' | 'key', reason: string): void => {
    problems.push({ key: `tls.${key}`, reason });
  };

  /** The file's bytes, with the path made absolute; null (and a problem) when it cannot be read. */
  const load = async (key: 'ca' | 'cert' | 'key'): Promise<{ bytes: Buffer; shown: string } | null> => {
    const configured = tls[key];
    if (configured === undefined) return null;
    const path = resolve(dir, configured);
    tls[key] = path;
    const shown = isAbsolute(configured) ? path : `${configured} (${path})`;
    try {
      return { bytes: await readFile(path), shown };
    } catch (err) {
      problem(key, `${shown} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return null;
    }
  };

  const ca = await load('ca');
  if (ca) {
    const reason = certificatesProblem(ca.bytes);
    if (reason) problem('ca', `${ca.shown} ${reason}`);
  }

  const cert = await load('cert');
  let leaf: X509Certificate | null = null;
  if (cert) {
    const reason = certificatesProblem(cert.bytes);
    if (reason) problem('cert', `${cert.shown} ${reason}`);
    else leaf = new X509Certificate(cert.bytes);
  }

  const key = await load('key');
  let privateKey: KeyObject | null = null;
  if (key) {
    const passphrase = tls.passphrase?.reveal();
    try {
      privateKey = createPrivateKey({ key: key.bytes, format: 'pem', ...(passphrase ? { passphrase } : {}) });
    } catch (err) {
      problem('key', `${key.shown} ${keyProblem(err, passphrase !== undefined && passphrase !== '')}`);
    }
  }

  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey)) {
    problem('key', `${key?.shown ?? ''} is not the private key of the certificate in tls.cert (${cert?.shown ?? ''})`);
  }
  return problems;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Why the bytes are not one or more PEM certificates, or null when they are. */
function certificatesProblem(bytes: Buffer): string | null {
  const blocks = bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      return `is not a valid PEM certificate${which}: ${opensslReason(err)}`;
    }
  }
  return null;
}

function keyProblem(err: unknown, withPassphrase: boolean): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_EVP_BAD_DECRYPT') {
    return withPassphrase ? 'cannot be decrypted with tls.passphrase (wrong passphrase?)' : 'is encrypted: set tls.passphrase';
  }
  if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') return 'is encrypted: set tls.passphrase';
  return `is not a PEM private key: ${opensslReason(err)}`;
}

/** OpenSSL's words without its "error:0480006C:PEM routines::" prefix. */
function opensslReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^error:[0-9A-F]+:[^:]*::?/, '');
}
