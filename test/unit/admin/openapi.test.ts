import { expect } from 'chai';
import * as openapi from '../../../src/admin/openapi.ts';
import { components } from '../../../src/admin/responses.ts';
import { ADMIN_ROUTES, errorStatuses } from '../../../src/admin/routes.ts';
import { deliveriesQuery, operationBody } from '../../../src/admin/schemas.ts';
import { ATTEMPT_OUTCOMES, DELIVERY_STATES } from '../../../src/domain/delivery.ts';
import { SHIPBOB_BILLING_TOPICS } from '../../../src/domain/shipbob-webhook.ts';

/**
 * The generated OpenAPI document, without a gateway: it is well formed (every $ref resolves, every
 * component is used), complete for each route of the table, and takes its enums from the domain.
 * test/integration/admin/api.test.ts checks it against the router and the real answers.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const doc = JSON.parse(JSON.stringify(openapi.openApiDocument())) as Obj & {
  paths: Record<string, Record<string, Obj & { operationId: string; parameters?: Array<Obj & { name: string; in: string; schema: Obj }>; responses: Record<string, Obj> }>>;
  components: { schemas: Record<string, Obj> };
};
const schemas = doc.components.schemas;

/** A route's path as the document writes it: `/deliveries/:id` is `/admin/api/deliveries/{id}`. */
const documentedPath = (koaPath: string): string => `/admin/api${koaPath.replace(/:(\w+)/g, '{$1}')}`;

function* walk(value: Json, path = '#'): Generator<[string, Obj]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* walk(v, `${path}/${i}`);
  } else if (value !== null && typeof value === 'object') {
    yield [path, value];
    for (const [k, v] of Object.entries(value)) yield* walk(v, `${path}/${k}`);
  }
}

const operation = (id: string) => Object.values(doc.paths).flatMap((item) => Object.values(item)).find((op) => op.operationId === id);
const param = (opId: string, name: string) => operation(opId)?.parameters?.find((p) => p.name === name);
const prop = (schema: string, name: string): Obj => (schemas[schema]?.properties as Record<string, Obj> | undefined)?.[name] ?? {};

describe('admin OpenAPI document (generated)', () => {
  it('is OpenAPI 3.1 with JSON Schema 2020-12, the same every time it is built', async () => {
    expect(doc).to.include({ openapi: '3.1.0', jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema' });
    // A second instance of the module builds the document again from the same schema registry.
    const again = (await import(new URL('../../../src/admin/openapi.ts?again', import.meta.url).href)) as typeof openapi;
    expect(again.openApiDocument()).to.not.equal(openapi.openApiDocument());
    expect(JSON.parse(JSON.stringify(again.openApiDocument()))).to.deep.equal(doc);
  });

  it('has one operation per route of the table, with unique operation ids', () => {
    const described = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`));
    expect(described.sort()).to.deep.equal(ADMIN_ROUTES.map((r) => `${r.method} ${documentedPath(r.path)} ${r.operationId}`).sort());
    expect(new Set(ADMIN_ROUTES.map((r) => r.operationId)).size).to.equal(ADMIN_ROUTES.length);
  });

  it('resolves every $ref, and uses every component', () => {
    const used = new Set<string>();
    for (const [at, node] of walk(doc)) {
      if (typeof node.$ref !== 'string') continue;
      const m = /^#\/components\/schemas\/(\w+)$/.exec(node.$ref);
      expect(m, `${at}: ${node.$ref}`).to.not.equal(null);
      expect(schemas, at).to.have.property(m?.[1] ?? '');
      used.add(m?.[1] ?? '');
    }
    expect([...used].sort()).to.deep.equal(Object.keys(schemas).sort());
    for (const [at, node] of walk(doc.components as unknown as Json)) {
      expect(node, at).to.not.have.any.keys('$schema', '$id', '$defs');
    }
  });

  it('documents 200, the error statuses and the parameters of every operation', () => {
    for (const route of ADMIN_ROUTES) {
      const op = doc.paths[documentedPath(route.path)]?.[route.method.toLowerCase()];
      expect(Object.keys(op?.responses ?? {}), route.operationId).to.deep.equal(['200', ...errorStatuses(route).map(String)]);
      for (const r of Object.values(op?.responses ?? {})) expect(r).to.have.property('description').that.is.a('string');
      const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect((op?.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name), route.operationId).to.deep.equal(pathNames);
      expect(Boolean(op?.requestBody), route.operationId).to.equal('body' in route);
    }
    expect(errorStatuses(ADMIN_ROUTES.find((r) => r.operationId === 'replayDelivery') ?? ADMIN_ROUTES[0])).to.include.members([400, 401, 404, 409, 413, 415]);
  });

  it('shows parameters and bodies as a client sends them (input types), answers as the API writes them (output types)', () => {
    expect(param('listDeliveries', 'limit')).to.deep.include({ required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } });
    expect(param('listBilling', 'limit')?.schema).to.include({ maximum: 1000, default: 100 });
    expect(param('listDeliveries', 'state')).to.deep.include({ style: 'form', explode: true });
    expect(param('listDeliveries', 'from')?.schema).to.deep.equal({ type: 'string' });
    expect(param('getDelivery', 'id')).to.include({ in: 'path', required: true });
    // Input: dryRun may be left out (it defaults to false); output: every field of an answer is there.
    expect(schemas.OperationRequest?.required ?? []).to.not.include('dryRun');
    expect(prop('OperationRequest', 'dryRun')).to.include({ type: 'boolean', default: false });
    expect(schemas.DeliverySummary?.required).to.include.members(['id', 'state', 'deliveredAt']);
    // The query schemas still parse what a client sends.
    expect(deliveriesQuery.parse({ state: 'parked,pending', limit: '7' })).to.deep.include({ state: ['parked', 'pending'], limit: 7 });
    expect(deliveriesQuery.parse({ state: ['parked', 'on_hold,retrying'] }).state).to.deep.equal(['parked', 'on_hold', 'retrying']);
    expect(deliveriesQuery.safeParse({ limit: '0' }).success).to.equal(false);
    expect(deliveriesQuery.safeParse({ limit: '7.5' }).success).to.equal(false);
    expect(operationBody.parse({ ids: [] })).to.deep.include({ dryRun: false });
  });

  it("takes enums from the domain's constants", () => {
    expect(prop('DeliverySummary', 'state').enum).to.deep.equal([...DELIVERY_STATES]);
    expect(prop('AttemptView', 'outcome').enum).to.deep.equal([...ATTEMPT_OUTCOMES]);
    expect(prop('BillingRecord', 'topic').enum).to.deep.equal([...SHIPBOB_BILLING_TOPICS]);
    expect((param('listDeliveries', 'state')?.schema.items as Obj).enum).to.deep.equal([...DELIVERY_STATES]);
    expect((param('listAttempts', 'outcome')?.schema.items as Obj).enum).to.deep.equal([...ATTEMPT_OUTCOMES]);
    expect(((prop('OperationRequest', 'states').items ?? {}) as Obj).enum).to.deep.equal([...DELIVERY_STATES]);
    expect(prop('ConnectorOverview', 'circuit').enum).to.deep.equal(['closed', 'open', 'half_open']);
  });

  it('describes answers strictly: every object of a response schema refuses unknown fields', () => {
    const responseIds = new Set(ADMIN_ROUTES.map((r) => components.get(r.response)?.id));
    for (const [id, schema] of Object.entries(schemas)) {
      if (id === 'OpenApiDocument') continue; // the document's own shape is OpenAPI's
      for (const [at, node] of walk(schema, `#/components/schemas/${id}`)) {
        if (node.type === 'object' && node.properties) expect(node.additionalProperties, at).to.equal(false);
      }
    }
    expect(responseIds.has(undefined)).to.equal(false);
  });
});
