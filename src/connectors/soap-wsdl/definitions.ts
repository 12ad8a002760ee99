import { childrenOf, resolveQName, type XmlElement } from './xml-tree.ts';

/**
 * The WSDL 1.1 structure a sender needs, read from the document itself: services and their ports
 * (address, binding), each binding's SOAP version, style and operations (soapAction, the rpc body
 * namespace), and the messages' parts. node-soap reads the same document for its schemas, but keeps
 * one method object per portType, so two bindings of one portType (SOAP 1.1 and 1.2 ports) would
 * share the last one's soapAction, and it does not record a binding's SOAP version.
 */

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP11_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const SOAP12_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';

export interface QName {
  ns: string;
  local: string;
}

export interface MessagePart {
  name: string;
  element: QName | null;
  type: QName | null;
}

export interface BindingOperation {
  name: string;
  soapAction: string;
  style: 'document' | 'rpc';
  /** rpc: the namespace of the operation's wrapper element (soap:body namespace). */
  bodyNamespace: string;
  use: 'literal' | 'encoded';
  /** The portType operation's input and output messages. */
  input: QName | null;
  output: QName | null;
}

export interface PortDefinition {
  service: string;
  port: string;
  address: string | null;
  binding: string;
  version: '1.1' | '1.2';
  operations: Map<string, BindingOperation>;
}

export interface WsdlDefinitions {
  targetNamespace: string;
  ports: PortDefinition[];
  messages: Map<string, MessagePart[]>;
}

class WsdlStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WsdlStructureError';
  }
}

const key = (q: QName): string => `{${q.ns}}${q.local}`;

export function readDefinitions(root: XmlElement): WsdlDefinitions {
  if (root.ns !== WSDL_NS || root.local !== 'definitions') throw new WsdlStructureError('not a WSDL 1.1 document (no wsdl:definitions root)');
  const targetNamespace = root.attrs.targetNamespace ?? '';
  const qname = (el: XmlElement, attr: string): QName | null => {
    const value = el.attrs[attr];
    return value === undefined ? null : resolveQName(el, value);
  };

  const messages = new Map<string, MessagePart[]>();
  for (const m of childrenOf(root, WSDL_NS, 'message')) {
    const parts = childrenOf(m, WSDL_NS, 'part').map((p) => ({ name: p.attrs.name ?? '', element: qname(p, 'element'), type: qname(p, 'type') }));
    messages.set(key({ ns: targetNamespace, local: m.attrs.name ?? '' }), parts);
  }

  const portTypes = new Map<string, Map<string, { input: QName | null; output: QName | null }>>();
  for (const pt of childrenOf(root, WSDL_NS, 'portType')) {
    const ops = new Map<string, { input: QName | null; output: QName | null }>();
    for (const op of childrenOf(pt, WSDL_NS, 'operation')) {
      const input = childrenOf(op, WSDL_NS, 'input')[0];
      const output = childrenOf(op, WSDL_NS, 'output')[0];
      ops.set(op.attrs.name ?? '', { input: input ? qname(input, 'message') : null, output: output ? qname(output, 'message') : null });
    }
    portTypes.set(key({ ns: targetNamespace, local: pt.attrs.name ?? '' }), ops);
  }

  const bindings = new Map<string, { version: '1.1' | '1.2'; operations: Map<string, BindingOperation> }>();
  for (const b of childrenOf(root, WSDL_NS, 'binding')) {
    const soapBinding = b.children.find((c) => c.local === 'binding' && (c.ns === SOAP11_BINDING_NS || c.ns === SOAP12_BINDING_NS));
    // An HTTP or other non-SOAP binding: not something a SOAP connector can use.
    if (!soapBinding) continue;
    const soapNs = soapBinding.ns;
    const version = soapNs === SOAP12_BINDING_NS ? '1.2' : '1.1';
    const bindingStyle = soapBinding.attrs.style === 'rpc' ? 'rpc' : 'document';
    const type = qname(b, 'type');
    const abstract = type ? portTypes.get(key(type)) : undefined;
    const operations = new Map<string, BindingOperation>();
    for (const op of childrenOf(b, WSDL_NS, 'operation')) {
      const name = op.attrs.name ?? '';
      const soapOp = childrenOf(op, soapNs, 'operation')[0];
      const body = childrenOf(op, WSDL_NS, 'input').flatMap((i) => childrenOf(i, soapNs, 'body'))[0];
      const style = (soapOp?.attrs.style ?? bindingStyle) === 'rpc' ? 'rpc' : 'document';
      operations.set(name, {
        name,
        soapAction: soapOp?.attrs.soapAction ?? '',
        style,
        bodyNamespace: body?.attrs.namespace ?? targetNamespace,
        use: body?.attrs.use === 'encoded' ? 'encoded' : 'literal',
        input: abstract?.get(name)?.input ?? null,
        output: abstract?.get(name)?.output ?? null,
      });
    }
    bindings.set(key({ ns: targetNamespace, local: b.attrs.name ?? '' }), { version, operations });
  }

  const ports: PortDefinition[] = [];
  for (const s of childrenOf(root, WSDL_NS, 'service')) {
    for (const p of childrenOf(s, WSDL_NS, 'port')) {
      const ref = qname(p, 'binding');
      const binding = ref ? bindings.get(key(ref)) : undefined;
      if (!ref || !binding) continue;
      const address = p.children.find((c) => c.local === 'address' && (c.ns === SOAP11_BINDING_NS || c.ns === SOAP12_BINDING_NS));
      ports.push({
        service: s.attrs.name ?? '',
        port: p.attrs.name ?? '',
        address: address?.attrs.location ?? null,
        binding: ref.local,
        version: binding.version,
        operations: binding.operations,
      });
    }
  }
  if (ports.length === 0) throw new WsdlStructureError('the WSDL has no service port with a SOAP 1.1 or 1.2 binding');
  return { targetNamespace, ports, messages };
}

/** The parts of message `name`, or null when the WSDL has no such message. */
export function messageParts(defs: WsdlDefinitions, name: QName): MessagePart[] | null {
  return defs.messages.get(key(name)) ?? null;
}
