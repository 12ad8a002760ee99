import { expect } from 'chai';
import { identifier, insertScript, literal } from '../../../../src/store/sqlite/sql.ts';

describe('SQLite literals for the ingest script', () => {
  it('writes null, numbers and text as SQLite literals, doubling quotes', () => {
    expect(literal(null)).to.equal('NULL');
    expect(literal(undefined)).to.equal('NULL');
    expect(literal(1764620000123)).to.equal('1764620000123');
    expect(literal(-3)).to.equal('-3');
    expect(literal(0.5)).to.equal('0.5');
    expect(literal("it's")).to.equal("'it''s'");
    expect(literal("'; DROP TABLE events; --")).to.equal("'''; DROP TABLE events; --'");
    expect(literal('back\\slash "q"')).to.equal(`'back\\slash "q"'`);
    expect(literal('')).to.equal("''");
  });

  it('writes text holding NUL as its UTF-8 bytes cast to text', () => {
    expect(literal('a\u0000ü')).to.equal(`CAST(X'6100c3bc' AS TEXT)`);
  });

  it('refuses values that are not text, finite numbers or null', () => {
    expect(() => literal(Number.NaN)).to.throw(TypeError, /NaN/);
    expect(() => literal(Number.POSITIVE_INFINITY)).to.throw(TypeError);
    expect(() => literal(true as unknown as string)).to.throw(TypeError, /boolean/);
    expect(() => literal({} as unknown as string)).to.throw(TypeError, /object/);
  });

  it('quotes identifiers and builds one multi-row insert in the first row\'s column order', () => {
    expect(identifier('a"b')).to.equal('"a""b"');
    expect(insertScript('t', [], 10)).to.equal('');
    expect(insertScript('t', [{ b: 1, a: 'x' }, { a: 'y', b: null }], 10)).to.equal(`INSERT INTO "t" ("b", "a") VALUES (1, 'x'), (NULL, 'y');\n`);
    expect(insertScript('t', [{ k: 'v' }], 10, 'ON CONFLICT ("k") DO NOTHING')).to.equal(`INSERT INTO "t" ("k") VALUES ('v') ON CONFLICT ("k") DO NOTHING;\n`);
  });

  it('writes one statement per chunk of rows, each with its suffix', () => {
    const rows = [{ k: 'a' }, { k: 'b' }, { k: 'c' }];
    expect(insertScript('t', rows, 2, 'ON CONFLICT DO NOTHING')).to.equal(
      `INSERT INTO "t" ("k") VALUES ('a'), ('b') ON CONFLICT DO NOTHING;\nINSERT INTO "t" ("k") VALUES ('c') ON CONFLICT DO NOTHING;\n`,
    );
  });
});
