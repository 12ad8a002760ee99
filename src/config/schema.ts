import { z } from 'zod';
import { adminSchema } from './schema/admin.ts';
import { clusterSchema } from './schema/cluster.ts';
import { connectorSchema } from './schema/connector.ts';
import { databaseSchema } from './schema/database.ts';
import { deliverySchema } from './schema/delivery.ts';
import { inboundSoapSchema } from './schema/inbound-soap.ts';
import { configLeaves, type SchemaContext } from './schema/leaves.ts';
import { loggingSchema } from './schema/logging.ts';
import { sandboxSchema } from './schema/sandbox.ts';
import { schedulesSchema } from './schema/schedules.ts';
import { serverSchema } from './schema/server.ts';
import { triggerPointsSchema } from './schema/trigger-points.ts';
import { webhooksSchema } from './schema/webhooks.ts';

export { DATABASE_URL } from './schema/database.ts';
export type { SchemaContext } from './schema/leaves.ts';

/**
 * One schema per config file, composed of one module per section (src/config/schema/). It yields
 * both the TypeScript types and the defaults, and it resolves `${env:...}` / `${file:...}` references
 * while it validates, so every problem (a bad key, a missing variable, an unreadable file) is
 * reported with its path in one pass.
 */
export function buildSchemas(ctx: SchemaContext) {
  const leaves = configLeaves(ctx);

  const gateway = z.strictObject({
    server: serverSchema(leaves),
    database: databaseSchema(leaves),
    inbound: z.strictObject({ soap: inboundSoapSchema(leaves), webhooks: webhooksSchema(leaves) }),
    delivery: deliverySchema(leaves),
    schedules: schedulesSchema(leaves),
    admin: adminSchema(leaves),
    cluster: clusterSchema(leaves),
    sandbox: sandboxSchema(leaves),
    logging: loggingSchema(leaves),
  });

  return { gateway, connector: connectorSchema(leaves), triggerPoints: triggerPointsSchema(leaves) };
}

type Schemas = ReturnType<typeof buildSchemas>;
export type GatewaySettings = z.output<Schemas['gateway']>;
export type ShipBobWebhookSettings = NonNullable<GatewaySettings['inbound']['webhooks']['shipbob']>;
export type PollerSettings = GatewaySettings['schedules']['poller'];
export type ConnectorConfig = z.output<Schemas['connector']>;
export type TriggerPointConfig = z.output<Schemas['triggerPoints']>['triggerPoints'][number];
export type FieldCondition = TriggerPointConfig['when'][number];
