import { isGatewayError } from '../domain/errors.ts';
import type { RecoveryRunSummary } from '../jobs/recovery.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';
import { cliActor } from './actor.ts';

export interface RecoverOptions {
  /** Run now; without it, the latest runs are listed. */
  now: boolean;
  connectors: string[] | undefined;
  eventCodes: string[] | undefined;
  maxAge: string | undefined;
  limit: string | undefined;
}

/**
 * `omgw recover --now [--connector X]... [--event-code Y]... [--max-age 7d] [--limit N]`: a recovery
 * run by hand, through the same RecoveryService the schedule uses (filters not given come from
 * gateway.yaml's schedules.recovery). Replayed deliveries are due at once; a running gateway's worker
 * picks them up at its next poll. `omgw recover` alone lists the latest runs.
 */
export async function recover(ctx: CommandContext, opts: RecoverOptions): Promise<number> {
  let limit: number | undefined;
  if (opts.limit !== undefined) {
    limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) {
      ctx.io.err('--limit must be a whole number of at least 1');
      return EXIT.usage;
    }
  }
  if (!opts.now && (opts.connectors || opts.eventCodes || opts.maxAge || opts.limit)) {
    ctx.io.err('filters apply to a run: add --now (omgw recover alone lists the latest runs)');
    return EXIT.usage;
  }
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    const service = services.recovery;
    // The database read first, as status does: a wrong folder or URL shows before any run.
    const database = store.describe;
    if (!opts.now) {
      const runs = await service.history(20);
      if (ctx.json) ctx.io.out(JSON.stringify({ database, runs }, null, 2));
      else {
        ctx.io.out(`database ${database}`);
        ctx.io.out(runs.length === 0 ? 'no recovery runs yet' : runTable(runs));
      }
      return EXIT.ok;
    }
    let outcome;
    try {
      outcome = await service.runNow({
        ...(opts.connectors ? { connectors: opts.connectors } : {}),
        ...(opts.eventCodes ? { eventCodes: opts.eventCodes } : {}),
        ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}),
        ...(limit !== undefined ? { limit } : {}),
        actor: cliActor(ctx.env),
      });
    } catch (err) {
      if (isGatewayError(err) && err.code === 'BAD_REQUEST') {
        ctx.io.err(err.message);
        return EXIT.usage;
      }
      throw err;
    }
    const runs = outcome.run ? [...outcome.resumed, outcome.run] : outcome.resumed;
    if (ctx.json) ctx.io.out(JSON.stringify({ database, ...outcome }, null, 2));
    else {
      ctx.io.out(`database ${database}`);
      if (outcome.resumed.length > 0) ctx.io.out(`finished ${outcome.resumed.length} interrupted run(s) first`);
      if (outcome.run) {
        const r = outcome.run;
        ctx.io.out(
          `recovery run ${r.id} ${r.state}: ${r.selected} selected, ${r.replayed} replayed, ${r.skipped} skipped` +
            (r.error ? ` (error: ${r.error}; the next run finishes it)` : ''),
        );
      }
      ctx.io.out(runTable(runs));
    }
    return runs.every((r) => r.state === 'finished') ? EXIT.ok : EXIT.failed;
  });
}

function runTable(runs: RecoveryRunSummary[]): string {
  return table(
    ['RUN', 'TRIGGER', 'STARTED', 'STATE', 'SELECTED', 'REPLAYED', 'SKIPPED', 'STILL FAILING', 'DELIVERED', 'FILTERS'],
    runs.map((r) => [
      r.id,
      r.trigger,
      r.startedAt,
      r.state,
      r.selected,
      r.replayed,
      r.skipped,
      r.stillFailing,
      r.delivered,
      [r.filters.connectors.length ? `connectors=${r.filters.connectors.join(',')}` : '', r.filters.eventCodes.length ? `eventCodes=${r.filters.eventCodes.join(',')}` : '', r.filters.maxAge ? `maxAge=${r.filters.maxAge}` : '']
        .filter(Boolean)
        .join(' ') || '-',
    ]),
  );
}
