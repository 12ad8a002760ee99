import type { Knex } from 'knex';
import type { ShipBobOrderRecord } from '../domain/shipbob-change.ts';
import { shipBobOrderRow, toShipBobOrder, type ShipBobOrderRow } from './rows/shipbob-order.ts';

/**
 * What the gateway sent for each ShipBob order it made (migration 012): read before a delivery of
 * kind shipbob decides what to send, written after ShipBob confirmed each create or change
 * (src/connectors/shipbob/). One short statement each.
 */
export class ShipBobOrderRepository {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  /** The order made for `referenceId` through `connector`, or null when the gateway knows of none. */
  async get(connector: string, referenceId: string): Promise<ShipBobOrderRecord | null> {
    const row = (await this.#knex('shipbob_orders').where({ connector, reference_id: referenceId }).first()) as ShipBobOrderRow | undefined;
    return row ? toShipBobOrder(row) : null;
  }

  /**
   * The order made for a Fusion line (`fulfillment-line:<id>`, `po-schedule:<id>`), for an event whose
   * order key does not make the reference id; the latest one if several were.
   */
  async findByLine(connector: string, lineKey: string): Promise<ShipBobOrderRecord | null> {
    const row = (await this.#knex('shipbob_orders').where({ connector, line_key: lineKey }).orderBy('created_at', 'desc').first()) as ShipBobOrderRow | undefined;
    return row ? toShipBobOrder(row) : null;
  }

  /**
   * The order a ShipBob webhook names, whichever connector made it: by reference id (indexed), and
   * by ShipBob order id too when the webhook gives one, so that a record of another account's order
   * with the same reference id is not taken for it. The latest one if several match.
   */
  async findForWebhook(referenceId: string, shipbobOrderId: string | null): Promise<ShipBobOrderRecord | null> {
    const where = shipbobOrderId === null ? { reference_id: referenceId } : { reference_id: referenceId, shipbob_order_id: shipbobOrderId };
    const row = (await this.#knex('shipbob_orders').where(where).orderBy('updated_at', 'desc').first()) as ShipBobOrderRow | undefined;
    return row ? toShipBobOrder(row) : null;
  }

  /** Writes the order as ShipBob now holds it; its first record keeps its created_at. */
  async save(record: ShipBobOrderRecord): Promise<void> {
    await this.#knex('shipbob_orders')
      .insert(shipBobOrderRow(record))
      .onConflict(['connector', 'reference_id'])
      .merge(['order_key', 'line_key', 'shipbob_order_id', 'shipment_id', 'quantities', 'address_hash', 'cancelled', 'cancel_requested_at', 'updated_at']);
  }
}
