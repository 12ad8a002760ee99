import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Secret } from '../../../../src/config/secret.ts';
import {
  authenticateHttp,
  authenticateToken,
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

/** A PasswordText token with the right password: only its nonce or its Created can make it fail. */
function textToken(fields: Pick<UsernameToken, 'nonce' | 'created'>): UsernameToken {
  return { username: 'om-connector', password: 'correct horse battery', passwordType: 'text', ...fields };
}

/** The nonce key the gateway keeps for these nonce bytes (see authenticateToken). */
function keyOf(bytes: Buffer): string {
  return createHash('sha256').update('om-connector', 'utf8').update('\u0000').update(bytes).digest('hex');
}

/** The reason a refused result gives ('' when accepted). */
function reason(result: AuthResult): string {
  return result.ok ? '' : result.reason;
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

  it('decodes only canonical base64 nonces, and keys a nonce by its bytes', () => {
    const accepted = (nonce: string) => authenticateToken(policy, textToken({ nonce, created: null }), undefined, NOW);
    expect(nonceKey(accepted('AAAA'))).to.equal(keyOf(Buffer.alloc(3)));
    expect(nonceKey(accepted('AQ=='))).to.equal(keyOf(Buffer.from([1])));
    for (const bad of ['', 'AQ=', 'AQ', 'AR==', 'A Q==', 'AQ==\n', '****', 'AQ==AQ==', 'A'.repeat(92)]) {
      expect(reason(accepted(bad)), JSON.stringify(bad)).to.include('wsse:Nonce is not canonical base64');
    }
  });

  it('takes wsu:Created only as an xsd:dateTime in UTC', () => {
    // With a window of 0 a Created is accepted only at exactly the instant it names.
    const exact = { ...policy, createdWindowMs: 0 };
    const acceptedAt = (created: string, now: number) => authenticateToken(exact, textToken({ nonce: null, created }), undefined, now).ok;
    for (const [created, at] of [
      ['2026-12-05T12:00:00Z', NOW],
      ['2026-12-05T12:00:00.250Z', NOW + 250],
      ['2026-12-05T12:00:00.123456789Z', NOW + 123],
      ['2026-12-05T12:00:00+00:00', NOW],
    ] as const) {
      expect(acceptedAt(created, at), created).to.equal(true);
      expect(acceptedAt(created, at + 1), `${created} a millisecond later`).to.equal(false);
    }
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
      const result = authenticateToken(policy, textToken({ nonce: null, created: bad }), undefined, NOW);
      expect(reason(result), bad).to.include('wsu:Created is not an xsd:dateTime');
    }
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
