import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Gateway } from '../../src/app.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { createTestDatabase, type TestDatabase } from './backend.ts';

export const SOAP_USER = 'om-connector';
export const SOAP_PASSWORD = 'Test-Secret-9f3a7c';

export interface TestConfig {
  gateway?: string;
  connectors?: Record<string, string>;
  triggerPoints?: string;
  /** Files under mappings/, by name. */
  mappings?: Record<string, string>;
}

export const DEFAULT_CONNECTORS: Record<string, string> = {
  'shipbob.yaml': `protocol: rest
url: http://127.0.0.1:9/shipbob
path: /2026-01/order
auth:
  type: bearer
  token: \${env:TEST_SHIPBOB_TOKEN}
`,
  'crm.yaml': `protocol: rest
url: http://127.0.0.1:9/crm
`,
  'otm.yaml': `protocol: soap
url: http://127.0.0.1:9/otm
`,
};

export const DEFAULT_TRIGGER_POINTS = `triggerPoints:
  - name: shipping
    eventCodes: [FlineStatusUpdate]
    when:
      - field: StatusCodeNewValue
        in: [AWAIT_SHIPPING]
    connectors: [shipbob]
  - name: status
    eventCodes: [FlineStatusUpdate, OrderHeaderStatusUpdate, FlineClosed, OrderAttributeUpdate, OcResponse]
    connectors: [crm]
  - name: exceptions
    eventCodes: [HOLD, JEOPARDY, SPLIT]
    connectors: [otm]
`;

/**
 * The scheduled jobs of a test gateway: the recovery run and the retention job off. Their timers run
 * on the wall clock whatever clock the gateway is given, so left on (nightly, by default) they would
 * fire inside whichever test is running at 02:00 or 03:30 UTC, replaying its parked deliveries or
 * removing its history. A test of a job turns it on (and calls it with the slot it chooses).
 */
export const SCHEDULES_OFF = '  recovery:\n    enabled: false\n  retention:\n    enabled: false\n';

/**
 * A test gateway.yaml. Delivery is off unless asked for, so inbound tests see deliveries exactly as
 * ingest left them. `schedules`: the lines under `schedules:` (two-space indented), SCHEDULES_OFF
 * unless given.
 */
export function gatewayYaml(extraSoap = '', options: { delivery?: string; schedules?: string } = {}): string {
  return `server:
  host: 127.0.0.1
  port: 0
database:
  url: \${env:TEST_DATABASE_URL}
  schema: \${env:TEST_DATABASE_SCHEMA:-}
  encryptionKey: \${env:TEST_ENCRYPTION_KEY}
delivery:
${options.delivery ?? '  enabled: false'}
inbound:
  soap:
    users:
      - username: ${SOAP_USER}
        password: \${env:TEST_SOAP_PASSWORD}
${extraSoap}
logging:
  level: info
schedules:
${options.schedules ?? SCHEDULES_OFF}`;
}

export const TEST_ENV = {
  TEST_SOAP_PASSWORD: SOAP_PASSWORD,
  TEST_ENCRYPTION_KEY: 'test-encryption-key-77aa',
  TEST_SHIPBOB_TOKEN: 'shipbob-token-5b1e2d',
};

/** Writes a config folder to a temp dir. */
export function writeConfig(config: TestConfig = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'omgw-config-'));
  writeFileSync(join(dir, 'gateway.yaml'), config.gateway ?? gatewayYaml());
  mkdirSync(join(dir, 'connectors'));
  for (const [file, text] of Object.entries(config.connectors ?? DEFAULT_CONNECTORS)) {
    writeFileSync(join(dir, 'connectors', file), text);
  }
  writeFileSync(join(dir, 'trigger-points.yaml'), config.triggerPoints ?? DEFAULT_TRIGGER_POINTS);
  if (config.mappings) {
    mkdirSync(join(dir, 'mappings'));
    for (const [file, text] of Object.entries(config.mappings)) writeFileSync(join(dir, 'mappings', file), text);
  }
  return dir;
}

/** The environment a test gateway (or a CLI command against its config) runs with. */
export function testEnv(database: TestDatabase, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...TEST_ENV,
    ...extra,
    TEST_DATABASE_URL: database.url,
    ...(database.schema ? { TEST_DATABASE_SCHEMA: database.schema } : {}),
  };
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  configDir: string;
  database: TestDatabase;
  logs: string[];
  stop(): Promise<void>;
}

/** A real gateway on a real port (0) with a real database, and its log lines captured. */
export async function startGateway(
  config: TestConfig = {},
  options: { database?: TestDatabase; keepDatabase?: boolean; clock?: Clock; random?: () => number; env?: Record<string, string>; host?: string } = {},
): Promise<TestGateway> {
  const database = options.database ?? createTestDatabase();
  const configDir = writeConfig(config);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const gateway = await Gateway.create({
    configDir,
    env: testEnv(database, options.env),
    port: 0,
    host: options.host ?? '127.0.0.1',
    ...(database.schema ? { dbSchema: database.schema } : {}),
    logDestination: destination,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  await gateway.start();
  return {
    gateway,
    url: gateway.url,
    configDir,
    database,
    logs,
    stop: async () => {
      await gateway.stop();
      rmSync(configDir, { recursive: true, force: true });
      if (!options.keepDatabase) await database.dispose();
    },
  };
}

export async function postSoap(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', ...headers },
    body,
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
