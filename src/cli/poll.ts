import { isGatewayError } from '../domain/errors.ts';
import type { PollOutcome, PollRunView } from '../inbound/poller/purchase-orders.ts';
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
    // The database read first, as status does: a wrong folder or URL shows before any run.
    const database = store.describe;
    if (!opts.now) {
      const status = await poller.status(20);
      if (ctx.json) ctx.io.out(JSON.stringify({ database, ...status }, null, 2));
      else {
        ctx.io.out(`database ${database}`);
        // A cursor short of the end: the last run stopped at its page limit, or failed midway.
        const behind = status.runs[0]?.state === 'failed' ? ' (the last run failed midway; the next run goes on from here)' : ' (the last run stopped at its page limit)';
        ctx.io.out(`poller ${status.poller}: cursor ${status.cursor ?? '(none yet)'}${status.caughtUp ? '' : behind}`);
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
    if (ctx.json) ctx.io.out(JSON.stringify({ database, ...outcome }, null, 2));
    else {
      ctx.io.out(`database ${database}`);
      if (outcome.status === 'skipped') ctx.io.out(`poll skipped: ${outcome.reason}`);
      else ctx.io.out(describeRun(outcome));
    }
    if (outcome.status === 'ran' && outcome.state === 'failed') {
      // Why, on stderr as every failure of a command; the run record has it too (omgw poll).
      ctx.io.err(`poll failed: ${outcome.error ?? 'no reason recorded'}`);
      return EXIT.failed;
    }
    return EXIT.ok;
  });
}

/**
 * One run in a line. A failed run says so, with what it stored before it failed (kept) and the cursor
 * the next run starts from; only a run that ended well can have stopped at its page limit.
 */
function describeRun(run: Extract<PollOutcome, { status: 'ran' }>): string {
  const s = run.summary;
  const counts = `${s.read} read in ${s.pages} page(s) since ${s.since}; ${s.routed} routed, ${s.unrouted} unrouted, ${s.duplicates} duplicates, ${s.skipped} skipped`;
  if (run.state === 'failed') {
    const next = run.cursorAfter !== null ? `from cursor ${run.cursorAfter}` : 'as a first run does (initialLookback before now)';
    return `poll ${run.runId} failed; before it did: ${counts}; what it stored stays, and the next run starts ${next}`;
  }
  return `poll ${run.runId} ok: ${counts}; cursor ${run.cursorAfter ?? '(none)'}${s.caughtUp ? '' : ' (stopped at maxPages; the next run goes on)'}`;
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
