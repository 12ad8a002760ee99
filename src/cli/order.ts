import type { JourneyEntryView, OrderJourney } from '../services/journey.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';
import { withServices } from './services.ts';

/**
 * `omgw order KEY`: where an order is. KEY is an order key (LEG:SO-1234), a source order number
 * (SO-1234), a purchase order number, a ShipBob order id or reference id. Prints where it stands and
 * its journey in time order (`--json`: the admin API's GET /orders/{orderKey} answer). Exit 1 when
 * no order has the key.
 */
export async function orderCommand(ctx: CommandContext, key: string | undefined): Promise<number> {
  if (key === undefined || key.trim() === '') {
    ctx.io.err('usage: omgw order KEY   (LEG:SO-1234, SO-1234, a PO number, a ShipBob order id or reference id)');
    return EXIT.usage;
  }
  return withServices(ctx, async ({ store, services }) => {
    await store.migrate();
    const journey = await services.journey.find(key);
    if (!journey) {
      ctx.io.err(`no order with the key ${printable(key.slice(0, 100))} in ${store.describe}`);
      return EXIT.failed;
    }
    if (ctx.json) {
      ctx.io.out(JSON.stringify({ database: store.describe, ...journey }, null, 2));
      return EXIT.ok;
    }
    printJourney(ctx, journey);
    ctx.io.out(`\ndatabase ${store.describe}`);
    return EXIT.ok;
  });
}

function printJourney(ctx: CommandContext, j: OrderJourney): void {
  ctx.io.out(`order ${j.orderKeys.join(', ') || j.shipbobKeys.join(', ')} (found by ${j.foundBy.replace(/_/g, ' ')})`);
  ctx.io.out(`where it stands: ${printable(j.standing.summary)}`);
  if (j.shipbobOrders.length > 0) {
    ctx.io.out('');
    ctx.io.out(
      table(
        ['SHIPBOB ORDER', 'REFERENCE ID', 'CONNECTOR', 'STAGE', 'CREATED', 'KNOWN FROM'],
        j.shipbobOrders.map((o) => [o.shipbobOrderId ?? '-', o.referenceId, o.connector ?? '-', o.stage, o.createdAt.slice(0, 19), o.knownFrom.replace('_', ' ')]),
      ),
    );
  }
  ctx.io.out('');
  ctx.io.out(table(['AT', 'WHAT', 'DETAIL', 'STATE'], j.timeline.flatMap(rows)));
  if (j.more) ctx.io.out(`\nmore: the oldest ${j.truncated.join(', ')} were left out`);
}

function rows(e: JourneyEntryView): string[][] {
  const at = e.at.slice(0, 19);
  switch (e.kind) {
    case 'event': {
      const what = e.role === 'shipbob_webhook' ? 'ShipBob webhook' : e.role === 'purchase_order' ? 'purchase order' : e.role === 'om_event' ? 'OM event' : 'event';
      const values = e.statusValues.map((v) => `${v.line !== null ? `${v.line} ` : ''}${v.field} ${v.old ?? '-'}→${v.new ?? '-'}`);
      return [[at, what, clip([e.eventCode, e.orderKey ?? '', ...values].filter(Boolean).join(' '), 90), e.status]];
    }
    case 'delivery': {
      const what = e.role === 'to_shipbob' ? 'to ShipBob' : e.role === 'write_back' ? 'write-back' : 'delivery';
      const state = e.state === 'parked' && e.parkedReason !== null ? `parked (${e.parkedReason})` : e.state === 'on_hold' && e.holdReason !== null ? `on_hold (${e.holdReason})` : e.state;
      const head = [at, what, `${e.connector} ${e.eventCode}${e.lastError !== null ? `: ${clip(e.lastError, 60)}` : ''}`, state];
      const attempts = e.attempts.map((a) => [
        a.at.slice(0, 19),
        `  attempt ${a.number}`,
        clip(`${a.responseStatus !== null ? `HTTP ${a.responseStatus} ` : ''}${a.durationMs} ms ${a.errorMessage ?? a.snippet ?? ''}`, 90),
        a.outcome,
      ]);
      return [head, ...attempts];
    }
    case 'shipbob_order':
      return [[at, 'ShipBob order', `${e.shipbobOrderId ?? '?'} ${e.referenceId}`, e.stage]];
    case 'operator_action':
      return [[at, 'operator', clip(`${e.action} by ${e.actor ?? '-'}${e.reason !== null ? `: ${e.reason}` : ''}`, 90), e.result]];
  }
}

function clip(text: string, max: number): string {
  const flat = printable(text.replace(/\s+/g, ' '));
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text from the store or a target made safe for a terminal: control characters shown as U+FFFD. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd');
}
