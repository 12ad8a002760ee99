import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhookVerifier, type VerifyResult, type WebhookHeaders } from '../../../../src/inbound/webhooks/signature.ts';
import { signedHeaders, signWebhook } from '../../../helpers/webhook-signing.ts';

// Test vector values from shared/specs/standard-webhooks/README.md (the reference libraries' suites:
// JS "sign function works", Go TestWebhookSign). Data only.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const PAYLOAD = '{"test": 2432232314}';
const EXPECTED = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const OTHER_SIGNATURE = 'Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';

const AT_VECTOR = TIMESTAMP * 1000;

function vectorHeaders(over: Partial<WebhookHeaders> = {}): WebhookHeaders {
  return { id: MSG_ID, timestamp: String(TIMESTAMP), signature: EXPECTED, ...over };
}

/** The verifier refuses to be made with these secrets, with its secret error. */
function refusesSecrets(secrets: string[]): Error {
  try {
    new WebhookVerifier(secrets);
  } catch (err) {
    expect(err).to.be.instanceOf(Error).with.property('name', 'WebhookSecretError');
    return err as Error;
  }
  throw new Error(`a verifier was made with ${JSON.stringify(secrets)}`);
}

function expectFailure(result: VerifyResult, reason: string): void {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  if (!result.ok) expect(result.reason).to.equal(reason);
}

describe('Standard Webhooks signatures', () => {
  const verifier = new WebhookVerifier([SECRET]);

  describe('the test vector', () => {
    it('signs the vector to the expected signature (the test signer)', () => {
      expect(signWebhook(SECRET, MSG_ID, TIMESTAMP, PAYLOAD)).to.equal(EXPECTED);
      expect(signWebhook(SECRET, MSG_ID, TIMESTAMP, Buffer.from(PAYLOAD))).to.equal(EXPECTED);
    });

    it('verifies the vector at its own time', () => {
      const result = verifier.verify(vectorHeaders(), PAYLOAD, AT_VECTOR);
      expect(result).to.deep.equal({ ok: true, id: MSG_ID, timestamp: TIMESTAMP, secretIndex: 0 });
    });

    it('agrees with the reference library (standardwebhooks) on signing', () => {
      const reference = new Webhook(SECRET);
      expect(reference.sign(MSG_ID, new Date(AT_VECTOR), PAYLOAD)).to.equal(EXPECTED);
      for (let i = 0; i < 50; i++) {
        const secret = `whsec_${randomBytes(24 + (i % 41)).toString('base64')}`;
        const id = `msg_${randomBytes(12).toString('hex')}`;
        const body = JSON.stringify({ n: i, s: randomBytes(20).toString('base64') });
        const ts = 1_700_000_000 + i;
        expect(signWebhook(secret, id, ts, body)).to.equal(new Webhook(secret).sign(id, new Date(ts * 1000), body));
      }
    });

    it('accepts what the reference library verifies now, and refuses what it refuses', () => {
      const reference = new Webhook(SECRET);
      const now = Date.now();
      const ts = Math.floor(now / 1000);
      const headers = signedHeaders(SECRET, MSG_ID, ts, PAYLOAD);
      expect(() => reference.verify(PAYLOAD, headers)).to.not.throw();
      expect(verifier.verify({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] }, PAYLOAD, now).ok).to.equal(true);
      const forged = { ...headers, 'webhook-signature': 'v1,dawfeoifkpqwoekfpqoekf' };
      expect(() => reference.verify(PAYLOAD, forged)).to.throw();
      expectFailure(verifier.verify({ id: MSG_ID, timestamp: String(ts), signature: forged['webhook-signature'] }, PAYLOAD, now), 'no_matching_signature');
    });
  });

  describe('the failing cases of the reference suites', () => {
    it('missing webhook-id, webhook-timestamp or webhook-signature', () => {
      expectFailure(verifier.verify(vectorHeaders({ id: undefined }), PAYLOAD, AT_VECTOR), 'missing_headers');
      expectFailure(verifier.verify(vectorHeaders({ timestamp: undefined }), PAYLOAD, AT_VECTOR), 'missing_headers');
      expectFailure(verifier.verify(vectorHeaders({ signature: undefined }), PAYLOAD, AT_VECTOR), 'missing_headers');
      expectFailure(verifier.verify(vectorHeaders({ id: '', timestamp: '', signature: '' }), PAYLOAD, AT_VECTOR), 'missing_headers');
    });

    it('timestamp "hello"', () => {
      expectFailure(verifier.verify(vectorHeaders({ timestamp: 'hello' }), PAYLOAD, AT_VECTOR), 'malformed_headers');
    });

    it('signature "v1,dawfeoifkpqwoekfpqoekf"', () => {
      expectFailure(verifier.verify(vectorHeaders({ signature: 'v1,dawfeoifkpqwoekfpqoekf' }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
    });

    it('truncated signature: the first 8 characters, and "v1,"', () => {
      expectFailure(verifier.verify(vectorHeaders({ signature: EXPECTED.slice(0, 8) }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
      expectFailure(verifier.verify(vectorHeaders({ signature: 'v1,' }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
    });

    it('timestamp older than now - 5 min - 1 s, newer than now + 5 min + 1 s', () => {
      const now = Date.now();
      const nowS = Math.floor(now / 1000);
      const at = (ts: number): WebhookHeaders => {
        const h = signedHeaders(SECRET, MSG_ID, ts, PAYLOAD);
        return { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
      };
      expectFailure(verifier.verify(at(nowS - 5 * 60 - 1), PAYLOAD, now), 'timestamp_too_old');
      expectFailure(verifier.verify(at(nowS + 5 * 60 + 1), PAYLOAD, now), 'timestamp_too_new');
      // The vector itself, verified today, is years old.
      expectFailure(verifier.verify(vectorHeaders(), PAYLOAD, now), 'timestamp_too_old');
      // Exactly at the tolerance is still accepted, both ways (as the reference libraries do).
      expect(verifier.verify(at(nowS - 5 * 60), PAYLOAD, now).ok).to.equal(true);
      expect(verifier.verify(at(nowS + 5 * 60), PAYLOAD, now).ok).to.equal(true);
    });

    it('empty secret "" and "whsec_" cannot make a verifier', () => {
      refusesSecrets(['']);
      refusesSecrets(['whsec_']);
      refusesSecrets([]);
      refusesSecrets(['whsec_not base64!']);
      refusesSecrets(['whsec_A']);
      expect(refusesSecrets([SECRET, 'whsec_s3cr3t-not-base64']).message).to.not.include('s3cr3t');
    });
  });

  describe('what must pass', () => {
    it('a multi-signature header with other versions and unknown signatures around the valid one', () => {
      const header = `v1,${OTHER_SIGNATURE} v2,${OTHER_SIGNATURE} ${EXPECTED} v1,${OTHER_SIGNATURE}`;
      expect(verifier.verify(vectorHeaders({ signature: header }), PAYLOAD, AT_VECTOR).ok).to.equal(true);
      // Extra spaces between entries are harmless.
      expect(verifier.verify(vectorHeaders({ signature: `  v1a,xyz   ${EXPECTED}  ` }), PAYLOAD, AT_VECTOR).ok).to.equal(true);
    });

    it('the secret with and without the whsec_ prefix', () => {
      const bare = SECRET.slice('whsec_'.length);
      expect(new WebhookVerifier([bare]).verify(vectorHeaders(), PAYLOAD, AT_VECTOR).ok).to.equal(true);
      expect(signWebhook(bare, MSG_ID, TIMESTAMP, PAYLOAD)).to.equal(EXPECTED);
    });

    it('an empty payload', () => {
      const signature = signWebhook(SECRET, MSG_ID, TIMESTAMP, '');
      expect(verifier.verify(vectorHeaders({ signature }), '', AT_VECTOR).ok).to.equal(true);
      expect(verifier.verify(vectorHeaders({ signature }), Buffer.alloc(0), AT_VECTOR).ok).to.equal(true);
    });

    it('any of several configured secrets (rotation), and says which matched', () => {
      const fresh = `whsec_${randomBytes(24).toString('base64')}`;
      const rotating = new WebhookVerifier([fresh, SECRET]);
      expect(rotating.verify(vectorHeaders(), PAYLOAD, AT_VECTOR)).to.include({ ok: true, secretIndex: 1 });
      const both = signedHeaders([fresh, SECRET], MSG_ID, TIMESTAMP, PAYLOAD);
      expect(both['webhook-signature'].split(' ')).to.have.length(2);
      expect(rotating.verify(vectorHeaders({ signature: both['webhook-signature'] }), PAYLOAD, AT_VECTOR)).to.include({ ok: true, secretIndex: 0 });
    });
  });

  describe('stricter than the reference library where it matters', () => {
    it('a body altered after signing (one byte, a stray space, re-serialised JSON) fails', () => {
      for (const body of ['{"test": 2432232315}', '{"test": 2432232314} ', '{"test":2432232314}']) {
        expectFailure(verifier.verify(vectorHeaders(), body, AT_VECTOR), 'no_matching_signature');
      }
    });

    it('signs the exact bytes: a body with invalid UTF-8 is not decoded before hashing', () => {
      const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      const other = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0x28]), Buffer.from('"}')]);
      const signature = signWebhook(SECRET, MSG_ID, TIMESTAMP, bytes);
      expect(verifier.verify(vectorHeaders({ signature }), bytes, AT_VECTOR).ok).to.equal(true);
      // Both bodies decode to the same string with U+FFFD: only the bytes tell them apart.
      expect(bytes.toString('utf8')).to.equal(other.toString('utf8'));
      expectFailure(verifier.verify(vectorHeaders({ signature }), other, AT_VECTOR), 'no_matching_signature');
    });

    it('a timestamp that only starts with digits, or has a sign or spaces, is malformed', () => {
      for (const timestamp of [`${TIMESTAMP}abc`, ` ${TIMESTAMP}`, `+${TIMESTAMP}`, `${TIMESTAMP}.0`, '1e9', '-1', '9'.repeat(20)]) {
        expectFailure(verifier.verify(vectorHeaders({ timestamp }), PAYLOAD, AT_VECTOR), 'malformed_headers');
      }
    });

    it('a webhook-id with "." (ambiguous signed content) or over 256 characters is malformed', () => {
      expectFailure(verifier.verify(vectorHeaders({ id: 'msg.1' }), PAYLOAD, AT_VECTOR), 'malformed_headers');
      expectFailure(verifier.verify(vectorHeaders({ id: 'm'.repeat(257) }), PAYLOAD, AT_VECTOR), 'malformed_headers');
    });

    it('a v1a (asymmetric) entry holding the right HMAC is not a v1 signature', () => {
      const v1a = EXPECTED.replace(/^v1,/, 'v1a,');
      expectFailure(verifier.verify(vectorHeaders({ signature: v1a }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
    });

    it('the signature bound to id and timestamp: another id or timestamp with the same signature fails', () => {
      expectFailure(verifier.verify(vectorHeaders({ id: `${MSG_ID}x` }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
      expectFailure(verifier.verify(vectorHeaders({ timestamp: String(TIMESTAMP + 1) }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
    });

    it('the tolerance is configurable', () => {
      const strict = new WebhookVerifier([SECRET], { toleranceMs: 10_000 });
      expect(strict.verify(vectorHeaders(), PAYLOAD, AT_VECTOR + 10_000).ok).to.equal(true);
      expectFailure(strict.verify(vectorHeaders(), PAYLOAD, AT_VECTOR + 11_000), 'timestamp_too_old');
      expectFailure(strict.verify(vectorHeaders(), PAYLOAD, AT_VECTOR - 11_000), 'timestamp_too_new');
    });

    it('a header of hundreds of signatures is handled, and one valid entry among them still passes', () => {
      const junk = Array.from({ length: 500 }, () => `v1,${randomBytes(32).toString('base64')}`);
      expectFailure(verifier.verify(vectorHeaders({ signature: junk.join(' ') }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
      junk.splice(250, 0, EXPECTED);
      expect(verifier.verify(vectorHeaders({ signature: junk.join(' ') }), PAYLOAD, AT_VECTOR).ok).to.equal(true);
    });

    it('a non-ASCII look-alike of the signature does not match', () => {
      const lookalike = `v1,${String.fromCharCode(0x100 + 'g'.charCodeAt(0))}${EXPECTED.slice(4)}`;
      expectFailure(verifier.verify(vectorHeaders({ signature: lookalike }), PAYLOAD, AT_VECTOR), 'no_matching_signature');
    });
  });
});
