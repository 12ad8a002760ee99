import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import type { TlsProblem } from '../domain/retry.ts';

/**
 * What a failed TLS connection means, in words an operator can act on: the server refused our
 * client certificate (or wanted one we do not send), the server's certificate is not trusted, or
 * our own key or certificate cannot be used. Anything else is left to the caller as a network error.
 *
 * Node and undici do not always say which: in TLS 1.3 the client finishes its side of the
 * handshake before the server has checked the client certificate, so a refusal arrives after the
 * request was written, as an alert that undici reports as "other side closed", or (Node's own
 * servers) as a bare close. The connector below remembers what each TLS socket told (its alert, a
 * session ticket, whether any answer came); when a connection closes around the handshake without
 * saying why, one more connection that only shakes hands tells a refusal (closed again, no ticket)
 * from a connection dropped after the server accepted us (a ticket, or the server waits for a
 * request), which stays a network error and is retried.
 */

export interface TlsFailure {
  problem: TlsProblem;
  message: string;
}

/** The TLS material a connector connects with, as createDispatcher read it. */
export interface TlsSettings {
  timeout: number;
  rejectUnauthorized: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
}

/** What a connection told before it failed. */
interface SocketFacts {
  /** 'connect': it failed before the handshake completed on our side; 'open': afterwards. */
  phase: 'connect' | 'open';
  protocol: string | null;
  /** A session ticket came (TLS 1.3): the server finished the handshake, client certificate included. */
  ticket: boolean;
  /** A TLS alert the server sent (undici reports the close that follows it instead). */
  alert: Error | null;
  /** Bytes of answer read on the connection: 0 means nothing ever came back on it. */
  bytesRead: () => number;
}

type Diagnosis = 'closed' | 'accepted' | 'unknown' | { error: unknown };

/** After a TLS 1.3 handshake, how long the extra connection waits for a ticket or a close. */
const DIAGNOSIS_WAIT_MS = 1_500;

/** Server certificates that are not trusted: Node's verification codes, and what each means. */
const UNTRUSTED: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it is signed by a CA the connector does not trust (set tls.ca to that CA)',
  UNABLE_TO_GET_ISSUER_CERT: 'it is signed by a CA the connector does not trust (set tls.ca to that CA)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it is signed by a CA the connector does not trust (set tls.ca to that CA)',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed CA the connector does not trust (set tls.ca to that CA)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed (set tls.ca to it)',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  CERT_REVOKED: 'it has been revoked',
  CERT_UNTRUSTED: 'it is not trusted for a TLS server',
  CERT_REJECTED: 'it is not trusted for a TLS server',
  INVALID_PURPOSE: 'it is not issued for a TLS server',
  CERT_SIGNATURE_FAILURE: 'its signature is invalid',
  INVALID_CA: 'its chain has an invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'its chain is longer than its CA allows',
  CERT_CHAIN_TOO_LONG: 'its chain is too long',
  ERR_TLS_CERT_ALTNAME_INVALID: 'it is not issued for this host name',
  HOSTNAME_MISMATCH: 'it is not issued for this host name',
};

/** Alerts by which a server refuses a client certificate (the code's tail, e.g. ..._ALERT_UNKNOWN_CA). */
const CERTIFICATE_ALERTS = new Set([
  'BAD_CERTIFICATE',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_REVOKED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_UNKNOWN',
  'UNKNOWN_CA',
  'ACCESS_DENIED',
  'CERTIFICATE_REQUIRED',
  'DECRYPT_ERROR',
]);
/** Alerts that end a handshake for good, but may be about versions or ciphers as well. */
const HANDSHAKE_ALERTS = new Set(['HANDSHAKE_FAILURE', 'PROTOCOL_VERSION', 'INSUFFICIENT_SECURITY']);
const ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;
/** A connection closed or reset by the other side. */
const CLOSED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * One per connector dispatcher: builds its connections (undici's connector with the connector's
 * TLS settings) and keeps, for each error one of them raised, what its socket told.
 */
export class TlsWatch {
  readonly #settings: TlsSettings;
  readonly #facts = new WeakMap<object, SocketFacts>();

  constructor(settings: TlsSettings) {
    this.#settings = settings;
  }

  /** True when the connector presents a client certificate. */
  get clientCertificate(): boolean {
    return this.#settings.cert !== undefined;
  }

  /** undici's connector for these settings, watching every TLS connection it makes. */
  connector(): buildConnector.connector {
    const base = buildConnector({ ...this.#settings });
    return (options, callback) => {
      base(options, (...args: Parameters<buildConnector.Callback>) => {
        if (args[0] !== null) {
          const err = args[0];
          if (options.protocol === 'https:') {
            this.#facts.set(err, { phase: 'connect', protocol: null, ticket: false, alert: null, bytesRead: () => 0 });
          }
          callback(err, null);
          return;
        }
        const socket = args[1];
        if (socket instanceof TLSSocket) this.#watch(socket);
        callback(null, socket);
      });
    };
  }

  #watch(socket: TLSSocket): void {
    const facts: SocketFacts = {
      phase: 'open',
      protocol: socket.getProtocol(),
      ticket: false,
      alert: null,
      bytesRead: () => socket.bytesRead,
    };
    socket.on('session', () => {
      facts.ticket = true;
    });
    // Listening adds nothing to how errors travel (undici has its own listener): it only lets the
    // error undici rejects the request with be traced back to this socket.
    socket.on('error', (err: Error) => {
      if (facts.alert === null && ALERT.test(codeOf(err) ?? '')) facts.alert = err;
      this.#facts.set(err, facts);
    });
  }

  /** What the socket behind `err` (or one of its causes) told, if it was one of ours. */
  factsOf(err: unknown): SocketFacts | null {
    for (const e of chain(err)) {
      const found = this.#facts.get(e);
      if (found) return found;
    }
    return null;
  }

  /** One more connection that only shakes hands with the target: does the server accept us? */
  diagnose(url: URL): Promise<Diagnosis> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || 443);
    return new Promise((resolve) => {
      let secured = false;
      let settled = false;
      const { timeout, ...material } = this.#settings;
      let socket: TLSSocket;
      try {
        socket = tlsConnect({ ...material, host, port, ...(isIpLiteral(host) ? {} : { servername: host }) });
      } catch (err) {
        resolve({ error: err });
        return;
      }
      const finish = (d: Diagnosis): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(d);
      };
      let timer = setTimeout(() => finish('unknown'), timeout);
      socket.once('secureConnect', () => {
        secured = true;
        // Up to TLS 1.2 the server's Finished comes after it checked our certificate.
        if (socket.getProtocol() !== 'TLSv1.3') return finish('accepted');
        clearTimeout(timer);
        // A server that accepted sends its tickets, or waits for a request; one that refused closes.
        timer = setTimeout(() => finish('accepted'), DIAGNOSIS_WAIT_MS);
      });
      socket.once('session', () => finish('accepted'));
      socket.on('error', (err: Error) => {
        const code = codeOf(err) ?? '';
        if (CLOSED.has(code)) finish(secured || /before secure TLS connection/.test(err.message) ? 'closed' : 'unknown');
        else finish({ error: err });
      });
      socket.once('close', () => finish(secured ? 'closed' : 'unknown'));
    });
  }
}

/**
 * The TLS failure behind a request's error, or null when it is something else (a network error).
 * `watch` is the dispatcher's, when it has one; without it only what the error says counts.
 */
export async function tlsFailure(err: unknown, url: URL, watch: TlsWatch | null): Promise<TlsFailure | null> {
  const clientCert = watch?.clientCertificate ?? null;
  const facts = watch?.factsOf(err) ?? null;
  const direct = fromError(err, url.host, clientCert) ?? (facts?.alert ? fromError(facts.alert, url.host, clientCert) : null);
  if (direct || !watch || !facts || !ambiguousClose(err, facts)) return direct;
  const diagnosis = await watch.diagnose(url);
  if (diagnosis === 'closed') {
    return { problem: 'refused', message: `the server at ${url.host} closed the TLS handshake: ${refusalHint(clientCert)}` };
  }
  return typeof diagnosis === 'object' ? fromError(diagnosis.error, url.host, clientCert) : null;
}

/** A close with nothing said, at a moment when the server may still have been judging our certificate. */
function ambiguousClose(err: unknown, facts: SocketFacts): boolean {
  const closed = chain(err).some((e) => CLOSED.has(codeOf(e) ?? ''));
  if (!closed) return false;
  if (facts.phase === 'connect') return true;
  return facts.protocol === 'TLSv1.3' && !facts.ticket && facts.bytesRead() === 0;
}

/** What the error itself says, when it names a TLS problem. */
function fromError(err: unknown, host: string, clientCert: boolean | null): TlsFailure | null {
  for (const e of chain(err)) {
    const code = codeOf(e);
    if (code === null) continue;
    const untrusted = UNTRUSTED[code];
    if (untrusted !== undefined) {
      return { problem: 'untrusted', message: `the certificate of the server at ${host} is not trusted: ${untrusted} (${code})` };
    }
    if (code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_EVP_BAD_DECRYPT') {
      return { problem: 'client_key', message: `cannot connect to ${host} over TLS: the client key (tls.key) cannot be decrypted: tls.passphrase is wrong, or missing for an encrypted key (${code})` };
    }
    if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      return { problem: 'client_key', message: `cannot connect to ${host} over TLS: the client key (tls.key) does not belong to the client certificate (tls.cert) (${code})` };
    }
    if (code.startsWith('ERR_OSSL_')) {
      const what = e instanceof Error ? `: ${e.message.replace(/^error:[0-9A-F]+:/, '')}` : '';
      return { problem: 'client_key', message: `cannot connect to ${host} over TLS: the connector's TLS files (tls.ca, tls.cert, tls.key) cannot be used (${code}${what})` };
    }
    const alert = ALERT.exec(code)?.[1];
    if (alert !== undefined && (CERTIFICATE_ALERTS.has(alert) || HANDSHAKE_ALERTS.has(alert))) {
      const name = alert.toLowerCase().replace(/_/g, ' ');
      const hint = CERTIFICATE_ALERTS.has(alert)
        ? certificateAlertHint(alert, clientCert)
        : `${refusalHint(clientCert)}, or it shares no TLS version or cipher with the gateway`;
      return { problem: 'refused', message: `the server at ${host} refused the TLS handshake (alert "${name}"): ${hint}` };
    }
  }
  return null;
}

function refusalHint(clientCert: boolean | null): string {
  if (clientCert === false) return 'it may require a client certificate, and the connector sends none (tls.cert, tls.key)';
  return 'it may have refused the client certificate';
}

function certificateAlertHint(alert: string, clientCert: boolean | null): string {
  if (clientCert === false) return 'it requires a client certificate, and the connector sends none (tls.cert, tls.key)';
  if (alert === 'CERTIFICATE_REQUIRED') return 'it requires a client certificate, and received none';
  return 'it refused the client certificate (tls.cert)';
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** The error and its causes, outermost first. */
function chain(err: unknown): object[] {
  const out: object[] = [];
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

function codeOf(err: unknown): string | null {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}
