import { randomUUID } from 'node:crypto';
import { loadConfig, type GatewayConfig } from '../config/load.ts';
import { systemClock } from '../domain/clock.ts';
import { createIdGenerator } from '../domain/ids.ts';
import { createLogger } from '../log.ts';
import { createServices, openStore, type Services } from '../services/index.ts';
import { databaseUnavailable } from '../store/database.ts';
import type { Store } from '../store/index.ts';

/**
 * How a CLI command gets its store and services: from the config folder, through the same
 * openStore and createServices (src/services/index.ts) as the gateway, so a command behaves as the
 * admin API does (the same connector runtimes, the same audit records). A CLI process has no delivery
 * worker: a running gateway's worker picks new, replayed and released deliveries up at its next poll.
 */

export interface CliContext {
  configDir: string;
  env: NodeJS.ProcessEnv;
}

interface WithStoreOptions {
  /** Create a new SQLite file (and its folder) when there is none: of these commands only `migrate` (`start` opens its store through the Gateway, which does too). */
  createIfMissing?: boolean;
}

/**
 * The config folder and its store (a small pool; not migrated: each command migrates when it needs
 * to). A database that cannot be reached or opened ends the command as a GatewayError
 * STORE_UNAVAILABLE naming it (exit code 4), whichever statement found out.
 */
export async function withStore<T>(
  ctx: CliContext,
  fn: (store: Store, config: GatewayConfig) => Promise<T>,
  options: WithStoreOptions = {},
): Promise<T> {
  const config = await loadConfig(ctx.configDir, ctx.env);
  const store = openStore(config, { poolMax: 2, createIfMissing: options.createIfMissing ?? false });
  try {
    return await fn(store, config);
  } catch (err) {
    throw databaseUnavailable(err, store.describe) ?? err;
  } finally {
    await store.close();
  }
}

export interface CliServices {
  config: GatewayConfig;
  store: Store;
  services: Services;
}

/** withStore, and the services built on it; closed (runtimes, then store) when fn has finished. */
export async function withServices<T>(ctx: CliContext, fn: (s: CliServices) => Promise<T>): Promise<T> {
  return withStore(ctx, async (store, config) => {
    const services = createServices(() => config, {
      store,
      clock: systemClock,
      logger: createLogger({ level: 'silent', secrets: () => config.secrets }),
      newId: createIdGenerator(),
      instanceId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`,
    });
    try {
      return await fn({ config, store, services });
    } finally {
      await services.close();
    }
  });
}
