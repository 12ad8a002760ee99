import { randomBytes } from 'node:crypto';

/**
 * Every secret the reliability gateways are configured with, fresh per run (so a fixture cannot
 * fool the searches), and the evidence collected from every scenario: database dumps, log output,
 * answers and CLI output. Each piece of evidence is searched as it comes in, for every secret in
 * every form it could be written in; the secrets scenario reports the total at the end.
 */
const token = (prefix: string, bytes = 18): string => `${prefix}-${randomBytes(bytes).toString('base64url')}`;

export const SECRETS = {
  soapPassword: token('soap-pw'),
  adminToken: token('admin-tok'),
  crmToken: token('crm-bearer'),
  biPassword: token('bi-basic-pw'),
  apiKey: token('ops-api-key'),
  oauthClientSecret: token('oauth-cs'),
  wsPassword: token('otm-ws-pw'),
  webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
  encryptionKey: token('enc-key'),
  /** In the PostgreSQL URL (trust auth ignores it, but it is configured, so it must not leak either). */
  dbPassword: token('db-pw'),
} as const;

export type SecretName = keyof typeof SECRETS;

export const SOAP_USER = 'om-connector';
export const BI_USER = 'bi-user';
export const OAUTH_CLIENT = 'omgw-client';
export const WS_USER = 'otm-user';

/** The environment every reliability gateway (and CLI command) runs with. */
export const SECRET_ENV: Record<string, string> = {
  REL_SOAP_PASSWORD: SECRETS.soapPassword,
  REL_ADMIN_TOKEN: SECRETS.adminToken,
  REL_CRM_TOKEN: SECRETS.crmToken,
  REL_BI_PASSWORD: SECRETS.biPassword,
  REL_API_KEY: SECRETS.apiKey,
  REL_OAUTH_SECRET: SECRETS.oauthClientSecret,
  REL_WS_PASSWORD: SECRETS.wsPassword,
  REL_WEBHOOK_SECRET: SECRETS.webhookSecret,
  REL_ENCRYPTION_KEY: SECRETS.encryptionKey,
};

/**
 * The forms a secret could be written in: as is, JSON-escaped, percent-encoded (either hex case)
 * and form-encoded, base64 (with and without padding), inside Basic credentials.
 */
function formsOf(name: SecretName, value: string): string[] {
  const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const b64 = Buffer.from(value).toString('base64');
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), lowerHex(encodeURIComponent(value))]);
  for (const f of [form, lowerHex(form), b64, b64.replace(/=+$/, '')]) forms.add(f);
  if (name === 'webhookSecret') forms.add(value.slice('whsec_'.length));
  if (name === 'soapPassword') forms.add(Buffer.from(`${SOAP_USER}:${value}`).toString('base64'));
  if (name === 'biPassword') forms.add(Buffer.from(`${BI_USER}:${value}`).toString('base64'));
  if (name === 'oauthClientSecret') forms.add(Buffer.from(`${OAUTH_CLIENT}:${value}`).toString('base64'));
  return [...forms];
}

export interface Leak {
  scenario: string;
  where: string;
  secret: SecretName;
  context: string;
}

const leaks: Leak[] = [];
const scanned = { pieces: 0, bytes: 0 };
const extra = new Map<string, string>();

/** A further secret that turned up during the run (an OAuth2 access token the fake issuer handed out). */
export function addSecret(label: string, value: string): void {
  extra.set(label, value);
}

/** Searches `text` for every secret; returns the leaks found (and, unless `record` is false, keeps them for the final count). */
export function scan(scenario: string, where: string, text: string, record = true): Leak[] {
  if (record) {
    scanned.pieces++;
    scanned.bytes += text.length;
  }
  const found: Leak[] = [];
  const check = (secret: SecretName, form: string): void => {
    let at = text.indexOf(form);
    while (at !== -1) {
      found.push({ scenario, where, secret, context: text.slice(Math.max(0, at - 60), at + form.length + 20).replace(form, '<SECRET>') });
      at = text.indexOf(form, at + form.length);
    }
  };
  for (const [name, value] of Object.entries(SECRETS) as Array<[SecretName, string]>) {
    for (const form of formsOf(name, value)) check(name, form);
  }
  for (const value of extra.values()) check('oauthClientSecret', value);
  if (record) leaks.push(...found);
  return found;
}

export function allLeaks(): readonly Leak[] {
  return leaks;
}

export function scannedSoFar(): { pieces: number; bytes: number } {
  return { ...scanned };
}
