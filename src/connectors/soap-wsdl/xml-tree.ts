import { SaxesParser, type SaxesTagNS } from 'saxes';

/**
 * A small namespace-resolved element tree, for reading WSDL structure (bindings, ports, messages)
 * and SOAP answers. No DOCTYPE is accepted: nothing here needs one, and it keeps entity expansion
 * out of the question.
 */
export interface XmlElement {
  ns: string;
  local: string;
  /** Attributes by their qualified name as written (`style`, `xml:lang`), values decoded. */
  attrs: Record<string, string>;
  /** Prefix → namespace in scope at this element (`''` is the default namespace). */
  scope: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (concatenated), untrimmed. */
  text: string;
}

class XmlTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlTreeError';
  }
}

export function parseXmlTree(xml: string): XmlElement {
  if (/<!DOCTYPE/i.test(xml)) throw new XmlTreeError('the document has a DOCTYPE declaration; refused without parsing it');
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  parser.on('opentag', (tag: SaxesTagNS) => {
    const attrs: Record<string, string> = {};
    for (const [name, attr] of Object.entries(tag.attributes)) attrs[name] = attr.value;
    const scope: Record<string, string> = {};
    const parent = stack.at(-1);
    Object.assign(scope, parent?.scope ?? {}, tag.ns);
    const element: XmlElement = { ns: tag.uri, local: tag.local, attrs, scope, children: [], text: '' };
    if (parent) parent.children.push(element);
    else root ??= element;
    stack.push(element);
  });
  parser.on('text', (text) => {
    const top = stack.at(-1);
    if (top) top.text += text;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    throw new XmlTreeError(`not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (root === null) throw new XmlTreeError('no root element');
  return root;
}

/** The element children of `el` in namespace `ns` called `local` (any local name when omitted). */
export function childrenOf(el: XmlElement, ns: string, local?: string): XmlElement[] {
  return el.children.filter((c) => c.ns === ns && (local === undefined || c.local === local));
}

/** A QName attribute value resolved against the element's scope: `{ ns, local }`, or null when the prefix is unknown. */
export function resolveQName(el: XmlElement, value: string): { ns: string; local: string } | null {
  const colon = value.indexOf(':');
  const prefix = colon === -1 ? '' : value.slice(0, colon);
  const local = colon === -1 ? value : value.slice(colon + 1);
  const ns = el.scope[prefix];
  if (ns === undefined) return prefix === '' ? { ns: '', local } : null;
  return { ns, local };
}
