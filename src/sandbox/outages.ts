import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { readRawBody } from '../inbound/webhooks/body.ts';

/** The sandbox targets an outage can take down (targets.ts). */
export const OUTAGE_TARGETS = ['rest-sink', 'otm', 'warehouse'] as const;
export type OutageTarget = (typeof OUTAGE_TARGETS)[number];

export interface Outage {
  target: OutageTarget;
  /** The HTTP status the target answers while it is down. */
  status: number;
  since: string;
  /** Requests it has refused since it went down. */
  refused: number;
}

const DEFAULT_STATUS = 503;
const MAX_CONTROL_BODY = 4096;

/**
 * Outages of the sandbox targets, set and ended over HTTP, so a demo or a person can watch a
 * delivery retry, park and be replayed once the target is back, with nothing to stop or reconfigure:
 *
 * - `POST /sandbox/outages/{target}` (optional JSON `{"status": 500..599}`, default 503): from now on
 *   the target answers every request sent to it with that status and `{"code": "SANDBOX_OUTAGE", ...}`
 *   (its WSDL stays readable) and records nothing in /sandbox/received (it took nothing);
 * - `DELETE /sandbox/outages/{target}`: it is back (204; 404 when it was not down);
 * - `GET /sandbox/outages`: the outages in force, with the requests each refused.
 *
 * The routes sit under /sandbox, so they answer only clients on the gateway's host.
 */
export class SandboxOutages {
  readonly #down = new Map<OutageTarget, Outage>();

  /** Answers for `target` when it is down (true: the request is answered), else leaves ctx alone. */
  refuse(ctx: Context, target: OutageTarget): boolean {
    const outage = this.#down.get(target);
    if (!outage) return false;
    outage.refused += 1;
    ctx.status = outage.status;
    ctx.body = { code: 'SANDBOX_OUTAGE', message: `the sandbox ${target} is down since ${outage.since} (DELETE /sandbox/outages/${target} ends it)` };
    return true;
  }

  list(): Outage[] {
    return [...this.#down.values()].map((o) => ({ ...o }));
  }

  register(router: Router, prefix: string): void {
    const path = `${prefix}/outages`;
    router.get(path, (ctx) => {
      ctx.body = this.list();
    });
    router.post(`${path}/:target`, async (ctx) => {
      const target = targetOf(ctx);
      if (target === null) return;
      const status = await statusOf(ctx);
      if (status === null) return;
      const outage: Outage = { target, status, since: new Date().toISOString(), refused: 0 };
      this.#down.set(target, outage);
      ctx.status = 200;
      ctx.body = outage;
    });
    router.delete(`${path}/:target`, (ctx) => {
      const target = targetOf(ctx);
      if (target === null) return;
      if (!this.#down.delete(target)) {
        ctx.status = 404;
        ctx.body = { code: 'NOT_FOUND', message: `the sandbox ${target} is not down` };
        return;
      }
      ctx.status = 204;
    });
  }
}

function targetOf(ctx: Context & { params: Record<string, string | undefined> }): OutageTarget | null {
  const name = ctx.params.target ?? '';
  const target = OUTAGE_TARGETS.find((t) => t === name);
  if (target !== undefined) return target;
  ctx.status = 404;
  ctx.body = { code: 'NOT_FOUND', message: `no sandbox target ${name.slice(0, 60)}: one of ${OUTAGE_TARGETS.join(', ')}` };
  return null;
}

/** The status an outage answers with, from an optional JSON body; null after answering 400. */
async function statusOf(ctx: Context): Promise<number | null> {
  let text: string;
  try {
    text = (await readRawBody(ctx.req, MAX_CONTROL_BODY)).toString('utf8').trim();
  } catch {
    return badRequest(ctx, `the body is at most ${MAX_CONTROL_BODY} bytes of JSON`);
  }
  if (text === '') return DEFAULT_STATUS;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return badRequest(ctx, 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return badRequest(ctx, 'the body must be a JSON object such as {"status": 503}');
  const extra = Object.keys(body).filter((k) => k !== 'status');
  if (extra.length > 0) return badRequest(ctx, `unknown fields: ${extra.join(', ').slice(0, 100)}; allowed: status`);
  const status = (body as { status?: unknown }).status ?? DEFAULT_STATUS;
  // A server-side status: what an outage looks like to the gateway (it retries them).
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 500 || status > 599) return badRequest(ctx, 'status must be a whole number from 500 to 599');
  return status;
}

function badRequest(ctx: Context, message: string): null {
  ctx.status = 400;
  ctx.body = { code: 'BAD_REQUEST', message };
  return null;
}
