/**
 * How big the reliability run is. `npm test` runs the reduced sizes (well under a minute in all);
 * `npm run test:reliability` sets OMGW_RELIABILITY=full for the sizes the issue asks for.
 */
export const FULL = process.env.OMGW_RELIABILITY === 'full';

export const SIZE = FULL
  ? {
      label: 'full',
      crashPushes: 5_000,
      crashOrders: 250,
      crashConnections: 32,
      /** Kills while pushing and kills while delivering. */
      crashKillsPushing: 3,
      crashKillsDelivering: 3,
      outageOrders: 40,
      storePushes: 400,
      fuzzCases: 10_000,
      webhookFuzz: 3_000,
      timeoutMs: Number(process.env.OMGW_RELIABILITY_TIMEOUT ?? 9 * 60_000),
    }
  : {
      label: 'reduced',
      crashPushes: 300,
      crashOrders: 40,
      crashConnections: 32,
      crashKillsPushing: 1,
      crashKillsDelivering: 1,
      outageOrders: 8,
      storePushes: 60,
      fuzzCases: 1_000,
      webhookFuzz: 300,
      timeoutMs: Number(process.env.OMGW_RELIABILITY_TIMEOUT ?? 120_000),
    };
