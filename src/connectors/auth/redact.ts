import type { ConnectorConfig } from '../../config/schema.ts';

/** Headers that carry credentials on any connector. */
const ALWAYS_SECRET = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

const REDACTED = '***';

/**
 * A copy of `headers` with credential values replaced by ***: Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie, X-API-Key and, when given, the connector's api-key header. Names compare
 * case-insensitively and keep their spelling.
 */
export function redactHeaders(
  headers: Record<string, string>,
  connector?: Pick<ConnectorConfig, 'auth'>,
): Record<string, string> {
  const secret = new Set(ALWAYS_SECRET);
  const auth = connector?.auth;
  if (auth?.type === 'api-key' && auth.in === 'header') secret.add(auth.name.toLowerCase());
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = secret.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
}

/**
 * The URL as text with the connector's api-key query parameter (when the key goes in the query)
 * and any userinfo password replaced by ***. A URL that does not parse is returned without its
 * query string.
 */
export function redactUrl(url: URL | string, connector?: Pick<ConnectorConfig, 'auth'>): string {
  let u: URL;
  try {
    u = new URL(url.toString());
  } catch {
    const text = url.toString();
    const q = text.indexOf('?');
    return q < 0 ? text : `${text.slice(0, q)}?${REDACTED}`;
  }
  if (u.password) u.password = REDACTED;
  const auth = connector?.auth;
  if (auth?.type === 'api-key' && auth.in === 'query' && u.searchParams.has(auth.name)) {
    // Rebuild the query by hand: URLSearchParams would percent-encode the asterisks.
    const parts = u.search
      .slice(1)
      .split('&')
      .map((part) => {
        const eq = part.indexOf('=');
        const rawName = eq < 0 ? part : part.slice(0, eq);
        return decodeComponent(rawName) === auth.name ? `${rawName}=${REDACTED}` : part;
      });
    u.search = '';
    return `${u.toString().replace(/#.*$/, '')}?${parts.join('&')}${u.hash}`;
  }
  return u.toString();
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
