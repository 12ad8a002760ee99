/** Parameters and answers of bench/servers/gateway.mjs (plain JavaScript, so its types live here). */
export interface GatewayParams {
  databaseUrl: string;
  /** PostgreSQL schema (dropped on stop when dropSchema is set). */
  schema?: string;
  dropSchema?: boolean;
  /** REST sink URL; delivery is off without it. */
  sinkUrl?: string;
  concurrency?: number;
  maxInFlight?: number;
  soapUser: string;
  soapPassword: string;
}

export interface DeliveryStats {
  byState: Record<string, number>;
  /** Deliveries that reached `delivered` within [from, to). */
  deliveredInWindow: number;
  /** delivered_at - created_at (created when the push was received) of those, in ms. */
  lagMs: { p50: number; p90: number; p99: number; max: number } | null;
  events: number;
  pushes: number;
}
