import type { Knex } from 'knex';

/**
 * `shipbob_orders`: what the gateway sent for each ShipBob order it made (src/store/shipbob-orders.ts),
 * written once ShipBob confirmed the create or the change, so that a later change of the fulfilment
 * line or purchase-order schedule is sent as the difference (src/domain/shipbob-change.ts). Keyed by
 * connector and ShipBob reference id (one per fulfilment line or schedule, unique at ShipBob for
 * ever), and found by the Fusion line too: some OM events (FlineClosed) name the order without its
 * source system, so their order key does not make the same reference id. A ShipBob webhook finds it
 * by reference id alone (its receiver tells the trigger points whether the gateway asked to cancel
 * the order, src/inbound/webhooks/shipbob.ts). The ship-to is kept as a digest only: the address itself stays in Oracle and ShipBob.
 * Retention leaves these rows alone: a change may come long after the events that made the order.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shipbob_orders', (t) => {
    t.string('connector', 64).notNullable();
    t.string('reference_id', 300).notNullable();
    t.string('order_key', 255).nullable();
    /** The Fusion line the reference id was made from (`fulfillment-line:<id>`, `po-schedule:<id>`). */
    t.string('line_key', 128).nullable();
    t.string('shipbob_order_id', 32).notNullable();
    t.string('shipment_id', 32).nullable();
    /** JSON: product reference_id → quantity. */
    t.text('quantities').notNullable();
    t.string('address_hash', 64).notNullable();
    /** Confirmed by ShipBob (or seen at ShipBob), whoever cancelled it. */
    t.boolean('cancelled').notNullable().defaultTo(false);
    /** When the gateway asked ShipBob to cancel it, written before the request (null: never). */
    t.bigInteger('cancel_requested_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['connector', 'reference_id']);
    t.index(['order_key']);
    t.index(['connector', 'line_key']);
    // A webhook names the order by reference id and ShipBob order id, without the connector.
    t.index(['reference_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('shipbob_orders');
}
