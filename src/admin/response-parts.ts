import { z } from 'zod';
import { ULID } from './schemas.ts';

/**
 * What the admin API answers, as zod schemas: the OpenAPI document's response schemas are converted
 * from these (src/admin/openapi.ts), and the integration test parses every route's real answer with
 * them. Objects are strict, so a field a service adds or renames fails that test until it is
 * described here. Shared objects are registered in `components` with an id: the document then has
 * each of them once, under components.schemas, and refers to it by $ref.
 */

/** Schemas with an id: each becomes components.schemas[id] in the document. */
export const components = z.registry<{ id: string }>();

export function component<S extends z.ZodType>(id: string, schema: S): S {
  components.add(schema, { id });
  return schema;
}

export const id = z.string().regex(ULID).describe('a ULID (time-ordered id)');
export const time = z.iso.datetime().describe('ISO 8601, UTC');
export const count = z.number().int().min(0);
export const nullableString = z.string().nullable();

export const pageOf = <T extends z.ZodType>(item: T, older = true) =>
  z.strictObject({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe(`pass as \`cursor\` for the next (${older ? 'older' : 'newer'}) page; null on the last page`),
  });

