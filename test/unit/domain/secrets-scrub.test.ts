import { expect } from 'chai';
import { Writable } from 'node:stream';
import { scrubberFor, scrubSecrets } from '../../../src/domain/secrets-scrub.ts';
import { createLogger } from '../../../src/log.ts';
import { Rng } from '../../helpers/prng.ts';

const KEY = 'ak/q+Key=99 &%x';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * Every piece of `form` of 4 characters. A longer piece (any prefix or suffix of 4 characters or
 * more) holds one of these, so finding none of them finds none of those either.
 */
function piecesOf(form: string): string[] {
  const out: string[] = [];
  for (let at = 0; at + 4 <= form.length; at++) out.push(form.slice(at, at + 4));
  return out;
}

const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());

/** The echoed forms a test looks for: the ones the brief names, built here independently of the module. */
function echoForms(secret: string): string[] {
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    uri,
    lowerHex(uri),
    form,
    lowerHex(form),
    b64(secret),
    b64(secret).replace(/=+$/, ''),
  ].filter((f) => f.length >= 4);
}

function expectNoPiece(stored: string, secret: string): void {
  for (const form of echoForms(secret)) {
    for (const piece of piecesOf(form)) {
      expect(stored.includes(piece), `"${piece}" (of ${JSON.stringify(form)}) left in ${JSON.stringify(stored.slice(-80))}`).to.equal(false);
    }
  }
}

describe('domain/secrets-scrub', () => {
  it('scrubs each form a target may echo: raw, JSON, percent- and form-encoded (either hex case), base64', () => {
    const secrets = [KEY];
    const json = JSON.stringify({ a: `x"${KEY}"` });
    const cases: Array<[string, string]> = [
      ['raw', `key ${KEY} end`],
      ['JSON-escaped', json],
      ['XML-escaped', `<faultstring>bad key ${KEY.replace(/&/g, '&amp;')}</faultstring>`],
      ['encodeURIComponent', `GET /x?api_key=${encodeURIComponent(KEY)}&b=1`],
      ['lower-case hex', `GET /x?api_key=${lowerHex(encodeURIComponent(KEY))}&b=1`],
      ['form-encoded', `body api_key=${new URLSearchParams({ k: KEY }).toString().slice(2)}&b=1`],
      ['base64', `token ${b64(KEY)} end`],
      ['base64 unpadded', `token ${b64(KEY).replace(/=+$/, '')}; end`],
      ['base64url', `token ${b64(KEY).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')} end`],
    ];
    for (const [what, text] of cases) {
      const out = scrubSecrets(text, secrets);
      expect(out, what).to.include('***');
      expectNoPiece(out, KEY);
    }
    expect(scrubSecrets(`api_key=${encodeURIComponent(KEY)}&b=1`, secrets)).to.equal('api_key=***&b=1');
  });

  it('scrubs the base64 of a configured user:password pair, and the password inside base64 at any byte offset', () => {
    const password = 'pa55:w/rd+!';
    const pair = `bi-user:${password}`;
    const out = scrubSecrets(`Authorization: Basic ${b64(pair)}`, [pair, password]);
    expect(out).to.equal('Authorization: Basic ***');
    // A user that is not configured: what depends only on the password's bytes is still found.
    for (const user of ['u', 'us', 'use', 'unknown-user']) {
      const encoded = b64(`${user}:${password}`);
      const scrubbed = scrubSecrets(encoded, [password]);
      expect(scrubbed, user).to.include('***');
      expect(Buffer.from(scrubbed.replace('***', ''), 'base64').toString('latin1')).not.to.include(password.slice(0, 4));
    }
  });

  it('does not search for secrets shorter than 4 characters', () => {
    expect(scrubSecrets('abc abcd', ['abc'])).to.equal('abc abcd');
  });

  it('leaves no part of two secrets that overlap in the text', () => {
    const out = scrubSecrets('--xxab1234cd--', ['ab1234cd', 'xxab12']);
    expect(out).to.equal('--***--');
  });

  it('keeps one scrubber per secrets list (the log hook reuses it), and one per list of extra credentials', () => {
    const list = ['first-secret', 'second-secret'];
    expect(scrubberFor(list)).to.equal(scrubberFor(list));
    expect(scrubberFor(list).with(['sent-token'])).to.equal(scrubberFor(list).with(['sent-token']));
    expect(scrubberFor(list).with(['sent-token']).scrub('a sent-token and a first-secret')).to.equal('a *** and a ***');
  });

  it('scrubs before the byte cut: a secret across the 2 KB cut leaves no part, and the cut is marked', () => {
    for (let before = 2048 - KEY.length - 10; before <= 2048 + 2; before++) {
      const text = `${'.'.repeat(before)}${encodeURIComponent(KEY)}${'.'.repeat(100)}`;
      const stored = scrubberFor([KEY]).clipBytes(text, 2048);
      expect(Buffer.byteLength(stored)).to.be.at.most(2048);
      expectNoPiece(stored, KEY);
    }
  });

  it('trims an end that is the start of a secret (the text came cut already) and marks it', () => {
    const s = scrubberFor([KEY]);
    expect(s.clipBytes(`ok ${KEY.slice(0, 6)}`, 2048)).to.equal('ok ***');
    expect(s.clipBytes(`ok ${encodeURIComponent(KEY).slice(0, 9)}`, 2048)).to.equal('ok ***');
    // Shorter than 4 characters: ordinary text, kept.
    expect(s.clipBytes('ok ak/', 2048)).to.equal('ok ak/');
  });

  it('scrubs before the character cut of error messages: no part is left before the …', () => {
    for (let before = 480; before < 500; before++) {
      const stored = scrubberFor([KEY]).clipChars(`${'.'.repeat(before)}${KEY}${'.'.repeat(100)}`, 500);
      expect(stored.length).to.be.at.most(500);
      expect(stored.endsWith('…')).to.equal(true);
      expectNoPiece(stored, KEY);
    }
  });

  it('random secrets (with / + = % & space and non-ASCII) in every form, across the cut: no part of 4 or more characters is kept', () => {
    const rng = new Rng(0x5ec2e7);
    const alphabet = [...'abcXYZ019/+=%& -_.:?#é漢', '😀'];
    for (let run = 0; run < 300; run++) {
      const length = rng.between(4, 30);
      let secret = '';
      while ([...secret].length < length) secret += alphabet[rng.int(alphabet.length)] ?? 'a';
      const forms = echoForms(secret);
      const form = forms[rng.int(forms.length)] ?? secret;
      const scrubber = scrubberFor([secret, `user:${secret}`]);
      // Whole, inside other text.
      const whole = scrubber.scrub(`~~${form}~~`);
      expectNoPiece(whole, secret);
      // Across the cut, at every place within the form.
      const at = 64 - rng.int(form.length + 1);
      const stored = scrubber.clipBytes(`${'~'.repeat(Math.max(0, at))}${form}${'~'.repeat(64)}`, 64);
      expect(Buffer.byteLength(stored)).to.be.at.most(64);
      expectNoPiece(stored, secret);
    }
  });

  it('the log hook scrubs every line with the same rule', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const secrets = [KEY];
    const logger = createLogger({ level: 'info', secrets: () => secrets, destination });
    logger.info({ url: `https://t.example/x?api_key=${encodeURIComponent(KEY)}` }, `echo ${b64(KEY)}`);
    logger.flush();
    const text = lines.join('');
    expect(text).to.include('api_key=***');
    expectNoPiece(text, KEY);
  });
});
