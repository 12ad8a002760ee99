import { expect } from 'chai';
import { JsonSyntaxError, parseJsonRecord } from '../../../../src/inbound/webhooks/json.ts';

const parse = (text: string, maxDepth = 64) => parseJsonRecord(text, { maxDepth });

describe('webhook JSON → event payload', () => {
  it('keeps numbers as their exact text, booleans as "true"/"false", null as null', () => {
    const record = parse('{"amount": 12.50, "id": 300100072403436123456, "neg": -0.0e+5, "ok": true, "no": false, "none": null}');
    expect(record).to.deep.equal({ amount: '12.50', id: '300100072403436123456', neg: '-0.0e+5', ok: 'true', no: 'false', none: null });
  });

  it('keeps nested objects, arrays of objects, and wraps primitive and nested array items', () => {
    const record = parse('{"a":{"b":[{"c":"1"},{"c":"2"}]},"tags":["x",2,null],"m":[[1,2],[]],"e":[],"o":{}}');
    expect(record).to.deep.equal({
      a: { b: [{ c: '1' }, { c: '2' }] },
      tags: [{ '#text': 'x' }, { '#text': '2' }, { '#text': null }],
      m: [{ '#array': [{ '#text': '1' }, { '#text': '2' }] }, { '#array': [] }],
      e: [],
      o: {},
    });
    // The canonical-json transform turns the wrappers back into values (test/unit/connectors/transforms.test.ts).
  });

  it('decodes string escapes exactly as JSON.parse does', () => {
    const text = String.raw`{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800","plain":"é 😀"}`;
    const expected = JSON.parse(text) as Record<string, string>;
    expect(parse(text)).to.deep.equal(expected);
  });

  it('keeps a body that is not an object', () => {
    expect(parse('[1,{"a":"b"}]')).to.deep.equal({ '#array': [{ '#text': '1' }, { a: 'b' }] });
    expect(parse(' "x" ')).to.deep.equal({ '#text': 'x' });
    expect(parse('7')).to.deep.equal({ '#text': '7' });
    expect(parse('null')).to.deep.equal({ '#text': null });
  });

  it('keeps __proto__ as an own key and does not change the prototype', () => {
    const record = parse('{"__proto__":{"polluted":"yes"},"constructor":"c"}');
    expect(Object.getPrototypeOf(record)).to.equal(Object.prototype);
    expect(Object.keys(record)).to.deep.equal(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(JSON.parse(JSON.stringify(record))).to.have.own.property('__proto__');
  });

  it('refuses nesting deeper than the limit without exhausting the stack', () => {
    expect(() => parse(`${'['.repeat(65)}${']'.repeat(65)}`)).to.throw(JsonSyntaxError, /nesting/);
    expect(parse(`${'['.repeat(64)}${']'.repeat(64)}`)).to.have.property('#array');
    expect(() => parse(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`)).to.throw(JsonSyntaxError, /nesting/);
  });

  it('refuses what JSON.parse refuses', () => {
    const bad = [
      '', ' ', '{', '}', '{"a"}', '{"a":}', '{"a":1,}', '[1,]', '[1 2]', "{'a':1}", '{a:1}', '01', '1.', '.5', '-', '+1', '1e', 'tru',
      'nul', 'NaN', 'Infinity', '"unterminated', '"tab\there"', '"\\x41"', '"\\u12"', '{"a":1}{', '{"a":1} x', '/* c */{}', '{"a":1 // c\n}',
      '"\\', '[', '{"a":[}', '\u00a0{}', '{"a":"\n"}',
    ];
    for (const text of bad) {
      expect(() => JSON.parse(text), `JSON.parse ${JSON.stringify(text)}`).to.throw(SyntaxError);
      expect(() => parse(text), JSON.stringify(text)).to.throw(JsonSyntaxError);
    }
  });

  it('agrees with JSON.parse on random mutations of a ShipBob payload (accepts iff JSON.parse does)', () => {
    const base = JSON.stringify({
      event_time: '2025-10-23T15:55:09.3614767Z',
      order_id: 100000001,
      reference_id: 'TEST101',
      status: 'LabelCreated',
      tracking: { carrier: 'USPS', tracking_id: '9261290306529427911297', list: [1, 2.5, true, null, 'x'] },
    });
    const alphabet = '{}[]",:.-+eE0123456789 \\utrfalsn\n';
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const chars = base.split('');
      for (let k = 0, edits = 1 + rand(3); k < edits; k++) {
        const at = rand(chars.length);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)] as string;
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      const text = chars.join('');
      let ours = true;
      let theirs = true;
      try {
        parse(text);
      } catch (err) {
        expect(err).to.be.instanceOf(JsonSyntaxError);
        ours = false;
      }
      try {
        JSON.parse(text);
      } catch {
        theirs = false;
      }
      expect(ours, text).to.equal(theirs);
      if (ours) accepted++;
    }
    expect(accepted).to.be.greaterThan(100);
  });
});
