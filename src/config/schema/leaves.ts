import { z } from 'zod';
import { Secret, containsReference, isWholeReference, resolveReferences } from '../secret.ts';
import { parseDuration, parseSize } from '../units.ts';
import { cronProblem, timezoneProblem } from '../schedule.ts';

/** What `${env:...}` / `${file:...}` references resolve against while a config folder is validated. */
export interface SchemaContext {
  env: NodeJS.ProcessEnv;
  /** Relative `${file:...}` references resolve against the config folder. */
  baseDir: string;
  /** What `${server:url}` stands for in connector files (src/config/server-url.ts); see resolveReferences. */
  serverUrl?: string | null;
}

/**
 * The leaf schemas every section is built from: strings, numbers, booleans, durations, sizes, cron
 * expressions, secrets. Each one resolves references while it validates, so a missing variable or an
 * unreadable file is reported at its key in the same pass as every other problem.
 *
 * They are built per SchemaContext, not once at module level: zod hands a transform no caller
 * context, and one process validates against different environments (each loadConfig, the tests side
 * by side), so the env and the config folder are bound here and the sections take the leaves as a
 * parameter.
 */
export function configLeaves(ctx: SchemaContext) {
  const resolve = (text: string, zctx: z.RefinementCtx): string => {
    if (!containsReference(text)) return text;
    const { value, problems } = resolveReferences(text, ctx.env, ctx.baseDir, ctx.serverUrl);
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

  /** A Standard Webhooks signing secret (ShipBob's webhooks, async connectors' callbacks): a secret of that form. */
  const webhookSecret = () =>
    secret().superRefine((s, zctx) => {
      const value = s.reveal();
      const b64 = value.startsWith('whsec_') ? value.slice('whsec_'.length) : value;
      const bare = b64.replace(/=+$/, '');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || bare.length % 4 === 1 || bare.length < 32 || bare.length > 86) {
        zctx.addIssue({ code: 'custom', message: 'must be whsec_ followed by the base64 of 24 to 64 bytes (a Standard Webhooks secret)' });
      }
    });

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

  return { str, nonEmpty, httpUrl, secret, webhookSecret, num, bool, duration, cron, timezone, size };
}

export type Leaves = ReturnType<typeof configLeaves>;
