import { z } from 'zod';
import type { Leaves } from './leaves.ts';

/**
 * gateway.yaml `cluster`: how the instances sharing one database see each other (src/jobs/heartbeat.ts,
 * src/domain/instance.ts). Read at each beat and each look, so a reload applies.
 */
export function clusterSchema({ duration }: Leaves) {
  return z
    .strictObject({
      /** How often this instance writes its heartbeat. */
      heartbeat: duration().default(10_000),
      /** An instance whose last heartbeat is older than this, without a clean stop, is shown stale. */
      staleAfter: duration().default(60_000),
      /** Instances stopped, or stale, for longer than this are removed from the list (when another one starts). */
      forgetAfter: duration().default(7 * 86_400_000),
    })
    .superRefine((c, zctx) => {
      if (c.heartbeat < 1_000) zctx.addIssue({ code: 'custom', path: ['heartbeat'], message: 'must be at least 1s' });
      // One late beat (a busy event loop, a slow database) must not show a live instance as stale.
      if (c.staleAfter < 2 * c.heartbeat) zctx.addIssue({ code: 'custom', path: ['staleAfter'], message: `must be at least twice heartbeat (${c.heartbeat} ms)` });
      if (c.forgetAfter < c.staleAfter) zctx.addIssue({ code: 'custom', path: ['forgetAfter'], message: 'must not be less than staleAfter' });
    })
    .prefault({});
}
