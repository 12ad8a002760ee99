import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config/load.ts';
import { noTokenStore, type TokenStore } from '../connectors/auth/index.ts';
import { createTransformRegistry } from '../connectors/transforms/index.ts';
import { createConnectorRuntime, type ConnectorRuntime } from '../delivery/runtime.ts';
import { createRateGate } from '../delivery/rate-gate.ts';
import { systemClock } from '../domain/clock.ts';
import { isGatewayError } from '../domain/errors.ts';
import { createIdGenerator } from '../domain/ids.ts';
import { PurchaseOrderPoller, type PollRunView } from '../inbound/poller/purchase-orders.ts';
import { createLogger } from '../log.ts';
import { Store } from '../store/index.ts';
import { OAuthTokenRepository } from '../store/tokens.ts';
import { table, type Io } from './output.ts';

/** Exit codes (the same as src/cli/commands.ts EXIT). */
const OK = 0;
const FAILED = 1;
const USAGE = 2;

export interface PollContext {
  configDir: string;
  env: NodeJS.ProcessEnv;
  io: Io;
  json: boolean;
}

/**
 * `omgw poll --now`: one purchase-order poll by hand, through the same poller the schedule runs (the
 * connector, filter and cursor of gateway.yaml's schedules.poller). New deliveries are due at once; a
 * running gateway's worker picks them up at its next poll. `omgw poll` alone shows the cursor and the
 * latest runs.
 */
export async function poll(ctx: PollContext, opts: { now: boolean }): Promise<number> {
  const config = await loadConfig(ctx.configDir, ctx.env);
  const db = config.gateway.database;
  const store = new Store({ url: db.url, poolMax: 2, ...(db.schema ? { schema: db.schema } : {}) });
  let runtime: ConnectorRuntime | null = null;
  try {
    await store.migrate();
    const key = db.encryptionKey;
    const tokenStore: TokenStore = key ? new OAuthTokenRepository(store.knex, key.reveal()) : noTokenStore;
    const name = config.gateway.schedules.poller.connector;
    const connector = config.connectors.find((c) => c.name === name);
    if (opts.now && connector) {
      runtime = createConnectorRuntime(connector, {
        secrets: () => config.secrets,
        tokenStore,
        now: () => systemClock.now(),
        transforms: createTransformRegistry({ mappings: config.mappings }),
        rateGate: createRateGate(store.connectorStates, systemClock),
      });
    }
    const parts = runtime?.parts;
    const poller = new PurchaseOrderPoller({
      store,
      clock: systemClock,
      logger: createLogger({ level: 'silent', secrets: () => config.secrets }),
      newId: createIdGenerator(),
      instanceId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`,
      config: () => config,
      connector: (n) => (n === name ? parts : undefined),
    });
    if (!opts.now) {
      const status = await poller.status(20);
      if (ctx.json) ctx.io.out(JSON.stringify(status, null, 2));
      else {
        ctx.io.out(`poller ${status.poller}: cursor ${status.cursor ?? '(none yet)'}${status.caughtUp ? '' : ' (the last run stopped at its page limit)'}`);
        ctx.io.out(status.runs.length === 0 ? 'no poller runs yet' : runTable(status.runs));
      }
      return OK;
    }
    let outcome;
    try {
      outcome = await poller.runNow(`cli:${ctx.env.USER ?? 'unknown'}`);
    } catch (err) {
      if (isGatewayError(err) && err.code === 'BAD_REQUEST') {
        ctx.io.err(err.message);
        return USAGE;
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
    return outcome.status === 'ran' && outcome.state === 'failed' ? FAILED : OK;
  } finally {
    await runtime?.close();
    await store.close();
  }
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
