import { scrubSecrets } from '../domain/secrets-scrub.ts';

const REDACTED = '***';

/** Request headers whose values are credentials, whatever the configured secrets are. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/**
 * The content of every element whose local name is Password (WS-Security UsernameToken, text or
 * digest, any prefix, CDATA included), up to its closing tag.
 */
const PASSWORD_ELEMENT = /(<(?:[\w.-]+:)?Password\b[^>]*>)[\s\S]*?(<\/(?:[\w.-]+:)?Password\s*>)/g;

/**
 * What a sandbox target shows of a received body: WS-Security passwords blanked and every
 * configured secret value scrubbed (in every form the gateway's scrubbing knows), so GET
 * /sandbox/received never shows a connector's credentials.
 */
export function redactBody(body: string, secrets: readonly string[]): string {
  return scrubSecrets(body.replace(PASSWORD_ELEMENT, `$1${REDACTED}$2`), secrets);
}

/** Request headers as a sandbox target shows them: credential headers blanked, secrets scrubbed. */
export function redactHeaders(headers: NodeJS.Dict<string | string[]>, secrets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = CREDENTIAL_HEADERS.has(name.toLowerCase()) ? REDACTED : scrubSecrets(text, secrets);
  }
  return out;
}

