// The gateway under test, in its own process and run from dist/ with plain node, as `omgw start` runs
// it (with its V8 heap setting, src/cli/heap.ts): Gateway.create/start on a config folder written
// here, one REST connector ("sink") that every OM event routes to, logs at info level to this
// process's stdout (the orchestrator sends them to a file). Parameters and answers: GatewayParams and
// DeliveryStats in bench/lib/types.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { Gateway } from '../../dist/app.js';
import { applyHeapSettings } from '../../dist/cli/heap.js';
import { childParams, serveParent } from './serve-parent.mjs';

const params = childParams();
const configDir = mkdtempSync(join(tmpdir(), 'omgw-bench-config-'));
const delivery = params.sinkUrl ? `  enabled: true\n  pollInterval: 1s\n  maxInFlight: ${params.maxInFlight ?? 64}` : '  enabled: false';
writeFileSync(
  join(configDir, 'gateway.yaml'),
  `server:
  host: 127.0.0.1
  port: 0
database:
  url: \${env:BENCH_DATABASE_URL}
delivery:
${delivery}
inbound:
  soap:
    users:
      - username: ${params.soapUser}
        password: \${env:BENCH_SOAP_PASSWORD}
schedules:
  recovery:
    enabled: false
  retention:
    enabled: false
logging:
  level: info
`,
);
mkdirSync(join(configDir, 'connectors'));
writeFileSync(
  join(configDir, 'connectors', 'sink.yaml'),
  `protocol: rest
url: ${params.sinkUrl ?? 'http://127.0.0.1:9'}
path: /orders
concurrency: ${params.concurrency ?? 4}
`,
);
writeFileSync(
  join(configDir, 'trigger-points.yaml'),
  `triggerPoints:
  - name: all
    eventCodes: ['*']
    connectors: [sink]
`,
);

// What `omgw start` does before it creates the gateway.
applyHeapSettings();
const gateway = await Gateway.create({
  configDir,
  env: { ...process.env, BENCH_DATABASE_URL: params.databaseUrl, BENCH_SOAP_PASSWORD: params.soapPassword },
  port: 0,
  host: '127.0.0.1',
  ...(params.schema ? { dbSchema: params.schema } : {}),
});
await gateway.start();

const percentile = (sorted, p) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

/**
 * The benchmark's own read-only connection to the gateway's database: lag needs every delivered
 * row's times, which no API of the gateway lists (and should not, at this volume).
 */
const knex = params.databaseUrl.startsWith('sqlite:')
  ? knexFactory({ client: 'sqlite3', connection: { filename: params.databaseUrl.slice('sqlite:'.length) }, useNullAsDefault: true, pool: { min: 1, max: 1 } })
  : knexFactory({ client: 'pg', connection: params.databaseUrl, searchPath: params.schema ? [params.schema] : undefined, pool: { min: 0, max: 1 } });

/** Deliveries by state; with { from, to }: those delivered in that window and their lag from receipt. */
async function stats(args) {
  const { from, to } = args ?? {};
  const rows = await knex('deliveries').select('state').count({ n: '*' }).groupBy('state');
  const byState = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  let deliveredInWindow = 0;
  let lagMs = null;
  if (from !== undefined && to !== undefined) {
    const done = await knex('deliveries')
      .select('created_at', 'delivered_at')
      .where('state', 'delivered')
      .andWhere('delivered_at', '>=', from)
      .andWhere('delivered_at', '<', to);
    deliveredInWindow = done.length;
    const lags = done.map((r) => Number(r.delivered_at) - Number(r.created_at)).sort((a, b) => a - b);
    if (lags.length > 0) lagMs = { p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: lags[lags.length - 1] };
  }
  const [{ n: events }] = await knex('events').count({ n: '*' });
  const [{ n: pushes }] = await knex('pushes').count({ n: '*' });
  return { byState, deliveredInWindow, lagMs, events: Number(events), pushes: Number(pushes) };
}

serveParent({ url: gateway.url }, { stats }, async () => {
  await knex.destroy();
  await gateway.stop();
  rmSync(configDir, { recursive: true, force: true });
  if (params.schema && params.dropSchema) {
    const knex = knexFactory({ client: 'pg', connection: params.databaseUrl });
    try {
      await knex.raw('drop schema if exists ?? cascade', [params.schema]);
    } finally {
      await knex.destroy();
    }
  }
});
