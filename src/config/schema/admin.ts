import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/** gateway.yaml `admin`: the admin REST API under /admin/api. */
export function adminSchema({ secret, size }: Leaves) {
  return z
    .strictObject({
      /** Bearer token the admin API requires; without one (or when it resolves to '') the admin API is off. */
      token: secret()
        .refine((s) => s.reveal() === '' || s.reveal().length >= 16, 'the admin token must be at least 16 characters')
        .optional(),
      /** The largest JSON request body the admin API accepts. */
      maxBodySize: size().default(1024 * 1024),
    })
    .prefault({});
}
