import { expect } from 'chai';
import { renderTemplate } from '../../../src/domain/template.ts';

const vars = {
  delivery: { id: 'dlv_01HX', attempt: 2 },
  event: { orderKey: 'LEG_OPS:R13-10045', eventCode: 'FlineStatusUpdate', lines: [{ sku: 'A/1' }], empty: null },
  flag: true,
  big: 123456789012345678901234567890n,
  when: new Date(Date.UTC(2025, 0, 15, 12, 0, 0)),
  'po.number': 'PO 7',
};

describe('domain/template', () => {
  describe('renderTemplate', () => {
    it('fills idempotency-key templates', () => {
      expect(renderTemplate('{{delivery.id}}', vars)).to.equal('dlv_01HX');
      expect(renderTemplate('{{event.orderKey}}-{{event.eventCode}}', vars)).to.equal('LEG_OPS:R13-10045-FlineStatusUpdate');
    });

    it('allows whitespace inside the braces', () => {
      expect(renderTemplate('{{ delivery.id }}/{{\tevent.eventCode  }}', vars)).to.equal('dlv_01HX/FlineStatusUpdate');
    });

    it('writes missing and null values as empty text', () => {
      expect(renderTemplate('[{{event.nope}}][{{nope.deeper.still}}][{{event.empty}}][{{delivery.id.x}}]', vars)).to.equal('[][][][]');
    });

    it('stringifies numbers, booleans and bigints, and writes objects as JSON', () => {
      expect(renderTemplate('{{delivery.attempt}} {{flag}} {{big}}', vars)).to.equal('2 true 123456789012345678901234567890');
      expect(renderTemplate('{{event.lines}}', vars)).to.equal('[{"sku":"A/1"}]');
      expect(renderTemplate('{{delivery}}', vars)).to.equal('{"id":"dlv_01HX","attempt":2}');
      expect(renderTemplate('{{when}}', vars)).to.equal('2025-01-15T12:00:00.000Z');
    });

    it('reaches array elements by index', () => {
      expect(renderTemplate('{{event.lines.0.sku}}', vars)).to.equal('A/1');
      expect(renderTemplate('{{event.lines.1.sku}}', vars)).to.equal('');
    });

    it('matches a flat key that contains dots', () => {
      expect(renderTemplate('{{po.number}}', vars)).to.equal('PO 7');
    });

    it('does not reach into prototypes', () => {
      expect(renderTemplate('{{constructor}}|{{event.toString}}|{{__proto__}}', vars)).to.equal('||');
    });

    it('leaves text that is not a placeholder as written', () => {
      const text = 'a {{}} b {{ }} c {{a b}} d {single} e {{open';
      expect(renderTemplate(text, vars)).to.equal(text);
      expect(renderTemplate('{{{delivery.id}}}', vars)).to.equal('{dlv_01HX}');
    });

    it('does not re-expand placeholders that appear in values', () => {
      expect(renderTemplate('{{x}}', { x: '{{delivery.id}}', delivery: { id: 'no' } })).to.equal('{{delivery.id}}');
    });

    it('writes a cyclic object as empty text instead of throwing', () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      expect(renderTemplate('<{{c}}>', { c: cyclic })).to.equal('<>');
    });

    it('writes the value a path leads to, an array element included, as a whole', () => {
      expect(renderTemplate('{{event.lines.0}}', vars)).to.equal('{"sku":"A/1"}');
      expect(renderTemplate('<{{missing}}>', vars)).to.equal('<>');
    });

    it('writes functions, symbols, undefined and an invalid date as empty text', () => {
      const odd = { f: () => 1, s: Symbol('s'), u: undefined, d: new Date(Number.NaN) };
      expect(renderTemplate('<{{f}}|{{s}}|{{u}}|{{d}}>', odd)).to.equal('<|||>');
    });
  });
});
