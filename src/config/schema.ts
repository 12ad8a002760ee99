import { z } from 'zod';
import { DEFAULT_BREAKER } from '../domain/breaker.ts';
import { DEFAULT_RETRY } from '../domain/retry.ts';
import { Secret, containsReference, isWholeReference, resolveReferences } from './secret.ts';
import { parseDuration, parseSize } from './units.ts';
import { cronProblem, timezoneProblem } from './schedule.ts';

/**
 * One schema per config file. It yields both the TypeScript types and the defaults, and it resolves
 * `${env:...}` / `${file:...}` references while it validates, so every problem (a bad key, a missing
 * variable, an unreadable file) is reported with its path in one pass.
 */
export interface SchemaContext {
  env: NodeJS.ProcessEnv;
  /** Relative `${file:...}` references resolve against the config folder. */
  baseDir: string;
}

/** The database URLs the store can open (src/store/database.ts). */
export const DATABASE_URL = /^(sqlite:|postgres:\/\/|postgresql:\/\/)/;

export function buildSchemas(ctx: SchemaContext) {
  const resolve = (text: string, zctx: z.RefinementCtx): string => {
    if (!containsReference(text)) return text;
    const { value, problems } = resolveReferences(text, ctx.env, ctx.baseDir);
    for (const message of problems) zctx.addIssue({ code: 'custom', message });
    return value;
  };

  /** A plain string that may contain references. */
  const str = () => z.string().transform((v, zctx) => resolve(v, zctx));
  const nonEmpty = () => str().pipe(z.string().min(1, 'must not be empty'));
  /** Targets and token endpoints: only http and https are sent to. */
  const httpUrl = () => nonEmpty().pipe(z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' }));

  /** A secret: must be a reference, so a secret never sits in a config file. */
  const secret = () =>
    z
      .string()
      .refine(isWholeReference, {
        message: 'secrets must be given as ${env:NAME} or ${file:/path}, never written in the file',
      })
      .transform((v, zctx) => new Secret(resolve(v, zctx)));

  const num = (schema: z.ZodNumber) =>
    z.union([schema, str().pipe(z.coerce.number()).pipe(schema)]);
  const bool = () =>
    z.union([
      z.boolean(),
      str().pipe(z.enum(['true', 'false'])).transform((v) => v === 'true'),
    ]);

  /** "30s", "5m", "2h", "7d", "250ms" → milliseconds. */
  const duration = () =>
    str().transform((v, zctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        zctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (use e.g. 250ms, 30s, 5m, 2h, 7d)` });
        return z.NEVER;
      }
      return ms;
    });
  /** A node-cron expression, and the IANA time zone it is evaluated in (the scheduled jobs). */
  const cron = () => str().refine((v) => cronProblem(v) === null, { error: (i) => cronProblem(String(i.input)) ?? 'not a cron expression' });
  const timezone = () => str().refine((v) => timezoneProblem(v) === null, { error: (i) => timezoneProblem(String(i.input)) ?? 'not a time zone' }).default('UTC');
  /** "10MB", "512KB", or a number of bytes. */
  const size = () =>
    z.union([
      z.number().int().positive(),
      str().transform((v, zctx) => {
        const bytes = parseSize(v);
        if (bytes === null) {
          zctx.addIssue({ code: 'custom', message: `"${v}" is not a size (use e.g. 512KB, 10MB)` });
          return z.NEVER;
        }
        return bytes;
      }),
    ]);

  const credential = z.strictObject({ username: nonEmpty(), password: secret() });

  const tls = z.strictObject({
    cert: nonEmpty(),
    key: nonEmpty(),
    /** Extra CA bundle, for clients that present certificates signed by a private CA. */
    ca: nonEmpty().optional(),
  });

  const inboundSoap = z.strictObject({
    users: z.array(credential).min(1, 'at least one inbound user is needed'),
    /** Which inbound authentication methods are accepted. */
    auth: z.array(z.enum(['ws-security', 'basic'])).min(1).default(['ws-security', 'basic']),
    passwordTypes: z.array(z.enum(['text', 'digest'])).min(1).default(['text', 'digest']),
    /** How far a UsernameToken's Created may lie from now, both ways. */
    createdWindow: duration().default(5 * 60_000),
    dedupeWindow: duration().default(7 * 24 * 3_600_000),
    maxBodySize: size().default(10 * 1024 * 1024),
    /** What a sender may make the gateway read before its credentials are checked (Envelope start and Header). */
    maxBytesBeforeCredentials: size().default(64 * 1024),
    maxDepth: num(z.number().int().min(8).max(1000)).default(64),
    maxElements: num(z.number().int().min(100)).default(200_000),
    /** Attributes on one element, and in a whole push. */
    maxAttributes: num(z.number().int().min(4).max(100_000)).default(64),
    maxTotalAttributes: num(z.number().int().min(100)).default(100_000),
    /** Characters in an element or attribute name, and in one text node or attribute value. */
    maxNameLength: num(z.number().int().min(16).max(1_000_000)).default(256),
    maxTextLength: size().default(1024 * 1024),
    /** Bytes of push bodies held in memory at once, across pushes; a push waits at most bodyWait for room. */
    bodyBudget: size().default(64 * 1024 * 1024),
    bodyWait: duration().default(10_000),
  }).superRefine((s, zctx) => {
    if (s.bodyBudget < s.maxBodySize) {
      zctx.addIssue({ code: 'custom', path: ['bodyBudget'], message: `must be at least maxBodySize (${s.maxBodySize} bytes): a push of that size must fit` });
    }
    if (s.maxBytesBeforeCredentials > s.maxBodySize) {
      zctx.addIssue({ code: 'custom', path: ['maxBytesBeforeCredentials'], message: 'must not be more than maxBodySize' });
    }
  });

  /**
   * ShipBob webhooks on POST /webhooks/shipbob, signed per Standard Webhooks (verified by
   * src/inbound/webhooks/signature.ts). List two secrets while one is rotated. Without this block, or
   * with enabled: false, the endpoint answers 404.
   */
  const webhookSecret = () =>
    secret().superRefine((s, zctx) => {
      const value = s.reveal();
      const b64 = value.startsWith('whsec_') ? value.slice('whsec_'.length) : value;
      const bare = b64.replace(/=+$/, '');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || bare.length % 4 === 1 || bare.length < 32 || bare.length > 86) {
        zctx.addIssue({ code: 'custom', message: 'must be whsec_ followed by the base64 of 24 to 64 bytes (a Standard Webhooks secret)' });
      }
    });
  const shipbobWebhooks = z
    .strictObject({
      enabled: bool().default(true),
      secrets: z.array(webhookSecret()).default([]),
      /** How far webhook-timestamp may lie from now, both ways. */
      tolerance: duration().default(5 * 60_000),
      maxBodySize: size().default(1024 * 1024),
      /** A webhook-id seen within this window is a duplicate (ShipBob retries for about a day). */
      dedupeWindow: duration().default(7 * 24 * 3_600_000),
    })
    .superRefine((w, zctx) => {
      if (w.enabled && w.secrets.length === 0) {
        zctx.addIssue({ code: 'custom', path: ['secrets'], message: 'at least one secret is needed while enabled' });
      }
      // A signed message is accepted from timestamp - tolerance to timestamp + tolerance: the dedupe
      // window must cover that, or a replay could be stored twice.
      if (w.dedupeWindow < 2 * w.tolerance) {
        zctx.addIssue({ code: 'custom', path: ['dedupeWindow'], message: 'must be at least twice the tolerance' });
      }
    });

  const gateway = z.strictObject({
    server: z
      .strictObject({
        host: nonEmpty().default('0.0.0.0'),
        port: num(z.number().int().min(0).max(65535)).default(8080),
        /** Honour X-Forwarded-Proto/Host (behind a TLS-terminating proxy). */
        trustProxy: bool().default(false),
        tls: tls.optional(),
        requestTimeout: duration().default(60_000),
        /**
         * Start on a host other than loopback even while the admin token or an inbound credential is
         * a published default (src/config/published-defaults.ts). For a lab only.
         */
        allowPublishedSecrets: bool().default(false),
      })
      .prefault({}),
    database: z
      .strictObject({
        /** `sqlite:./data/omgw.db` or `postgres://...`; DATABASE_URL overrides it. */
        url: nonEmpty()
          .pipe(z.string().regex(DATABASE_URL, 'must start with sqlite: or postgres://'))
          .default('sqlite:./data/omgw.db'),
        poolMax: num(z.number().int().min(1).max(100)).default(10),
        /** Encrypts credentials the gateway must keep (rotated OAuth2 refresh tokens). */
        encryptionKey: secret().optional(),
        /** PostgreSQL schema for the gateway's tables (several gateways can share one database). */
        schema: str()
          .transform((v) => (v === '' ? undefined : v))
          .pipe(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').optional())
          .optional(),
      })
      .prefault({}),
    inbound: z.strictObject({ soap: inboundSoap, webhooks: z.strictObject({ shipbob: shipbobWebhooks.optional() }).prefault({}) }),
    delivery: z
      .strictObject({
        /** Run the delivery worker in this instance (several instances may all run it). */
        enabled: bool().default(true),
        /** How often to look for due deliveries when nothing wakes the worker earlier. */
        pollInterval: duration().default(1_000),
        /** Deliveries in flight at once in this instance, across connectors. */
        maxInFlight: num(z.number().int().min(1).max(1024)).default(64),
        /** A claimed delivery's lease is the connector's timeout plus this. */
        leaseMargin: duration().default(30_000),
      })
      .prefault({}),
    /** Scheduled jobs (node-cron expressions, evaluated in `timezone`); see src/jobs/. */
    schedules: z
      .strictObject({
        /** The recovery run: replays parked deliveries, once per slot across instances. */
        recovery: z
          .strictObject({
            enabled: bool().default(true),
            cron: cron().default('0 2 * * *'),
            timezone: timezone(),
            /** At most this many deliveries per run; the rest wait for the next run. */
            batchCap: num(z.number().int().min(1).max(100_000)).default(1000),
            /** Only these connectors / event codes (empty: all). */
            connectors: z.array(nonEmpty()).default([]),
            eventCodes: z.array(nonEmpty()).default([]),
            /** Only deliveries created within this age. */
            maxAge: duration().optional(),
          })
          .prefault({}),
        /**
         * The purchase-order poller: reads Fusion's purchaseOrders changed since its cursor through an
         * oracle-fusion connector and stores each change as a PurchaseOrderChanged event (src/inbound/poller/).
         */
        poller: z
          .strictObject({
            enabled: bool().default(false),
            cron: cron().default('*/5 * * * *'),
            timezone: timezone(),
            /** The oracle-fusion connector to read through (its URL, auth, restBase and REST-Framework-Version). */
            connector: nonEmpty().optional(),
            /** A row-match condition ANDed to the LastUpdateDate one, e.g. `StatusCode = 'OPEN'`. */
            filter: str().optional(),
            /** Children to read with each purchase order (`lines.schedules` carries the ship-to). */
            expand: str().default('lines.schedules'),
            pageSize: num(z.number().int().min(1).max(500)).default(100),
            /** Pages per run at most; a run that stops there leaves the rest to the next one. */
            maxPages: num(z.number().int().min(1).max(10_000)).default(50),
            /** Each run reads again this far before its cursor: Fusion commits a change after stamping it. */
            overlap: duration().default(10 * 60_000),
            /** How far back the first run reads (no cursor yet). */
            initialLookback: duration().default(86_400_000),
            /** A (POHeaderId, LastUpdateDate) seen within this window is a duplicate, not a new event. */
            dedupeWindow: duration().default(7 * 86_400_000),
          })
          .prefault({}),
        /** The retention job: removes finished history older than the configured ages, in batches. */
        retention: z
          .strictObject({
            enabled: bool().default(true),
            cron: cron().default('30 3 * * *'),
            timezone: timezone(),
            /** Events whose deliveries all finished (and unrouted or duplicate events) older than this. */
            deliveredAfter: duration().default(30 * 86_400_000),
            /** Audit records older than this (keep it longer than deliveredAfter). */
            auditAfter: duration().default(365 * 86_400_000),
            batchSize: num(z.number().int().min(1).max(100_000)).default(1000),
          })
          .prefault({}),
      })
      .prefault({}),
    /** The admin REST API under /admin/api. */
    admin: z
      .strictObject({
        /** Bearer token the admin API requires; without one (or when it resolves to '') the admin API is off. */
        token: secret()
          .refine((s) => s.reveal() === '' || s.reveal().length >= 16, 'the admin token must be at least 16 characters')
          .optional(),
        /** The largest JSON request body the admin API accepts. */
        maxBodySize: size().default(1024 * 1024),
      })
      .prefault({}),
    sandbox: z
      .strictObject({
        /** Serve sandbox targets under /sandbox (a REST sink, an OTM-style SOAP service) for demos. */
        enabled: bool().default(false),
        /** The emulated Fusion REST under /sandbox/fusion (HTTP Basic). */
        fusion: z
          .strictObject({ username: nonEmpty().default('omgw.integration'), password: secret() })
          .optional(),
        /** The emulated ShipBob API under /sandbox/shipbob (src/sandbox/shipbob); every key has a default (`shipbob: {}`). */
        shipbob: z
          .strictObject({
            token: secret().prefault('${env:OMGW_SANDBOX_SHIPBOB_TOKEN:-sandbox-shipbob-token}'),
            webhookSecret: secret()
              .refine((s) => /^whsec_[a-zA-Z0-9+/]{32}$/.test(s.reveal()), 'must be whsec_ and 32 base64 characters (24 bytes)')
              .prefault('${env:OMGW_SANDBOX_SHIPBOB_WEBHOOK_SECRET:-whsec_b21ndy1zYW5kYm94LXNoaXBib2Ita2V5}'),
            channelId: num(z.number().int().min(1).max(2_147_483_646)).default(100001),
            /** Where the sandbox sends its webhooks; default the gateway's own /webhooks/shipbob, '' for none. */
            webhookTarget: str().pipe(z.union([z.literal(''), z.url({ protocol: /^https?$/ })])).optional(),
          })
          .optional(),
      })
      .prefault({}),
    logging: z
      .strictObject({
        level: str().pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
      })
      .prefault({}),
  });

  const retryOn = z.union([
    z.enum(['network', 'timeout', '4xx', '5xx']),
    z.number().int().min(100).max(599),
  ]);

  const connectorAuth = z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({ type: z.literal('basic'), username: nonEmpty(), password: secret() }),
    z.strictObject({ type: z.literal('bearer'), token: secret() }),
    z.strictObject({
      type: z.literal('api-key'),
      key: secret(),
      in: z.enum(['header', 'query']).default('header'),
      name: nonEmpty().default('X-API-Key'),
    }),
    z.strictObject({
      type: z.literal('oauth2-client-credentials'),
      tokenUrl: httpUrl(),
      clientId: nonEmpty(),
      clientSecret: secret(),
      scope: str().optional(),
      audience: str().optional(),
      /** How the client authenticates to the token endpoint. */
      clientAuth: z.enum(['basic', 'body']).default('basic'),
      refreshBefore: duration().default(60_000),
    }),
    z.strictObject({
      type: z.literal('oauth2-refresh-token'),
      tokenUrl: httpUrl(),
      clientId: nonEmpty(),
      clientSecret: secret().optional(),
      /** The first refresh token; rotated tokens are kept in the database from then on. */
      refreshToken: secret(),
      scope: str().optional(),
      refreshBefore: duration().default(60_000),
    }),
    z.strictObject({
      type: z.literal('ws-security'),
      username: nonEmpty(),
      password: secret(),
      passwordType: z.enum(['text', 'digest']).default('text'),
    }),
  ]);

  const connector = z.strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'use lower-case letters, digits, ".", "_" or "-" (max 63)'),
    /** OM's "Target System" (a TCA source system code). */
    targetSystem: nonEmpty().optional(),
    description: str().optional(),
    protocol: z.enum(['rest', 'soap']),
    /** Built-in kinds add behaviour on top of the protocol (ShipBob order create, Fusion write-back). */
    kind: z.enum(['generic', 'shipbob', 'oracle-fusion']).default('generic'),
    url: httpUrl(),
    method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'GET']).default('POST'),
    /** Appended to url; `{{field}}` placeholders are filled from the event. */
    path: str().default(''),
    headers: z.record(z.string(), str()).default({}),
    auth: connectorAuth.default({ type: 'none' }),
    tls: z
      .strictObject({
        ca: nonEmpty().optional(),
        cert: nonEmpty().optional(),
        key: nonEmpty().optional(),
        passphrase: secret().optional(),
        rejectUnauthorized: bool().default(true),
      })
      .optional(),
    soap: z
      .strictObject({
        version: z.enum(['1.1', '1.2']).default('1.1'),
        action: str().optional(),
      })
      .optional(),
    /** A built-in transform name or jsonata:<mapping>; default canonical-json (REST) or om-results-xml (SOAP). */
    transform: str().optional(),
    /** kind: shipbob — how an OM event becomes ShipBob orders. */
    shipbob: z
      .strictObject({
        apiVersion: str().default('2026-01'),
        /** The oracle-fusion connector that reads the sales order (salesOrdersForOrderHub). */
        enrichFrom: nonEmpty(),
        /** mappings/<name>.yaml of kind product-map: Fusion item number → ShipBob product reference_id. */
        productMap: nonEmpty(),
        /** mappings/<name>.yaml of kind location-map: Fusion organization code → ShipBob location_id. */
        locationMap: nonEmpty().optional(),
        shippingMethod: nonEmpty().default('Standard'),
        orderType: z.enum(['DTC', 'DropShip', 'B2B']).default('DTC'),
        /** Prefixed to every reference_id (ShipBob keeps reference ids unique for ever). */
        referencePrefix: str().default(''),
      })
      .optional(),
    /** kind: oracle-fusion — where the Fusion REST resources live. */
    fusion: z
      .strictObject({
        restBase: str().default('/fscmRestApi/resources/11.13.18.05'),
        restFrameworkVersion: str().default('4'),
      })
      .optional(),
    timeout: duration().default(30_000),
    /** The retry rules (src/domain/retry.ts); the defaults are DEFAULT_RETRY's. */
    retry: z
      .strictObject({
        schedule: z.array(duration()).min(1).default(() => [...DEFAULT_RETRY.schedule]),
        jitter: num(z.number().min(0).max(1)).default(DEFAULT_RETRY.jitter),
        maxAttempts: num(z.number().int().min(1).max(100)).default(DEFAULT_RETRY.maxAttempts),
        retryOn: z.array(retryOn).default(() => [...DEFAULT_RETRY.retryOn]),
        maxRetryAfter: duration().default(DEFAULT_RETRY.maxRetryAfter),
      })
      .prefault({}),
    rateLimit: z
      .strictObject({ requests: num(z.number().int().min(1)), per: duration() })
      .optional(),
    /** The circuit breaker (src/domain/breaker.ts); the defaults are DEFAULT_BREAKER's. */
    breaker: z
      .strictObject({
        consecutiveFailures: num(z.number().int().min(1)).default(DEFAULT_BREAKER.consecutiveFailures),
        failureRatio: num(z.number().gt(0).max(1)).default(DEFAULT_BREAKER.failureRatio),
        minimumRequests: num(z.number().int().min(1)).default(DEFAULT_BREAKER.minimumRequests),
        window: duration().default(DEFAULT_BREAKER.windowMs),
        coolDown: duration().default(DEFAULT_BREAKER.coolDownMs),
      })
      .prefault({}),
    concurrency: num(z.number().int().min(1).max(256)).default(4),
    ordering: z.enum(['strict', 'none']).default('strict'),
    state: z.enum(['online', 'offline']).default('online'),
    /** `omgw connector test`: a harmless GET, as a path appended to url or an absolute URL (default: per kind/protocol). */
    probe: str()
      .refine((v) => v.startsWith('/') || v.startsWith('?') || /^https?:\/\//.test(v), 'must be a path starting with / or ?, or an absolute http(s) URL')
      .optional(),
    idempotencyKey: z
      .strictObject({
        template: str().default('{{delivery.id}}'),
        header: str().default('Idempotency-Key'),
      })
      .prefault({}),
  });

  const fieldCondition = z
    .strictObject({
      /** An element name (matched at any level of the event) or a dotted path such as OrderLine.StatusCodeNewValue. */
      field: nonEmpty(),
      in: z.array(str()).min(1).optional(),
      notIn: z.array(str()).min(1).optional(),
      equals: str().optional(),
      exists: bool().optional(),
      matches: str()
        .refine((v) => {
          try {
            new RegExp(v);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression')
        .optional(),
    })
    .refine(
      (c) =>
        [c.in, c.notIn, c.equals, c.exists, c.matches].filter((v) => v !== undefined).length === 1,
      'give exactly one of in, notIn, equals, exists, matches',
    );

  const triggerPoint = z.strictObject({
    name: z.string().min(1),
    description: str().optional(),
    source: z.enum(['oracle-om', 'shipbob', 'fusion-po']).optional(),
    eventCodes: z.array(z.string().min(1)).min(1),
    when: z.array(fieldCondition).default([]),
    connectors: z.array(z.string().min(1)).min(1),
  });

  const triggerPoints = z.strictObject({ triggerPoints: z.array(triggerPoint).default([]) });

  return { gateway, connector, triggerPoints };
}

type Schemas = ReturnType<typeof buildSchemas>;
export type GatewaySettings = z.output<Schemas['gateway']>;
export type InboundSoapSettings = GatewaySettings['inbound']['soap'];
export type ShipBobWebhookSettings = NonNullable<GatewaySettings['inbound']['webhooks']['shipbob']>;
export type PollerSettings = GatewaySettings['schedules']['poller'];
export type ConnectorConfig = z.output<Schemas['connector']>;
export type ConnectorAuthConfig = ConnectorConfig['auth'];
export type TriggerPointConfig = z.output<Schemas['triggerPoints']>['triggerPoints'][number];
export type FieldCondition = TriggerPointConfig['when'][number];
