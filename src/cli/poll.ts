import { isGatewayError } from '../domain/errors.ts';
import type { PollRunView } from '../inbound/poller/purchase-orders.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';
import { cliActor } from './actor.ts';

/**
 * `omgw poll --now`: one purchase-order poll by hand, through the same poller the schedule runs (the
 * connector, filter and cursor of gateway.yaml's schedules.poller, and the same connector runtimes as
 * the gateway's, built by createServices). New deliveries are due at once; a
 * running gateway's worker picks them up at its next poll. `omgw poll` alone shows the cursor and the
 * latest runs.
 */
export async function poll(ctx: CommandContext, opts: { now: boolean }): Promise<number> {
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    const poller = services.poller;
    if (!opts.now) {
      const status = await poller.status(20);
      if (ctx.json) ctx.io.out(JSON.stringify(status, null, 2));
      else {
        ctx.io.out(`poller ${status.poller}: cursor ${status.cursor ?? '(none yet)'}${status.caughtUp ? '' : ' (the last run stopped at its page limit)'}`);
        ctx.io.out(status.runs.length === 0 ? 'no poller runs yet' : runTable(status.runs));
      }
      return EXIT.ok;
    }
    let outcome;
    try {
      outcome = await poller.runNow(cliActor(ctx.env));
    } catch (err) {
      if (isGatewayError(err) && err.code === 'BAD_REQUEST') {
        ctx.io.err(err.message);
        return EXIT.usage;
      }
      throw err;
    }
    if (ctx.json) ctx.io.out(JSON.stringify(outcome, null, 2));
    else if (outcome.status === 'skipped') ctx.io.out(`poll skipped: ${outcome.reason}`);
    else {
      const s = outcome.summary;
      ctx.io.out(
        `poll ${outcome.runId} ${outcome.state}: ${s.read} read in ${s.pages} page(s) since ${s.since}; ${s.routed} routed, ${s.unrouted} unrouted, ` +
          `${s.duplicates} duplicates, ${s.skipped} skipped; cursor ${outcome.cursorAfter ?? '(none)'}` +
          (s.caughtUp ? '' : ' (stopped at maxPages; the next run goes on)') +
          (outcome.error ? `\nerror: ${outcome.error}` : ''),
      );
    }
    return outcome.status === 'ran' && outcome.state === 'failed' ? EXIT.failed : EXIT.ok;
  });
}

function runTable(runs: PollRunView[]): string {
  return table(
    ['RUN', 'TRIGGER', 'STARTED', 'STATE', 'READ', 'ROUTED', 'UNROUTED', 'DUPLICATES', 'CURSOR AFTER', 'ERROR'],
    runs.map((r) => [
      r.id,
      r.trigger,
      r.startedAt,
      r.state,
      r.summary?.read ?? '-',
      r.summary?.routed ?? '-',
      r.summary?.unrouted ?? '-',
      r.summary?.duplicates ?? '-',
      r.cursorAfter ?? '-',
      r.error ? r.error.slice(0, 80) : '-',
    ]),
  );
}
