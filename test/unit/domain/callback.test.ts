import { expect } from 'chai';
import { callbackFieldProblem, callbackVerdict, jsonAsRecord, setAtPath, textAtPath, xpathLocalName } from '../../../src/domain/callback.ts';

describe('domain/callback: reading callbacks and answers', () => {
  it('reads text at a dotted path: strings as they are, numbers and booleans written out, nothing else', () => {
    const doc = { a: { b: 'x', n: 12.5, t: true, e: '', o: {}, l: [1] }, z: null };
    expect(textAtPath(doc, 'a.b')).to.equal('x');
    expect(textAtPath(doc, 'a.n')).to.equal('12.5');
    expect(textAtPath(doc, 'a.t')).to.equal('true');
    for (const path of ['a.e', 'a.o', 'a.l', 'z', 'a.b.c', 'missing', 'a.toString']) expect(textAtPath(doc, path), path).to.equal(null);
    expect(textAtPath('text', 'a')).to.equal(null);
  });

  it('writes at a dotted path, making objects on the way, and refuses a path through a value', () => {
    const doc: Record<string, unknown> = { order: { id: 1 } };
    expect(setAtPath(doc, 'meta.correlationId', 'c-1')).to.equal(true);
    expect(setAtPath(doc, 'order.ref', 'r')).to.equal(true);
    expect(doc).to.deep.equal({ order: { id: 1, ref: 'r' }, meta: { correlationId: 'c-1' } });
    expect(setAtPath(doc, 'order.id.x', 'no')).to.equal(false);
  });

  it('tells delivered from failed by the configured lists, exactly; anything else is no verdict', () => {
    const lists = { delivered: ['COMPLETED', 'SUCCESS'], failed: ['FAILED'] };
    expect(callbackVerdict('SUCCESS', lists)).to.equal('delivered');
    expect(callbackVerdict('FAILED', lists)).to.equal('failed');
    expect(callbackVerdict('completed', lists)).to.equal(null);
  });

  it('names an element by the XPath forms it knows, and nothing else', () => {
    expect(xpathLocalName("//*[local-name()='RequestId']")).to.equal('RequestId');
    expect(xpathLocalName('//*[local-name() = "RequestId"]')).to.equal('RequestId');
    expect(xpathLocalName('//RequestId')).to.equal('RequestId');
    expect(xpathLocalName('//ns1:RequestId')).to.equal('RequestId');
    for (const x of ['/Envelope/Body/RequestId', '//a/b', 'RequestId', "//*[name()='x']"]) expect(xpathLocalName(x), x).to.equal(null);
  });

  it('turns a JSON body into the event form trigger points read (text leaves)', () => {
    expect(jsonAsRecord({ a: 1, b: { c: false }, d: [1, { e: 'x' }], f: null })).to.deep.equal({
      a: '1',
      b: { c: 'false' },
      d: [{ '#text': '1' }, { e: 'x' }],
      f: null,
    });
    expect(jsonAsRecord('text')).to.deep.equal({ '#text': 'text' });
  });

  it('checks the fields a callback carries: ids and statuses bounded and free of control characters; a message may break lines', () => {
    const ok = { correlationId: 'c'.repeat(200), status: 'COMPLETED', message: 'line one\n\tline two\r\n' };
    expect(callbackFieldProblem(ok)).to.equal(null);
    expect(callbackFieldProblem({ correlationId: null, status: null, message: null })).to.equal(null);
    expect(callbackFieldProblem({ ...ok, correlationId: 'c'.repeat(201) })).to.equal("the callback's correlation id is 201 characters long: at most 200 are accepted");
    expect(callbackFieldProblem({ ...ok, correlationId: 'a\u0000b' })).to.equal("the callback's correlation id contains a control character");
    expect(callbackFieldProblem({ ...ok, correlationId: 'a\tb' })).to.equal("the callback's correlation id contains a control character");
    expect(callbackFieldProblem({ ...ok, status: 'DONE\u007f' })).to.equal("the callback's status contains a control character");
    expect(callbackFieldProblem({ ...ok, message: 'out of stock\u0000' })).to.equal("the callback's message contains a control character");
  });
});
