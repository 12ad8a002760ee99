import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Secret } from '../../../../src/config/secret.ts';
import {
  authenticateHeaders,
  authenticateSigned,
  authenticateUsernameToken,
  decidedByHeaders,
} from '../../../../src/inbound/callbacks/auth.ts';
import { signedHeaders } from '../../../helpers/webhook-signing.ts';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const basic = { type: 'basic' as const, username: 'wms', password: new Secret('callback-pass-1') };
const bearer = { type: 'bearer' as const, token: new Secret('callback-token-1') };
const WHSEC = `whsec_${randomBytes(24).toString('base64')}`;
const webhooks = { type: 'standard-webhooks' as const, secret: new Secret(WHSEC), tolerance: 5 * 60_000 };
const token = { type: 'username-token' as const, username: 'wms', password: new Secret('callback-pass-2') };

const basicHeader = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('callback authentication', () => {
  it('decides Basic and bearer from the headers, and nothing else', () => {
    expect([basic, bearer, webhooks, token].map(decidedByHeaders)).to.deep.equal([true, true, false, false]);
  });

  it('Basic: the configured user and password only', () => {
    expect(authenticateHeaders(basic, basicHeader('wms', 'callback-pass-1'))).to.deep.equal({ ok: true, username: 'wms', nonce: null });
    expect(authenticateHeaders(basic, basicHeader('wms', 'wrong')).ok).to.equal(false);
    expect(authenticateHeaders(basic, basicHeader('other', 'callback-pass-1')).ok).to.equal(false);
    expect(authenticateHeaders(basic, undefined)).to.deep.include({ ok: false, reason: 'no credentials: send HTTP Basic' });
    expect(authenticateHeaders(basic, 'Bearer callback-pass-1').ok).to.equal(false);
  });

  it('bearer: the configured token only', () => {
    expect(authenticateHeaders(bearer, 'Bearer callback-token-1').ok).to.equal(true);
    expect(authenticateHeaders(bearer, 'bearer callback-token-1').ok).to.equal(true);
    expect(authenticateHeaders(bearer, 'Bearer callback-token-2').ok).to.equal(false);
    expect(authenticateHeaders(bearer, 'Bearer callback-token-1x').ok).to.equal(false);
    expect(authenticateHeaders(bearer, basicHeader('a', 'callback-token-1')).ok).to.equal(false);
    expect(authenticateHeaders(bearer, undefined).ok).to.equal(false);
  });

  it('Standard Webhooks: a signature over the exact bytes, within the tolerance; the headers checked before the body is read', async () => {
    const body = Buffer.from('{"correlationId":"c-1","status":"COMPLETED"}');
    const h = signedHeaders(WHSEC, 'msg_1', NOW / 1000, body);
    const headers = { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
    let reads = 0;
    const reading = (bytes: Buffer) => async (): Promise<Buffer> => {
      reads += 1;
      return bytes;
    };
    expect(await authenticateSigned(webhooks, headers, NOW, reading(body))).to.deep.equal({ ok: true, body, webhookId: 'msg_1', rememberUntil: NOW + 5 * 60_000 + 1000 });
    expect((await authenticateSigned(webhooks, headers, NOW, reading(Buffer.from(`${body.toString()} `)))).ok).to.equal(false);
    const other = signedHeaders(`whsec_${randomBytes(24).toString('base64')}`, 'msg_1', NOW / 1000, body);
    expect((await authenticateSigned(webhooks, { ...headers, signature: other['webhook-signature'] }, NOW, reading(body))).ok).to.equal(false);
    expect(reads).to.equal(3);
    // What the headers decide costs no body: missing, malformed, or a timestamp outside the tolerance.
    for (const refused of [
      { id: undefined, timestamp: undefined, signature: undefined },
      { ...headers, id: undefined },
      { ...headers, timestamp: 'yesterday' },
      { ...headers, id: 'a.b' },
    ]) {
      expect(await authenticateSigned(webhooks, refused, NOW, reading(body))).to.deep.include({ ok: false });
    }
    expect(await authenticateSigned(webhooks, headers, NOW + 6 * 60_000, reading(body))).to.deep.equal({ ok: false, reason: 'signature refused: webhook-timestamp is too old' });
    expect(await authenticateSigned(webhooks, headers, NOW - 6 * 60_000, reading(body))).to.deep.equal({ ok: false, reason: 'signature refused: webhook-timestamp is too far in the future' });
    expect(reads, 'no body read for a refusal the headers decide').to.equal(3);
  });

  it('UsernameToken: PasswordText, or PasswordDigest with its nonce to remember', () => {
    const text = { username: 'wms', password: 'callback-pass-2', passwordType: 'text' as const, nonce: null, created: null };
    expect(authenticateUsernameToken(token, text, NOW)).to.deep.equal({ ok: true, username: 'wms', nonce: null });
    expect(authenticateUsernameToken(token, { ...text, password: 'nope' }, NOW).ok).to.equal(false);
    expect(authenticateUsernameToken(token, null, NOW).ok).to.equal(false);

    const nonce = randomBytes(16);
    const created = new Date(NOW).toISOString();
    const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from('callback-pass-2')])).digest('base64');
    const result = authenticateUsernameToken(token, { username: 'wms', password: digest, passwordType: 'digest', nonce: nonce.toString('base64'), created }, NOW);
    expect(result.ok).to.equal(true);
    expect(result.ok && result.nonce?.key).to.be.a('string');
    const stale = authenticateUsernameToken(token, { username: 'wms', password: digest, passwordType: 'digest', nonce: nonce.toString('base64'), created }, NOW + 10 * 60_000);
    expect(stale.ok).to.equal(false);
  });
});
