import { WSDL } from 'soap';
import { messageParts, readDefinitions, type BindingOperation, type PortDefinition, type QName } from './definitions.ts';
import { ShapeReader, type FieldShape } from './shape.ts';
import { writeElement } from './serialize.ts';
import { parseXmlTree } from './xml-tree.ts';

/**
 * A target's WSDL, read: its operations per service port, each with what its input may hold (the
 * schema shape of the one element in soap:Body) and how it is sent (SOAP version, SOAPAction, style).
 * node-soap parses the document and its schemas (imports and includes resolved, relative to where
 * the WSDL came from) and parses the target's answers; the structure of services, bindings and
 * messages is read from the document itself (definitions.ts).
 */

export interface WsdlOperation {
  name: string;
  service: string;
  port: string;
  /** soap:address location, as the WSDL says (the connector's url is where requests go). */
  address: string | null;
  version: '1.1' | '1.2';
  style: 'document' | 'rpc';
  soapAction: string;
  /**
   * The element soap:Body holds: document style, the input message's element; rpc style, a wrapper
   * named for the operation (in the binding's namespace) whose fields are the parts.
   */
  input: FieldShape | null;
  /** Why this operation cannot be sent (an encoded binding, several document parts...), or null. */
  unsupported: string | null;
}

export interface WsdlDocument {
  /** Where it was read from: an absolute file path or a URL. */
  source: string;
  operations: WsdlOperation[];
  /** The answer's Body (or the whole envelope when it has none) as JSON, or null when it is not a SOAP envelope node-soap can read. */
  parseAnswer(body: string): unknown;
}

export class WsdlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WsdlError';
  }
}

/** Parses a WSDL's text; `uri` (a file path or URL) is where its imports are resolved from. */
export async function parseWsdl(text: string, uri: string): Promise<WsdlDocument> {
  let defs;
  try {
    defs = readDefinitions(parseXmlTree(text));
  } catch (err) {
    throw new WsdlError(`${uri}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const wsdl = await openWithNodeSoap(text, uri);
  const reader = new ShapeReader(wsdl.definitions.schemas, wsdl.definitions.xmlns);
  const operations: WsdlOperation[] = [];
  for (const port of defs.ports) {
    for (const op of port.operations.values()) {
      const base = { name: op.name, service: port.service, port: port.port, address: port.address, version: port.version, style: op.style, soapAction: op.soapAction };
      try {
        operations.push({ ...base, input: inputShape(op, port, reader, (name) => messageParts(defs, name)), unsupported: null });
      } catch (err) {
        operations.push({ ...base, input: null, unsupported: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return {
    source: uri,
    operations,
    parseAnswer(body) {
      try {
        const parsed = wsdl.xmlToObject(body) as { Body?: unknown } | null;
        return parsed?.Body ?? parsed;
      } catch {
        return null;
      }
    },
  };
}

function inputShape(op: BindingOperation, port: PortDefinition, reader: ShapeReader, parts: (name: QName) => ReturnType<typeof messageParts>): FieldShape {
  if (op.use === 'encoded') throw new WsdlError(`${port.binding} ${op.name}: SOAP encoding (use="encoded") is not supported; literal only`);
  const message = op.input ? parts(op.input) : null;
  if (!message) throw new WsdlError(`${port.binding} ${op.name}: its input message is not in the WSDL`);
  if (op.style === 'rpc') {
    const fields = message.map((part): FieldShape => {
      if (part.element) return reader.element(part.element);
      if (!part.type) throw new WsdlError(`part ${part.name} has neither element nor type`);
      return { name: part.name, ns: '', min: 1, max: 1, nillable: false, shape: reader.type(part.type) };
    });
    return { name: op.name, ns: op.bodyNamespace, min: 1, max: 1, nillable: false, shape: { kind: 'complex', typeName: null, fields, open: false } };
  }
  const [only, ...more] = message;
  if (!only || more.length > 0) throw new WsdlError(`${port.binding} ${op.name}: a document-style input needs exactly one part (it has ${message.length})`);
  if (only.element) return reader.element(only.element);
  if (!only.type) throw new WsdlError(`part ${only.name} has neither element nor type`);
  return { name: only.name, ns: '', min: 1, max: 1, nillable: false, shape: reader.type(only.type) };
}

/** The XML of soap:Body's content for `value` (the mapping's output): throws ShapeViolation naming the path. */
export function writeBody(operation: WsdlOperation, value: unknown): string {
  if (!operation.input) throw new WsdlError(`operation ${operation.name} cannot be sent: ${operation.unsupported ?? 'no input'}`);
  return writeElement(operation.input, value);
}

/**
 * The operation a connector names, on the port it names (needed when the WSDL offers it on several
 * ports, a SOAP 1.1 and a 1.2 one for instance).
 */
export function selectOperation(doc: WsdlDocument, wanted: { operation: string; service?: string; port?: string }): WsdlOperation {
  const named = doc.operations.filter((o) => o.name === wanted.operation);
  if (named.length === 0) {
    const names = [...new Set(doc.operations.map((o) => o.name))].join(', ');
    throw new WsdlError(`the WSDL has no operation "${wanted.operation}" (operations: ${names || 'none'})`);
  }
  const matching = named.filter((o) => (wanted.service === undefined || o.service === wanted.service) && (wanted.port === undefined || o.port === wanted.port));
  const where = (list: WsdlOperation[]): string => list.map((o) => `${o.service}/${o.port}`).join(', ');
  if (matching.length === 0) throw new WsdlError(`operation "${wanted.operation}" is not on ${wanted.service ?? '*'}/${wanted.port ?? '*'} (it is on ${where(named)})`);
  if (matching.length > 1) throw new WsdlError(`operation "${wanted.operation}" is on several ports (${where(matching)}): set soap.service and soap.port`);
  const [chosen] = matching;
  if (!chosen) throw new WsdlError(`operation "${wanted.operation}" not found`);
  if (chosen.unsupported) throw new WsdlError(chosen.unsupported);
  return chosen;
}

interface NodeSoapWsdl {
  definitions: { schemas: unknown; xmlns: unknown };
  xmlToObject(xml: string): unknown;
}

function openWithNodeSoap(text: string, uri: string): Promise<NodeSoapWsdl> {
  return new Promise((resolve, reject) => {
    try {
      const wsdl = new WSDL(text, uri, {});
      wsdl.onReady((err) => {
        if (err) reject(new WsdlError(`${uri}: ${err.message}`));
        else resolve(wsdl as unknown as NodeSoapWsdl);
      });
    } catch (err) {
      reject(new WsdlError(`${uri}: ${err instanceof Error ? err.message : String(err)}`));
    }
  });
}
