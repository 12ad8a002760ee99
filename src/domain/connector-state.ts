import type { CircuitState } from './breaker.ts';

/** A connector's maintenance switch: offline holds its deliveries until it is online again. */
export type AdminState = 'online' | 'offline';

/** The state of a connector that every instance shares: the maintenance switch and the circuit. */
export interface ConnectorState {
  connector: string;
  adminState: AdminState;
  circuit: CircuitState;
  /** While open: when the cool-down ends. */
  circuitUntil: number | null;
  updatedAt: number;
  /** Who last set it online or offline: an operator, or `config` (its configured first state). */
  updatedBy: string | null;
}
