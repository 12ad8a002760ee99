import { loadConfig, ConfigError, formatProblems, type GatewayConfig } from '../config/load.ts';
import { formatDuration } from '../config/units.ts';
import { describeSetting, exposureProblems, publishedDefaultsInUse } from '../config/published-defaults.ts';
import { Gateway } from '../app.ts';
import { databaseUnavailable, redactUrl } from '../store/database.ts';
import { isGatewayError } from '../domain/errors.ts';
import type { Clock } from '../domain/clock.ts';
import { withServices, withStore } from './services.ts';
import { table, type Io } from './output.ts';
import { applyHeapSettings } from './heap.ts';
import { cliActor } from './actor.ts';

/**
 * Exit codes, documented in the README. `unavailable`: a service the command needs cannot be reached
 * or opened (the database; for `sandbox push`, the running gateway).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, configInvalid: 3, unavailable: 4 } as const;

export interface CommandContext {
  configDir: string;
  env: NodeJS.ProcessEnv;
  io: Io;
  json: boolean;
  /** The time `start` runs on; the system's when not given. */
  clock?: Clock;
}

export async function checkConfig(ctx: CommandContext): Promise<number> {
  let config: GatewayConfig;
  try {
    config = await loadConfig(ctx.configDir, ctx.env);
    // What `start` would refuse is a problem here too.
    const exposure = exposureProblems(config, config.gateway.server.host);
    if (exposure.length > 0) throw new ConfigError(exposure);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (ctx.json) ctx.io.out(JSON.stringify({ ok: false, problems: err.problems }, null, 2));
    else ctx.io.err(`${ctx.configDir}: ${err.problems.length} problem(s)\n${formatProblems(err.problems)}`);
    return EXIT.configInvalid;
  }
  if (ctx.json) {
    ctx.io.out(
      JSON.stringify(
        {
          ok: true,
          dir: config.dir,
          connectors: config.connectors.map((c) => ({ name: c.name, protocol: c.protocol, kind: c.kind, url: c.url, state: c.state })),
          triggerPoints: config.triggerPoints.map((t) => ({ name: t.name, eventCodes: t.eventCodes, connectors: t.connectors })),
          publishedDefaults: publishedDefaultsInUse(config).map(describeSetting),
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  const g = config.gateway;
  ctx.io.out(`config ${config.dir}: OK`);
  ctx.io.out(
    `server ${g.server.tls ? 'https' : 'http'}://${g.server.host}:${g.server.port}   database ${redactUrl(g.database.url)}   ` +
      `inbound users ${g.inbound.soap.users.length} (${g.inbound.soap.auth.join(', ')})   dedupe window ${formatDuration(g.inbound.soap.dedupeWindow)}`,
  );
  const defaults = publishedDefaultsInUse(config).map(describeSetting);
  if (defaults.length > 0) ctx.io.out(`published default secrets in use (set your own): ${defaults.join(', ')}`);
  ctx.io.out('');
  ctx.io.out(
    table(
      ['CONNECTOR', 'PROTOCOL', 'KIND', 'STATE', 'AUTH', 'ORDERING', 'URL'],
      config.connectors.map((c) => [c.name, c.protocol, c.kind, c.state, c.auth.type, c.ordering, c.url + c.path]),
    ),
  );
  ctx.io.out('');
  ctx.io.out(
    table(
      ['TRIGGER POINT', 'EVENT CODES', 'CONDITIONS', 'CONNECTORS'],
      config.triggerPoints.map((t) => [
        t.name,
        t.eventCodes.join(','),
        t.when.map((w) => `${w.field}${w.in ? ` in ${w.in.join('|')}` : w.notIn ? ` not in ${w.notIn.join('|')}` : w.equals !== undefined ? `=${w.equals}` : w.exists !== undefined ? (w.exists ? ' exists' : ' absent') : ` ~ ${w.matches}`}`).join('; ') || '-',
        t.connectors.join(','),
      ]),
    ),
  );
  return EXIT.ok;
}

export async function migrate(ctx: CommandContext): Promise<number> {
  return withStore(
    ctx,
    async (store) => {
      const { applied } = await store.migrate();
      if (ctx.json) ctx.io.out(JSON.stringify({ database: store.describe, applied }));
      else {
        ctx.io.out(`database ${store.describe}`);
        ctx.io.out(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
      }
      return EXIT.ok;
    },
    // With start, the one command that creates a new SQLite file (and its folder).
    { createIfMissing: true },
  );
}

export async function status(ctx: CommandContext): Promise<number> {
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    const [report, instances] = await Promise.all([services.status(), services.instances()]);
    if (ctx.json) {
      // The connectors' states keep the shape `omgw status --json` has always printed.
      const connectors = report.connectors.map((s) => ({
        connector: s.connector,
        admin_state: s.adminState,
        circuit: s.circuit,
        circuit_until: s.circuitUntil,
        updated_at: s.updatedAt,
        updated_by: s.updatedBy,
      }));
      ctx.io.out(JSON.stringify({ database: store.describe, ...report, connectors, instances }, null, 2));
      return EXIT.ok;
    }
    ctx.io.out(`database ${store.describe}`);
    ctx.io.out(
      `pushes ${report.pushes}   last received ${report.lastReceivedAt ? new Date(report.lastReceivedAt).toISOString() : '-'}`,
    );
    ctx.io.out('');
    ctx.io.out(table(['EVENT CODE', 'STATUS', 'COUNT'], report.events.map((e) => [e.eventCode, e.status, e.count])));
    ctx.io.out('');
    ctx.io.out(table(['CONNECTOR', 'STATE', 'COUNT'], report.deliveries.map((d) => [d.connector, d.state, d.count])));
    const states = report.connectors;
    if (states.length > 0) {
      ctx.io.out('');
      ctx.io.out(table(['CONNECTOR', 'ADMIN', 'CIRCUIT'], states.map((s) => [s.connector, s.adminState, s.circuit])));
    }
    const blocked = report.blockedKeys;
    if (blocked.length > 0) {
      ctx.io.out('');
      ctx.io.out(
        table(
          ['BLOCKED ORDER KEY', 'CONNECTOR', 'BLOCKED BY', 'STATE', 'WAITING'],
          blocked.map((b) => [b.orderKey, b.connector, b.blockedBy, b.blockerState, b.waiting]),
        ),
      );
    }
    if (instances.length > 0) {
      ctx.io.out('');
      ctx.io.out(
        table(
          ['INSTANCE', 'HOST', 'PID', 'VERSION', 'CONFIG', 'STARTED', 'HEARTBEAT', 'STATE', 'IN FLIGHT', 'OLDEST LEASE'],
          instances.map((i) => [
            i.id,
            i.host,
            i.pid,
            i.version,
            i.configVersion,
            new Date(i.startedAt).toISOString(),
            `${age(i.heartbeatAgeMs)} ago`,
            i.state,
            i.inFlight,
            i.oldestLeaseAgeMs === null ? '-' : age(i.oldestLeaseAgeMs),
          ]),
        ),
      );
    }
    return EXIT.ok;
  });
}

/** A time span for a person: `4s`, `2m05s`, `1h02m`, `3d04h`. */
function age(ms: number): string {
  const s = Math.floor(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** Runs the gateway until SIGINT/SIGTERM; SIGHUP reloads the config folder. */
export async function start(ctx: CommandContext): Promise<number> {
  // A long-running service: full collections before the old generation grows far (heap.ts).
  applyHeapSettings();
  const gateway = await Gateway.create({ configDir: ctx.configDir, env: ctx.env, clock: ctx.clock });
  try {
    await gateway.start();
  } catch (err) {
    await gateway.stop();
    throw databaseUnavailable(err, gateway.store.describe) ?? err;
  }
  // Before the line that tells a supervisor the gateway is up: a SIGHUP right after it must reload, not kill.
  const onHup = (): void => void gateway.reload();
  process.on('SIGHUP', onHup);
  // The URL first (supervisors and tests read it after "listening on"), then what is really bound.
  const { address, allInterfaces } = gateway.bound;
  const where = allInterfaces ? `bound to ${address}: all interfaces` : `bound to ${address}`;
  ctx.io.err(`omgw listening on ${gateway.url} (${where}; WSDL: ${gateway.url}/soap/business-events?wsdl)`);
  ctx.io.err(
    gateway.config.gateway.admin.token?.reveal()
      ? `admin API on ${gateway.url}/admin/api (OpenAPI: ${gateway.url}/admin/api/openapi.json)`
      : 'admin API is off: set admin.token in gateway.yaml to enable /admin/api',
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', onHup);
  await gateway.stop();
  return EXIT.ok;
}

/**
 * `omgw connector online|offline NAME`: persisted, so every instance follows within a poll interval.
 * Through ConnectorOperations.setState, as the admin API does (with its audit record).
 */
export async function setConnectorState(ctx: CommandContext, state: 'online' | 'offline', name: string | undefined): Promise<number> {
  if (!name) {
    ctx.io.err(`usage: omgw connector ${state} NAME`);
    return EXIT.usage;
  }
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    try {
      await services.connectors.setState(name, state, cliActor(ctx.env));
    } catch (err) {
      if (isGatewayError(err) && err.code === 'NOT_FOUND') {
        ctx.io.err(err.message);
        return EXIT.failed;
      }
      throw err;
    }
    if (ctx.json) ctx.io.out(JSON.stringify({ database: store.describe, connector: name, state }));
    else {
      ctx.io.out(`database ${store.describe}`);
      ctx.io.out(`connector ${name} is ${state}${state === 'offline' ? ': due deliveries go on hold' : ': held deliveries are released in order'}`);
    }
    return EXIT.ok;
  });
}
