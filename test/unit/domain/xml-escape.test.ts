import { expect } from 'chai';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { escapeXmlAttribute, escapeXmlText, hasNonXmlChar } from '../../../src/domain/xml-escape.ts';

/** What a conforming parser reads back from `<a v="…">…</a>`: the attribute value and the text. */
function readBack(xml: string): { attribute: string; text: string } {
  const parser = new SaxesParser();
  let attribute = '';
  let text = '';
  parser.on('opentag', (tag) => {
    attribute = String(tag.attributes['v'] ?? '');
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.write(xml).close();
  return { attribute, text };
}

describe('xml-escape', () => {
  it('escapes markup, quotes and line ends so that a parser reads back exactly the value', () => {
    const value = `a&b<c>d"e'f\tg\nh\r\ni]]>`;
    expect(escapeXmlText(value)).to.equal('a&amp;b&lt;c&gt;d"e\'f\tg\nh&#13;\ni]]&gt;');
    expect(escapeXmlAttribute(value)).to.equal('a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;&#10;i]]&gt;');
    expect(readBack(`<a v="${escapeXmlAttribute(value)}">${escapeXmlText(value)}</a>`)).to.deep.equal({ attribute: value, text: value });
  });

  it('reads back every string XML can carry, in text and in either quote of an attribute (property)', () => {
    const xmlString = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !hasNonXmlChar(s));
    fc.assert(
      fc.property(xmlString, (value) => {
        expect(readBack(`<a v="${escapeXmlAttribute(value)}">${escapeXmlText(value)}</a>`)).to.deep.equal({ attribute: value, text: value });
        expect(readBack(`<a v='${escapeXmlAttribute(value)}'/>`).attribute).to.equal(value);
      }),
      { seed: 20261205, numRuns: 500 },
    );
  });

  it('tells the characters XML 1.0 cannot carry at all', () => {
    for (const c of ['\u0000', '\u0001', '\u001f', '\ufffe', '\uffff', '\ud800']) expect(hasNonXmlChar(`x${c}`), JSON.stringify(c)).to.equal(true);
    for (const c of ['\t', '\n', '\r', ' ', 'é', '\u{1F600}']) expect(hasNonXmlChar(`x${c}`), JSON.stringify(c)).to.equal(false);
  });
});
