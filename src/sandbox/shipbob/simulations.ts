import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { bodyOf, empty, json, parseJsonBody } from './errors.ts';
import { deliverOrder, shipOrder } from './shipments.ts';
import type { ShipBobStore, SimulationRecord, SimulationStatus } from './store.ts';
import { validateSimulation, type SimulationStep } from './validate.ts';

/**
 * ShipBob's sandbox-only simulations (2026-01 developer portal): `POST /simulate/shipment` runs a
 * chain of actions (ShipOrder, DeliverOrder) on an order after their delays, and
 * `GET /simulate/status/{id}` shows how far the chain got.
 */
export class Simulations {
  readonly #store: ShipBobStore;
  /** Length of a "minute" of the delays: tests make it short. */
  readonly #minuteMs: number;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(store: ShipBobStore, minuteMs: number) {
    this.#store = store;
    this.#minuteMs = minuteMs;
  }

  register(router: Router): void {
    router.post('/simulate/shipment', (ctx) => this.#simulate(ctx));
    router.get('/simulate/status/:simulationId', (ctx) => {
      const record = this.#store.state.simulations.get(ctx.params.simulationId ?? '');
      if (record) json(ctx, 200, record);
      else empty(ctx, 404);
    });
  }

  /** Stops the steps still waiting for their delay. */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #simulate(ctx: Context): void {
    const body = parseJsonBody(ctx, bodyOf(ctx));
    if (body === undefined) return;
    const checked = validateSimulation(body);
    if (!checked.ok) {
      json(ctx, 400, checked.errors);
      return;
    }
    const { state } = this.#store;
    const shipmentId = Number(checked.value.shipment_id);
    const order = [...state.orders.values()].find((o) => o.shipments.some((s) => s.id === shipmentId));
    if (!order) {
      json(ctx, 404, { shipment_id: [`Shipment ${checked.value.shipment_id} was not found.`] });
      return;
    }
    const n = this.#store.nextId('simulation');
    const simulationId = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    const toStatus = (step: SimulationStep | null): SimulationStatus | null =>
      step ? { action: step.action, status: 'Scheduled', message: null, schedule_time: null, next: toStatus(step.next) } : null;
    const record: SimulationRecord = {
      simulation_id: simulationId,
      entity_id: checked.value.shipment_id,
      entity_type: 'Order',
      simulation: toStatus(checked.value.simulation) as SimulationStatus,
    };
    state.simulations.set(simulationId, record);
    this.#run(order.id, checked.value.simulation, record.simulation);
    json(ctx, 200, { simulation_id: simulationId, message: 'Simulation request submitted successfully.' });
  }

  // A failed step cancels the rest of the chain, as ShipBob reports it.
  #run(orderId: number, step: SimulationStep, status: SimulationStatus): void {
    const delay = (step.delay ?? 0) * this.#minuteMs;
    status.schedule_time = new Date(this.#store.now() + delay).toISOString();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      status.status = 'Running';
      const run = step.action === 'ShipOrder' ? shipOrder(this.#store, orderId) : deliverOrder(this.#store, orderId);
      run.then(
        () => {
          status.status = 'Completed';
          if (step.next && status.next) this.#run(orderId, step.next, status.next);
        },
        (err: unknown) => {
          status.status = 'Failed';
          status.message = err instanceof Error ? err.message : String(err);
          for (let s = status.next; s; s = s.next) s.status = 'Cancelled';
        },
      );
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }
}
