import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { FUSION_PREFIX, FUSION_REST_BASE, readJson, type FusionAuthCheck } from './common.ts';
import { holdRequestProblems, receiptRequestProblems } from './write-back-checks.ts';

export interface FusionRecord {
  at: string;
  method: string;
  path: string;
  body: unknown;
}

/** A hold the emulated Order Management keeps on a fulfilment line, as `…/lines/{id}/child/holds` lists it. */
interface SandboxHold {
  HoldInstanceId: number;
  HoldCode: string | null;
  HoldName: string | null;
  HoldComments: string | null;
  SourceTransactionSystem: string;
  SourceTransactionId: string | null;
  FulfillLineId: string | null;
  AppliedDate: string;
}

const ACTION_TYPE = 'application/vnd.oracle.adf.action+json';
const ACTION_RESULT_TYPE = 'application/vnd.oracle.adf.actionresult+json';
/** Fusion takes writes as its resource item type or as plain JSON (specs/oracle-om/NOTES.md §4.1). */
const ITEM_TYPES = ['application/vnd.oracle.adf.resourceitem+json', 'application/json'];

function mediaType(ctx: Context): string {
  return (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
}

function unsupportedMediaType(ctx: Context, accepted: readonly string[]): boolean {
  const type = mediaType(ctx);
  if (accepted.includes(type)) return false;
  ctx.status = 415;
  ctx.body = { title: 'Unsupported Media Type', status: 415, detail: `Content-Type ${type || '(none)'} is not one of ${accepted.join(', ')}.` };
  return true;
}

function refuse(ctx: Context, problems: readonly string[]): void {
  ctx.status = 400;
  ctx.body = {
    title: 'Bad Request',
    status: 400,
    detail: problems.join(' '),
    'o:errorCode': 'OMGW-SANDBOX-BODY',
    'o:errorDetails': problems.map((detail) => ({ detail })),
  };
}

function text(v: unknown): string | null {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

/**
 * The write-back resources of the emulated Fusion. Each checks its body as Fusion would
 * (write-back-checks.ts), refuses a bad one with 400 and its reasons (nothing recorded), and records
 * what it accepts, in order, for `${FUSION_PREFIX}/received` (the sandbox's own page):
 *
 * - `POST receivingReceiptRequests`: advance shipment notices (a ShipBob order shipped) and receipts
 *   (a ShipBob shipment delivered), 201 with the interface header id.
 * - `POST salesOrdersForOrderHub/action/applyHold`: holds on fulfilment lines (a ShipBob shipment on
 *   hold, in exception or cancelled), 200; each applied hold is then listed by
 *   `GET salesOrdersForOrderHub/{OrderKey}/child/lines/{FulfillLineId}/child/holds` (the sandbox uses
 *   the fulfilment line id as the line's key, where Fusion uses a hash it hands out).
 * - `PATCH salesOrdersForOrderHub/{OrderKey}/child/lines/{id}`: recorded as it comes.
 */
export function registerFusionWriteBacks(
  router: Router,
  authorized: FusionAuthCheck,
  holdCodes: readonly string[],
): { received: () => readonly FusionRecord[] } {
  const received: FusionRecord[] = [];
  const holds: SandboxHold[] = [];
  const base = `${FUSION_PREFIX}${FUSION_REST_BASE}`;
  const record = (ctx: Context, body: unknown): void => {
    received.push({ at: new Date().toISOString(), method: ctx.method, path: ctx.path, body });
  };

  router.post(`${base}/receivingReceiptRequests`, async (ctx) => {
    if (!authorized(ctx) || unsupportedMediaType(ctx, ITEM_TYPES)) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    const problems = receiptRequestProblems(body);
    if (problems.length > 0) return refuse(ctx, problems);
    record(ctx, body);
    ctx.status = 201;
    ctx.body = { HeaderInterfaceId: 300100900000000 + received.length, ProcessingStatusCode: 'PENDING' };
  });

  router.post(`${base}/salesOrdersForOrderHub/action/applyHold`, async (ctx) => {
    if (!authorized(ctx) || unsupportedMediaType(ctx, [ACTION_TYPE])) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    const problems = holdRequestProblems(body, holdCodes);
    if (problems.length > 0) return refuse(ctx, problems);
    record(ctx, body);
    const applied = ((body as { holdRequests: Array<Record<string, unknown>> }).holdRequests).map((request) => {
      const hold: SandboxHold = {
        HoldInstanceId: 300100800000000 + holds.length + 1,
        HoldCode: text(request.HoldCode),
        HoldName: text(request.HoldName),
        HoldComments: text(request.HoldComments),
        SourceTransactionSystem: String(request.SourceTransactionSystem),
        SourceTransactionId: text(request.SourceTransactionId),
        FulfillLineId: text(request.FulfillLineId),
        AppliedDate: new Date().toISOString(),
      };
      holds.push(hold);
      return { ...request, HoldInstanceId: hold.HoldInstanceId, ReturnStatus: 'SUCCESS' };
    });
    ctx.status = 200;
    ctx.type = ACTION_RESULT_TYPE;
    ctx.body = { result: { holdRequests: applied } };
  });

  router.get(`${base}/salesOrdersForOrderHub/:orderKey/child/lines/:lineId/child/holds`, (ctx) => {
    if (!authorized(ctx)) return;
    const items = holds.filter((h) => h.FulfillLineId === ctx.params.lineId);
    ctx.body = { items, count: items.length, hasMore: false, limit: 25, offset: 0 };
  });

  router.patch(`${base}/salesOrdersForOrderHub/:orderKey/child/lines/:lineId`, async (ctx) => {
    if (!authorized(ctx)) return;
    const body = await readJson(ctx);
    if (body === undefined) return;
    record(ctx, body);
    ctx.status = 201;
    ctx.body = { HeaderInterfaceId: 300100900000000 + received.length, ProcessingStatusCode: 'PENDING' };
  });

  router.get(`${FUSION_PREFIX}/received`, (ctx) => {
    ctx.body = received;
  });
  return { received: () => received };
}
