import { expect } from 'chai';
import type { z } from 'zod';
import * as res from '../../../src/admin/responses.ts';
import type { ProbeReport } from '../../../src/connectors/probe.ts';
import type { ConnectorOverview } from '../../../src/services/connectors.ts';
import type { OperationResult } from '../../../src/services/delivery-actions.ts';
import type { AttemptView, AuditView, DeliveryDetail, DeliverySummary, EventDetail, EventSummary, PageResult } from '../../../src/services/delivery-views.ts';
import type { PollerStatus, PollOutcome } from '../../../src/inbound/poller/purchase-orders.ts';
import type { RecoveryOutcome, RecoveryRunSummary } from '../../../src/jobs/recovery.ts';
import type { BillingEvent } from '../../../src/store/webhooks.ts';

/**
 * The response schemas against the services' own types, at compile time: what a schema accepts must
 * be a value of the type the service returns (every field the service has, with a type it allows).
 * This catches a field a service adds or renames at `npm run typecheck`; a field a schema has and
 * the service never writes is caught by the integration test, which parses the real answers.
 */

/** Compiles only when S's output is assignable to T. */
const fits =
  <T>() =>
  <S extends z.ZodType<T>>(schema: S): S =>
    schema;

describe('admin response schemas', () => {
  it("describe values of the services' types", () => {
    const checked = [
      fits<DeliveryDetail>()(res.deliveryDetail),
      fits<EventDetail>()(res.eventDetail),
      fits<PageResult<EventSummary>>()(res.eventPage),
      fits<PageResult<DeliverySummary>>()(res.deliveryPage),
      fits<PageResult<AttemptView>>()(res.attemptPage),
      fits<PageResult<AuditView>>()(res.auditPage),
      fits<OperationResult>()(res.operationResult),
      fits<ConnectorOverview>()(res.connectorOverview),
      fits<{ items: ConnectorOverview[] }>()(res.connectorList),
      fits<ProbeReport>()(res.probeReport),
      fits<{ items: RecoveryRunSummary[] }>()(res.recoveryRunList),
      fits<RecoveryOutcome>()(res.recoveryOutcome),
      fits<PollerStatus>()(res.pollerStatus),
      fits<PollOutcome>()(res.pollOutcome),
      // The billing route writes receivedAt as an ISO time (the store keeps epoch milliseconds).
      fits<PageResult<Omit<BillingEvent, 'receivedAt'> & { receivedAt: string }>>()(res.billingPage),
    ];
    for (const schema of checked) expect(res.components.get(schema)?.id).to.be.a('string');
  });

  it('refuses an unknown field and a value outside an enum', () => {
    const delivery = {
      id: '01JAAAAAAAAAAAAAAAAAAAAAAA',
      eventId: '01JAAAAAAAAAAAAAAAAAAAAAAB',
      connector: 'crm',
      triggerPoint: 'all',
      orderKey: 'LEG:SO-1',
      eventCode: 'HOLD',
      state: 'parked',
      attemptCount: 2,
      attemptsInCycle: 2,
      nextAttemptAt: '2026-11-23T12:00:00.000Z',
      lastError: 'HTTP 503',
      parkedReason: 'attempts_exhausted',
      holdReason: null,
      adminReason: null,
      createdAt: '2026-11-23T12:00:00.000Z',
      updatedAt: '2026-11-23T12:00:00.000Z',
      deliveredAt: null,
      correlationId: null,
      responseDueAt: null,
      respondedAt: null,
    };
    const page = (item: object) => res.deliveryPage.safeParse({ items: [item], nextCursor: null }).success;
    expect(page(delivery)).to.equal(true);
    expect(page({ ...delivery, extra: 1 })).to.equal(false);
    expect(page({ ...delivery, state: 'lost' })).to.equal(false);
    expect(page({ ...delivery, holdReason: 'lunch' })).to.equal(false);
    expect(page({ ...delivery, createdAt: 'yesterday' })).to.equal(false);
    // An async connector's delivery awaiting its response.
    expect(page({ ...delivery, state: 'awaiting_response', parkedReason: null, correlationId: 'c-1', responseDueAt: '2026-11-24T12:00:00.000Z' })).to.equal(true);
    expect(page({ ...delivery, parkedReason: 'no_response' })).to.equal(true);
    expect(page({ ...delivery, responseDueAt: 'tomorrow' })).to.equal(false);
    expect(res.errorBody.safeParse({ code: 'NOT_FOUND', message: 'no delivery' }).success).to.equal(true);
    expect(res.errorBody.safeParse({ code: 'NOT_FOUND', message: 'no delivery', stack: 'x' }).success).to.equal(false);
  });
});
