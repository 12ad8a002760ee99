import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Secret } from '../../../../src/config/secret.ts';
import {
  authenticateHttp,
  authenticateToken,
  decodeStrictBase64,
  parseUtcDateTime,
  type AuthResult,
  type InboundAuthPolicy,
} from '../../../../src/inbound/soap/auth.ts';
import type { UsernameToken } from '../../../../src/inbound/soap/envelope.ts';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const policy: InboundAuthPolicy = {
  methods: ['ws-security', 'basic'],
  passwordTypes: ['text', 'digest'],
  createdWindowMs: 300_000,
  users: [{ username: 'om-connector', password: new Secret('correct horse battery') }],
};

function digestToken(nonce: Buffer, created: string, password = 'correct horse battery'): UsernameToken {
  const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)])).digest('base64');
  return { username: 'om-connector', password: digest, passwordType: 'digest', nonce: nonce.toString('base64'), created };
}

function nonceKey(result: AuthResult): string | undefined {
  return result.ok ? result.nonce?.key : undefined;
}

describe('inbound/soap/auth', () => {
  it('accepts a PasswordDigest token and keys its nonce by the nonce bytes', () => {
    const nonce = randomBytes(16);
    const created = new Date(NOW).toISOString();
    const result = authenticateToken(policy, digestToken(nonce, created), undefined, NOW);
    expect(result.ok).to.equal(true);
    expect(nonceKey(result)).to.match(/^[0-9a-f]{64}$/);
  });

  it('refuses every textual variant of a captured nonce (padding, white space, unused bits), so a replay cannot pass as new', () => {
    const nonce = Buffer.from('0123456789abcdef'); // base64 "MDEyMzQ1Njc4OWFiY2RlZg==" (unused bits zero)
    const created = new Date(NOW).toISOString();
    const captured = digestToken(nonce, created);
    expect(authenticateToken(policy, captured, undefined, NOW).ok).to.equal(true);
    const text = captured.nonce ?? '';
    const variants = [
      `${text}=`,
      text.replace(/=+$/, ''),
      `${text} `,
      ` ${text}`,
      `${text}\n`,
      `${text.slice(0, 8)}\n${text.slice(8)}`,
      `${text.slice(0, 8)} ${text.slice(8)}`,
      text.replace(/g==$/, 'h=='), // same bytes, non-zero unused bits
      `${text.slice(0, 4)}\t${text.slice(4)}`,
      `${text}AA==`,
    ];
    for (const variant of variants) {
      expect(variant).to.not.equal(text);
      const replay = { ...captured, nonce: variant };
      const result = authenticateToken(policy, replay, undefined, NOW);
      expect(result.ok, JSON.stringify(variant)).to.equal(false);
    }
  });

  it('decodes only canonical base64', () => {
    expect(decodeStrictBase64('AAAA')?.length).to.equal(3);
    expect(decodeStrictBase64('AQ==')?.[0]).to.equal(1);
    for (const bad of ['', 'AQ=', 'AQ', 'AR==', 'A Q==', 'AQ==\n', '****', 'AQ==AQ==', 'A'.repeat(92)]) {
      expect(decodeStrictBase64(bad), JSON.stringify(bad)).to.equal(null);
    }
  });

  it('takes wsu:Created only as an xsd:dateTime in UTC', () => {
    expect(parseUtcDateTime('2026-12-05T12:00:00Z')).to.equal(NOW);
    expect(parseUtcDateTime('2026-12-05T12:00:00.250Z')).to.equal(NOW + 250);
    expect(parseUtcDateTime('2026-12-05T12:00:00.123456789Z')).to.equal(NOW + 123);
    expect(parseUtcDateTime('2026-12-05T12:00:00+00:00')).to.equal(NOW);
    for (const bad of [
      'Sat, 05 Dec 2026 12:00:00 GMT',
      '2026-12-05T12:00:00',
      '2026-12-05T13:00:00+01:00',
      '2026-12-05 12:00:00Z',
      '2026-02-30T12:00:00Z',
      '2026-12-05T24:00:00Z',
      '2026-12-05T12:00:60Z',
      ' 2026-12-05T12:00:00Z',
      '1765000000000',
    ]) {
      expect(parseUtcDateTime(bad), bad).to.equal(null);
    }
    const token: UsernameToken = { username: 'om-connector', password: 'correct horse battery', passwordType: 'text', nonce: null, created: 'Sat, 05 Dec 2026 12:00:00 GMT' };
    const result = authenticateToken(policy, token, undefined, NOW);
    expect(result).to.deep.include({ ok: false });
    expect(result.ok ? '' : result.reason).to.include('xsd:dateTime');
  });

  it('refuses a Password whose Type is not one of the two URIs, whatever the password', () => {
    const token: UsernameToken = { username: 'om-connector', password: 'correct horse battery', passwordType: null, nonce: null, created: null };
    const result = authenticateToken(policy, token, undefined, NOW);
    expect(result.ok).to.equal(false);
    expect(result.ok ? '' : result.reason).to.include('Type');
  });

  it('decides HTTP Basic from the headers alone, and leaves a push without it to the token', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect(authenticateHttp(policy, basic('om-connector', 'correct horse battery'))).to.deep.include({ ok: true, method: 'basic' });
    expect(authenticateHttp(policy, basic('om-connector', 'wrong'))).to.deep.include({ ok: false });
    expect(authenticateHttp(policy, undefined)).to.equal(null);
    expect(authenticateHttp({ ...policy, methods: ['ws-security'] }, basic('om-connector', 'correct horse battery'))).to.equal(null);
    const result = authenticateToken({ ...policy, methods: ['ws-security'] }, null, basic('om-connector', 'correct horse battery'), NOW);
    expect(result.ok ? '' : result.reason).to.include('HTTP Basic is not accepted');
  });
});
