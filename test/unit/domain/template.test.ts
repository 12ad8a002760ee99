import { expect } from 'chai';
import { lookupPath, renderPathTemplate, renderTemplate, stringifyValue, templateFields } from '../../../src/domain/template.ts';

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
  });

  describe('renderPathTemplate', () => {
    it('percent-encodes each substituted value but not the template', () => {
      expect(renderPathTemplate('/orders/{{event.orderKey}}/lines/{{event.lines.0.sku}}', vars)).to.equal(
        '/orders/LEG_OPS%3AR13-10045/lines/A%2F1',
      );
      expect(renderPathTemplate('/po/{{ po.number }}?x=1', vars)).to.equal('/po/PO%207?x=1');
    });

    it('keeps a value from adding path segments or a query', () => {
      expect(renderPathTemplate('/a/{{v}}', { v: '../b?c=d#e' })).to.equal('/a/..%2Fb%3Fc%3Dd%23e');
    });
  });

  describe('templateFields', () => {
    it('lists the placeholders once each, in order', () => {
      expect(templateFields('{{event.orderKey}}-{{ event.eventCode }}-{{event.orderKey}}')).to.deep.equal(['event.orderKey', 'event.eventCode']);
    });

    it('gives an empty list for plain text', () => {
      expect(templateFields('Idempotency-Key {{}}')).to.deep.equal([]);
    });
  });

  describe('helpers', () => {
    it('lookupPath returns the raw value', () => {
      expect(lookupPath(vars, 'event.lines.0')).to.deep.equal({ sku: 'A/1' });
      expect(lookupPath(vars, 'missing')).to.equal(undefined);
    });

    it('stringifyValue writes functions, symbols and undefined as empty text', () => {
      expect(stringifyValue(() => 1)).to.equal('');
      expect(stringifyValue(Symbol('s'))).to.equal('');
      expect(stringifyValue(undefined)).to.equal('');
      expect(stringifyValue(new Date(Number.NaN))).to.equal('');
    });
  });
});
