import { cancelShipments, publishCancelled } from './cancellation.ts';
import { ShipBobSandboxError } from './errors.ts';
import { progressDetail, settleOrderStatus, stageOf } from './progress.ts';
import { deliverShipments, holdShipment, shipShipment, type DeliverOptions, type ShipOptions } from './shipments.ts';
import type { ShipBobStore } from './store.ts';
import type { ShipmentView } from './types.ts';
import type { WebhookMessage } from './webhooks.ts';

/**
 * What ShipBob's people and carriers do to a shipment, which no API of ShipBob's lets a merchant do:
 * hold it, move it to exception, pick, pack, cancel it, ship it, see it delivered. The sandbox's
 * control API (`POST /_sandbox/shipments/{shipmentId}/{action}`) and its in-process API
 * (moveShipment()) both come here, so tests can put a shipment where a change is refused and see
 * each milestone's webhook.
 */

export const SHIPMENT_MOVES = ['hold', 'exception', 'pick', 'pack', 'cancel', 'ship', 'deliver'] as const;
export type ShipmentMove = (typeof SHIPMENT_MOVES)[number];

export interface MoveOptions extends ShipOptions, DeliverOptions {
  /** The status detail's description of a hold or an exception. */
  description?: string;
}

export interface MoveResult {
  /** The shipment after the move (a copy). */
  shipment: ShipmentView;
  /** The webhooks sent (none for pick and pack: ShipBob has no topic for them). */
  messages: WebhookMessage[];
}

export function isShipmentMove(value: string): value is ShipmentMove {
  return (SHIPMENT_MOVES as readonly string[]).includes(value);
}

/**
 * Moves the shipment on; a ShipBobSandboxError when it cannot go there from where it is (404 for an
 * unknown shipment, 422 otherwise). Picking and packing go forward only (a packed shipment is not
 * picked again); a shipment on hold or in exception is taken off it by picking. Staff may cancel a
 * shipment that is picked or packed, which a merchant may not.
 */
export async function moveShipment(store: ShipBobStore, shipmentId: number, move: ShipmentMove, options: MoveOptions = {}): Promise<MoveResult> {
  const { order, shipment } = store.shipment(shipmentId);
  const done = (messages: WebhookMessage[]): MoveResult => ({ shipment: structuredClone(shipment), messages });
  switch (move) {
    case 'hold':
    case 'exception':
      return done([await holdShipment(store, order, shipment, move === 'hold' ? 'OnHold' : 'Exception', options.description)]);
    case 'pick':
    case 'pack': {
      progress(shipment, move === 'pick' ? 'picked' : 'packed');
      shipment.last_update_at = store.iso();
      settleOrderStatus(order);
      return done([]);
    }
    case 'cancel': {
      const { results, cancelled } = cancelShipments(store, order, [shipment], true);
      if (cancelled.length === 0) throw new ShipBobSandboxError(results[0]?.reason ?? `Shipment ${shipmentId} cannot be cancelled.`);
      return done(await publishCancelled(store, cancelled));
    }
    case 'ship':
      return done([(await shipShipment(store, order, shipment, options)).message]);
    case 'deliver':
      return done(await deliverShipments(store, order, [shipment], options));
  }
}

function progress(shipment: ShipmentView, to: 'picked' | 'packed'): void {
  const stage = stageOf(shipment);
  const forward = stage === 'open' || (stage === 'picked' && to === 'packed');
  if (!forward) {
    const where = stage === 'other' ? `in status ${shipment.status}` : stage === 'shipped' ? 'shipped' : stage;
    throw new ShipBobSandboxError(`Shipment ${shipment.id} cannot be ${to}: it is ${where}.`);
  }
  shipment.status = 'Processing';
  shipment.status_details = [progressDetail(to)];
}
