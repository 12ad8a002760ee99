import { performance } from 'node:perf_hooks';
import type { ConnectorConfig } from '../config/schema.ts';
import type { Secret } from '../config/secret.ts';
import { scrubSecrets } from '../domain/secrets-scrub.ts';
import { redactUrl } from './auth/redact.ts';
import type { TokenStore } from './auth/token-store.ts';
import { openConnections } from './connections.ts';
import { httpRequest, isHttpClientError, TlsError } from './http-client.ts';
import { USER_AGENT } from './senders/rest.ts';
import type { OutboundRequest } from './types.ts';

/**
 * `omgw connector test`: checks a connector for real, step by step, without delivering anything.
 *
 * 1. credentials: every secret the connector's auth needs resolved to a value; TLS files load.
 *    A TLS handshake that fails on a certificate or key in a later step (the server refuses our
 *    client certificate, or its own is not trusted) fails this step instead, in the words a
 *    delivery would park with.
 * 2. token (OAuth2 connectors): a token is fetched from the token endpoint.
 * 3. probe: one harmless read call with the connector's credentials:
 *    - the connector's `probe` (a path appended to url, or an absolute URL), else
 *    - SOAP: GET `url?wsdl`; ShipBob: GET `/{shipbob.apiVersion}/channel`; Oracle Fusion:
 *      GET `.../purchaseOrders?limit=1`; other REST: GET on the target URL.
 *
 * A step that fails stops the test; its detail says why. Nothing here ever contains a secret.
 */

export type ProbeStepName = 'credentials' | 'token' | 'probe';

export interface ProbeStep {
  name: ProbeStepName;
  ok: boolean;
  durationMs: number;
  detail: string;
}

export interface ProbeReport {
  connector: string;
  ok: boolean;
  /** The probe URL (credentials in it redacted). */
  url: string;
  steps: ProbeStep[];
  durationMs: number;
}

export interface ProbeDeps {
  tokenStore: TokenStore;
  now: () => number;
  /** Every configured secret value, scrubbed from the report. */
  secrets: readonly string[];
}

export interface ProbeTarget {
  url: URL;
  /** True for well-known or configured probes, where only a 2xx counts. */
  strict: boolean;
  what: string;
}

/** Where the probe goes for this connector. */
function probeTarget(c: ConnectorConfig): ProbeTarget {
  const base = c.url.replace(/\/+$/, '');
  if (c.probe) {
    if (/^https?:\/\//.test(c.probe)) return { url: new URL(c.probe), strict: true, what: 'configured probe' };
    return { url: new URL(c.probe.startsWith('?') ? `${c.url}${c.probe}` : `${base}${c.probe}`), strict: true, what: 'configured probe' };
  }
  if (c.protocol === 'soap') {
    const url = new URL(c.url);
    url.search = url.search ? `${url.search}&wsdl` : '?wsdl';
    return { url, strict: true, what: 'WSDL' };
  }
  if (c.kind === 'shipbob') {
    // Deliveries call `/{shipbob.apiVersion}/order` and ignore `path`, so the probe reads the
    // channels of that same version; a `path` naming a version is only a fallback without settings.
    const version = c.shipbob?.apiVersion ?? /^\/?([^/{}]+)\/order/.exec(c.path)?.[1];
    return { url: new URL(`${base}${version ? `/${version}` : ''}/channel`), strict: true, what: 'ShipBob channels' };
  }
  if (c.kind === 'oracle-fusion') {
    const m = /^(.*\/fscmRestApi\/resources\/[^/]+)/.exec(`${base}${c.path.replace(/\{\{[^}]*\}\}.*$/, '')}`);
    const root = m?.[1] ?? `${base}/fscmRestApi/resources/11.13.18.05`;
    return { url: new URL(`${root}/purchaseOrders?limit=1`), strict: true, what: 'Fusion purchase orders' };
  }
  return { url: new URL(c.url), strict: false, what: 'target URL' };
}

export async function probeConnector(connector: ConnectorConfig, deps: ProbeDeps): Promise<ProbeReport> {
  const started = performance.now();
  const steps: ProbeStep[] = [];
  const scrub = (text: string): string => scrubSecrets(text, deps.secrets);
  const target = probeTarget(connector);
  const shownUrl = redactUrl(target.url, connector);
  const finish = (): ProbeReport => ({
    connector: connector.name,
    ok: steps.length > 0 && steps.every((s) => s.ok),
    url: shownUrl,
    steps: steps.map((s) => ({ ...s, detail: scrub(s.detail) })),
    durationMs: elapsed(started),
  });

  // 1. Credentials and TLS material.
  let connections: ReturnType<typeof openConnections>;
  const t1 = performance.now();
  try {
    const empty = emptySecrets(connector);
    if (empty.length > 0) {
      steps.push({ name: 'credentials', ok: false, durationMs: elapsed(t1), detail: `${empty.join(', ')} resolved to an empty value: check the \${env:...} or \${file:...} reference` });
      return finish();
    }
    connections = openConnections(connector, { tokenStore: deps.tokenStore, now: deps.now, tokenConcurrency: 1 });
    const certificate = connector.tls?.cert ? ', with a TLS client certificate' : '';
    steps.push({ name: 'credentials', ok: true, durationMs: elapsed(t1), detail: `${describeAuth(connector)}${certificate}` });
  } catch (err) {
    steps.push({ name: 'credentials', ok: false, durationMs: elapsed(t1), detail: `cannot prepare the connection: ${messageOf(err)}` });
    return finish();
  }

  /** A handshake that failed on the certificates is the credentials check failing: the test stops there. */
  const credentialsRefused = (err: unknown, since: number): boolean => {
    if (!(err instanceof TlsError)) return false;
    steps.splice(0, steps.length, { name: 'credentials', ok: false, durationMs: elapsed(since), detail: err.message });
    return true;
  };

  try {
    const request: OutboundRequest = {
      method: 'GET',
      url: new URL(target.url),
      headers: { 'User-Agent': USER_AGENT, Accept: connector.protocol === 'soap' ? 'text/xml, application/xml' : 'application/json, */*' },
      body: null,
    };
    for (const [name, value] of Object.entries(connector.headers)) if (!value.includes('{{')) request.headers[name] = value;

    // 2. A token, for OAuth2 connectors.
    const auth2 = connector.auth.type === 'oauth2-client-credentials' || connector.auth.type === 'oauth2-refresh-token';
    const t2 = performance.now();
    try {
      await connections.auth.authorize(request);
      if (auth2) {
        const where = new URL((connector.auth as { tokenUrl: string }).tokenUrl);
        steps.push({ name: 'token', ok: true, durationMs: elapsed(t2), detail: `access token issued by ${where.host}${where.pathname}` });
      }
    } catch (err) {
      if (credentialsRefused(err, t2)) return finish();
      steps.push({ name: auth2 ? 'token' : 'credentials', ok: false, durationMs: elapsed(t2), detail: auth2 ? `no token: ${messageOf(err)}` : messageOf(err) });
      return finish();
    }

    // 3. The harmless read call.
    const t3 = performance.now();
    try {
      const res = await httpRequest(connections.dispatcher, request, connector.timeout);
      const verdict = judge(res.status, target, res.body, res.headers['content-type'] ?? '');
      steps.push({ name: 'probe', ok: verdict.ok, durationMs: elapsed(t3), detail: `GET ${shownUrl} (${target.what}): ${verdict.detail}` });
    } catch (err) {
      if (credentialsRefused(err, t3)) return finish();
      const kind = isHttpClientError(err) ? err.errorClass : 'error';
      steps.push({ name: 'probe', ok: false, durationMs: elapsed(t3), detail: `GET ${shownUrl} (${target.what}): ${kind}: ${messageOf(err)}` });
    }
    return finish();
  } finally {
    await connections.close();
  }
}

function judge(status: number, target: ProbeTarget, body: string, contentType: string): { ok: boolean; detail: string } {
  if (status === 401 || status === 403 || status === 407) return { ok: false, detail: `HTTP ${status}: the target refused the credentials` };
  if (status >= 500) return { ok: false, detail: `HTTP ${status}: the target reports a server-side problem` };
  if (status >= 200 && status < 300) {
    if (target.what === 'WSDL' && !/<(\w+:)?definitions[\s>]|<(\w+:)?description[\s>]/.test(body)) {
      return { ok: true, detail: `HTTP ${status}, reachable, but the answer is not a WSDL (${contentType || 'no content type'})` };
    }
    return { ok: true, detail: `HTTP ${status}` };
  }
  if (target.strict) {
    const hint = status === 404 ? ': nothing there (set `probe:` in the connector file to a path that answers GET)' : '';
    return { ok: false, detail: `HTTP ${status}${hint}` };
  }
  // A GET on an endpoint made for POST may well answer 404 or 405: the target is reachable.
  return { ok: true, detail: `HTTP ${status}: reachable and credentials not refused (set \`probe:\` for a stricter check)` };
}

function describeAuth(c: ConnectorConfig): string {
  const a = c.auth;
  switch (a.type) {
    case 'none':
      return 'no credentials configured (auth: none)';
    case 'basic':
      return `HTTP Basic as ${a.username}`;
    case 'bearer':
      return 'static bearer token';
    case 'api-key':
      return `API key in ${a.in} ${a.name}`;
    case 'oauth2-client-credentials':
      return `OAuth2 client credentials for client ${a.clientId}`;
    case 'oauth2-refresh-token':
      return `OAuth2 refresh token for client ${a.clientId}`;
    case 'ws-security':
      return `WS-Security UsernameToken as ${a.username} (${a.passwordType})`;
  }
}

/** Names of the secret settings that resolved to ''. */
function emptySecrets(c: ConnectorConfig): string[] {
  const out: string[] = [];
  const check = (name: string, s: Secret | undefined): void => {
    if (s !== undefined && s.reveal() === '') out.push(name);
  };
  const a = c.auth;
  if (a.type === 'basic' || a.type === 'ws-security') check('auth.password', a.password);
  if (a.type === 'bearer') check('auth.token', a.token);
  if (a.type === 'api-key') check('auth.key', a.key);
  if (a.type === 'oauth2-client-credentials') check('auth.clientSecret', a.clientSecret);
  if (a.type === 'oauth2-refresh-token') {
    check('auth.refreshToken', a.refreshToken);
    check('auth.clientSecret', a.clientSecret);
  }
  check('tls.passphrase', c.tls?.passphrase);
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error && err.message ? err.message : String(err);
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

