import { createHash, randomBytes } from 'node:crypto';
import type { Secret } from '../../config/secret.ts';
import type { AuthProvider } from '../types.ts';
import { escapeXmlText } from '../../domain/xml-escape.ts';

const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const PASSWORD_TEXT = `${TOKEN_PROFILE}#PasswordText`;
const PASSWORD_DIGEST = `${TOKEN_PROFILE}#PasswordDigest`;
const BASE64_BINARY =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const SOAP_ENV_NS = { '1.1': 'http://schemas.xmlsoap.org/soap/envelope/', '1.2': 'http://www.w3.org/2003/05/soap-envelope' };

export interface WsSecurityConfig {
  username: string;
  password: Secret;
  passwordType: 'text' | 'digest';
}

/**
 * WS-Security UsernameToken for SOAP targets. authorize() adds nothing to the HTTP request; the
 * SOAP sender puts soapSecurityHeader() into soap:Header. The block declares the envelope namespace
 * it uses for mustUnderstand itself, so it is valid whatever prefix the sender's envelope uses.
 */
export class WsSecurityAuth implements AuthProvider {
  readonly #config: WsSecurityConfig;
  readonly #soapVersion: '1.1' | '1.2';

  constructor(config: WsSecurityConfig, soapVersion: '1.1' | '1.2' = '1.1') {
    this.#config = config;
    this.#soapVersion = soapVersion;
  }

  async authorize(): Promise<void> {}

  async invalidate(): Promise<boolean> {
    return false;
  }

  soapSecurityHeader(now: number, version: '1.1' | '1.2' = this.#soapVersion): string {
    const password = this.#config.password.reveal();
    const username = `<wsse:Username>${escapeXmlText(this.#config.username)}</wsse:Username>`;
    let token: string;
    if (this.#config.passwordType === 'digest') {
      const nonce = randomBytes(16);
      const created = new Date(now).toISOString();
      token =
        username +
        `<wsse:Password Type="${PASSWORD_DIGEST}">${escapeXmlText(passwordDigest(nonce, created, password))}</wsse:Password>` +
        `<wsse:Nonce EncodingType="${BASE64_BINARY}">${nonce.toString('base64')}</wsse:Nonce>` +
        `<wsu:Created>${created}</wsu:Created>`;
    } else {
      token = username + `<wsse:Password Type="${PASSWORD_TEXT}">${escapeXmlText(password)}</wsse:Password>`;
    }
    return (
      `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}" ` +
      `xmlns:soapenv="${SOAP_ENV_NS[version]}" soapenv:mustUnderstand="1">` +
      `<wsse:UsernameToken>${token}</wsse:UsernameToken>` +
      `</wsse:Security>`
    );
  }
}

/** UsernameToken Profile 1.0: Base64(SHA-1(nonce bytes + Created + password)). */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}
