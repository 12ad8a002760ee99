import { z } from 'zod';
import { EVENT_SOURCES } from '../../domain/event.ts';
import type { Leaves } from './leaves.ts';

/** trigger-points.yaml: which events go to which connectors (src/routing/trigger-points.ts). */
export function triggerPointsSchema({ str, nonEmpty, bool }: Leaves) {
  const fieldCondition = z
    .strictObject({
      /** An element name (matched at any level of the event) or a dotted path such as OrderLine.StatusCodeNewValue. */
      field: nonEmpty(),
      in: z.array(str()).min(1).optional(),
      notIn: z.array(str()).min(1).optional(),
      equals: str().optional(),
      exists: bool().optional(),
      matches: str()
        .refine((v) => {
          try {
            new RegExp(v);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression')
        .optional(),
    })
    .refine(
      (c) =>
        [c.in, c.notIn, c.equals, c.exists, c.matches].filter((v) => v !== undefined).length === 1,
      'give exactly one of in, notIn, equals, exists, matches',
    );

  const triggerPoint = z.strictObject({
    name: z.string().min(1),
    description: str().optional(),
    source: z.enum(EVENT_SOURCES).optional(),
    eventCodes: z.array(z.string().min(1)).min(1),
    when: z.array(fieldCondition).default([]),
    connectors: z.array(z.string().min(1)).min(1),
  });

  return z.strictObject({ triggerPoints: z.array(triggerPoint).default([]) });
}
