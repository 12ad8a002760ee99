import type { QName } from './definitions.ts';

/**
 * What an element may hold, read from the XML Schema that node-soap parsed (its schema objects,
 * includes and imports resolved): the fields of a complex type in their schema order with their
 * namespace, occurrences and type, or a simple type with its enumeration. The sender writes and
 * checks a mapping's output with it; `omgw connector describe` prints it.
 *
 * Covered: sequence, all, choice (its branches optional), complexContent extension and
 * restriction, simpleContent (as its simple base), element refs, named and anonymous types,
 * simpleType restrictions with enumerations, elementFormDefault / form, nillable. Attributes are
 * not written; `xsd:any` content is not written either (the type is marked open).
 */

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

export interface SimpleShape {
  kind: 'simple';
  /** The built-in XML Schema type it derives from (local name: string, int, date...). */
  base: string;
  /** The type's own name when it is a named simpleType. */
  typeName: string | null;
  enumeration: string[] | null;
}

export interface ComplexShape {
  kind: 'complex';
  typeName: string | null;
  fields: FieldShape[];
  /** The type has xsd:any content or a construct not read here. */
  open: boolean;
}

export type Shape = SimpleShape | ComplexShape;

export interface FieldShape {
  name: string;
  /** '' for an unqualified element. */
  ns: string;
  min: number;
  /** null: unbounded. */
  max: number | null;
  nillable: boolean;
  shape: Shape;
}

/** node-soap's parsed schema nodes, read defensively: its element classes have no usable types. */
interface SchemaNode {
  name?: unknown;
  children?: unknown;
  xmlns?: unknown;
  schemaXmlns?: unknown;
  [attr: `$${string}`]: unknown;
}

interface Schema extends SchemaNode {
  complexTypes?: unknown;
  types?: unknown;
  elements?: unknown;
}

class SchemaShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaShapeError';
  }
}

const isNode = (v: unknown): v is SchemaNode => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const kids = (n: SchemaNode): SchemaNode[] => (Array.isArray(n.children) ? n.children.filter(isNode) : []);
const record = (v: unknown): Record<string, unknown> => (isNode(v) ? (v as Record<string, unknown>) : {});

function occurs(value: unknown, fallback: number): number | null {
  const text = str(value);
  if (text === undefined) return fallback;
  if (text === 'unbounded') return null;
  const n = Number.parseInt(text, 10);
  return Number.isFinite(n) ? n : fallback;
}

/** Builds shapes from node-soap's `definitions.schemas` (namespace → schema). */
export class ShapeReader {
  readonly #schemas: Record<string, unknown>;
  readonly #definitionsXmlns: Record<string, unknown>;
  readonly #types = new Map<string, Shape>();

  constructor(schemas: unknown, definitionsXmlns: unknown) {
    this.#schemas = record(schemas);
    this.#definitionsXmlns = record(definitionsXmlns);
  }

  /** The top-level element `name` as a field (once, required). */
  element(name: QName): FieldShape {
    const { schema, node } = this.#global(name, 'elements');
    return this.#field(node, schema, true);
  }

  /** The named type `name` (rpc parts are typed). */
  type(name: QName): Shape {
    return this.#typeShape(name);
  }

  #schema(ns: string): Schema | undefined {
    const s = this.#schemas[ns];
    return isNode(s) ? s : undefined;
  }

  #global(name: QName, table: 'elements' | 'complexTypes' | 'types'): { schema: Schema; node: SchemaNode } {
    const schema = this.#schema(name.ns);
    const node = schema ? record(schema[table])[name.local] : undefined;
    if (!schema || !isNode(node)) {
      const what = table === 'elements' ? 'element' : 'type';
      throw new SchemaShapeError(`the schema has no ${what} {${name.ns}}${name.local}`);
    }
    return { schema, node };
  }

  #resolve(node: SchemaNode, schema: Schema, value: string): QName {
    const colon = value.indexOf(':');
    const prefix = colon === -1 ? '' : value.slice(0, colon);
    const local = colon === -1 ? value : value.slice(colon + 1);
    if (prefix === '') return { ns: str(schema.$targetNamespace) ?? '', local };
    for (const scope of [node.xmlns, node.schemaXmlns, schema.xmlns, schema.schemaXmlns, this.#definitionsXmlns]) {
      const ns = str(record(scope)[prefix]);
      if (ns !== undefined) return { ns, local };
    }
    // The usual prefix for XML Schema, when a schema relies on the WSDL's declaration of it.
    if (prefix === 'xsd' || prefix === 'xs') return { ns: XSD_NS, local };
    throw new SchemaShapeError(`the schema uses the undeclared prefix "${prefix}" in "${value}"`);
  }

  #field(node: SchemaNode, schema: Schema, topLevel: boolean): FieldShape {
    const min = occurs(node.$minOccurs, 1) ?? 1;
    const max = occurs(node.$maxOccurs, 1);
    const ref = str(node.$ref);
    if (ref !== undefined) {
      const target = this.element(this.#resolve(node, schema, ref));
      return { ...target, min, max };
    }
    const tns = str(schema.$targetNamespace) ?? '';
    const form = str(node.$form) ?? str(schema.$elementFormDefault) ?? 'unqualified';
    const ns = topLevel || form === 'qualified' ? tns : '';
    const type = str(node.$type);
    const inline = kids(node).find((c) => c.name === 'complexType' || c.name === 'simpleType');
    const shape: Shape =
      type !== undefined
        ? this.#typeShape(this.#resolve(node, schema, type))
        : inline
          ? this.#anonymous(inline, schema)
          : { kind: 'simple', base: 'anyType', typeName: null, enumeration: null };
    return { name: str(node.$name) ?? '', ns, min: topLevel ? 1 : min, max: topLevel ? 1 : max, nillable: str(node.$nillable) === 'true', shape };
  }

  #typeShape(name: QName): Shape {
    if (name.ns === XSD_NS) return { kind: 'simple', base: name.local, typeName: null, enumeration: null };
    const key = `{${name.ns}}${name.local}`;
    const known = this.#types.get(key);
    if (known) return known;
    const schema = this.#schema(name.ns);
    const complex = schema ? record(schema.complexTypes)[name.local] : undefined;
    if (schema && isNode(complex)) {
      // Registered before its fields are read: a type that contains itself refers to this object.
      const shape: ComplexShape = { kind: 'complex', typeName: name.local, fields: [], open: false };
      this.#types.set(key, shape);
      this.#fillComplex(shape, complex, schema);
      return shape;
    }
    const simple = schema ? record(schema.types)[name.local] : undefined;
    if (schema && isNode(simple)) {
      const shape = this.#simple(simple, schema, name.local);
      this.#types.set(key, shape);
      return shape;
    }
    throw new SchemaShapeError(`the schema has no type {${name.ns}}${name.local}`);
  }

  #anonymous(node: SchemaNode, schema: Schema): Shape {
    if (node.name === 'simpleType') return this.#simple(node, schema, null);
    const shape: ComplexShape = { kind: 'complex', typeName: null, fields: [], open: false };
    this.#fillComplex(shape, node, schema);
    return shape;
  }

  #simple(node: SchemaNode, schema: Schema, typeName: string | null): SimpleShape {
    const restriction = kids(node).find((c) => c.name === 'restriction');
    if (!restriction) return { kind: 'simple', base: 'string', typeName, enumeration: null };
    const baseName = str(restriction.$base);
    const base = baseName === undefined ? null : this.#typeShape(this.#resolve(restriction, schema, baseName));
    const values = kids(restriction)
      .filter((c) => c.name === 'enumeration')
      .map((c) => str(c.$value))
      .filter((v): v is string => v !== undefined);
    const inherited = base?.kind === 'simple' ? base : null;
    return {
      kind: 'simple',
      base: inherited?.base ?? 'string',
      typeName,
      enumeration: values.length > 0 ? values : (inherited?.enumeration ?? null),
    };
  }

  #fillComplex(shape: ComplexShape, node: SchemaNode, schema: Schema): void {
    for (const child of kids(node)) {
      if (child.name === 'complexContent' || child.name === 'simpleContent') {
        const derivation = kids(child).find((c) => c.name === 'extension' || c.name === 'restriction');
        const baseName = derivation ? str(derivation.$base) : undefined;
        if (!derivation || baseName === undefined) {
          shape.open = true;
          continue;
        }
        const base = this.#typeShape(this.#resolve(derivation, schema, baseName));
        if (child.name === 'simpleContent' || base.kind === 'simple') {
          // Text content with attributes: attributes are not written, so it is its simple base.
          Object.assign(shape, { fields: [], open: true });
          continue;
        }
        // An extension adds to the base's fields; a restriction restates the ones it keeps.
        if (derivation.name === 'extension') shape.fields.push(...base.fields);
        this.#particles(shape, kids(derivation), schema, false);
      } else this.#particles(shape, [child], schema, false);
    }
  }

  #particles(shape: ComplexShape, nodes: SchemaNode[], schema: Schema, optional: boolean): void {
    for (const n of nodes) {
      switch (n.name) {
        case 'element': {
          const field = this.#field(n, schema, false);
          shape.fields.push(optional ? { ...field, min: 0 } : field);
          break;
        }
        case 'sequence':
        case 'all':
          this.#particles(shape, kids(n), schema, optional || occurs(n.$minOccurs, 1) === 0);
          break;
        case 'choice':
          this.#particles(shape, kids(n), schema, true);
          break;
        case 'attribute':
        case 'anyAttribute':
        case 'annotation':
        case 'documentation':
          break;
        default:
          // xsd:any, group references and what else this reader does not follow.
          shape.open = true;
      }
    }
  }
}
