import { z } from 'zod';
import { components, errorBody } from './responses.ts';
import { ADMIN_PREFIX, ADMIN_ROUTES, errorStatuses, type ErrorStatus, type RouteSpec } from './routes.ts';
import { connectorStateBody, emptyBody, operationBody, previewEventBody, recoveryRunBody, singleOperationBody } from './schemas.ts';

/**
 * The OpenAPI 3.1 document of the admin API, served at GET /admin/api/openapi.json. Nothing in it is
 * written by hand but prose: paths, parameters and bodies come from the route table
 * (src/admin/routes.ts) and its request schemas (src/admin/schemas.ts), converted as *input* types
 * (what a client sends: a query `limit` is an integer with a default, not the number it becomes);
 * answers come from the response schemas (src/admin/responses.ts), converted as *output* types.
 * OpenAPI 3.1 schemas are JSON Schema draft 2020-12, zod's default target.
 */

type JsonSchema = z.core.JSONSchema.BaseSchema;
interface Content {
  content: { 'application/json': { schema: JsonSchema } };
}
interface Parameter {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  description?: string;
  style?: 'form';
  explode?: boolean;
  schema: JsonSchema;
}
interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: Content & { required: boolean };
  responses: Record<string, Content & { description: string }>;
}

const COMPONENT_URI = (id: string): string => `#/components/schemas/${id}`;

/** Request bodies several routes share, each described once under components.schemas. */
const requestComponents = z.registry<{ id: string }>();
requestComponents.add(operationBody, { id: 'OperationRequest' });
requestComponents.add(singleOperationBody, { id: 'SingleOperationRequest' });
requestComponents.add(connectorStateBody, { id: 'ConnectorStateRequest' });
requestComponents.add(recoveryRunBody, { id: 'RecoveryRunRequest' });
requestComponents.add(emptyBody, { id: 'EmptyRequest' });
requestComponents.add(previewEventBody, { id: 'PreviewEventRequest' });

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'bad input (query, path or body): the message names each problem',
  401: 'no bearer token, or a wrong one',
  404: 'not found, or the admin API is off (no admin.token configured)',
  409: 'the delivery is in flight, or the action does not apply to its state',
  413: 'the body is over admin.maxBodySize',
  415: 'the body is not application/json',
  422: 'the request cannot be built for this event: the transform failed (TRANSFORM_FAILED, naming the path), or the connector kind sends several requests (PREVIEW_UNSUPPORTED)',
  503: "something the answer needs cannot be read now (WSDL_UNAVAILABLE: the connector's WSDL); try again",
};

/**
 * zod writes `int()` bounds as ±(2^53 - 1), a date-time's format also as a long regular expression,
 * and a `$schema` (and, for registry entries, an `$id`) on every converted root; inside one OpenAPI
 * document those are noise, or wrong (an `$id` must not carry a fragment), so they are dropped.
 */
function tidy(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}
const override = ({ jsonSchema }: { jsonSchema: JsonSchema }): void => {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
};

function convertRegistry(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: COMPONENT_URI, override });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, tidy(schema)]));
}

function idOf(registry: z.core.$ZodRegistry<{ id: string }>, schema: z.ZodType, what: string): string {
  const id = registry.get(schema)?.id;
  if (!id) throw new Error(`${what} has no component id: register it`);
  return id;
}

const json = (schema: JsonSchema): Content => ({ content: { 'application/json': { schema } } });

/** One parameter per property of a query or path schema, as a client writes it. */
function parameters(schema: z.ZodObject, location: 'query' | 'path'): Parameter[] {
  const converted = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', override });
  const required = new Set(converted.required ?? []);
  return Object.entries(converted.properties ?? {}).map(([name, property]) => {
    const s = typeof property === 'boolean' ? {} : property;
    const { description, ...rest } = s;
    const isList = rest.type === 'array';
    const text = [description, isList ? 'repeat the parameter or separate values with commas' : undefined].filter(Boolean).join('; ');
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(text ? { description: text } : {}),
      ...(isList ? { style: 'form' as const, explode: true } : {}),
      schema: rest,
    };
  });
}

function operation(route: RouteSpec): Operation {
  const responses: Operation['responses'] = {
    200: { description: 'OK', ...json({ $ref: COMPONENT_URI(idOf(components, route.response, `the answer of ${route.operationId}`)) }) },
  };
  for (const status of errorStatuses(route)) {
    responses[status] = { description: ERROR_DESCRIPTIONS[status], ...json({ $ref: COMPONENT_URI(idOf(components, errorBody, 'the error body')) }) };
  }
  const params = [...(route.params ? parameters(route.params, 'path') : []), ...(route.query ? parameters(route.query, 'query') : [])];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: !route.body.safeParse({}).success, ...json({ $ref: COMPONENT_URI(idOf(requestComponents, route.body, `the body of ${route.operationId}`)) }) } } : {}),
    responses,
  };
}

/** `/deliveries/:id` as OpenAPI writes it: `/admin/api/deliveries/{id}`. */
function openApiPath(koaPath: string): string {
  return `${ADMIN_PREFIX}${koaPath.replace(/:(\w+)/g, '{$1}')}`;
}

function buildOpenApiDocument() {
  const routes = ADMIN_ROUTES;
  const paths: Record<string, Partial<Record<'get' | 'post', Operation>>> = {};
  for (const route of routes) {
    const item = (paths[openApiPath(route.path)] ??= {});
    item[route.method === 'GET' ? 'get' : 'post'] = operation(route);
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'OM Connector Gateway admin API',
      version: '1',
      description:
        'Operate the gateway: browse events, deliveries, attempts and the audit trail; replay, discard, hold and release deliveries; connectors (with a preview of what a delivery would send); the gateway instances sharing the database; recovery runs; the purchase-order poller; ShipBob billing records. Every route needs `Authorization: Bearer <admin.token>`. Lists are newest first (billing: oldest first) with cursor paging. Errors are `{code, message}`; a method a path does not take answers 405 with `Allow`.',
    },
    security: [{ bearer: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the admin.token of gateway.yaml' } },
      schemas: { ...convertRegistry(components, 'output'), ...convertRegistry(requestComponents, 'input') },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

let built: OpenApiDocument | undefined;

/** The document, built on first use (converting every schema takes a few milliseconds) and kept. */
export function openApiDocument(): OpenApiDocument {
  built ??= buildOpenApiDocument();
  return built;
}
