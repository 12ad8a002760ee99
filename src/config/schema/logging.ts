import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `logging`. */
export function loggingSchema({ str }: Leaves) {
  return z
    .strictObject({
      level: str().pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
    })
    .prefault({});
}
