import type { Context } from 'koa';

/**
 * What the emulated Fusion's resources share: where it is served, the items, organization and
 * ship-to its data uses, its HTTP Basic check, and its JSON body reader. Answers are in the shape
 * of Fusion REST errors (`{title, status, detail}`).
 */

export const FUSION_PREFIX = '/sandbox/fusion';
export const FUSION_REST_BASE = '/fscmRestApi/resources/11.13.18.05';

/** Items the emulated Fusion sells; their numbers are the keys of the example product map. */
export const SANDBOX_ITEMS = ['OMGW-TSHIRT-M', 'OMGW-MUG-12OZ', 'OMGW-CAP-BLK', 'OMGW-SOCKS-L'] as const;
/** The organization every emulated order line ships from; the key of the example location map. */
export const SANDBOX_ORGANIZATION = 'M1';

/**
 * Hold codes the emulated Order Management has set up ("Manage Hold Codes"): the example
 * mappings/shipbob-holds.yaml names the first three; Oracle's own sample uses CREDIT_CHECK.
 */
export const SANDBOX_HOLD_CODES: readonly string[] = ['SHIPBOB_ON_HOLD', 'SHIPBOB_EXCEPTION', 'SHIPBOB_CANCELLED', 'CREDIT_CHECK'];

/**
 * A `shipToCustomer`: this sandbox's model of a drop-ship ship-to, on a sales order
 * (sales-orders.ts) and on each purchase order schedule. Not a documented Fusion child: a tenant
 * carries the ship-to on the schedule (ShipToLocation and friends, specs/oracle-om/NOTES.md §4.2);
 * check `describe` on a real one.
 */
export interface SandboxShipTo {
  PartyName: string;
  Address1: string;
  Address2: string;
  City: string;
  State: string;
  PostalCode: string;
  Country: string;
  Email: string;
  Phone: string;
}

/** The customer every emulated sales order and drop-ship schedule ships to (unless a PO says otherwise). */
export const SANDBOX_SHIP_TO: SandboxShipTo = {
  PartyName: 'Jamie Rivera',
  Address1: '1200 Harbor Way',
  Address2: 'Suite 4',
  City: 'Oakland',
  State: 'CA',
  PostalCode: '94607',
  Country: 'US',
  Email: 'jamie.rivera@example.com',
  Phone: '+1 510 555 0142',
};

/** Fusion's timestamp form: always millis, always `+00:00` (never `Z`). */
export function fusionTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

/** HTTP Basic, like a Fusion integration user; answers 401 with a Basic challenge itself. */
export type FusionAuthCheck = (ctx: Context) => boolean;

export function basicAuth(username: string, password: string): FusionAuthCheck {
  return (ctx) => {
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (ctx.get('authorization') === expected) return true;
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Basic realm="fusion"');
    ctx.body = { title: 'Unauthorized', status: 401 };
    return false;
  };
}

/** Reads a JSON body of at most 1 MB; on failure answers 413 or 400 itself and returns undefined. */
export async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) {
      ctx.status = 413;
      ctx.body = { title: 'Payload Too Large', status: 413 };
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    ctx.status = 400;
    ctx.body = { title: 'Bad Request', status: 400, detail: 'The request body is not valid JSON.' };
    return undefined;
  }
}
