import { parseArgs } from 'node:util';
import { ConfigError, formatProblems } from './config/load.ts';
import type { Clock } from './domain/clock.ts';
import { isGatewayError } from './domain/errors.ts';
import { checkConfig, EXIT, migrate, setConnectorState, start, status, type CommandContext } from './cli/commands.ts';
import { processIo, type Io } from './cli/output.ts';
import { poll } from './cli/poll.ts';
import { recover } from './cli/recover.ts';
import { sandboxPush } from './cli/sandbox.ts';
import { deliveriesCommand, eventsCommand } from './cli/deliveries.ts';
import { operationCommand } from './cli/delivery-actions.ts';
import { connectorTestCommand, describeCommand, previewCommand } from './cli/connector-tools.ts';
import { orderCommand } from './cli/order.ts';
import { demo } from './cli/demo.ts';
import { funnelCommand } from './cli/funnel.ts';

const USAGE = `usage: omgw <command> [options]

commands:
  start            run the gateway (SOAP endpoint, delivery, schedules)
  check-config     validate the config folder; list every problem or print a summary
  migrate          bring the database schema up to date
  status           counts of events by code and deliveries by connector and state
  connector online NAME | connector offline NAME
                   take a connector out of maintenance, or put it in (its due deliveries wait on hold)
  recover --now    a recovery run now: replay parked deliveries (filters default to gateway.yaml's)
                   [--connector NAME]... [--event-code CODE]... [--max-age 7d] [--limit N]
  recover          the latest recovery runs
  poll --now       a purchase-order poll now: read changed POs from Fusion (schedules.poller)
  poll             the poller's cursor and latest runs
  deliveries list [filters] [--limit N] [--cursor C] | deliveries show ID
                   find deliveries (newest first) and why they failed (attempts, audit)
  events show ID   one event: parsed form, raw push (passwords redacted), deliveries, attempts
  order KEY        where an order is: its events, deliveries, ShipBob orders and webhooks, write-backs,
                   operator actions, and what it waits for (KEY: LEG:SO-1234, SO-1234, a PO number,
                   a ShipBob order id or reference id)
  funnel           the flow funnel: fulfilment lines per stage (OM AWAIT_SHIPPING, ShipBob order, shipped,
                   written back, billed), the lines stuck between two stages, billing reconciliation
                   [--since 24h] [--until T] [--stuck-after 2h] [--limit N (stuck lines, 1-1000)]
  replay | discard | hold | release  [--id ID]... [--event ID]... [filters] [--dry-run] [--reason TEXT] [--limit N]
                   replay: back to the queue (parked, on hold, discarded, retrying; delivered ones by id)
                   discard (needs --reason): drop for good; hold / release: keep back / let go
  connector test NAME | connector test --all
                   check a connector for real: credentials, OAuth2 token, one harmless read call
  connector describe NAME
                   what a connector sends: a WSDL connector's operations and the input each mapping
                   must produce; a REST connector's method, URL template and transform
  preview --connector NAME (--event ID | --file event.json)
                   the request a delivery of that event would send now (credentials masked), or
                   its transform error; sends and writes nothing
  sandbox push     act as Oracle OM: send realistic pushes to a running gateway
                   [--url URL] [--count N] [--event CODE] [--status VALUE] [--digest] [--soap12]
  demo [--keep-running] [--step-timeout 30s]
                   play the whole story on a gateway of its own (the example config, a free port,
                   a fresh database): Fusion PO → ShipBob, OM → ShipBob → shipped → Fusion, an outage
                   → parked → replayed; --keep-running then serves the console until Ctrl-C

options:
  --config DIR     config folder (default: $OMGW_CONFIG_DIR or ./config)
  --json           machine-readable output
  filters          --connector NAME, --state STATE, --event-code CODE (repeatable or a,b,c),
                   --order-key KEY, --error TEXT, --since T, --until T (ISO 8601, epoch ms or 24h ago)
  -h, --help       this text

exit codes: 0 ok, 1 failed, 2 usage, 3 config invalid, 4 unavailable (the database; for sandbox push, the gateway), 70 unexpected error`;

/**
 * The CLI entry: parses arguments and runs one command. Returns the exit code. `clock` is the time
 * `start` runs on (the system's when not given): tests run instances of a cluster with clocks apart.
 */
export async function main(argv: string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env, clock?: Clock): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        url: { type: 'string' },
        count: { type: 'string' },
        event: { type: 'string', multiple: true },
        status: { type: 'string' },
        digest: { type: 'boolean', default: false },
        soap12: { type: 'boolean', default: false },
        now: { type: 'boolean', default: false },
        connector: { type: 'string', multiple: true },
        'event-code': { type: 'string', multiple: true },
        'max-age': { type: 'string' },
        limit: { type: 'string' },
        id: { type: 'string', multiple: true },
        state: { type: 'string', multiple: true },
        'order-key': { type: 'string' },
        error: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'stuck-after': { type: 'string' },
        cursor: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        reason: { type: 'string' },
        all: { type: 'boolean', default: false },
        file: { type: 'string' },
        'keep-running': { type: 'boolean', default: false },
        'step-timeout': { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (!command) {
    io.err(USAGE);
    return EXIT.usage;
  }
  const ctx: CommandContext = {
    configDir: parsed.values.config ?? env.OMGW_CONFIG_DIR ?? 'config',
    env,
    io,
    json: parsed.values.json ?? false,
    clock,
  };
  const sub = ['sandbox', 'connector', 'deliveries', 'events'].includes(command) ? rest.shift() : undefined;
  const target = ['connector', 'deliveries', 'events', 'order'].includes(command) ? rest.shift() : undefined;
  if (rest.length > 0) {
    io.err(`unexpected argument(s): ${rest.join(' ')}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    switch (command) {
      case 'start':
        return await start(ctx);
      case 'check-config':
        return await checkConfig(ctx);
      case 'migrate':
        return await migrate(ctx);
      case 'status':
        return await status(ctx);
      case 'connector':
        if (sub === 'test') return await connectorTestCommand(ctx, target, parsed.values);
        if (sub === 'describe') return await describeCommand(ctx, target);
        if (sub !== 'online' && sub !== 'offline') {
          io.err('usage: omgw connector online|offline|test|describe NAME');
          return EXIT.usage;
        }
        return await setConnectorState(ctx, sub, target);
      case 'recover':
        return await recover(ctx, {
          now: parsed.values.now ?? false,
          connectors: parsed.values.connector,
          eventCodes: parsed.values['event-code'],
          maxAge: parsed.values['max-age'],
          limit: parsed.values.limit,
        });
      case 'poll':
        return await poll(ctx, { now: parsed.values.now ?? false });
      case 'preview':
        return await previewCommand(ctx, { connector: parsed.values.connector, event: parsed.values.event, file: parsed.values.file });
      case 'deliveries':
        return await deliveriesCommand(ctx, sub, target, parsed.values);
      case 'events':
        return await eventsCommand(ctx, sub, target);
      case 'order':
        return await orderCommand(ctx, target);
      case 'funnel':
        return await funnelCommand(ctx, { since: parsed.values.since, until: parsed.values.until, 'stuck-after': parsed.values['stuck-after'], limit: parsed.values.limit });
      case 'replay':
      case 'discard':
      case 'hold':
      case 'release':
        return await operationCommand(ctx, command, parsed.values);
      case 'sandbox':
        if (sub !== 'push') {
          io.err(`usage: omgw sandbox push [--url URL] [--count N] [--event CODE] [--status VALUE] [--digest] [--soap12]`);
          return EXIT.usage;
        }
        return await sandboxPush(ctx, {
          url: parsed.values.url,
          count: parsed.values.count,
          event: parsed.values.event?.at(-1),
          status: parsed.values.status,
          digest: parsed.values.digest ?? false,
          soap12: parsed.values.soap12 ?? false,
        });
      case 'demo':
        return await demo(ctx, {
          keepRunning: parsed.values['keep-running'] ?? false,
          // On a terminal the progress line is rewritten in place; elsewhere it is plain lines.
          live: io === processIo && process.stdout.isTTY ? { write: (text) => void process.stdout.write(text), columns: () => process.stdout.columns } : null,
          config: parsed.values.config,
          stepTimeout: parsed.values['step-timeout'],
        });
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`config ${ctx.configDir} is invalid:\n${formatProblems(err.problems)}`);
      return EXIT.configInvalid;
    }
    if (isGatewayError(err) && err.code === 'STORE_UNAVAILABLE') {
      io.err(`database unavailable: ${err.message}`);
      return EXIT.unavailable;
    }
    // Like an invalid config, it takes an operator (a newer gateway, or another database): retrying cannot help.
    if (isGatewayError(err) && err.code === 'SCHEMA_TOO_NEW') {
      io.err(err.message);
      return EXIT.configInvalid;
    }
    throw err;
  }
}
